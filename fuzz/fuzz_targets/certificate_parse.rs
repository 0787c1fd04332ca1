//! Arbitrary bytes to `SslCertificate::from_der` / `from_pem`, then every getter and a round
//! trip (see `sslsocket_tests::hostile::certificate_parse`).
#![no_main]

use sslsocket_tests::hostile;

libfuzzer_sys::fuzz_target!(|data: &[u8]| hostile::certificate_parse(data));
