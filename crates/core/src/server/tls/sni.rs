//! [`SniCerts`]: the certificate a handshake gets, chosen by the server
//! name the client asked for (SNI).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Chooses among several certificates by the client's server name (SNI):
/// an exact name first, then a wildcard one label deep (`*.example.com`
/// serves `api.example.com`, not `example.com` nor `a.b.example.com`),
/// then the default; with no default, a handshake for another name (or
/// without SNI) fails. Names compare case-insensitively. Each certificate
/// is any rustls resolver, such as a [`ReloadingCert`](crate::ReloadingCert),
/// so each can be reloaded on its own.
///
/// ```no_run
/// use postern_core::{ReloadingCert, SniCerts, TlsConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let api = ReloadingCert::from_files("api.pem", "api.key")?;
/// let www = ReloadingCert::from_files("www.pem", "www.key")?;
/// let sni = SniCerts::new()
///     .with("api.example.com", api)
///     .with("*.example.com", www.clone())
///     .with_default(www);
/// let tls = TlsConfig::from_resolver(std::sync::Arc::new(sni))?;
/// # let _ = tls;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct SniCerts {
    names: HashMap<String, Arc<dyn ResolvesServerCert>>,
    default: Option<Arc<dyn ResolvesServerCert>>,
}

impl SniCerts {
    /// No certificate yet (every handshake fails until one is added).
    pub fn new() -> SniCerts {
        SniCerts::default()
    }

    /// Serve `cert` to clients asking for `name` (`"example.com"`, or
    /// `"*.example.com"` for any one label before it). A name added twice
    /// keeps the last.
    pub fn with(mut self, name: &str, cert: Arc<dyn ResolvesServerCert>) -> SniCerts {
        self.names.insert(name.to_ascii_lowercase(), cert);
        self
    }

    /// Serve `cert` to clients whose name matches no other (and to clients
    /// that send no name).
    pub fn with_default(mut self, cert: Arc<dyn ResolvesServerCert>) -> SniCerts {
        self.default = Some(cert);
        self
    }

    /// The resolver for `name` (already lowercase).
    fn pick(&self, name: Option<&str>) -> Option<&Arc<dyn ResolvesServerCert>> {
        let found = name.and_then(|name| {
            self.names.get(name).or_else(|| {
                let (_, parent) = name.split_once('.')?;
                self.names.get(&format!("*.{parent}"))
            })
        });
        found.or(self.default.as_ref())
    }
}

impl fmt::Debug for SniCerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.names.keys().collect();
        names.sort();
        f.debug_struct("SniCerts")
            .field("names", &names)
            .field("default", &self.default.is_some())
            .finish()
    }
}

impl ResolvesServerCert for SniCerts {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name().map(str::to_ascii_lowercase);
        self.pick(name.as_deref())?.resolve(hello)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Never;
    impl ResolvesServerCert for Never {
        fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            None
        }
    }

    #[test]
    fn pick_table() {
        let exact: Arc<dyn ResolvesServerCert> = Arc::new(Never);
        let wild: Arc<dyn ResolvesServerCert> = Arc::new(Never);
        let default: Arc<dyn ResolvesServerCert> = Arc::new(Never);
        let sni = SniCerts::new()
            .with("API.example.com", Arc::clone(&exact))
            .with("*.example.com", Arc::clone(&wild));
        let is = |picked: Option<&Arc<dyn ResolvesServerCert>>,
                  expected: Option<&Arc<dyn ResolvesServerCert>>| {
            match (picked, expected) {
                (Some(p), Some(e)) => Arc::ptr_eq(p, e),
                (None, None) => true,
                _ => false,
            }
        };
        let cases = [
            (Some("api.example.com"), Some(&exact)),
            (Some("www.example.com"), Some(&wild)),
            (Some("example.com"), None),
            (Some("a.b.example.com"), None),
            (None, None),
        ];
        for (name, expected) in cases {
            assert!(is(sni.pick(name), expected), "{name:?}");
        }
        let sni = sni.with_default(Arc::clone(&default));
        assert!(is(sni.pick(Some("example.com")), Some(&default)));
        assert!(is(sni.pick(None), Some(&default)));
        assert!(is(sni.pick(Some("www.example.com")), Some(&wild)));
    }
}
