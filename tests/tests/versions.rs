//! Each backend's library version strings, checked against what the engine itself reports at
//! run time (never against a literal), and printed (`-- --nocapture`).
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use sslsocket_tests::on_each_backend;

/// The version of `name` in the workspace's Cargo.lock: what Cargo actually linked.
fn locked_version(name: &str) -> Option<String> {
    let lock =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).ok()?;
    lock.split("[[package]]").find_map(|block| {
        let mut lines = block.lines().map(str::trim);
        if !lines.any(|l| l == format!("name = \"{name}\"")) {
            return None;
        }
        let version = block.lines().map(str::trim).find_map(|l| l.strip_prefix("version = \""))?;
        Some(version.trim_end_matches('"').to_owned())
    })
}

#[test]
fn version_strings_come_from_the_engines() {
    on_each_backend(|backend| {
        let (run, build, number) = (
            backend.library_version_string(),
            backend.library_build_version_string(),
            backend.library_version_number(),
        );
        println!(
            "{:<8} run time: {run} | built against: {build} | number: {number:#x}",
            backend.name()
        );
        assert!(!run.is_empty() && !build.is_empty() && number > 0, "{}", backend.name());
        match backend.name() {
            "rustls" => {
                let linked = locked_version("rustls").expect("rustls in Cargo.lock");
                assert!(run.contains(&linked), "{run} does not name the linked rustls {linked}");
                let (major, rest) = linked.split_once('.').unwrap();
                let (minor, patch) = rest.split_once('.').unwrap();
                let expected: u64 = major.parse::<u64>().unwrap() * 10_000
                    + minor.parse::<u64>().unwrap() * 100
                    + patch.parse::<u64>().unwrap();
                assert_eq!(number, expected);
            }
            #[cfg(any(feature = "openssl", feature = "native"))]
            "openssl" | "native" => {
                // OpenSSL_version(OPENSSL_VERSION) and OpenSSL_version_num(), from the library.
                let library = openssl::version::version();
                assert!(run.contains(library), "{run} does not contain {library}");
                assert_eq!(number, u64::try_from(openssl::version::number()).unwrap());
                // Built against the same major.minor series as the library loaded.
                let series = library.split_whitespace().nth(1).unwrap().rsplit_once('.').unwrap().0;
                assert!(build.contains(series), "{build} vs run time {library}");
                if backend.name() == "native" {
                    let linked = locked_version("native-tls").expect("native-tls in Cargo.lock");
                    assert!(run.contains(&linked), "{run} does not name native-tls {linked}");
                }
            }
            other => panic!("no version check written for backend {other}"),
        }
    });
}
