//! TLS client configuration: the system's trusted roots, plus a PEM bundle
//! when a service is signed by its own CA (the Amazon RDS bundle, for one).

use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// A client configuration trusting the system's roots and those in `extra_ca`.
pub fn client_config(extra_ca: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = extra_ca {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect())
            .map_err(|e| {
                format!(
                    "cannot read the CA bundle {}: {e}; give a PEM file",
                    path.display()
                )
            })?;
        if certs.is_empty() {
            return Err(format!(
                "the CA bundle {} holds no certificate",
                path.display()
            ));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("a certificate in {} is unusable: {e}", path.display()))?;
        }
    }
    if roots.is_empty() {
        return Err(
            "no trusted root certificate found on this system; install ca-certificates".into(),
        );
    }
    Ok(Arc::new(
        ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

#[cfg(test)]
mod tests {
    use super::client_config;

    #[test]
    fn a_bad_ca_bundle_says_what_is_wrong() {
        let dir = std::env::temp_dir().join(format!("gameday-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = client_config(Some(&empty)).unwrap_err();
        assert!(e.contains("holds no certificate"), "{e}");
        let e = client_config(Some(&dir.join("missing.pem"))).unwrap_err();
        assert!(e.contains("cannot read the CA bundle"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
