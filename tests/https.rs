//! The customer probe's HTTPS: a TLS server on loopback with a certificate from
//! a private CA. Trusting the CA's bundle (`ca_file`) it is served; with only
//! the system's roots, or under another name, the handshake is refused with a
//! reason a person can act on.

mod common;

use gameday::net::http::{request_to, respond};
use gameday::net::tls::client_config;
use hyper::{Method, StatusCode};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

const HOST: &str = "app.example.test";

/// A CA and a server certificate for HOST it signed (rcgen, in-process):
/// ca.pem, leaf.pem and leaf.key in `dir`.
fn certificates(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "gameday-test-ca");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec![HOST.to_string()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, HOST);
    let leaf_pem = leaf.signed_by(&leaf_key, &issuer).unwrap().pem();
    std::fs::write(dir.join("ca.pem"), ca_pem).unwrap();
    std::fs::write(dir.join("leaf.pem"), leaf_pem).unwrap();
    std::fs::write(dir.join("leaf.key"), leaf_key.serialize_pem()).unwrap();
}

#[test]
fn https_is_served_with_the_private_ca_and_refused_without_it() {
    let dir = common::scratch("https");
    certificates(&dir);
    common::rt().block_on(async {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(dir.join("leaf.pem"))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_file(dir.join("leaf.key")).unwrap();
        let server = tokio_rustls::rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(respond(
                            StatusCode::OK,
                            "text/plain",
                            "ok",
                        ))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        let timeout = Duration::from_secs(2);
        let trusted = client_config(Some(&dir.join("ca.pem"))).unwrap();
        let reply = request_to(
            addr,
            Some(trusted.clone()),
            Method::GET,
            HOST,
            "/healthz",
            None,
            timeout,
        )
        .await
        .unwrap();
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(&reply.body[..], b"ok");

        // Only the system's roots: the private CA is unknown.
        let system = client_config(None).unwrap();
        let e = request_to(
            addr,
            Some(system),
            Method::GET,
            HOST,
            "/healthz",
            None,
            timeout,
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(e.contains("TLS") && e.contains("UnknownIssuer"), "{e}");

        // The right CA, the wrong name.
        let e = request_to(
            addr,
            Some(trusted),
            Method::GET,
            "api.example.test",
            "/healthz",
            None,
            timeout,
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("TLS") && e.contains("not valid for name \"api.example.test\""),
            "{e}"
        );
        server.abort();
    });
}
