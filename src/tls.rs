//! TLS for every connection the server opens: the payment gateway, partner webhooks, 알림톡,
//! the courier, mail (STARTTLS or implicit TLS), NATS and PostgreSQL. One stack everywhere:
//! rustls with the `ring` provider, TLS 1.2 or 1.3, certificates checked against the
//! system's roots (`/etc/ssl/certs`, or `SSL_CERT_FILE`/`SSL_CERT_DIR`) plus the authorities of
//! `--tls-ca-file`. PostgreSQL reads its own settings from the URL (`sslmode`, `sslrootcert`,
//! `sslcert`, `sslkey`) through sqlx, built with the same rustls and the same system roots.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use clap::Args;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

/// The TLS flags shared by every client.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsArgs {
    /// A PEM file of certificate authorities trusted besides the system's roots, for partners,
    /// mail relays, NATS servers and databases whose certificates a private CA signed (a
    /// company CA, a cloud database's CA bundle). Applies to every TLS connection the server
    /// makes; PostgreSQL also takes `sslrootcert=` in its URL.
    #[arg(long, env = "OMS_TLS_CA_FILE")]
    pub tls_ca_file: Option<PathBuf>,

    /// A PEM certificate (chain) presented to the payment gateway when it asks for one
    /// (mutual TLS); with `--payment-gateway-client-key`.
    #[arg(
        long,
        env = "OMS_PAYMENT_GATEWAY_CLIENT_CERT",
        requires = "payment_gateway_client_key"
    )]
    pub payment_gateway_client_cert: Option<PathBuf>,

    /// The private key (PEM) of `--payment-gateway-client-cert`.
    #[arg(
        long,
        env = "OMS_PAYMENT_GATEWAY_CLIENT_KEY",
        requires = "payment_gateway_client_cert"
    )]
    pub payment_gateway_client_key: Option<PathBuf>,

    /// A PEM certificate (chain) presented to the NATS server (mutual TLS, `tls://` URLs);
    /// with `--nats-client-key`.
    #[arg(long, env = "OMS_NATS_CLIENT_CERT", requires = "nats_client_key")]
    pub nats_client_cert: Option<PathBuf>,

    /// The private key (PEM) of `--nats-client-cert`.
    #[arg(long, env = "OMS_NATS_CLIENT_KEY", requires = "nats_client_cert")]
    pub nats_client_key: Option<PathBuf>,
}

impl TlsArgs {
    /// The payment gateway's client certificate, when configured.
    pub fn payment_gateway_identity(&self) -> Result<Option<ClientIdentity>, TlsError> {
        identity(
            &self.payment_gateway_client_cert,
            &self.payment_gateway_client_key,
        )
    }

    /// The NATS client certificate, when configured.
    pub fn nats_identity(&self) -> Result<Option<ClientIdentity>, TlsError> {
        identity(&self.nats_client_cert, &self.nats_client_key)
    }
}

fn identity(
    cert: &Option<PathBuf>,
    key: &Option<PathBuf>,
) -> Result<Option<ClientIdentity>, TlsError> {
    match (cert, key) {
        (Some(cert), Some(key)) => ClientIdentity::from_files(cert, key).map(Some),
        // clap's `requires` makes one without the other impossible from the command line.
        _ => Ok(None),
    }
}

/// A certificate and its private key that the server presents when a partner asks for one
/// (mutual TLS), read from PEM files.
#[derive(Clone)]
pub struct ClientIdentity {
    certs: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
    pem: Vec<u8>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientIdentity({} certificates, key)", self.certs.len())
    }
}

impl ClientIdentity {
    /// Reads a certificate chain from `cert` and its key from `key` (PKCS#8, PKCS#1 or SEC1).
    pub fn from_files(cert: &Path, key: &Path) -> Result<ClientIdentity, TlsError> {
        let cert_pem = read(cert)?;
        let key_pem = read(key)?;
        ClientIdentity::from_pem(&cert_pem, &key_pem).map_err(|why| TlsError::File {
            path: format!("{} / {}", cert.display(), key.display()),
            why,
        })
    }

    /// A certificate chain and its key, both PEM.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<ClientIdentity, String> {
        let certs = certificates(cert_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| format!("no private key in PEM: {e}"))?;
        let mut pem = cert_pem.to_vec();
        pem.push(b'\n');
        pem.extend_from_slice(key_pem);
        Ok(ClientIdentity {
            certs,
            key: Arc::new(key),
            pem,
        })
    }

    /// The chain and the key as one PEM text (what lettre reads).
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or held nothing usable.
    #[error("TLS file {path}: {why}")]
    File {
        /// The file.
        path: String,
        /// What was wrong.
        why: String,
    },
    /// rustls refused the configuration (a key that does not match its certificate, ...).
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The trust every client shares: the system's roots and the extra authorities. Cheap to clone.
#[derive(Clone)]
pub struct Tls {
    roots: Arc<RootCertStore>,
    /// The extra authorities as PEM, for clients that take PEM (lettre).
    extra_pem: Arc<Vec<u8>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tls({} roots)", self.roots.len())
    }
}

impl Default for Tls {
    /// The system's roots only.
    fn default() -> Self {
        Tls {
            roots: Arc::new(system_roots().clone()),
            extra_pem: Arc::new(Vec::new()),
        }
    }
}

impl Tls {
    /// The system's roots plus the authorities of `--tls-ca-file`.
    pub fn from_args(args: &TlsArgs) -> Result<Tls, TlsError> {
        match &args.tls_ca_file {
            None => Ok(Tls::default()),
            Some(path) => {
                let pem = read(path)?;
                Tls::default().trusting(&pem).map_err(|why| TlsError::File {
                    path: path.display().to_string(),
                    why,
                })
            }
        }
    }

    /// This trust plus the authorities in `pem` (one or more certificates).
    pub fn trusting(&self, pem: &[u8]) -> Result<Tls, String> {
        let mut roots = (*self.roots).clone();
        for cert in certificates(pem)? {
            roots
                .add(cert)
                .map_err(|e| format!("not a usable CA certificate: {e}"))?;
        }
        let mut extra_pem = (*self.extra_pem).clone();
        extra_pem.extend_from_slice(pem);
        extra_pem.push(b'\n');
        Ok(Tls {
            roots: Arc::new(roots),
            extra_pem: Arc::new(extra_pem),
        })
    }

    /// The extra authorities as PEM (empty without `--tls-ca-file`).
    pub fn extra_roots_pem(&self) -> &[u8] {
        &self.extra_pem
    }

    /// A rustls client configuration: ring, TLS 1.2+, these roots, and `identity` presented
    /// when the server asks for a client certificate.
    pub fn client_config(
        &self,
        identity: Option<&ClientIdentity>,
    ) -> Result<ClientConfig, TlsError> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_root_certificates(self.roots.clone());
        match identity {
            None => Ok(builder.with_no_client_auth()),
            Some(id) => builder
                .with_client_auth_cert(id.certs.clone(), id.key.clone_key())
                .map_err(|e| TlsError::Config(format!("the client certificate: {e}"))),
        }
    }

    /// A reqwest client builder that speaks TLS with this configuration.
    pub fn http_client(
        &self,
        identity: Option<&ClientIdentity>,
    ) -> Result<reqwest::ClientBuilder, TlsError> {
        Ok(reqwest::Client::builder().tls_backend_preconfigured(self.client_config(identity)?))
    }
}

/// The ring provider, the only one compiled in.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The system's roots, read once.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!("system root certificates: {e}");
        }
        let mut roots = RootCertStore::empty();
        let (_added, ignored) = roots.add_parsable_certificates(found.certs);
        if ignored > 0 {
            tracing::debug!(ignored, "unusable system root certificates skipped");
        }
        roots
    })
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("unreadable PEM: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in PEM (expected -----BEGIN CERTIFICATE-----)".to_owned());
    }
    Ok(certs)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::File {
        path: path.display().to_string(),
        why: e.to_string(),
    })
}

/// An error with its causes (`error sending request: client error (Connect): invalid peer
/// certificate: UnknownIssuer`), plus what to do when the TLS handshake failed.
pub fn explain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut hint = None;
    let mut source = Some(error);
    while let Some(e) = source {
        if hint.is_none() {
            hint = handshake_problem(e);
        }
        if !std::ptr::eq(e, error) {
            let cause = e.to_string();
            // hyper and reqwest repeat their cause in their own message at times.
            if !text.contains(&cause) {
                text.push_str(": ");
                text.push_str(&cause);
            }
        }
        source = e.source();
    }
    if let Some(hint) = hint {
        text.push_str(" (");
        text.push_str(hint);
        text.push(')');
    }
    text
}

/// True when `error` or one of its causes is a refused certificate.
pub fn certificate_refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if matches!(rustls_error(e), Some(rustls::Error::InvalidCertificate(_))) {
            return true;
        }
        source = e.source();
    }
    false
}

/// rustls' error in `e`, if it is one. An `io::Error` hides what it wraps from `source()` (it
/// returns the wrapped error's source), and connectors wrap rustls' error in one or two.
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut e = e;
    loop {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        e = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
}

/// What to do about a failed TLS handshake, if `e` is one.
fn handshake_problem(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    use rustls::AlertDescription as A;
    use rustls::CertificateError as C;
    use rustls::Error as E;
    Some(match rustls_error(e)? {
        E::InvalidCertificate(C::UnknownIssuer) => {
            "the server's certificate is signed by an authority this server does not trust: \
             add that CA's certificate with --tls-ca-file (OMS_TLS_CA_FILE)"
        }
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the server's certificate is not issued for the host name in the URL"
        }
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the server's certificate has expired"
        }
        E::InvalidCertificate(C::Other(other))
            if other.to_string().contains("CaUsedAsEndEntity") =>
        {
            "the server presents a CA certificate (a self-signed one with CA:TRUE) as its own: \
             have it serve a certificate that CA issued for its host name"
        }
        E::InvalidCertificate(_) => "the server's certificate was refused",
        E::AlertReceived(A::CertificateRequired | A::BadCertificate | A::UnknownCA) => {
            "the server wants a client certificate this server does not present (the payment \
             gateway's is --payment-gateway-client-cert, NATS's --nats-client-cert)"
        }
        E::AlertReceived(A::ProtocolVersion | A::HandshakeFailure) | E::PeerIncompatible(_) => {
            "the server offers no TLS 1.2 or 1.3 with the ciphers this server accepts"
        }
        E::InvalidMessage(_) => {
            "the server does not speak TLS on this port (a plain-text port, or a proxy in the \
             way?)"
        }
        _ => return None,
    })
}

/// A PostgreSQL URL that checks its server's certificate (`sslmode=verify-ca`/`verify-full`)
/// against `--tls-ca-file` too, when the URL names no `sslrootcert` of its own. Other URLs are
/// returned as they are: sqlx reads `sslmode`, `sslrootcert`, `sslcert` and `sslkey` itself.
pub fn postgres_url(url: &str, ca_file: Option<&Path>) -> String {
    let Some(ca_file) = ca_file else {
        return url.to_owned();
    };
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return url.to_owned();
    }
    let verifies = parsed
        .query_pairs()
        .any(|(k, v)| k == "sslmode" && (v == "verify-ca" || v == "verify-full"));
    let has_root = parsed.query_pairs().any(|(k, _)| k == "sslrootcert");
    if verifies && !has_root {
        parsed
            .query_pairs_mut()
            .append_pair("sslrootcert", &ca_file.display().to_string());
        return parsed.to_string();
    }
    url.to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_file_reaches_verifying_postgres_urls_only() {
        let ca = Path::new("/etc/oms/ca.pem");
        assert_eq!(
            postgres_url("postgres://u@db:5432/oms?sslmode=verify-full", Some(ca)),
            "postgres://u@db:5432/oms?sslmode=verify-full&sslrootcert=%2Fetc%2Foms%2Fca.pem"
        );
        for unchanged in [
            "postgres://u@db:5432/oms?sslmode=require",
            "postgres://u@db/oms?sslmode=verify-ca&sslrootcert=/own.pem",
            "sqlite://oms.db?mode=rwc",
        ] {
            assert_eq!(postgres_url(unchanged, Some(ca)), unchanged);
        }
        assert_eq!(
            postgres_url("postgres://u@db/oms?sslmode=verify-full", None),
            "postgres://u@db/oms?sslmode=verify-full"
        );
    }

    #[test]
    fn pem_without_certificates_is_refused() {
        assert!(Tls::default().trusting(b"not a certificate").is_err());
        assert!(ClientIdentity::from_pem(b"", b"").is_err());
    }
}
