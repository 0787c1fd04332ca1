//! An async TLS echo server on tokio.
//!
//! ```text
//! cargo run -p sslsocket --example async_echo_server -- 127.0.0.1:8443 cert.pem key.pem
//! ```
//!
//! Without arguments it makes a throwaway certificate for `localhost`, writes it to
//! `echo-ca.pem` for the client example, and listens on 127.0.0.1:8443.

use std::time::Duration;

use sslsocket::{
    AsyncAccepted, AsyncSslServer, KeyFormat, SslCertificate, SslConfiguration, SslKey,
};
use tokio::io::AsyncWriteExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args.first().map_or("127.0.0.1:8443", String::as_str).to_owned();
    let (chain, key) = match (args.get(1), args.get(2)) {
        (Some(cert), Some(key)) => (
            SslCertificate::from_pem(&std::fs::read(cert)?)?,
            SslKey::private_key_from_pem(&std::fs::read(key)?)?,
        ),
        _ => {
            let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
            std::fs::write("echo-ca.pem", made.cert.pem())?;
            (
                vec![SslCertificate::from_der(made.cert.der())?],
                SslKey::private_key_from_der(&made.signing_key.serialize_der(), KeyFormat::Pkcs8)?,
            )
        }
    };
    let mut server = AsyncSslServer::new()?;
    server.set_ssl_configuration(SslConfiguration {
        local_certificate_chain: chain,
        private_key: Some(key),
        ..SslConfiguration::default()
    });
    server.set_handshake_timeout(Duration::from_secs(10));
    server.bind(addr.as_str()).await?;
    println!("listening on {}", server.local_address().ok_or("not bound")?);
    loop {
        match server.accept_next().await? {
            AsyncAccepted::Encrypted(socket) => {
                tokio::spawn(async move {
                    let peer = socket.peer_address();
                    let (mut reader, mut writer) = tokio::io::split(*socket);
                    // Until the client's close_notify (its half-close); then ours: tokio's
                    // `shutdown` closes our direction (close_notify, FIN) after the echo.
                    let copied = tokio::io::copy(&mut reader, &mut writer).await;
                    let closed = writer.shutdown().await;
                    println!("{peer:?}: echoed {copied:?} bytes, closed: {closed:?}");
                });
            }
            AsyncAccepted::Failed(failure) => {
                println!("{}: handshake failed: {:?}", failure.peer, failure.error)
            }
        }
    }
}
