//! Reading the certificate chain and private key PEM of
//! [`TlsConfig::from_pem`](crate::TlsConfig::from_pem), with errors that say what to fix: a
//! certificate and key given in swapped order, a truncated file, base64 that does not decode.

use rustls_pki_types::pem::{self, PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// Every section of `bytes`, with its kind, or the error saying what is wrong with the PEM.
fn sections(bytes: &[u8], what: &str) -> Result<Vec<(SectionKind, Vec<u8>)>, Error> {
    <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| Error::tls(describe(&error, what), None))
}

/// A PEM parse error in words (the parser's own text prints the markers as byte arrays).
fn describe(error: &pem::Error, what: &str) -> String {
    match error {
        pem::Error::MissingSectionEnd { end_marker } => {
            // The parser gives the label (`PRIVATE KEY`); the line a reader looks for is whole.
            let label = String::from_utf8_lossy(end_marker);
            let label = label.trim().trim_matches('-');
            let label = label.strip_prefix("END ").unwrap_or(label);
            format!(
                "truncated PEM: the {what} PEM has no `-----END {label}-----` line after its BEGIN line (is the file cut short?)"
            )
        }
        pem::Error::IllegalSectionStart { line } => format!(
            "malformed PEM: the {what} PEM has a BEGIN line that is not `-----BEGIN <LABEL>-----`: `{}`",
            String::from_utf8_lossy(line).trim()
        ),
        pem::Error::Base64Decode(reason) => format!(
            "malformed PEM: the base64 text of a block in the {what} PEM does not decode ({reason})"
        ),
        other => format!("the {what} PEM is unreadable: {other}"),
    }
}

fn is_private_key(kind: SectionKind) -> bool {
    matches!(
        kind,
        SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey
    )
}

/// The certificate chain in `pem`, in order.
pub(crate) fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let sections = sections(pem, "certificate")?;
    let holds_key = sections.iter().any(|(kind, _)| is_private_key(*kind));
    let certs: Vec<_> = sections
        .into_iter()
        .filter(|(kind, _)| *kind == SectionKind::Certificate)
        .map(|(_, der)| CertificateDer::from(der))
        .collect();
    match (certs.is_empty(), holds_key) {
        (false, false) => Ok(certs),
        (true, true) => Err(Error::tls(
            "the certificate PEM holds a private key and no certificate: the certificate and the key look swapped; pass the certificate chain first, then the key",
            None,
        )),
        (false, true) => Err(Error::tls(
            "the certificate PEM holds a private key too: keep the key out of the certificate chain and pass it as the second argument",
            None,
        )),
        (true, false) => Err(Error::tls(
            "no `-----BEGIN CERTIFICATE-----` block in the certificate PEM",
            None,
        )),
    }
}

/// The private key in `pem` (PKCS#8, PKCS#1 or SEC1): exactly one.
pub(crate) fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, Error> {
    let sections = sections(pem, "key")?;
    let holds_certificate = sections
        .iter()
        .any(|(kind, _)| *kind == SectionKind::Certificate);
    let mut keys = sections
        .into_iter()
        .filter(|(kind, _)| is_private_key(*kind))
        .filter_map(|(kind, der)| PrivateKeyDer::from_pem(kind, der));
    match (keys.next(), keys.next(), holds_certificate) {
        (Some(key), None, _) => Ok(key),
        (Some(_), Some(_), _) => Err(Error::tls(
            "the key PEM holds more than one private key: pass only the certificate's key",
            None,
        )),
        (None, _, true) => Err(Error::tls(
            "the key PEM holds a certificate and no private key: the certificate and the key look swapped; pass the certificate chain first, then the key",
            None,
        )),
        (None, _, false) => Err(Error::tls(
            "no private key block in the key PEM (`-----BEGIN PRIVATE KEY-----`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`)",
            None,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate block and a key block.
    fn pair() -> (String, String) {
        // Hand-made PEM blocks: the parser checks framing and base64, not the DER inside.
        let cert = "-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n".to_owned();
        let key = "-----BEGIN PRIVATE KEY-----\nMIIBAQ==\n-----END PRIVATE KEY-----\n".to_owned();
        (cert, key)
    }

    #[test]
    fn certificate_errors() {
        let (cert, key) = pair();
        let truncated = &cert[..cert.len() - 27];
        let table: &[(&str, Result<usize, &str>)] = &[
            (&cert, Ok(1)),
            (&format!("{cert}{cert}"), Ok(2)),
            (
                "",
                Err("no `-----BEGIN CERTIFICATE-----` block in the certificate PEM"),
            ),
            (
                &key,
                Err(
                    "the certificate PEM holds a private key and no certificate: the certificate and the key look swapped; pass the certificate chain first, then the key",
                ),
            ),
            (
                &format!("{cert}{key}"),
                Err(
                    "the certificate PEM holds a private key too: keep the key out of the certificate chain and pass it as the second argument",
                ),
            ),
            (
                truncated,
                Err(
                    "truncated PEM: the certificate PEM has no `-----END CERTIFICATE-----` line after its BEGIN line (is the file cut short?)",
                ),
            ),
            (
                "-----BEGIN CERTIFICATE-----\nM!!!\n-----END CERTIFICATE-----\n",
                Err(
                    "malformed PEM: the base64 text of a block in the certificate PEM does not decode (InvalidCharacter(33))",
                ),
            ),
        ];
        for (pem, expected) in table {
            let got = certificates(pem.as_bytes())
                .map(|certs| certs.len())
                .map_err(|error| error.to_string());
            assert_eq!(got, expected.map_err(str::to_owned), "{pem:?}");
        }
    }

    #[test]
    fn key_errors() {
        let (cert, key) = pair();
        let table: &[(&str, Result<(), &str>)] = &[
            (&key, Ok(())),
            (&format!("{cert}{key}"), Ok(())),
            (
                &cert,
                Err(
                    "the key PEM holds a certificate and no private key: the certificate and the key look swapped; pass the certificate chain first, then the key",
                ),
            ),
            (
                "",
                Err(
                    "no private key block in the key PEM (`-----BEGIN PRIVATE KEY-----`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`)",
                ),
            ),
            (
                &format!("{key}{key}"),
                Err("the key PEM holds more than one private key: pass only the certificate's key"),
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nMIIBAQ==\n",
                Err(
                    "truncated PEM: the key PEM has no `-----END PRIVATE KEY-----` line after its BEGIN line (is the file cut short?)",
                ),
            ),
        ];
        // What `TlsConfig::from_pem` says when given the two in the wrong order.
        let swapped = crate::TlsConfig::from_pem(key.as_bytes(), cert.as_bytes()).unwrap_err();
        assert!(swapped.is_tls());
        assert_eq!(
            swapped.to_string(),
            "the certificate PEM holds a private key and no certificate: the certificate and the key look swapped; pass the certificate chain first, then the key"
        );
        for (pem, expected) in table {
            let got = private_key(pem.as_bytes())
                .map(drop)
                .map_err(|error| error.to_string());
            assert_eq!(got, expected.map_err(str::to_owned), "{pem:?}");
        }
    }
}
