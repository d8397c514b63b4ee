use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::{Quota, RateLimiter};

use super::RateDecision;
use super::clock::TokioClock;
use super::store::{CountingStore, Tracked};
use crate::config::{ConfigError, RateLimit, RateStore};
use crate::key::client_key;

type Governor = RateLimiter<IpAddr, CountingStore, TokioClock, NoOpMiddleware<Nanos>>;

/// The per-client request budget, shared by every clone (one `Arc`).
///
/// A GCRA limiter from governor keyed by client: IPv4 addresses (IPv4-mapped
/// IPv6 included) by the whole address, IPv6 addresses by their
/// [`ipv6_prefix`](RateLimit::ipv6_prefix) (default /64). The quota is
/// [`per_second`](RateLimit::per_second) requests with a burst of the same
/// size, refilled evenly over the second.
///
/// **Memory is bounded.** At most [`max_tracked_clients`](RateLimit::max_tracked_clients)
/// clients are tracked; when the table is full a client not yet in it is
/// refused (429, [`RateLimited::is_over_client_cap`]) rather than inserted, until
/// the next sweep frees room. Clients whose budget is full again are swept
/// every [`sweep_interval`](RateLimit::sweep_interval): the sweep runs lazily,
/// inside the first [`check`](Self::check) after it is due (about 2 ms per
/// 100,000 tracked clients), or when you call [`sweep`](Self::sweep) yourself.
/// Concurrent checks may overshoot the cap by at most one client per thread.
///
/// **Shared across replicas.** Built with a `RateStore::Redis` store (the
/// `redis` feature), the budgets live in Redis instead and every replica
/// pointed at it shares them: [`decide`](Self::decide) asks Redis (one round
/// trip, at most the store's timeout) and falls back to the store's
/// `FailurePolicy` when it cannot answer. The
/// client cap and the sweep then only concern the local fallback; Redis keys
/// expire on their own once a client's budget is full again.
///
/// Time comes from `tokio::time::Instant`, so `tokio::time::pause` drives it in
/// tests; no tokio runtime is needed otherwise.
#[derive(Clone)]
pub struct ClientRateLimiter {
    shared: Arc<Shared>,
}

struct Shared {
    config: RateLimit,
    enabled: bool,
    /// The in-memory store, or a shared store's local fallback; `None` when
    /// disabled or when the shared store's policy needs no local state.
    governor: Option<Governor>,
    #[cfg(feature = "redis")]
    redis: Option<Arc<super::redis::RedisBackend>>,
    tracked: Arc<Tracked>,
    sweep_every: u64,
    next_sweep: AtomicU64,
    cap_warned: AtomicBool,
}

impl fmt::Debug for ClientRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRateLimiter")
            .field("config", &self.shared.config)
            .field("tracked_clients", &self.tracked_clients())
            .finish()
    }
}

/// A request refused by the rate limit: 429 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    retry_after: Duration,
    over_client_cap: bool,
    unavailable: bool,
}

impl RateLimited {
    /// How long until the client may try again (the `Retry-After` header holds
    /// it rounded up to whole seconds, at least 1).
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// Whether the client was refused because the table of tracked clients was
    /// full, rather than because it spent its own budget.
    pub fn is_over_client_cap(&self) -> bool {
        self.over_client_cap
    }

    /// Whether the request was refused because the shared store could not
    /// decide in time and its policy is
    /// `FailurePolicy::FailClosed`: the layers
    /// answer **503** with `Retry-After` instead of 429.
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unavailable {
            write!(
                f,
                "the shared rate limit cannot decide now; retry after {:?}",
                self.retry_after
            )
        } else if self.over_client_cap {
            write!(
                f,
                "too many clients tracked by the rate limiter; retry after {:?}",
                self.retry_after
            )
        } else {
            write!(f, "rate limit exceeded; retry after {:?}", self.retry_after)
        }
    }
}

impl std::error::Error for RateLimited {}

impl ClientRateLimiter {
    /// A limiter for `config`.
    ///
    /// # Panics
    ///
    /// If `config.validate()` fails; use [`try_new`](Self::try_new) to get the
    /// error instead.
    pub fn new(config: RateLimit) -> Self {
        match ClientRateLimiter::try_new(config) {
            Ok(limiter) => limiter,
            Err(error) => panic!("invalid rate limit: {error}"),
        }
    }

    /// A limiter for `config`, or what to fix in it. With `per_second == 0` the
    /// limiter admits everything and tracks nobody.
    pub fn try_new(config: RateLimit) -> Result<Self, ConfigError> {
        ClientRateLimiter::try_with_store(config, &RateStore::Memory)
    }

    /// A limiter for `config` keeping its budgets in `store`, or what to fix.
    ///
    /// A Redis store connects on the first decision, from inside the tokio
    /// runtime that serves requests.
    pub fn try_with_store(config: RateLimit, store: &RateStore) -> Result<Self, ConfigError> {
        config.validate()?;
        store.validate()?;
        let enabled = config.is_enabled();
        let local_per_second = match store {
            RateStore::Memory => config.per_second,
            #[cfg(feature = "redis")]
            RateStore::Redis(redis) => match redis.on_failure {
                crate::config::FailurePolicy::LocalFallback { replicas } => {
                    (config.per_second / replicas.max(1)).max(u32::from(enabled))
                }
                _ => 0,
            },
        };
        #[cfg(feature = "redis")]
        let redis = match store {
            RateStore::Redis(redis) if enabled => Some(Arc::new(super::redis::RedisBackend::new(
                redis,
                config.per_second,
            )?)),
            _ => None,
        };
        let tracked = Arc::new(Tracked::default());
        let governor = NonZeroU32::new(local_per_second).map(|n| {
            RateLimiter::new(
                Quota::per_second(n),
                CountingStore(Arc::clone(&tracked)),
                TokioClock::new(),
            )
        });
        let sweep_every = u64::try_from(config.sweep_interval.as_nanos()).unwrap_or(u64::MAX);
        Ok(ClientRateLimiter {
            shared: Arc::new(Shared {
                config,
                enabled,
                governor,
                #[cfg(feature = "redis")]
                redis,
                tracked,
                sweep_every,
                next_sweep: AtomicU64::new(sweep_every),
                cap_warned: AtomicBool::new(false),
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &RateLimit {
        &self.shared.config
    }

    /// Whether requests are limited at all (`per_second > 0`).
    pub fn is_enabled(&self) -> bool {
        self.shared.enabled
    }

    /// Whether the budgets live in a shared store (Redis), so
    /// [`decide`](Self::decide) waits for a round trip.
    pub fn is_shared(&self) -> bool {
        #[cfg(feature = "redis")]
        return self.shared.redis.is_some();
        #[cfg(not(feature = "redis"))]
        false
    }

    /// Count one request from `ip` against its client's budget, in the store
    /// the limiter was built with: ready at once from memory, after one
    /// round trip from Redis (never longer than the store's timeout).
    #[inline]
    pub fn decide(&self, ip: IpAddr) -> RateDecision {
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.shared.redis {
            // While Redis is away the failure policy answers at once: no
            // boxed round trip, no waiting state in the service's future.
            if redis.is_down() {
                return RateDecision::ready(self.check(ip));
            }
            let limiter = self.clone();
            let key = self.client_key(ip);
            return RateDecision::waiting(async move { limiter.ask_redis(key).await });
        }
        RateDecision::ready(self.check(ip))
    }

    #[cfg(feature = "redis")]
    async fn ask_redis(&self, key: IpAddr) -> Result<(), RateLimited> {
        use super::redis::Answer;
        let Some(redis) = &self.shared.redis else {
            return self.check(key);
        };
        match redis.ask(key, self.shared.config.ipv6_prefix).await {
            Answer::Admit => Ok(()),
            Answer::Refuse(retry_after) => Err(RateLimited {
                retry_after,
                over_client_cap: false,
                unavailable: false,
            }),
            Answer::Failed => self.check(key),
        }
    }

    /// Count one request from `ip` without waiting: the in-memory store's
    /// decision; with a shared store, the answer of its
    /// `FailurePolicy` (what a request gets
    /// while Redis is away). [`decide`](Self::decide) asks the store.
    pub fn check(&self, ip: IpAddr) -> Result<(), RateLimited> {
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.shared.redis {
            match redis.store.on_failure {
                crate::config::FailurePolicy::FailOpen => return Ok(()),
                crate::config::FailurePolicy::FailClosed => {
                    return Err(RateLimited {
                        retry_after: Duration::from_secs(1),
                        over_client_cap: false,
                        unavailable: true,
                    });
                }
                crate::config::FailurePolicy::LocalFallback { .. } => {}
            }
        }
        self.check_local(ip)
    }

    #[inline]
    fn check_local(&self, ip: IpAddr) -> Result<(), RateLimited> {
        let shared = &*self.shared;
        let Some(governor) = &shared.governor else {
            return Ok(());
        };
        let key = self.client_key(ip);
        let now = governor.clock().now();
        shared.maybe_sweep(governor, now);
        let tracked = &*shared.tracked;
        if tracked.len() >= shared.config.max_tracked_clients && !tracked.contains(&key) {
            return Err(shared.over_cap(now));
        }
        governor.check_key(&key).map_err(|not_until| RateLimited {
            retry_after: not_until.wait_time_from(now),
            over_client_cap: false,
            unavailable: false,
        })
    }

    /// The key `ip` is counted under: the canonical IPv4 address, or the IPv6
    /// address cut to the configured prefix.
    pub fn client_key(&self, ip: IpAddr) -> IpAddr {
        client_key(ip, self.shared.config.ipv6_prefix)
    }

    /// Forget every client whose budget is full again, and release the memory
    /// they held. Runs on its own every `sweep_interval`; call it to sweep now.
    pub fn sweep(&self) {
        if let Some(governor) = &self.shared.governor {
            self.shared.sweep_now(governor);
        }
    }

    /// Clients tracked now (at most `max_tracked_clients`, see the type docs).
    pub fn tracked_clients(&self) -> usize {
        self.shared.tracked.len()
    }

    /// Whether `other` is a handle to this same limiter (clones share one).
    pub fn same_as(&self, other: &ClientRateLimiter) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Slots allocated in the client table (memory is about 70 bytes each).
    pub fn capacity(&self) -> usize {
        self.shared.tracked.capacity()
    }
}

impl Shared {
    #[inline]
    fn maybe_sweep(&self, governor: &Governor, now: Nanos) {
        let now = u64::from(now);
        let due = self.next_sweep.load(Ordering::Relaxed);
        if now < due {
            return;
        }
        let next = now.saturating_add(self.sweep_every);
        if self
            .next_sweep
            .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.sweep_now(governor);
        }
    }

    fn sweep_now(&self, governor: &Governor) {
        let before = self.tracked.len();
        governor.retain_recent();
        governor.shrink_to_fit();
        self.cap_warned.store(false, Ordering::Relaxed);
        tracing::trace!(
            target: "postern::limits",
            before,
            after = self.tracked.len(),
            "rate limiter swept idle clients"
        );
    }

    #[cold]
    fn over_cap(&self, now: Nanos) -> RateLimited {
        if !self.cap_warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "postern::limits",
                max_tracked_clients = self.config.max_tracked_clients,
                "rate limiter is tracking its maximum number of clients; new clients get 429 \
                 until the next sweep (raise max_tracked_clients or shorten sweep_interval)"
            );
        }
        let next = self.next_sweep.load(Ordering::Relaxed);
        RateLimited {
            retry_after: Duration::from_nanos(next.saturating_sub(u64::from(now))),
            over_client_cap: true,
            unavailable: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn invalid_configs_are_refused() {
        let bad_prefix = RateLimit::default()
            .with_per_second(1)
            .with_ipv6_prefix(129);
        assert_eq!(
            ClientRateLimiter::try_new(bad_prefix).unwrap_err(),
            ConfigError::InvalidIpv6Prefix { prefix: 129 }
        );
        let no_room = RateLimit::default()
            .with_per_second(1)
            .with_max_tracked_clients(0);
        assert_eq!(
            ClientRateLimiter::try_new(no_room).unwrap_err(),
            ConfigError::ZeroTrackedClients
        );
    }

    #[test]
    fn disabled_tracks_nobody() {
        let limiter = ClientRateLimiter::new(RateLimit::disabled());
        assert!(!limiter.is_enabled());
        for _ in 0..100 {
            assert!(limiter.check(ip("192.0.2.1")).is_ok());
        }
        assert_eq!(limiter.tracked_clients(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn budget_refills_over_the_second() {
        let limiter = ClientRateLimiter::new(RateLimit::default().with_per_second(3));
        let client = ip("192.0.2.1");
        for _ in 0..3 {
            assert!(limiter.check(client).is_ok());
        }
        let refused = limiter.check(client).unwrap_err();
        assert!(!refused.is_over_client_cap());
        assert!(refused.retry_after() > Duration::ZERO);
        assert!(refused.retry_after() <= Duration::from_millis(334));
        // Another client has its own budget.
        assert!(limiter.check(ip("192.0.2.2")).is_ok());
        // One third of a second refills one request.
        tokio::time::advance(Duration::from_millis(334)).await;
        assert!(limiter.check(client).is_ok());
        assert!(limiter.check(client).is_err());
        // A whole second refills the burst.
        tokio::time::advance(Duration::from_secs(1)).await;
        for _ in 0..3 {
            assert!(limiter.check(client).is_ok());
        }
        assert!(limiter.check(client).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn ipv6_clients_share_their_64() {
        let limiter = ClientRateLimiter::new(RateLimit::default().with_per_second(2));
        assert!(limiter.check(ip("2001:db8:0:1::1")).is_ok());
        assert!(limiter.check(ip("2001:db8:0:1::2")).is_ok());
        assert!(
            limiter
                .check(ip("2001:db8:0:1:ffff:ffff:ffff:ffff"))
                .is_err()
        );
        // The next /64 is another client.
        assert!(limiter.check(ip("2001:db8:0:2::1")).is_ok());
        assert_eq!(limiter.tracked_clients(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn ipv4_mapped_is_ipv4() {
        let limiter = ClientRateLimiter::new(RateLimit::default().with_per_second(1));
        assert!(limiter.check(ip("192.0.2.1")).is_ok());
        assert!(limiter.check(ip("::ffff:192.0.2.1")).is_err());
        assert_eq!(limiter.tracked_clients(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn client_cap_refuses_new_clients_until_the_sweep() {
        let config = RateLimit::default()
            .with_per_second(10)
            .with_max_tracked_clients(2)
            .with_sweep_interval(Duration::from_secs(5));
        let limiter = ClientRateLimiter::new(config);
        assert!(limiter.check(ip("192.0.2.1")).is_ok());
        assert!(limiter.check(ip("192.0.2.2")).is_ok());
        let refused = limiter.check(ip("192.0.2.3")).unwrap_err();
        assert!(refused.is_over_client_cap());
        assert_eq!(refused.retry_after(), Duration::from_secs(5));
        // Known clients keep their budget.
        assert!(limiter.check(ip("192.0.2.1")).is_ok());
        assert_eq!(limiter.tracked_clients(), 2);

        tokio::time::advance(Duration::from_secs(5)).await;
        // The first check after the interval sweeps the idle clients out.
        assert!(limiter.check(ip("192.0.2.3")).is_ok());
        assert_eq!(limiter.tracked_clients(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn sweep_keeps_busy_clients_and_frees_memory() {
        let config = RateLimit::default()
            .with_per_second(1)
            .with_max_tracked_clients(10_000);
        let limiter = ClientRateLimiter::new(config);
        for n in 0..5_000u32 {
            assert!(limiter.check(IpAddr::from(n.to_be_bytes())).is_ok());
        }
        assert_eq!(limiter.tracked_clients(), 5_000);
        let full_capacity = limiter.capacity();
        // Still inside their second: nobody is idle yet.
        limiter.sweep();
        assert_eq!(limiter.tracked_clients(), 5_000);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(limiter.check(ip("192.0.2.1")).is_ok());
        limiter.sweep();
        assert_eq!(limiter.tracked_clients(), 1);
        assert!(limiter.capacity() < full_capacity);
    }

    #[test]
    fn clones_share_one_limiter() {
        let limiter = ClientRateLimiter::new(RateLimit::default().with_per_second(1));
        let clone = limiter.clone();
        assert!(limiter.check(ip("192.0.2.1")).is_ok());
        assert!(clone.check(ip("192.0.2.1")).is_err());
    }
}
