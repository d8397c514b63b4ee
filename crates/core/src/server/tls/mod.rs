//! TLS listeners: rustls with the ring provider, passed explicitly; a
//! listener's config replaceable while it runs ([`TlsSlot`]), certificates
//! reloaded from their files ([`ReloadingCert`]) and chosen by SNI
//! ([`SniCerts`]).

mod load;
mod reload;
mod sni;

pub use load::{CertError, PemFile};
pub use reload::ReloadingCert;
pub use sni::SniCerts;

use std::path::Path;
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::ResolvesServerCert;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::{Error, TlsInfo};

/// The ring crypto provider, the one Postern uses (never the process default).
pub fn ring_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// How a TLS listener handshakes: a rustls `ServerConfig`.
///
/// When the config names no ALPN protocols, Postern offers `h2` (feature
/// `http2`) and `http/1.1` (feature `http1`).
#[derive(Debug, Clone)]
pub struct TlsConfig {
    config: Arc<ServerConfig>,
}

impl TlsConfig {
    /// Use a rustls config you built (build it with
    /// `ServerConfig::builder_with_provider(ring_provider())`).
    pub fn from_server_config(config: Arc<ServerConfig>) -> TlsConfig {
        if !config.alpn_protocols.is_empty() {
            return TlsConfig { config };
        }
        let mut config = (*config).clone();
        config.alpn_protocols = default_alpn();
        TlsConfig {
            config: Arc::new(config),
        }
    }

    /// A certificate chain and private key in PEM.
    ///
    /// # Errors
    /// A [`Error::is_tls`] error that says what to fix: the two arguments swapped (a key
    /// where the chain should be, or a certificate where the key should be), a truncated
    /// PEM (a BEGIN line without its END line), base64 that does not decode, no block of
    /// the kind needed, or a certificate and key that do not belong together.
    pub fn from_pem(cert_chain: &[u8], private_key: &[u8]) -> Result<TlsConfig, Error> {
        let (certs, key) = load::parse_pair(cert_chain, private_key).map_err(pair_error)?;
        TlsConfig::from_der(certs, key)
    }

    /// A certificate chain file and a private key file, both PEM. (To
    /// reload them later without a restart, use a [`ReloadingCert`].)
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        private_key: impl AsRef<Path>,
    ) -> Result<TlsConfig, Error> {
        let (certs, key) =
            load::read_pair(cert_chain.as_ref(), private_key.as_ref()).map_err(pair_error)?;
        TlsConfig::from_pem(&certs, &key)
    }

    /// Certificates chosen per handshake by `resolver`: a
    /// [`ReloadingCert`], [`SniCerts`], or any rustls resolver.
    pub fn from_resolver(resolver: Arc<dyn ResolvesServerCert>) -> Result<TlsConfig, Error> {
        Ok(TlsConfig::with_alpn(
            builder()?.with_cert_resolver(resolver),
        ))
    }

    /// A certificate chain and key already in DER.
    pub fn from_der(
        cert_chain: Vec<CertificateDer<'static>>,
        private_key: PrivateKeyDer<'static>,
    ) -> Result<TlsConfig, Error> {
        let config = builder()?
            .with_single_cert(cert_chain, private_key)
            .map_err(|e| {
                Error::tls(
                    "the certificate and private key do not form a usable pair",
                    Some(Box::new(e)),
                )
            })?;
        Ok(TlsConfig::with_alpn(config))
    }

    /// Postern's ALPN list (`h2` when the feature is on, then `http/1.1`)
    /// on a config built here.
    fn with_alpn(mut config: ServerConfig) -> TlsConfig {
        config.alpn_protocols = default_alpn();
        TlsConfig {
            config: Arc::new(config),
        }
    }

    /// The rustls config in use.
    pub fn server_config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.config))
    }
}

/// A TLS listener's config, replaceable while it runs: each accepted
/// connection takes the one in force (a read lock per connection, never per
/// request); connections already open keep theirs.
pub(crate) struct TlsSlot(RwLock<tokio_rustls::TlsAcceptor>);

impl TlsSlot {
    pub(crate) fn new(config: &TlsConfig) -> Arc<TlsSlot> {
        Arc::new(TlsSlot(RwLock::new(config.acceptor())))
    }

    /// The acceptor for the next handshake.
    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Use `config` from the next handshake on.
    pub(crate) fn set(&self, config: &TlsConfig) {
        let acceptor = config.acceptor();
        match self.0.write() {
            Ok(mut guard) => *guard = acceptor,
            Err(poisoned) => *poisoned.into_inner() = acceptor,
        }
    }
}

/// The rustls builder every config made here starts from: ring, the safe
/// protocol versions, no client certificates.
fn builder() -> Result<rustls::ConfigBuilder<ServerConfig, rustls::server::WantsServerCert>, Error>
{
    Ok(ServerConfig::builder_with_provider(ring_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::tls("TLS protocol versions unsupported", Some(Box::new(e))))?
        .with_no_client_auth())
}

fn pair_error(error: CertError) -> Error {
    Error::tls("the certificate and key are refused", Some(Box::new(error)))
}

fn default_alpn() -> Vec<Vec<u8>> {
    let mut alpn = Vec::new();
    if cfg!(feature = "http2") {
        alpn.push(b"h2".to_vec());
    }
    if cfg!(feature = "http1") {
        alpn.push(b"http/1.1".to_vec());
    }
    alpn
}

/// What the handshake settled.
pub(crate) fn tls_info(conn: &rustls::ServerConnection) -> TlsInfo {
    TlsInfo {
        alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
        sni: conn.server_name().map(str::to_owned),
        peer_certificates: conn
            .peer_certificates()
            .map(|certs| certs.iter().map(|c| c.as_ref().to_vec()).collect())
            .unwrap_or_default(),
        protocol_version: conn.protocol_version().map(|v| format!("{v:?}")),
    }
}
