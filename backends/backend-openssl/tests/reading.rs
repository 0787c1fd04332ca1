//! How plaintext leaves a session: lazily, a record at a time, with nothing stranded when no
//! more input comes, counts that `read_plaintext` honours, and end of stream and errors only
//! after the data before them. The test bodies are `ssl_api::testing::reading`'s, shared with
//! the native backend; here the sessions talk TLS 1.3 over in-memory buffers.

ssl_api::reading_tests!(backend_openssl::OpensslBackend);
