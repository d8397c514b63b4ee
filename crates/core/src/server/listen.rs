//! [`Listen`]: one listener to bind, and how its connections start.

#[cfg(all(unix, feature = "unix"))]
use std::path::PathBuf;

#[cfg(feature = "proxy-protocol")]
use super::proxy::ProxyProtocol;
#[cfg(feature = "tls")]
use super::tls::TlsConfig;

/// A listener to bind, for [`ServerBuilder::bind`](super::ServerBuilder::bind)
/// and [`RunningServer::bind`](super::RunningServer::bind): where, and
/// (with the `proxy-protocol` feature) whether its connections start with a
/// PROXY protocol header. `bind_tcp(addr)` is `bind(Listen::tcp(addr))`.
///
/// ```
/// use postern_core::{Listen, ProxyProtocol};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let direct = Listen::tcp("127.0.0.1:8080");
/// let behind_lb = Listen::tcp("0.0.0.0:8081")
///     .proxy_protocol(ProxyProtocol::from(vec!["10.0.0.0/8".parse()?]).proxy_only());
/// # let _ = (direct, behind_lb);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Listen {
    pub(crate) kind: ListenKind,
    #[cfg(feature = "proxy-protocol")]
    pub(crate) proxy: Option<ProxyProtocol>,
}

#[derive(Debug)]
pub(crate) enum ListenKind {
    Tcp(String),
    #[cfg(feature = "tls")]
    Tls(String, TlsConfig),
    #[cfg(all(unix, feature = "unix"))]
    Unix(PathBuf),
}

impl Listen {
    fn new(kind: ListenKind) -> Listen {
        Listen {
            kind,
            #[cfg(feature = "proxy-protocol")]
            proxy: None,
        }
    }

    /// Plain TCP on `addr` (`"127.0.0.1:8080"`, `"[::]:0"`; port 0 picks a
    /// free port): HTTP/1 and prior-knowledge HTTP/2 (h2c).
    pub fn tcp(addr: impl Into<String>) -> Listen {
        Listen::new(ListenKind::Tcp(addr.into()))
    }

    /// TLS on `addr`; ALPN picks HTTP/2 or HTTP/1.1. The config can be
    /// replaced while the server runs
    /// ([`RunningServer::set_tls_config`](super::RunningServer::set_tls_config)).
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls(addr: impl Into<String>, tls: TlsConfig) -> Listen {
        Listen::new(ListenKind::Tls(addr.into(), tls))
    }

    /// A Unix domain socket at `path` (HTTP/1 and h2c).
    #[cfg(all(unix, feature = "unix"))]
    #[cfg_attr(docsrs, doc(cfg(all(unix, feature = "unix"))))]
    pub fn unix(path: impl Into<PathBuf>) -> Listen {
        Listen::new(ListenKind::Unix(path.into()))
    }

    /// Read a PROXY protocol header (v1 or v2) first on connections from
    /// the peers `proxy` trusts, before TLS; see [`ProxyProtocol`]. Default:
    /// no PROXY protocol, every peer is a direct client.
    #[cfg(feature = "proxy-protocol")]
    #[cfg_attr(docsrs, doc(cfg(feature = "proxy-protocol")))]
    pub fn proxy_protocol(mut self, proxy: ProxyProtocol) -> Listen {
        self.proxy = Some(proxy);
        self
    }
}
