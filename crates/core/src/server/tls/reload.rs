//! [`ReloadingCert`]: a certificate and key pair read from files, reloaded
//! on a call or when the files change, without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, SystemTime};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::load::{CertError, load_files};

/// A certificate chain and private key from two PEM files, served to every
/// handshake, and replaced when [`reload`](Self::reload) (or the
/// [`watch`](Self::watch) timer) finds a new pair in the files. Handshakes
/// after a reload use the new pair; connections already open keep theirs.
/// A bad new pair (a file unreadable or cut short, a key that is not the
/// certificate's, the files swapped) is refused with a [`CertError`] and the
/// pair in use stays.
///
/// ```no_run
/// use std::time::Duration;
/// use postern_core::{ReloadingCert, Server, TlsConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cert = ReloadingCert::from_files("/etc/app/cert.pem", "/etc/app/key.pem")?;
/// // Look at the files' modification times every 30 s (or call reload()
/// // on SIGHUP).
/// let _watching = cert.watch(Duration::from_secs(30));
/// let builder = Server::builder()
///     .bind_tls("0.0.0.0:8443", TlsConfig::from_resolver(cert.clone())?);
/// # let _ = builder;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ReloadingCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' modification times when last loaded.
    stamp: Mutex<Option<(SystemTime, SystemTime)>>,
}

impl ReloadingCert {
    /// Load the pair from a certificate chain file and a private key file,
    /// both PEM.
    pub fn from_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Arc<ReloadingCert>, CertError> {
        let (cert_path, key_path) = (cert.as_ref().to_owned(), key.as_ref().to_owned());
        let stamp = stamp(&cert_path, &key_path);
        let pair = load_files(&cert_path, &key_path)?;
        Ok(Arc::new(ReloadingCert {
            cert_path,
            key_path,
            current: RwLock::new(pair),
            stamp: Mutex::new(stamp),
        }))
    }

    /// Read the files again and serve the pair in them from the next
    /// handshake on; on an error the pair in use stays.
    pub fn reload(&self) -> Result<(), CertError> {
        self.reload_stamped(stamp(&self.cert_path, &self.key_path))
    }

    /// [`reload`](Self::reload) with the files' modification times already
    /// read before loading them.
    fn reload_stamped(&self, stamp: Option<(SystemTime, SystemTime)>) -> Result<(), CertError> {
        let pair = load_files(&self.cert_path, &self.key_path)?;
        match self.current.write() {
            Ok(mut current) => *current = pair,
            Err(poisoned) => *poisoned.into_inner() = pair,
        }
        *self.lock_stamp() = stamp;
        tracing::info!(target: "postern::tls", cert = %self.cert_path.display(), "certificate reloaded");
        Ok(())
    }

    /// Look at the files' modification times every `every` and
    /// [`reload`](Self::reload) when either changed; a refused pair is
    /// logged (warn, target `postern::tls`) and tried again at the next
    /// change. The task ends when the last `Arc` of this is dropped, or
    /// when the handle is aborted. Must be called inside a tokio runtime.
    /// A period under 1 ms is taken as 1 ms.
    pub fn watch(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<ReloadingCert> = Arc::downgrade(self);
        tokio::spawn(async move {
            // A zero period would make tokio panic; 1 ms is the floor.
            let mut ticker = tokio::time::interval(every.max(Duration::from_millis(1)));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(this) = weak.upgrade() else {
                    return;
                };
                this.reload_if_changed();
            }
        })
    }

    /// Reload when the files' modification times differ from the last
    /// load's (an attempt that failed is not retried until they change
    /// again).
    fn reload_if_changed(&self) {
        let now = stamp(&self.cert_path, &self.key_path);
        {
            let mut last = self.lock_stamp();
            if now.is_none() || *last == now {
                return;
            }
            *last = now;
        }
        if let Err(error) = self.reload_stamped(now) {
            tracing::warn!(target: "postern::tls", cert = %self.cert_path.display(), %error, "certificate not reloaded; the previous one stays");
        }
    }

    fn lock_stamp(&self) -> std::sync::MutexGuard<'_, Option<(SystemTime, SystemTime)>> {
        self.stamp
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The pair served now.
    pub fn certified_key(&self) -> Arc<CertifiedKey> {
        match self.current.read() {
            Ok(current) => Arc::clone(&current),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.certified_key())
    }
}

fn stamp(cert: &Path, key: &Path) -> Option<(SystemTime, SystemTime)> {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    Some((modified(cert)?, modified(key)?))
}
