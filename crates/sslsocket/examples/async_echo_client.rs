//! An async TLS client on tokio: sends a line to the echo server and prints the answer.
//!
//! ```text
//! cargo run -p sslsocket --example async_echo_client -- localhost 8443 echo-ca.pem
//! ```

use sslsocket::{AsyncSslSocket, EncodingFormat, PatternSyntax, SslCertificate};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let host = args.first().map_or("localhost", String::as_str).to_owned();
    let port: u16 = args.get(1).map_or(Ok(8443), |p| p.parse())?;
    let mut socket = AsyncSslSocket::new();
    if let Some(ca) = args.get(2) {
        socket.add_ca_certificates(SslCertificate::from_path(
            ca,
            EncodingFormat::Pem,
            PatternSyntax::FixedString,
        )?);
    }
    socket.connect_to_host_encrypted(&host, port).await?;
    println!("{} {:?}", socket.session_protocol(), socket.session_cipher().map(|c| c.name));
    socket.write_all(b"hello over TLS\n").await?;
    socket.flush().await?;
    let mut reader = BufReader::new(socket);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    print!("echoed: {line}");
    reader.into_inner().shutdown().await?;
    Ok(())
}
