//! Arbitrary bytes to every `SslKey` reader (DER in each format, PEM, PEM with a passphrase),
//! then the getters (see `sslsocket_tests::hostile::key_parse`).
#![no_main]

use sslsocket_tests::hostile;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hostile::key_parse(data);
    hostile::encrypted_key_parse(data);
});
