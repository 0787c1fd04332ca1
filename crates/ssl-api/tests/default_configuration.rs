//! The process-wide default configuration: its own test binary, since it is process-wide.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use ssl_api::{SslCertificate, SslConfiguration};

fn certificate(name: &str) -> SslCertificate {
    let cert = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
    SslCertificate::from_der(cert.cert.der()).unwrap()
}

#[test]
fn default_ca_certificates_are_added_once_to_the_default_configuration() {
    let (a, b) = (certificate("a.example"), certificate("b.example"));
    let before = SslConfiguration::default_configuration();
    assert!(before.ca_certificates.is_empty());

    SslConfiguration::add_default_ca_certificate(a.clone());
    SslConfiguration::add_default_ca_certificates([a.clone(), b.clone()]);
    let after = SslConfiguration::default_configuration();
    assert_eq!(after.ca_certificates, [a.clone(), b]);
    // Everything else is unchanged.
    assert_eq!(SslConfiguration { ca_certificates: vec![], ..after }, before);

    SslConfiguration::set_default_configuration(SslConfiguration::default());
    assert!(SslConfiguration::default_configuration().ca_certificates.is_empty());
    SslConfiguration::add_default_ca_certificate(a.clone());
    assert_eq!(SslConfiguration::default_configuration().ca_certificates, [a]);
}
