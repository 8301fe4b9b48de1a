//! TLS for every connection Herald opens (SMTP to the relay, IMAP to the bounce mailbox, HTTP
//! to feeds, pictures and SNS): one crypto library, aws-lc-rs, which DKIM and the HMACs use too,
//! and one way to build the roots a server's certificate may chain to.

use std::path::Path;

use anyhow::Context;
use lettre::transport::smtp::client::{Certificate, CertificateStore, TlsParameters};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::error::BadInput;

/// Makes aws-lc-rs rustls's process-wide crypto provider before any client is built; calling
/// it again is harmless.
pub fn install_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The certificates of a PEM bundle named by the setting `key` (a private CA). A file that
/// cannot be read is an error of the machine (exit 1); one that holds no certificate, of the
/// settings (exit 2).
pub fn pem_certificates(key: &str, path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path).with_context(|| format!("reading {key} {}", path.display()))?;
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|error| BadInput(format!("{key} {}: {error}", path.display())))?;
    if certificates.is_empty() {
        return Err(BadInput(format!(
            "{key} {}: no PEM certificate in it",
            path.display()
        ))
        .into());
    }
    Ok(certificates)
}

/// The roots a server's certificate may chain to: webpki's built-in ones, the system's (where a
/// site installs its private CA) and the bundle `ca_file` names (the setting `key`). Never
/// "accept anything".
pub fn roots(key: &str, ca_file: Option<&Path>) -> anyhow::Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for certificate in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(certificate);
    }
    if let Some(path) = ca_file {
        for certificate in pem_certificates(key, path)? {
            roots
                .add(certificate)
                .with_context(|| format!("{key} {}", path.display()))?;
        }
    }
    Ok(roots)
}

/// A rustls client configuration that trusts [`roots`].
pub fn client_config(key: &str, ca_file: Option<&Path>) -> anyhow::Result<rustls::ClientConfig> {
    install_provider();
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots(key, ca_file)?)
        .with_no_client_auth())
}

/// lettre's TLS parameters for the relay `host`, trusting the same roots as [`roots`] with
/// `smtp.ca_file`.
pub fn smtp_parameters(host: &str, ca_file: Option<&Path>) -> anyhow::Result<TlsParameters> {
    install_provider();
    let mut builder =
        TlsParameters::builder(host.to_string()).certificate_store(CertificateStore::WebpkiRoots);
    let native = rustls_native_certs::load_native_certs().certs;
    let private = match ca_file {
        Some(path) => pem_certificates("smtp.ca_file", path)?,
        None => Vec::new(),
    };
    for der in native.iter().chain(&private) {
        match Certificate::from_der(der.to_vec()) {
            Ok(certificate) => builder = builder.add_root_certificate(certificate),
            Err(error) if private.contains(der) => {
                return Err(BadInput(format!("smtp.ca_file: {error}")).into())
            }
            Err(_) => {}
        }
    }
    builder
        .build_rustls()
        .with_context(|| format!("setting up TLS for {host}"))
}
