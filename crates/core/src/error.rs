//! [`Error`]: what can go wrong setting a server up.

use crate::BoxError;
use std::fmt;
#[cfg(all(unix, feature = "unix"))]
use std::path::Path;

#[derive(Debug)]
enum Kind {
    Bind(String),
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Tls(String),
    Config(String),
}

/// Why a server could not be set up. Ask with the predicates; the `Display`
/// text says what to fix and is not stable.
pub struct Error {
    kind: Kind,
    source: Option<BoxError>,
}

impl Error {
    pub(crate) fn bind(what: &dyn fmt::Display, source: std::io::Error) -> Error {
        let hint = match source.kind() {
            std::io::ErrorKind::AddrInUse => {
                "; another process holds the address (for a Unix socket, remove the stale file)"
            }
            std::io::ErrorKind::PermissionDenied => {
                "; ports below 1024 need privileges, or the directory is not writable"
            }
            _ => "",
        };
        Error {
            kind: Kind::Bind(format!("cannot listen on {what}{hint}")),
            source: Some(Box::new(source)),
        }
    }

    #[cfg(all(unix, feature = "unix"))]
    pub(crate) fn unix_path(path: &Path, source: std::io::Error) -> Error {
        Error::bind(&format_args!("unix:{}", path.display()), source)
    }

    #[cfg(feature = "tls")]
    pub(crate) fn tls(message: impl Into<String>, source: Option<BoxError>) -> Error {
        Error {
            kind: Kind::Tls(message.into()),
            source,
        }
    }

    pub(crate) fn config(message: impl Into<String>, source: Option<BoxError>) -> Error {
        Error {
            kind: Kind::Config(message.into()),
            source,
        }
    }

    /// A listener could not be bound.
    pub fn is_bind(&self) -> bool {
        matches!(self.kind, Kind::Bind(_))
    }

    /// The TLS certificate, key or settings are unusable.
    pub fn is_tls(&self) -> bool {
        matches!(self.kind, Kind::Tls(_))
    }

    /// The configuration is invalid.
    pub fn is_config(&self) -> bool {
        matches!(self.kind, Kind::Config(_))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("postern_core::Error")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Bind(m) | Kind::Tls(m) | Kind::Config(m) => f.write_str(m)?,
        }
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
