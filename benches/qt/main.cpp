// qt-bench: Qt 6 QSslSocket on loopback, the application sslsocket replaces, measured the way
// sslsocket-benches measures sslsocket (the `bulk_vs_qt` and `handshake_full_vs_qt` rows).
//
//   qt-bench bulk      --ca CA --cert LEAF --key KEY [--mib 512] [--cipher NAME]
//   qt-bench handshake --ca CA --cert LEAF --key KEY [--secs 2] [--min 20] [--cipher NAME]
//   qt-bench info
//
// One process, two threads, each with its own Qt event loop: the server (a QTcpServer whose
// incomingConnection() wraps each descriptor in a QSslSocket and calls
// startServerEncryption(), as QSslServer does) runs on a QThread; the client QSslSocket runs
// on the main thread. Both are event-driven (signals, no waitFor*), which is how Qt
// applications use QSslSocket. Certificates and keys are PEM or DER (detected).
//
// Like the Rust benchmarks: 127.0.0.1, TLS 1.3 only, one suite (default
// TLS_AES_128_GCM_SHA256), the client verifies the server against the CA alone with peer name
// matching (VerifyPeer), TCP_NODELAY on both ends, the OpenSSL TLS backend forced.
// Wire protocol (the client's first bytes): `B` + u64 big-endian length: the server reads that
// many bytes and answers one byte; `H`: the server answers one byte. Then the client closes
// (close_notify) and the server closes when it sees that.
//
// bulk: N MiB client -> server in 64 KiB writes, timed from the first write until the
// server's 1-byte ack, in MB/s (10^6 bytes/s). The client keeps at most --in-flight-kib
// (default 512, the best of 64 KiB to 4 MiB tried here) of plaintext and ciphertext queued
// in the socket, topping up on bytesWritten / encryptedBytesWritten.
// handshake: sequential connections for --secs (and at least --min): connect, handshake,
// 'H' -> 'k', close; a fresh server name per connection (hN.bench.test, covered by the leaf's
// *.bench.test), in handshakes/s. Qt does not resume sessions unless the application copies
// the session ticket back, so these are full handshakes.
//
// Output: one JSON line per measurement on stdout. Any error (handshake failure, certificate
// error, timeout) ends the process with exit status 1 and a message on stderr.

#include <QByteArray>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSslCertificate>
#include <QSslCipher>
#include <QSslConfiguration>
#include <QSslKey>
#include <QSslSocket>
#include <QStringList>
#include <QTcpServer>
#include <QThread>
#include <QTimer>
#include <QtEndian>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace {

constexpr qint64 kChunk = 64 * 1024;
const char *const kUsage =
    "usage: qt-bench bulk|handshake --ca PATH --cert PATH --key PATH [--cipher NAME]\n"
    "                [--mib N] [--in-flight-kib N] [--secs S] [--min N] [--timeout S]\n"
    "       qt-bench info\n";

// Reports `message` and ends the process at once: the other thread may be inside Qt, so no
// clean-up is attempted, and nothing can hang.
[[noreturn]] void fail(const QString &message)
{
    std::fprintf(stderr, "qt-bench: %s\n", qPrintable(message));
    std::fflush(stderr);
    std::_Exit(1);
}

struct Options
{
    QString command;
    QString ca, cert, key;
    QString cipher = QStringLiteral("TLS_AES_128_GCM_SHA256");
    qint64 mib = 512;
    qint64 inFlightKib = 512;
    double secs = 2.0;
    qint64 minCount = 20;
    double timeoutSecs = -1; // default: per command
};

Options parseOptions(const QStringList &args)
{
    if (args.size() < 2)
        fail(QString::fromLatin1(kUsage));
    Options options;
    options.command = args.at(1);
    auto number = [](const QString &flag, const QString &text) {
        bool ok = false;
        const double value = text.toDouble(&ok);
        if (!ok || value < 0)
            fail(QStringLiteral("%1 wants a non-negative number, not %2").arg(flag, text));
        return value;
    };
    for (qsizetype i = 2; i < args.size(); i += 2) {
        const QString &flag = args.at(i);
        if (i + 1 >= args.size())
            fail(QStringLiteral("%1 wants a value\n%2").arg(flag, QString::fromLatin1(kUsage)));
        const QString &value = args.at(i + 1);
        if (flag == QLatin1String("--ca"))
            options.ca = value;
        else if (flag == QLatin1String("--cert"))
            options.cert = value;
        else if (flag == QLatin1String("--key"))
            options.key = value;
        else if (flag == QLatin1String("--cipher"))
            options.cipher = value;
        else if (flag == QLatin1String("--mib"))
            options.mib = qint64(number(flag, value));
        else if (flag == QLatin1String("--in-flight-kib"))
            options.inFlightKib = qint64(number(flag, value));
        else if (flag == QLatin1String("--secs"))
            options.secs = number(flag, value);
        else if (flag == QLatin1String("--min"))
            options.minCount = qint64(number(flag, value));
        else if (flag == QLatin1String("--timeout"))
            options.timeoutSecs = number(flag, value);
        else
            fail(QStringLiteral("unknown option %1\n%2").arg(flag, QString::fromLatin1(kUsage)));
    }
    return options;
}

QByteArray readFile(const QString &path)
{
    if (path.isEmpty())
        fail(QStringLiteral("--ca, --cert and --key are required\n") + QString::fromLatin1(kUsage));
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        fail(QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    return file.readAll();
}

QSsl::EncodingFormat formatOf(const QByteArray &data)
{
    return data.contains("-----BEGIN") ? QSsl::Pem : QSsl::Der;
}

QSslCertificate loadCertificate(const QString &path)
{
    const QByteArray data = readFile(path);
    QSslCertificate certificate(data, formatOf(data));
    if (certificate.isNull())
        fail(QStringLiteral("%1 is not a certificate Qt can read").arg(path));
    return certificate;
}

QSslKey loadPrivateKey(const QString &path)
{
    const QByteArray data = readFile(path);
    for (QSsl::KeyAlgorithm algorithm : {QSsl::Ec, QSsl::Rsa}) {
        QSslKey key(data, algorithm, formatOf(data), QSsl::PrivateKey);
        if (!key.isNull())
            return key;
    }
    fail(QStringLiteral("%1 is not an EC or RSA private key Qt can read").arg(path));
}

struct Tls
{
    QSslConfiguration client;
    QSslConfiguration server;
};

Tls configure(const Options &options)
{
    const QSslCipher cipher(options.cipher);
    if (cipher.isNull())
        fail(QStringLiteral("Qt does not know the suite %1").arg(options.cipher));
    QSslConfiguration common = QSslConfiguration::defaultConfiguration();
    common.setProtocol(QSsl::TlsV1_3);
    common.setCiphers({cipher});

    Tls tls{common, common};
    // The CA alone: setting CA certificates also turns off on-demand loading of system roots.
    tls.client.setCaCertificates({loadCertificate(options.ca)});
    tls.client.setPeerVerifyMode(QSslSocket::VerifyPeer);
    tls.server.setLocalCertificate(loadCertificate(options.cert));
    tls.server.setPrivateKey(loadPrivateKey(options.key));
    tls.server.setPeerVerifyMode(QSslSocket::VerifyNone);
    return tls;
}

void setNoDelay(QSslSocket &socket, const char *side)
{
    socket.setSocketOption(QAbstractSocket::LowDelayOption, 1);
    if (socket.socketOption(QAbstractSocket::LowDelayOption).toInt() != 1)
        fail(QStringLiteral("%1: TCP_NODELAY did not stick").arg(QLatin1String(side)));
}

QString protocolName(QSsl::SslProtocol protocol)
{
    switch (protocol) {
    case QSsl::TlsV1_3:
        return QStringLiteral("TLSv1.3");
    case QSsl::TlsV1_2:
        return QStringLiteral("TLSv1.2");
    default:
        return QStringLiteral("other (%1)").arg(int(protocol));
    }
}

// What the first connection negotiated; every measurement checks it.
struct Session
{
    QString protocol;
    QString cipher;
};

Session checkSession(const QSslSocket &socket, const QString &wanted)
{
    const Session session{protocolName(socket.sessionProtocol()), socket.sessionCipher().name()};
    if (socket.sessionProtocol() != QSsl::TlsV1_3 || session.cipher != wanted)
        fail(QStringLiteral("negotiated %1 %2, not TLSv1.3 %3")
                 .arg(session.protocol, session.cipher, wanted));
    return session;
}

[[noreturn]] void socketFailed(const char *side, const QSslSocket &socket)
{
    fail(QStringLiteral("%1: %2").arg(QLatin1String(side), socket.errorString()));
}

// ---- server ---------------------------------------------------------------------------------

// One accepted connection: which command, how many bulk bytes are still to come.
struct ServerConn
{
    char command = 0;
    bool haveLength = false;
    qint64 left = 0;
    std::vector<char> buffer = std::vector<char>(kChunk);
};

void serveReadable(QSslSocket &socket, ServerConn &conn)
{
    for (;;) {
        if (conn.command == 0) {
            if (socket.bytesAvailable() < 1 || !socket.getChar(&conn.command))
                return;
            if (conn.command == 'H') {
                socket.write("k", 1);
            } else if (conn.command != 'B') {
                fail(QStringLiteral("server: unknown command %1").arg(int(conn.command)));
            }
        } else if (conn.command == 'B' && !conn.haveLength) {
            if (socket.bytesAvailable() < 8)
                return;
            uchar length[8];
            if (socket.read(reinterpret_cast<char *>(length), 8) != 8)
                fail(QStringLiteral("server: short read of the bulk length"));
            conn.left = qint64(qFromBigEndian<quint64>(length));
            conn.haveLength = true;
            if (conn.left == 0)
                socket.write("k", 1);
        } else if (conn.command == 'B' && conn.left > 0) {
            const qint64 n = socket.read(conn.buffer.data(), qMin(conn.left, kChunk));
            if (n < 0)
                socketFailed("server", socket);
            if (n == 0)
                return;
            conn.left -= n;
            if (conn.left == 0)
                socket.write("k", 1);
        } else {
            // After the command: nothing more is expected but the client's close.
            if (socket.read(conn.buffer.data(), kChunk) <= 0)
                return;
        }
    }
}

class Server : public QTcpServer
{
public:
    Server(const QSslConfiguration &config, QObject *parent) : QTcpServer(parent), config_(config)
    {
    }

protected:
    void incomingConnection(qintptr descriptor) override
    {
        auto *socket = new QSslSocket(this);
        if (!socket->setSocketDescriptor(descriptor))
            socketFailed("server", *socket);
        setNoDelay(*socket, "server");
        socket->setSslConfiguration(config_);
        auto conn = std::make_shared<ServerConn>();
        connect(socket, &QSslSocket::readyRead, socket, [socket, conn] {
            serveReadable(*socket, *conn);
        });
        connect(socket, &QSslSocket::disconnected, socket, &QObject::deleteLater);
        connect(socket, &QSslSocket::errorOccurred, socket, [socket](QAbstractSocket::SocketError error) {
            // The client closing first is how every connection ends.
            if (error != QAbstractSocket::RemoteHostClosedError)
                socketFailed("server", *socket);
        });
        socket->startServerEncryption();
    }

private:
    QSslConfiguration config_;
};

// The server and its event loop on a thread of their own, listening on 127.0.0.1.
class ServerThread
{
public:
    explicit ServerThread(const QSslConfiguration &config)
    {
        thread_.setObjectName(QStringLiteral("qt-bench-server"));
        context_.moveToThread(&thread_);
        thread_.start();
        QMetaObject::invokeMethod(
            &context_,
            [this, &config] {
                server_ = new Server(config, &context_);
                if (!server_->listen(QHostAddress::LocalHost, 0))
                    fail(QStringLiteral("server: listen: %1").arg(server_->errorString()));
                port_ = server_->serverPort();
            },
            Qt::BlockingQueuedConnection);
    }

    ~ServerThread()
    {
        QMetaObject::invokeMethod(&context_, [this] { delete server_; },
                                  Qt::BlockingQueuedConnection);
        thread_.quit();
        thread_.wait();
    }

    ServerThread(const ServerThread &) = delete;
    ServerThread &operator=(const ServerThread &) = delete;

    quint16 port() const { return port_; }

private:
    QThread thread_;
    QObject context_; // lives on thread_; parent of the server
    Server *server_ = nullptr;
    quint16 port_ = 0;
};

// ---- client ---------------------------------------------------------------------------------

// Fails on any error before `done`, and on certificate errors (never ignored).
void watchClient(QSslSocket &socket, const bool &done)
{
    QObject::connect(&socket, &QSslSocket::connected, &socket,
                     [&socket] { setNoDelay(socket, "client"); });
    QObject::connect(&socket, &QSslSocket::sslErrors, &socket, [](const QList<QSslError> &errors) {
        QStringList text;
        for (const QSslError &error : errors)
            text << error.errorString();
        fail(QStringLiteral("client: certificate errors: %1").arg(text.join(QStringLiteral("; "))));
    });
    QObject::connect(&socket, &QSslSocket::errorOccurred, &socket, [&socket, &done] {
        if (!done)
            socketFailed("client", socket);
    });
}

double bulk(const QSslConfiguration &config, quint16 port, const Options &options,
            Session &session)
{
    const qint64 bytes = options.mib * 1024 * 1024;
    const qint64 inFlight = qMax<qint64>(options.inFlightKib * 1024, kChunk);
    const QByteArray chunk(kChunk, char(0xa5));
    QEventLoop loop;
    QSslSocket socket;
    socket.setSslConfiguration(config);
    bool started = false; // encryptedBytesWritten also fires for handshake records
    bool done = false;
    qint64 left = bytes;
    QElapsedTimer timer;
    qint64 elapsedNs = 0;
    watchClient(socket, done);

    auto topUp = [&] {
        while (started && left > 0 && socket.bytesToWrite() + socket.encryptedBytesToWrite() < inFlight) {
            const qint64 n = qMin(left, kChunk);
            if (socket.write(chunk.constData(), n) != n)
                socketFailed("client", socket);
            left -= n;
        }
    };
    QObject::connect(&socket, &QSslSocket::encrypted, &socket, [&] {
        session = checkSession(socket, options.cipher);
        uchar header[9];
        header[0] = 'B';
        qToBigEndian<quint64>(quint64(bytes), header + 1);
        socket.write(reinterpret_cast<const char *>(header), sizeof header);
        timer.start();
        started = true;
        topUp();
    });
    QObject::connect(&socket, &QSslSocket::bytesWritten, &socket, topUp);
    QObject::connect(&socket, &QSslSocket::encryptedBytesWritten, &socket, topUp);
    QObject::connect(&socket, &QSslSocket::readyRead, &socket, [&] {
        char ack = 0;
        if (done || !socket.getChar(&ack))
            return;
        if (left > 0)
            fail(QStringLiteral("client: ack before all data was written"));
        elapsedNs = timer.nsecsElapsed();
        done = true;
        socket.disconnectFromHost();
        if (socket.state() == QAbstractSocket::UnconnectedState)
            loop.quit();
    });
    QObject::connect(&socket, &QSslSocket::disconnected, &loop, [&] {
        if (!done)
            fail(QStringLiteral("client: the server closed before the ack"));
        loop.quit();
    });
    socket.connectToHostEncrypted(QStringLiteral("127.0.0.1"), port, QStringLiteral("localhost"));
    loop.exec();
    return double(bytes) / (double(qMax<qint64>(elapsedNs, 1)) / 1e9) / 1e6;
}

double handshakes(const QSslConfiguration &config, quint16 port, const Options &options,
                  Session &session)
{
    QEventLoop loop;
    QElapsedTimer timer;
    qint64 count = 0;
    quint64 name = 0;
    const qint64 wantNs = qint64(options.secs * 1e9);
    std::function<void()> next = [&] {
        if (count >= options.minCount && timer.nsecsElapsed() >= wantNs) {
            loop.quit();
            return;
        }
        auto *socket = new QSslSocket;
        auto done = std::make_shared<bool>(false);
        socket->setSslConfiguration(config);
        watchClient(*socket, *done);
        QObject::connect(socket, &QSslSocket::encrypted, socket, [&, socket] {
            if (count == 0)
                session = checkSession(*socket, options.cipher);
            socket->write("H", 1);
        });
        QObject::connect(socket, &QSslSocket::readyRead, socket, [&, socket, done] {
            char answer = 0;
            if (*done || !socket->getChar(&answer))
                return;
            *done = true;
            ++count;
            socket->disconnectFromHost();
        });
        QObject::connect(socket, &QSslSocket::disconnected, &loop, [&, socket, done] {
            if (!*done)
                fail(QStringLiteral("client: the server closed before answering"));
            socket->deleteLater();
            QTimer::singleShot(0, &loop, next);
        });
        socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), port,
                                       QStringLiteral("h%1.bench.test").arg(name++));
    };
    timer.start();
    QTimer::singleShot(0, &loop, next);
    loop.exec();
    return double(count) / (double(timer.nsecsElapsed()) / 1e9);
}

QJsonObject libraries()
{
    QJsonArray backends;
    for (const QString &backend : QSslSocket::availableBackends())
        backends.append(backend);
    return QJsonObject{
        {QStringLiteral("qt"), QString::fromLatin1(qVersion())},
        {QStringLiteral("backend"), QSslSocket::activeBackend()},
        {QStringLiteral("backends"), backends},
        {QStringLiteral("ssl"), QSslSocket::sslLibraryVersionString()},
        {QStringLiteral("ssl_build"), QSslSocket::sslLibraryBuildVersionString()},
    };
}

void printLine(const QJsonObject &object)
{
    std::printf("%s\n", QJsonDocument(object).toJson(QJsonDocument::Compact).constData());
    std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const Options options = parseOptions(QCoreApplication::arguments());

    // Before anything touches the TLS classes: the backend is chosen once per process.
    const QString wanted = QStringLiteral("openssl");
    if (!QSslSocket::availableBackends().contains(wanted))
        fail(QStringLiteral("Qt has no %1 TLS backend (available: %2)")
                 .arg(wanted, QSslSocket::availableBackends().join(QStringLiteral(", "))));
    if (!QSslSocket::setActiveBackend(wanted) || QSslSocket::activeBackend() != wanted)
        fail(QStringLiteral("cannot make %1 Qt's TLS backend").arg(wanted));
    if (!QSslSocket::supportsSsl())
        fail(QStringLiteral("Qt's %1 backend cannot load OpenSSL").arg(wanted));

    if (options.command == QLatin1String("info")) {
        printLine(libraries());
        return 0;
    }
    const bool isBulk = options.command == QLatin1String("bulk");
    if (!isBulk && options.command != QLatin1String("handshake"))
        fail(QStringLiteral("unknown command %1\n%2")
                 .arg(options.command, QString::fromLatin1(kUsage)));

    // A watchdog that does not depend on either event loop.
    const double timeout =
        options.timeoutSecs >= 0 ? options.timeoutSecs : (isBulk ? 600.0 : options.secs + 120.0);
    std::thread([timeout] {
        std::this_thread::sleep_for(std::chrono::duration<double>(timeout));
        fail(QStringLiteral("timed out after %1 s").arg(timeout));
    }).detach();

    const Tls tls = configure(options);
    ServerThread server(tls.server);
    Session session;
    QJsonObject line = libraries();
    if (isBulk) {
        line.insert(QStringLiteral("metric"), QStringLiteral("bulk"));
        line.insert(QStringLiteral("unit"), QStringLiteral("MB/s"));
        line.insert(QStringLiteral("value"), bulk(tls.client, server.port(), options, session));
        line.insert(QStringLiteral("mib"), options.mib);
    } else {
        line.insert(QStringLiteral("metric"), QStringLiteral("handshake_full"));
        line.insert(QStringLiteral("unit"), QStringLiteral("handshakes/s"));
        line.insert(QStringLiteral("value"),
                    handshakes(tls.client, server.port(), options, session));
    }
    line.insert(QStringLiteral("protocol"), session.protocol);
    line.insert(QStringLiteral("cipher"), session.cipher);
    printLine(line);
    return 0;
}
