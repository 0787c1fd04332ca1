//! A TLS server and client on loopback, on every compiled-in backend: prints what each
//! negotiated, then shows a certificate error being reported and rejected.
//!
//! ```text
//! cargo run --release -p sslsocket --example loopback
//! ```

use std::io::{Read, Write};
use std::time::Duration;

use sslsocket::{KeyFormat, SslCertificate, SslConfiguration, SslKey, SslServer, SslSocket};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let certificate = SslCertificate::from_der(made.cert.der())?;
    let key = SslKey::private_key_from_der(&made.signing_key.serialize_der(), KeyFormat::Pkcs8)?;

    for info in sslsocket::available_backends() {
        if let Some(why) = &info.unusable_reason {
            println!("{:<8} unusable: {why}", info.name);
            continue;
        }
        let mut server = SslServer::with_backend(info.name)?;
        server.set_ssl_configuration(SslConfiguration {
            local_certificate_chain: vec![certificate.clone()],
            private_key: Some(key.clone()),
            system_ca_certificates: false,
            ..SslConfiguration::default()
        });
        server.listen("127.0.0.1:0")?;
        let port = server.local_address().ok_or("not listening")?.port();
        let serving = std::thread::spawn(move || -> std::io::Result<()> {
            for _ in 0..2 {
                // The second client rejects us: its handshake ends as a failure here.
                if let Ok(sslsocket::Accepted::Encrypted(mut peer)) = server.accept_next(None) {
                    let mut hello = [0u8; 5];
                    peer.read_exact(&mut hello)?;
                    peer.write_all(&hello)?;
                    peer.flush()?;
                }
            }
            Ok(())
        });

        // Trusting the certificate: encrypted, data echoed.
        let mut socket = SslSocket::with_backend(info.name)?;
        socket.add_ca_certificate(certificate.clone());
        socket.set_system_ca_certificates(false);
        socket.connect_to_host_encrypted("localhost", port);
        socket.write_all(b"hello")?;
        socket.wait_for_encrypted(Duration::from_secs(5))?;
        let mut echo = [0u8; 5];
        socket.read_exact(&mut echo)?;
        let cipher = socket.session_cipher().map_or("unknown".to_owned(), |c| c.name);
        println!(
            "{:<8} {} {} echo={:?} peer={}",
            info.name,
            socket.session_protocol(),
            cipher,
            String::from_utf8_lossy(&echo),
            socket.peer_certificate().map(|c| c.subject_display()).unwrap_or_default()
        );
        socket.disconnect_from_host();
        socket.wait_for_disconnected(Duration::from_secs(5))?;

        // Not trusting it: rejected, with the reason.
        let mut socket = SslSocket::with_backend(info.name)?;
        socket.set_system_ca_certificates(false);
        socket.connect_to_host_encrypted("localhost", port);
        let err = socket.wait_for_encrypted(Duration::from_secs(5)).expect_err("untrusted");
        println!("{:<8} untrusted server: {:?}: {}", info.name, err.kind(), socket.error_string());
        drop(socket);
        serving.join().map_err(|_| "server thread panicked")??;
    }
    Ok(())
}
