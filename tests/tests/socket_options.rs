//! The QAbstractSocket half of the contract (issue 16), on every backend and both drivers:
//! socket options read back from the kernel (socket2's `SockRef` on the socket's own
//! descriptor), servers' options on what they accept, `bind` before a connect (the server sees
//! the bound port), the address family of a connect, connecting to an address without a
//! lookup, adopting a descriptor (an `OwnedFd` completes a handshake; what is not a connected
//! TCP socket is a typed error), the getters on the socket and `AsyncSslSocket::close`.
#![cfg(feature = "tokio")] // both drivers are tested side by side
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use conformance::pki::{Authority, Identity};
use socket2::{Domain, SockRef, Socket, Type};
use sslsocket::{
    Accepted, AsyncSslServer, AsyncSslSocket, BindMode, Error, Event, NetworkLayerProtocol,
    SocketErrorKind, SocketOption, SocketOptions, SocketSetupError, SocketState, SslBackend,
    SslServer, SslSocket, UsageError,
};
use sslsocket_tests::{client_config, on_each_backend};

const TIMEOUT: Duration = Duration::from_secs(10);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// What the server saw of one accepted connection.
#[derive(Debug, Clone)]
struct Seen {
    peer: SocketAddr,
    nodelay: bool,
    keepalive: bool,
}

/// A blocking TLS echo server on `listen` for `clients` connections; reports what it saw of
/// each accepted socket (peer address, kernel options) on the channel.
fn echo_server(
    backend: &Arc<dyn SslBackend>,
    identity: &Identity,
    listen: &str,
    clients: usize,
    options: SocketOptions,
) -> (u16, mpsc::Receiver<Seen>) {
    let mut server = SslServer::with_backend_handle(backend.clone());
    server.set_ssl_configuration(identity.server_config());
    server.set_handshake_timeout(TIMEOUT);
    server.set_socket_options(options);
    server.listen(listen).unwrap();
    let port = server.local_address().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for _ in 0..clients {
            let Ok(Accepted::Encrypted(mut socket)) = server.accept_next(Some(TIMEOUT)) else {
                continue;
            };
            // Seen at once. A client that dropped its socket right after the handshake may
            // have reset the connection already: then there is nothing to see (the tests that
            // read what the server saw keep their client open).
            let seen = socket.socket_descriptor().and_then(|fd| {
                let kernel = SockRef::from(&fd);
                Some(Seen {
                    peer: socket.peer_address()?,
                    nodelay: kernel.tcp_nodelay().ok()?,
                    keepalive: kernel.keepalive().ok()?,
                })
            });
            if let Some(seen) = seen {
                let _ = tx.send(seen);
            }
            // Each connection echoes on its own thread: the next client is not kept waiting.
            thread::spawn(move || {
                socket.set_read_timeout(Some(TIMEOUT));
                let mut buf = [0u8; 1024];
                while let Ok(n @ 1..) = socket.read(&mut buf) {
                    if socket.write_all(&buf[..n]).and_then(|()| socket.flush()).is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, rx)
}

fn client(backend: &Arc<dyn SslBackend>, ca: &Authority) -> SslSocket {
    let mut socket = SslSocket::with_backend_handle(backend.clone());
    socket.set_ssl_configuration(client_config(&ca.certificate));
    socket
}

fn async_client(backend: &Arc<dyn SslBackend>, ca: &Authority) -> AsyncSslSocket {
    let mut socket = AsyncSslSocket::with_backend_handle(backend.clone());
    socket.set_ssl_configuration(client_config(&ca.certificate));
    socket
}

fn echo_once(socket: &mut SslSocket) {
    socket.write_all(b"ping").unwrap();
    socket.flush().unwrap();
    let mut back = [0u8; 4];
    socket.set_read_timeout(Some(TIMEOUT));
    socket.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"ping");
}

async fn async_echo_once(socket: &mut AsyncSslSocket) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    socket.write_all(b"ping").await.unwrap();
    socket.flush().await.unwrap();
    let mut back = [0u8; 4];
    tokio::time::timeout(TIMEOUT, socket.read_exact(&mut back)).await.unwrap().unwrap();
    assert_eq!(&back, b"ping");
}

/// The options the client tests set before connecting, and what the kernel must report.
fn client_options() -> [(SocketOption, u32); 5] {
    [
        (SocketOption::LowDelay, 0),
        (SocketOption::KeepAlive, 1),
        (SocketOption::SendBufferSize, 65_536),
        (SocketOption::ReceiveBufferSize, 131_072),
        (SocketOption::TypeOfService, 0x10),
    ]
}

/// Reads each option back from the kernel through the socket's own descriptor and checks it
/// against what was set (the kernel may round buffer sizes up: Linux doubles them).
fn assert_kernel_has(fd: std::os::fd::BorrowedFd<'_>, set: &[(SocketOption, u32)], who: &str) {
    let kernel = SockRef::from(&fd);
    for &(option, value) in set {
        let got = match option {
            SocketOption::LowDelay => u32::from(kernel.tcp_nodelay().unwrap()),
            SocketOption::KeepAlive => u32::from(kernel.keepalive().unwrap()),
            SocketOption::SendBufferSize => kernel.send_buffer_size().unwrap() as u32,
            SocketOption::ReceiveBufferSize => kernel.recv_buffer_size().unwrap() as u32,
            SocketOption::TypeOfService => kernel.tos_v4().unwrap(),
        };
        match option {
            SocketOption::SendBufferSize | SocketOption::ReceiveBufferSize => {
                assert!(got >= value, "{who}: {option:?} set {value}, kernel {got}");
            }
            _ => assert_eq!(got, value, "{who}: {option:?}"),
        }
    }
}

#[test]
fn options_set_before_the_connect_are_on_the_kernel_socket_and_can_change_after() {
    on_each_backend(|backend| {
        let name = backend.name();
        let ca = Authority::root("options root");
        let id = ca.leaf(&["localhost"]);
        let (port, seen) = echo_server(&backend, &id, "127.0.0.1:0", 2, SocketOptions::new());

        // Blocking.
        let mut socket = client(&backend, &ca);
        // Before the TCP socket exists: the value set, LowDelay on by default, others unknown.
        assert_eq!(socket.socket_option(SocketOption::LowDelay).unwrap(), 1);
        assert!(matches!(
            socket.socket_option(SocketOption::KeepAlive),
            Err(Error::Usage(UsageError::NotConnected))
        ));
        for (option, value) in client_options() {
            socket.set_socket_option(option, value).unwrap();
            assert_eq!(socket.socket_option(option).unwrap(), value);
        }
        socket.connect_to_host_encrypted("localhost", port);
        socket.wait_for_encrypted(TIMEOUT).unwrap();
        assert_kernel_has(socket.socket_descriptor().unwrap(), &client_options(), name);
        // socket_option now reads the kernel too.
        assert_eq!(socket.socket_option(SocketOption::KeepAlive).unwrap(), 1);
        assert!(socket.socket_option(SocketOption::SendBufferSize).unwrap() >= 65_536);
        // Changed on the live socket.
        socket.set_socket_option(SocketOption::LowDelay, 1).unwrap();
        socket.set_socket_option(SocketOption::KeepAlive, 0).unwrap();
        let after = [(SocketOption::LowDelay, 1), (SocketOption::KeepAlive, 0)];
        assert_kernel_has(socket.socket_descriptor().unwrap(), &after, name);
        echo_once(&mut socket);
        seen.recv_timeout(TIMEOUT).unwrap();

        // Tokio.
        runtime().block_on(async {
            let mut socket = async_client(&backend, &ca);
            for (option, value) in client_options() {
                socket.set_socket_option(option, value).unwrap();
            }
            socket.connect_to_host_encrypted("localhost", port).await.unwrap();
            let who = format!("{name}/tokio");
            assert_kernel_has(socket.socket_descriptor().unwrap(), &client_options(), &who);
            socket.set_socket_option(SocketOption::LowDelay, 1).unwrap();
            socket.set_socket_option(SocketOption::KeepAlive, 0).unwrap();
            assert_kernel_has(socket.socket_descriptor().unwrap(), &after, &who);
            async_echo_once(&mut socket).await;
        });
        seen.recv_timeout(TIMEOUT).unwrap();
    });
}

#[test]
fn low_delay_is_on_by_default_and_can_be_turned_off() {
    on_each_backend(|backend| {
        let ca = Authority::root("nodelay root");
        let id = ca.leaf(&["localhost"]);
        let (port, _seen) = echo_server(&backend, &id, "127.0.0.1:0", 2, SocketOptions::new());
        let mut socket = client(&backend, &ca);
        socket.connect_to_host_encrypted("localhost", port);
        socket.wait_for_encrypted(TIMEOUT).unwrap();
        let fd = socket.socket_descriptor().unwrap();
        assert!(SockRef::from(&fd).tcp_nodelay().unwrap(), "{}: default", backend.name());
        let mut off = client(&backend, &ca);
        off.set_socket_option(SocketOption::LowDelay, 0).unwrap();
        off.connect_to_host_encrypted("localhost", port);
        off.wait_for_encrypted(TIMEOUT).unwrap();
        let fd = off.socket_descriptor().unwrap();
        assert!(!SockRef::from(&fd).tcp_nodelay().unwrap(), "{}: turned off", backend.name());
    });
}

#[test]
fn bad_option_values_are_typed_errors() {
    let mut socket = SslSocket::new();
    let bad = [
        (SocketOption::SendBufferSize, 0),
        (SocketOption::ReceiveBufferSize, 0),
        (SocketOption::ReceiveBufferSize, u32::MAX),
        (SocketOption::LowDelay, 2),
        (SocketOption::KeepAlive, 7),
        (SocketOption::TypeOfService, 256),
    ];
    for (option, value) in bad {
        let err = socket.set_socket_option(option, value).unwrap_err();
        assert!(
            matches!(&err, Error::Socket(SocketSetupError::InvalidOptionValue { value: v, .. }) if *v == u64::from(value)),
            "{option:?} = {value}: {err:?}"
        );
        assert_eq!(err.kind(), SocketErrorKind::OperationError);
        assert!(SocketOptions::new().set(option, value).is_err());
    }
    // Nothing was recorded by the refused calls.
    assert_eq!(socket.socket_options(), &SocketOptions::new());
    // The async socket refuses the same way.
    let mut socket = AsyncSslSocket::new();
    assert!(socket.set_socket_option(SocketOption::SendBufferSize, 0).is_err());
}

#[test]
fn servers_apply_their_options_to_what_they_accept() {
    on_each_backend(|backend| {
        let name = backend.name();
        let ca = Authority::root("server options root");
        let id = ca.leaf(&["localhost"]);
        let options = SocketOptions::new()
            .with(SocketOption::KeepAlive, 1)
            .unwrap()
            .with(SocketOption::LowDelay, 0)
            .unwrap();
        let (port, seen) = echo_server(&backend, &id, "127.0.0.1:0", 1, options.clone());
        let mut socket = client(&backend, &ca);
        socket.connect_to_host_encrypted("localhost", port);
        socket.wait_for_encrypted(TIMEOUT).unwrap();
        let seen = seen.recv_timeout(TIMEOUT).unwrap();
        assert!(seen.keepalive && !seen.nodelay, "{name}: blocking server saw {seen:?}");

        runtime().block_on(async {
            let mut server = AsyncSslServer::with_backend_handle(backend.clone());
            server.set_ssl_configuration(id.server_config());
            server.set_socket_options(options.clone());
            server.bind("127.0.0.1:0").await.unwrap();
            let port = server.local_address().unwrap().port();
            let connecting = tokio::spawn({
                let mut socket = async_client(&backend, &ca);
                async move {
                    socket.connect_to_host_encrypted("localhost", port).await.unwrap();
                    socket
                }
            });
            let accepted = tokio::time::timeout(TIMEOUT, server.accept()).await.unwrap().unwrap();
            let fd = accepted.socket_descriptor().unwrap();
            let kernel = SockRef::from(&fd);
            assert!(kernel.keepalive().unwrap(), "{name}: tokio server keepalive");
            assert!(!kernel.tcp_nodelay().unwrap(), "{name}: tokio server nodelay");
            assert_eq!(accepted.socket_option(SocketOption::KeepAlive).unwrap(), 1);
            drop(connecting.await.unwrap());
        });
    });
}

/// A port nobody listens on right now (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn a_bound_client_goes_out_from_its_port_and_the_server_sees_it() {
    on_each_backend(|backend| {
        let name = backend.name();
        let ca = Authority::root("bind root");
        let id = ca.leaf(&["localhost"]);
        let (port, seen) = echo_server(&backend, &id, "127.0.0.1:0", 2, SocketOptions::new());

        let local = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let mut socket = client(&backend, &ca);
        let states = Arc::new(Mutex::new(Vec::new()));
        let record = states.clone();
        socket.set_event_handler(move |event, _| {
            if let Event::StateChanged(state) = event {
                record.lock().unwrap().push(*state);
            }
        });
        assert_eq!(socket.bind(local, BindMode::REUSE_ADDRESS_HINT).unwrap(), local);
        assert_eq!(socket.state(), SocketState::BoundState);
        assert_eq!(socket.local_address(), Some(local));
        assert!(socket.socket_descriptor().is_some(), "{name}: a bound socket has a descriptor");
        socket.connect_to_host_encrypted("localhost", port);
        socket.wait_for_encrypted(TIMEOUT).unwrap();
        assert_eq!(socket.local_address(), Some(local), "{name}");
        assert_eq!(seen.recv_timeout(TIMEOUT).unwrap().peer, local, "{name}: server saw");
        assert_eq!(states.lock().unwrap()[0], SocketState::BoundState);
        // bind on a connected socket is refused.
        let err = socket.bind(local, BindMode::DEFAULT_FOR_PLATFORM).unwrap_err();
        assert!(matches!(err, Error::Socket(SocketSetupError::BindNotUnconnected)), "{err:?}");
        echo_once(&mut socket);

        runtime().block_on(async {
            let local = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
            let mut socket = async_client(&backend, &ca);
            socket.bind(local, BindMode::SHARE_ADDRESS).unwrap();
            assert_eq!(socket.state(), SocketState::BoundState);
            socket.connect_to_host_encrypted("localhost", port).await.unwrap();
            assert_eq!(socket.local_address(), Some(local));
            assert_eq!(seen.recv_timeout(TIMEOUT).unwrap().peer, local, "{name}/tokio: server saw");
            async_echo_once(&mut socket).await;
        });
    });
}

#[test]
fn bind_to_a_port_in_use_is_address_in_use() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let mut socket = SslSocket::new();
    let err = socket.bind(addr, BindMode::DONT_SHARE_ADDRESS).unwrap_err();
    assert_eq!(err.kind(), SocketErrorKind::AddressInUseError, "{err:?}");
    assert_eq!(socket.state(), SocketState::UnconnectedState);
    let mut socket = AsyncSslSocket::new();
    let err = socket.bind(addr, BindMode::DEFAULT_FOR_PLATFORM).unwrap_err();
    assert_eq!(err.kind(), SocketErrorKind::AddressInUseError, "{err:?}");
    // An address this host does not have.
    let err = SslSocket::new()
        .bind(SocketAddr::from(([192, 0, 2, 1], 0)), BindMode::DEFAULT_FOR_PLATFORM)
        .unwrap_err();
    assert_eq!(err.kind(), SocketErrorKind::SocketAddressNotAvailableError, "{err:?}");
}

/// Whether the system resolver gives `localhost` an IPv6 address (many hosts files list
/// `::1 localhost`; this one may not).
fn localhost_has_ipv6() -> bool {
    use std::net::ToSocketAddrs;
    ("localhost", 0).to_socket_addrs().unwrap().any(|a| a.is_ipv6())
}

#[test]
fn the_address_family_selects_the_resolved_addresses() {
    on_each_backend(|backend| {
        let name = backend.name();
        let ca = Authority::root("family root");
        let id = ca.leaf(&["localhost"]);
        // One listener on ::1 only.
        let (port, _seen) = echo_server(&backend, &id, "[::1]:0", 4, SocketOptions::new());
        let v6 = localhost_has_ipv6();
        println!("{name}: localhost resolves to an IPv6 address here: {v6}");

        // IPv6 only to localhost: reaches ::1 (or, where localhost has no IPv6 address,
        // fails as HostNotFound: no address of that family).
        let mut socket = client(&backend, &ca);
        socket.set_network_layer_protocol(NetworkLayerProtocol::IPv6Protocol);
        socket.connect_to_host_encrypted("localhost", port);
        match socket.wait_for_encrypted(TIMEOUT) {
            Ok(()) => {
                assert!(v6);
                assert_eq!(socket.peer_address().unwrap().ip(), Ipv6Addr::LOCALHOST);
            }
            Err(err) => {
                assert!(!v6, "{name}: {err:?}");
                assert_eq!(err.kind(), SocketErrorKind::HostNotFoundError, "{name}: {err:?}");
            }
        }
        // IPv4 only to localhost: 127.0.0.1, where nothing listens on that port.
        let mut socket = client(&backend, &ca);
        socket.set_network_layer_protocol(NetworkLayerProtocol::IPv4Protocol);
        socket.connect_to_host_encrypted("localhost", port);
        let err = socket.wait_for_encrypted(TIMEOUT).unwrap_err();
        assert_eq!(err.kind(), SocketErrorKind::ConnectionRefusedError, "{name}: {err:?}");
        // The ::1 literal: IPv6 and Any reach it, IPv4 has no address for it. On IPv6,
        // TypeOfService is the traffic class (IPV6_TCLASS).
        for protocol in [NetworkLayerProtocol::IPv6Protocol, NetworkLayerProtocol::AnyIPProtocol] {
            let mut socket = client(&backend, &ca);
            socket.set_network_layer_protocol(protocol);
            socket.set_socket_option(SocketOption::TypeOfService, 0x28).unwrap();
            socket.connect_to_host_encrypted_with_peer_name("::1", port, "localhost");
            socket.wait_for_encrypted(TIMEOUT).unwrap();
            assert_eq!(socket.peer_address().unwrap().ip(), Ipv6Addr::LOCALHOST);
            let fd = socket.socket_descriptor().unwrap();
            assert_eq!(rustix::net::sockopt::ipv6_tclass(fd).unwrap(), 0x28, "{name}: tclass");
            assert_eq!(socket.socket_option(SocketOption::TypeOfService).unwrap(), 0x28);
        }
        let mut socket = client(&backend, &ca);
        socket.set_network_layer_protocol(NetworkLayerProtocol::IPv4Protocol);
        socket.connect_to_host("::1", port);
        let err = socket.wait_for_connected(TIMEOUT).unwrap_err();
        assert_eq!(err.kind(), SocketErrorKind::HostNotFoundError, "{name}: {err:?}");

        runtime().block_on(async {
            let mut socket = async_client(&backend, &ca);
            socket.set_network_layer_protocol(NetworkLayerProtocol::IPv4Protocol);
            let err = socket.connect_to_host_encrypted("localhost", port).await.unwrap_err();
            assert_eq!(err.kind(), SocketErrorKind::ConnectionRefusedError, "{name}/tokio");
            let mut socket = async_client(&backend, &ca);
            socket.set_network_layer_protocol(NetworkLayerProtocol::IPv6Protocol);
            socket.set_peer_verify_name("localhost");
            socket.connect_to_address_encrypted((Ipv6Addr::LOCALHOST, port).into()).await.unwrap();
            async_echo_once(&mut socket).await;
            let mut socket = async_client(&backend, &ca);
            socket.set_network_layer_protocol(NetworkLayerProtocol::IPv4Protocol);
            let err = socket.connect_to_address((Ipv6Addr::LOCALHOST, port).into()).await;
            assert_eq!(err.unwrap_err().kind(), SocketErrorKind::HostNotFoundError);
        });
    });
}

#[test]
fn connecting_to_an_address_skips_the_lookup() {
    // Qt's connectToHost with an IP address goes from HostLookupState to ConnectingState
    // inside the call, with no lookup (hostFound is still emitted): here too.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut socket = SslSocket::new();
    let events = Arc::new(Mutex::new(Vec::new()));
    let record = events.clone();
    socket.set_event_handler(move |event, _| record.lock().unwrap().push(format!("{event:?}")));
    socket.connect_to_address(addr);
    assert_eq!(socket.state(), SocketState::ConnectingState, "no lookup to wait for");
    assert_eq!(
        *events.lock().unwrap(),
        ["StateChanged(HostLookupState)", "HostFound", "StateChanged(ConnectingState)"]
    );
    socket.wait_for_connected(TIMEOUT).unwrap();
    assert_eq!(socket.peer_address(), Some(addr));
    let (_accepted, from) = listener.accept().unwrap();
    assert_eq!(socket.local_address(), Some(from));
    // A host name still looks up first.
    let mut socket = SslSocket::new();
    socket.connect_to_host("localhost", addr.port());
    assert_eq!(socket.state(), SocketState::HostLookupState);
}

#[test]
fn an_adopted_owned_fd_completes_a_handshake() {
    on_each_backend(|backend| {
        let name = backend.name();
        let ca = Authority::root("adopt root");
        let id = ca.leaf(&["localhost"]);
        let (port, seen) = echo_server(&backend, &id, "127.0.0.1:0", 3, SocketOptions::new());

        // Connected: an OwnedFd of a connected std stream, then STARTTLS.
        let fd = OwnedFd::from(TcpStream::connect(("127.0.0.1", port)).unwrap());
        let raw = fd.as_raw_fd();
        let mut socket = client(&backend, &ca);
        socket.set_socket_descriptor_with_state(fd, SocketState::ConnectedState).unwrap();
        assert_eq!(socket.state(), SocketState::ConnectedState);
        assert_eq!(socket.as_raw_fd(), raw, "{name}: the adopted descriptor is the socket's");
        socket.set_peer_verify_name("localhost");
        socket.start_client_encryption();
        socket.wait_for_encrypted(TIMEOUT).unwrap();
        echo_once(&mut socket);
        seen.recv_timeout(TIMEOUT).unwrap();

        // Bound: a bound, unconnected socket2 socket; the connect goes out from it.
        let bound = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        bound.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into()).unwrap();
        let local = bound.local_addr().unwrap().as_socket().unwrap();
        let mut socket = client(&backend, &ca);
        socket.set_socket_descriptor_with_state(bound, SocketState::BoundState).unwrap();
        assert_eq!(socket.state(), SocketState::BoundState);
        socket.connect_to_host_encrypted("localhost", port);
        socket.wait_for_encrypted(TIMEOUT).unwrap();
        assert_eq!(seen.recv_timeout(TIMEOUT).unwrap().peer, local, "{name}: bound adoption");

        // Tokio: the same OwnedFd adoption.
        runtime().block_on(async {
            let fd = OwnedFd::from(TcpStream::connect(("127.0.0.1", port)).unwrap());
            let mut socket = async_client(&backend, &ca);
            socket.set_socket_descriptor_with_state(fd, SocketState::ConnectedState).unwrap();
            socket.set_peer_verify_name("localhost");
            socket.start_client_encryption().await.unwrap();
            async_echo_once(&mut socket).await;
        });
        seen.recv_timeout(TIMEOUT).unwrap();
    });
}

#[test]
fn what_is_not_a_connected_tcp_socket_is_refused_typed() {
    let check = |result: Result<(), Error>, want: &str| {
        let err = result.unwrap_err();
        let got = match &err {
            Error::Socket(SocketSetupError::NotATcpSocket(_)) => "not tcp",
            Error::Socket(SocketSetupError::DescriptorState(_)) => "state",
            Error::Socket(SocketSetupError::AdoptedState(_)) => "adopted state",
            _ => "other",
        };
        assert_eq!(got, want, "{err:?}");
    };
    let file = || OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
    let udp = || OwnedFd::from(std::net::UdpSocket::bind("127.0.0.1:0").unwrap());
    let unconnected = || Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let connected = || TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let connected_state = SocketState::ConnectedState;
    let mut socket = SslSocket::new();
    check(socket.set_socket_descriptor_with_state(file(), connected_state), "not tcp");
    check(socket.set_socket_descriptor_with_state(udp(), connected_state), "not tcp");
    check(socket.set_socket_descriptor_with_state(unconnected(), connected_state), "state");
    check(socket.set_socket_descriptor_with_state(connected(), SocketState::BoundState), "state");
    check(
        socket.set_socket_descriptor_with_state(connected(), SocketState::HostLookupState),
        "adopted state",
    );
    assert_eq!(socket.state(), SocketState::UnconnectedState);
    assert!(socket.socket_descriptor().is_none());
    assert_eq!(socket.as_raw_fd(), -1, "no descriptor: -1, as Qt's socketDescriptor()");
    runtime().block_on(async {
        let mut socket = AsyncSslSocket::new();
        check(socket.set_socket_descriptor_with_state(file(), connected_state), "not tcp");
        check(socket.set_socket_descriptor_with_state(unconnected(), connected_state), "state");
        assert_eq!(socket.as_raw_fd(), -1);
    });
    // Outside a runtime the async socket cannot register a connected descriptor: a typed
    // error, not tokio's panic.
    let err = AsyncSslSocket::new()
        .set_socket_descriptor_with_state(connected(), connected_state)
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

#[test]
fn the_socket_answers_for_its_configuration_backend_and_library() {
    on_each_backend(|backend| {
        let ca = Authority::root("getters root");
        let id = ca.leaf(&["localhost"]);
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        socket.set_protocol(sslsocket::SslProtocol::TlsV1_3OrLater);
        socket.set_peer_verify_mode(sslsocket::PeerVerifyMode::VerifyPeer);
        socket.set_peer_verify_depth(4);
        socket.set_local_certificate(id.leaf().clone()).unwrap();
        socket.set_private_key(id.key.clone()).unwrap();
        assert_eq!(socket.protocol(), sslsocket::SslProtocol::TlsV1_3OrLater);
        assert_eq!(socket.peer_verify_mode(), sslsocket::PeerVerifyMode::VerifyPeer);
        assert_eq!(socket.peer_verify_depth(), 4);
        assert_eq!(socket.local_certificate(), Some(id.leaf()));
        assert_eq!(socket.local_certificate_chain(), std::slice::from_ref(id.leaf()));
        assert!(socket.private_key().is_some());
        assert_eq!(socket.backend().features(), backend.features());
        assert_eq!(socket.backend().name(), backend.name());
    });
    assert!(SslSocket::supports_ssl());
    let active = sslsocket::active_backend().unwrap();
    assert_eq!(SslSocket::ssl_library_version_string(), active.library_version_string());
    assert_eq!(
        AsyncSslSocket::ssl_library_build_version_number(),
        active.library_build_version_number()
    );
    assert_ne!(SslSocket::ssl_library_build_version_number(), 0);
    if let Ok(openssl) = sslsocket::registry::backend("openssl") {
        // Built against the headers of the libssl it runs with here: the same number.
        assert_eq!(openssl.library_build_version_number(), openssl.library_version_number());
    }
}

#[test]
fn async_close_discards_unread_data_and_closes_gracefully() {
    on_each_backend(|backend| {
        let name = backend.name();
        let ca = Authority::root("close root");
        let id = ca.leaf(&["localhost"]);
        runtime().block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut server = AsyncSslServer::with_backend_handle(backend.clone());
            server.set_ssl_configuration(id.server_config());
            server.bind("127.0.0.1:0").await.unwrap();
            let port = server.local_address().unwrap().port();
            let serving = tokio::spawn(async move {
                let mut peer = server.accept().await.unwrap();
                peer.write_all(&[7u8; 10_000]).await.unwrap();
                peer.flush().await.unwrap();
                // The client's close_notify ends the stream cleanly.
                let mut rest = Vec::new();
                tokio::time::timeout(TIMEOUT, peer.read_to_end(&mut rest)).await.unwrap().unwrap();
                rest.len()
            });
            let mut socket = async_client(&backend, &ca);
            let mut events = socket.events();
            socket.connect_to_host_encrypted("localhost", port).await.unwrap();
            // Some of the server's data has arrived and is not read.
            let mut first = [0u8; 1];
            socket.read_exact(&mut first).await.unwrap();
            tokio::time::timeout(TIMEOUT, socket.close()).await.unwrap().unwrap();
            assert_eq!(socket.state(), SocketState::UnconnectedState, "{name}");
            assert_eq!(socket.bytes_available(), 0, "{name}: unread data discarded");
            assert_eq!(serving.await.unwrap(), 0, "{name}: the server saw a clean end");
            let mut seen = Vec::new();
            while let Some(event) = events.try_recv() {
                seen.push(event);
            }
            assert!(seen.contains(&Event::AboutToClose), "{name}: {seen:?}");
            assert!(seen.contains(&Event::Disconnected), "{name}: {seen:?}");
        });
    });
}
