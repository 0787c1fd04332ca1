//! Arbitrary bytes as the client's, to a server `Connection` waiting for its ClientHello, on
//! the backend the first byte picks (see `sslsocket_tests::hostile::connection_input`).
#![no_main]

use sslsocket_tests::hostile;

libfuzzer_sys::fuzz_target!(|data: &[u8]| hostile::connection_server(data));
