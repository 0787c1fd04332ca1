//! A configuration built from arbitrary bytes (verify depth and mode, protocol, ALPN names of
//! any length, a mismatched key) through `SslConfiguration::validate` and every backend's
//! context, both roles (see `sslsocket_tests::hostile::configuration`).
#![no_main]

use sslsocket_tests::hostile;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = hostile::configuration(data);
});
