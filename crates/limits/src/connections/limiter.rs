use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::config::ConnectionLimits;
use crate::key::client_key as host_key;

/// Counts open connections, in all and per client host, and admits or refuses
/// new ones (Qt's `maximumConnections` and `maximumConnectionsPerHost`).
///
/// Cheap to clone (one `Arc`); all clones share the counts. Call
/// [`try_acquire`](Self::try_acquire) right after `accept()`, before any TLS
/// handshake, and keep the [`ConnectionPermit`] for as long as the connection
/// lives: dropping it releases the slot.
///
/// The limits can change while connections are open ([`set_limits`](Self::set_limits)):
/// lowering a cap refuses new connections until enough old ones close; it never
/// closes open ones. Hosts are counted even while the per-host cap is off, so
/// turning it on is exact at once. The per-host table holds only hosts with an
/// open connection, so its size is bounded by the number of open connections.
///
/// ```
/// use std::net::IpAddr;
/// use postern_limits::connections::ConnectionLimiter;
/// use postern_limits::config::ConnectionLimits;
///
/// let limiter = ConnectionLimiter::new(ConnectionLimits::disabled().with_max_per_host(1));
/// let host: IpAddr = "192.0.2.1".parse().unwrap();
///
/// let first = limiter.try_acquire(Some(host)).unwrap();
/// assert!(limiter.try_acquire(Some(host)).is_err());
/// drop(first); // the connection closed
/// assert!(limiter.try_acquire(Some(host)).is_ok());
/// ```
#[derive(Clone)]
pub struct ConnectionLimiter {
    shared: Arc<Shared>,
}

struct Shared {
    max_connections: AtomicU32,
    max_per_host: AtomicU32,
    ipv6_prefix: AtomicU8,
    open: AtomicU32,
    hosts: Mutex<HashMap<IpAddr, u32>>,
}

impl Shared {
    fn hosts(&self) -> MutexGuard<'_, HashMap<IpAddr, u32>> {
        // The map holds plain counters, consistent after every statement, so a
        // panic elsewhere while it was locked leaves nothing to repair.
        self.hosts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for ConnectionLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionLimiter")
            .field("limits", &self.limits())
            .field("open", &self.open_connections())
            .finish()
    }
}

/// A new connection refused by the caps.
///
/// Postern's server closes the connection (or answers 429 with
/// `connection: close` on plaintext HTTP/1); the tower layer answers 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionRefused {
    /// `max_connections` connections are open.
    TooManyConnections {
        /// The cap in force.
        limit: u32,
    },
    /// `max_per_host` connections are open from this client.
    TooManyFromHost {
        /// The cap in force.
        limit: u32,
        /// The host's key: its IPv4 address, or its IPv6 prefix.
        host: IpAddr,
    },
}

impl fmt::Display for ConnectionRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionRefused::TooManyConnections { limit } => {
                write!(f, "connection refused: {limit} connections are open")
            }
            ConnectionRefused::TooManyFromHost { limit, host } => {
                write!(
                    f,
                    "connection refused: {limit} connections are open from {host}"
                )
            }
        }
    }
}

impl std::error::Error for ConnectionRefused {}

/// One admitted connection's slot; dropping it releases the slot.
#[must_use = "the connection's slot is released when the permit is dropped"]
pub struct ConnectionPermit {
    shared: Arc<Shared>,
    host: Option<IpAddr>,
}

impl fmt::Debug for ConnectionPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionPermit")
            .field("host", &self.host)
            .finish()
    }
}

impl ConnectionPermit {
    /// The host this connection counts against (IPv4 address or IPv6 prefix),
    /// or `None` if it was admitted without a client address.
    pub fn host(&self) -> Option<IpAddr> {
        self.host
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        if let Some(host) = self.host {
            let mut hosts = self.shared.hosts();
            if let Some(count) = hosts.get_mut(&host) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    hosts.remove(&host);
                    // Give memory back after a burst of many hosts.
                    let capacity = hosts.capacity();
                    if capacity > 64 && hosts.len() * 4 < capacity {
                        let keep = hosts.len() * 2;
                        hosts.shrink_to(keep);
                    }
                }
            }
        }
        self.shared.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnectionLimiter {
    /// A limiter enforcing `limits`; no connection open yet.
    pub fn new(limits: ConnectionLimits) -> Self {
        let limiter = ConnectionLimiter {
            shared: Arc::new(Shared {
                max_connections: AtomicU32::new(0),
                max_per_host: AtomicU32::new(0),
                ipv6_prefix: AtomicU8::new(64),
                open: AtomicU32::new(0),
                hosts: Mutex::new(HashMap::new()),
            }),
        };
        limiter.set_limits(limits);
        limiter
    }

    /// Change the caps for connections accepted from now on. Open connections
    /// are kept. An IPv6 prefix over 128 is taken as 128.
    pub fn set_limits(&self, limits: ConnectionLimits) {
        let shared = &*self.shared;
        shared
            .max_connections
            .store(limits.max_connections, Ordering::Relaxed);
        shared
            .max_per_host
            .store(limits.max_per_host, Ordering::Relaxed);
        shared
            .ipv6_prefix
            .store(limits.ipv6_prefix.min(128), Ordering::Relaxed);
    }

    /// The caps in force.
    pub fn limits(&self) -> ConnectionLimits {
        let shared = &*self.shared;
        ConnectionLimits::disabled()
            .with_max_connections(shared.max_connections.load(Ordering::Relaxed))
            .with_max_per_host(shared.max_per_host.load(Ordering::Relaxed))
            .with_ipv6_prefix(shared.ipv6_prefix.load(Ordering::Relaxed))
    }

    /// Admit a new connection from `client` (`None` when the transport has no
    /// IP address, such as a Unix socket: only the total cap applies then).
    pub fn try_acquire(
        &self,
        client: Option<IpAddr>,
    ) -> Result<ConnectionPermit, ConnectionRefused> {
        let shared = &*self.shared;
        let max = shared.max_connections.load(Ordering::Relaxed);
        let reserved = shared
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |open| {
                if max == 0 || open < max {
                    open.checked_add(1)
                } else {
                    None
                }
            });
        if reserved.is_err() {
            return Err(ConnectionRefused::TooManyConnections { limit: max });
        }
        let Some(client) = client else {
            return Ok(ConnectionPermit {
                shared: Arc::clone(&self.shared),
                host: None,
            });
        };
        let host = host_key(client, shared.ipv6_prefix.load(Ordering::Relaxed));
        let per_host = shared.max_per_host.load(Ordering::Relaxed);
        let admitted = {
            let mut hosts = shared.hosts();
            let count = hosts.entry(host).or_insert(0);
            if per_host > 0 && *count >= per_host {
                false
            } else {
                *count += 1;
                true
            }
        };
        if !admitted {
            shared.open.fetch_sub(1, Ordering::AcqRel);
            return Err(ConnectionRefused::TooManyFromHost {
                limit: per_host,
                host,
            });
        }
        Ok(ConnectionPermit {
            shared: Arc::clone(&self.shared),
            host: Some(host),
        })
    }

    /// Connections open now.
    pub fn open_connections(&self) -> u32 {
        self.shared.open.load(Ordering::Acquire)
    }

    /// Connections open now from `client`'s host (its IPv4 address or IPv6
    /// prefix).
    pub fn open_from(&self, client: IpAddr) -> u32 {
        let host = host_key(client, self.shared.ipv6_prefix.load(Ordering::Relaxed));
        self.shared.hosts().get(&host).copied().unwrap_or(0)
    }

    /// Hosts with at least one open connection.
    pub fn hosts(&self) -> usize {
        self.shared.hosts().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn total_cap() {
        let limiter = ConnectionLimiter::new(ConnectionLimits::disabled().with_max_connections(2));
        let a = limiter.try_acquire(ip("192.0.2.1")).unwrap();
        let b = limiter.try_acquire(None).unwrap();
        assert_eq!(
            limiter.try_acquire(ip("192.0.2.2")).unwrap_err(),
            ConnectionRefused::TooManyConnections { limit: 2 }
        );
        assert_eq!(limiter.open_connections(), 2);
        drop(a);
        let c = limiter.try_acquire(ip("192.0.2.2")).unwrap();
        drop((b, c));
        assert_eq!(limiter.open_connections(), 0);
        assert_eq!(limiter.hosts(), 0);
    }

    #[test]
    fn per_host_cap_and_ipv6_prefix() {
        let limiter = ConnectionLimiter::new(ConnectionLimits::disabled().with_max_per_host(2));
        let _a = limiter.try_acquire(ip("2001:db8:0:1::1")).unwrap();
        let _b = limiter.try_acquire(ip("2001:db8:0:1::2")).unwrap();
        assert_eq!(
            limiter.try_acquire(ip("2001:db8:0:1::3")).unwrap_err(),
            ConnectionRefused::TooManyFromHost {
                limit: 2,
                host: "2001:db8:0:1::".parse().unwrap()
            }
        );
        // Another /64, and IPv4, are other hosts.
        let _c = limiter.try_acquire(ip("2001:db8:0:2::1")).unwrap();
        let _d = limiter.try_acquire(ip("192.0.2.1")).unwrap();
        let _e = limiter.try_acquire(ip("::ffff:192.0.2.1")).unwrap();
        assert!(limiter.try_acquire(ip("192.0.2.1")).is_err());
        assert_eq!(limiter.open_from("192.0.2.1".parse().unwrap()), 2);
        assert_eq!(limiter.open_connections(), 5);
        // A refused connection holds nothing.
        assert_eq!(limiter.hosts(), 3);
    }

    #[test]
    fn live_limits() {
        let limiter = ConnectionLimiter::new(ConnectionLimits::disabled());
        let permits: Vec<_> = (0..3)
            .map(|_| limiter.try_acquire(ip("192.0.2.1")).unwrap())
            .collect();
        // Counted while the cap was off, so turning it on is exact.
        limiter.set_limits(ConnectionLimits::disabled().with_max_per_host(3));
        assert!(limiter.try_acquire(ip("192.0.2.1")).is_err());
        limiter.set_limits(
            ConnectionLimits::disabled()
                .with_max_per_host(5)
                .with_max_connections(3),
        );
        assert!(limiter.try_acquire(ip("192.0.2.9")).is_err());
        drop(permits);
        assert_eq!(limiter.limits().max_connections, 3);
        let _p = limiter.try_acquire(ip("192.0.2.1")).unwrap();
    }

    #[test]
    fn host_table_is_bounded_by_open_connections() {
        let limiter = ConnectionLimiter::new(ConnectionLimits::disabled().with_max_per_host(1));
        let permits: Vec<_> = (0..10_000u32)
            .map(|n| {
                limiter
                    .try_acquire(Some(IpAddr::from(n.to_be_bytes())))
                    .unwrap()
            })
            .collect();
        assert_eq!(limiter.hosts(), 10_000);
        drop(permits);
        assert_eq!(limiter.hosts(), 0);
        assert_eq!(limiter.open_connections(), 0);
        assert!(limiter.shared.hosts().capacity() <= 128);
    }

    #[test]
    fn concurrent_acquire_never_exceeds_the_cap() {
        let limiter = ConnectionLimiter::new(ConnectionLimits::disabled().with_max_connections(8));
        std::thread::scope(|scope| {
            for t in 0..4u8 {
                let limiter = limiter.clone();
                scope.spawn(move || {
                    for _ in 0..2_000 {
                        if let Ok(permit) = limiter.try_acquire(Some(IpAddr::from([10, 0, 0, t]))) {
                            assert!(limiter.open_connections() <= 8);
                            drop(permit);
                        }
                    }
                });
            }
        });
        assert_eq!(limiter.open_connections(), 0);
        assert_eq!(limiter.hosts(), 0);
    }
}
