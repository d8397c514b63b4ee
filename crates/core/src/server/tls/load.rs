//! Loading a certificate chain and its private key from PEM, with errors
//! that say what to fix.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::ring_provider;

/// Which of the two files of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PemFile {
    /// The certificate chain.
    Certificate,
    /// The private key.
    PrivateKey,
}

impl fmt::Display for PemFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PemFile::Certificate => "certificate",
            PemFile::PrivateKey => "private key",
        })
    }
}

/// Why a certificate and key pair was refused (when reloading, the pair in
/// use stays). The `Display` text says what to fix.
#[derive(Debug)]
#[non_exhaustive]
pub enum CertError {
    /// A file could not be read.
    Unreadable {
        /// Which file.
        file: PemFile,
        /// Its path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A PEM block starts but its `-----END` line is missing: the file was
    /// cut short (copied while being written?).
    TruncatedPem(PemFile),
    /// A PEM block is not valid PEM (bad base64, a broken BEGIN line).
    BadPem(PemFile, String),
    /// The certificate PEM has no `CERTIFICATE` block; `holds_key` when it
    /// holds a private key instead (the two files swapped).
    NoCertificate {
        /// The certificate file holds a private key.
        holds_key: bool,
    },
    /// The key PEM has no usable private key block (PKCS#8, PKCS#1 or
    /// SEC1); `holds_certificate` when it holds a certificate instead (the
    /// two files swapped).
    NoPrivateKey {
        /// The key file holds a certificate.
        holds_certificate: bool,
    },
    /// The private key is not the one of the certificate.
    KeyMismatch,
    /// The key or certificate is unusable with the ring provider (an
    /// unsupported algorithm, a malformed key).
    Unusable(rustls::Error),
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::Unreadable { file, path, source } => {
                write!(f, "cannot read the {file} file {}: {source}", path.display())
            }
            CertError::TruncatedPem(file) => write!(
                f,
                "truncated PEM in the {file}: a block has no -----END line (was the file still being written?)"
            ),
            CertError::BadPem(file, why) => write!(f, "invalid PEM in the {file}: {why}"),
            CertError::NoCertificate { holds_key: true } => f.write_str(
                "the certificate PEM holds a private key, not a certificate: are the certificate and key swapped?",
            ),
            CertError::NoCertificate { holds_key: false } => {
                f.write_str("no CERTIFICATE block in the certificate PEM")
            }
            CertError::NoPrivateKey {
                holds_certificate: true,
            } => f.write_str(
                "the private key PEM holds a certificate, not a key: are the certificate and key swapped?",
            ),
            CertError::NoPrivateKey {
                holds_certificate: false,
            } => f.write_str("no PRIVATE KEY block (PKCS#8, PKCS#1 or SEC1) in the key PEM"),
            CertError::KeyMismatch => f.write_str(
                "the private key does not belong to the certificate: pair each certificate with its own key",
            ),
            CertError::Unusable(error) => {
                write!(f, "the certificate and key are unusable: {error}")
            }
        }
    }
}

impl std::error::Error for CertError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CertError::Unreadable { source, .. } => Some(source),
            CertError::Unusable(error) => Some(error),
            _ => None,
        }
    }
}

fn pem_error(file: PemFile, error: pem::Error) -> CertError {
    match error {
        pem::Error::MissingSectionEnd { .. } => CertError::TruncatedPem(file),
        other => CertError::BadPem(file, other.to_string()),
    }
}

/// A certificate chain and key in PEM, checked to belong together.
pub(crate) fn certified_key(cert_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, CertError> {
    let (chain, key) = parse_pair(cert_pem, key_pem)?;
    certified_key_der(chain, key)
}

/// The DER of a PEM pair, with each file's mistakes named.
pub(crate) fn parse_pair(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), CertError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(PemFile::Certificate, e))?;
    if chain.is_empty() {
        return Err(CertError::NoCertificate {
            holds_key: PrivateKeyDer::from_pem_slice(cert_pem).is_ok(),
        });
    }
    let key = match PrivateKeyDer::from_pem_slice(key_pem) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => {
            let holds_certificate = CertificateDer::pem_slice_iter(key_pem).any(|c| c.is_ok());
            return Err(CertError::NoPrivateKey { holds_certificate });
        }
        Err(error) => return Err(pem_error(PemFile::PrivateKey, error)),
    };
    Ok((chain, key))
}

pub(crate) fn certified_key_der(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<CertifiedKey, CertError> {
    CertifiedKey::from_der(chain, key, &ring_provider()).map_err(|error| match error {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            CertError::KeyMismatch
        }
        other => CertError::Unusable(other),
    })
}

/// Read both files of a pair.
pub(crate) fn read_pair(cert: &Path, key: &Path) -> Result<(Vec<u8>, Vec<u8>), CertError> {
    let read = |file: PemFile, path: &Path| {
        std::fs::read(path).map_err(|source| CertError::Unreadable {
            file,
            path: path.to_owned(),
            source,
        })
    };
    Ok((
        read(PemFile::Certificate, cert)?,
        read(PemFile::PrivateKey, key)?,
    ))
}

/// A pair from files, ready to serve.
pub(crate) fn load_files(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, CertError> {
    let (cert_pem, key_pem) = read_pair(cert, key)?;
    certified_key(&cert_pem, &key_pem).map(Arc::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_mistakes_are_named() {
        let key_block = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBQ0n3Dnf4uZQ8lIrDq2mP8NbFGoZrsj6hGi1R2Nz+JW\n-----END PRIVATE KEY-----\n";
        let cert_start = "-----BEGIN CERTIFICATE-----\nMIIB\n";
        let cases: &[(&str, &str, &str)] = &[
            (cert_start, key_block, "truncated PEM in the certificate"),
            (key_block, key_block, "are the certificate and key swapped?"),
            ("", key_block, "no CERTIFICATE block in the certificate PEM"),
        ];
        for (cert, key, message) in cases {
            let error = parse_pair(cert.as_bytes(), key.as_bytes()).expect_err("refused");
            assert!(error.to_string().contains(message), "{error}");
        }
    }
}
