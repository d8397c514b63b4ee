//! The Redis store: one GCRA decision per request in one Lua script run with
//! `EVALSHA` (the script is loaded again when Redis answers `NOSCRIPT`, after
//! a restart), on one multiplexed connection per limiter that reconnects in
//! the background.
//!
//! Once a decision fails, the store is marked down and requests get the
//! failure policy's answer at once, without waiting; a background task pings
//! Redis every 100 ms and marks it up again on the first answer, so sharing
//! resumes within a few hundred milliseconds of Redis coming back.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::{ConfigError, RedisStore};

const GCRA: &str = include_str!("gcra.lua");

/// What Redis said about one request.
pub(super) enum Answer {
    Admit,
    /// Refused; the client may come back after this long.
    Refuse(Duration),
    /// No answer in time (down, unreachable, too slow): the failure policy
    /// decides.
    Failed,
}

pub(super) struct RedisBackend {
    pub(super) store: RedisStore,
    client: redis::Client,
    /// Made on the first decision, inside the runtime that serves requests
    /// (the connection manager spawns its reconnections there).
    manager: OnceLock<Option<ConnectionManager>>,
    script: redis::Script,
    interval_us: u64,
    burst: u32,
    /// Whether Redis is deemed away: decisions answer by the policy at once
    /// while the probe waits for it.
    down: AtomicBool,
}

impl RedisBackend {
    pub(super) fn new(store: &RedisStore, per_second: u32) -> Result<Self, ConfigError> {
        store.validate()?;
        let client = redis::Client::open(store.url.as_str()).map_err(|error| {
            ConfigError::InvalidRedisUrl {
                reason: error.to_string(),
            }
        })?;
        Ok(RedisBackend {
            store: store.clone(),
            client,
            manager: OnceLock::new(),
            script: redis::Script::new(GCRA),
            interval_us: (1_000_000 / u64::from(per_second.max(1))).max(1),
            burst: per_second,
            down: AtomicBool::new(false),
        })
    }

    /// Retry quickly (every 200 ms at most) so sharing resumes well within a
    /// second of Redis coming back; give up after about a minute, when the
    /// next request starts a new round.
    fn manager_config() -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_min_delay(Duration::from_millis(10))
            .set_exponent_base(2.0)
            .set_max_delay(Duration::from_millis(200))
            .set_number_of_retries(300)
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_secs(1)))
    }

    fn connection(&self) -> Option<ConnectionManager> {
        if let Some(manager) = self.manager.get() {
            return manager.clone();
        }
        // Outside a tokio runtime there is nowhere to run the connection.
        tokio::runtime::Handle::try_current().ok()?;
        self.manager
            .get_or_init(|| {
                ConnectionManager::new_lazy_with_config(self.client.clone(), Self::manager_config())
                    .map_err(|error| {
                        tracing::error!(
                            target: "postern::limits",
                            %error,
                            "cannot set up the Redis connection of the shared rate limit"
                        );
                    })
                    .ok()
            })
            .clone()
    }

    /// The key of a client key (an IPv4 address or a cut IPv6 address).
    fn key(&self, client: IpAddr, ipv6_prefix: u8) -> String {
        match client {
            IpAddr::V4(v4) => format!("{}{v4}", self.store.key_prefix),
            IpAddr::V6(v6) => format!("{}{v6}/{ipv6_prefix}", self.store.key_prefix),
        }
    }

    /// Whether the last decision failed and the probe has not seen Redis
    /// answer since: requests get the failure policy's answer.
    pub(super) fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// Count one request of `client` (already keyed) in Redis, waiting at
    /// most the configured timeout.
    pub(super) async fn ask(self: &Arc<Self>, client: IpAddr, ipv6_prefix: u8) -> Answer {
        if self.down.load(Ordering::Relaxed) {
            return Answer::Failed;
        }
        let Some(mut connection) = self.connection() else {
            return self.failed(&"no tokio runtime to run the Redis connection on");
        };
        let key = self.key(client, ipv6_prefix);
        let mut invocation = self.script.key(key);
        invocation.arg(self.interval_us).arg(self.burst);
        let call = invocation.invoke_async::<(i64, i64)>(&mut connection);
        match tokio::time::timeout(self.store.timeout, call).await {
            Ok(Ok((admitted, wait_us))) => {
                if admitted == 1 {
                    Answer::Admit
                } else {
                    Answer::Refuse(Duration::from_micros(u64::try_from(wait_us).unwrap_or(0)))
                }
            }
            Ok(Err(error)) => self.failed(&error),
            Err(_) => self.failed(&format_args!("no answer within {:?}", self.store.timeout)),
        }
    }

    #[cold]
    fn failed(self: &Arc<Self>, why: &dyn std::fmt::Display) -> Answer {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "postern::limits",
                reason = %why,
                policy = ?self.store.on_failure,
                "the shared rate limit cannot reach Redis; the failure policy answers \
                 until it is back"
            );
            if let Some(connection) = self.connection() {
                tokio::spawn(probe(Arc::downgrade(self), connection));
            }
        }
        Answer::Failed
    }
}

/// How often the probe pings Redis while it is away.
const PROBE_EVERY: Duration = Duration::from_millis(100);

/// Ping Redis until it answers, then mark the store up. Ends early when the
/// limiter is dropped.
async fn probe(backend: Weak<RedisBackend>, mut connection: ConnectionManager) {
    loop {
        tokio::time::sleep(PROBE_EVERY).await;
        let Some(timeout) = backend.upgrade().map(|b| b.store.timeout.max(PROBE_EVERY)) else {
            return;
        };
        let ping_cmd = redis::cmd("PING");
        let ping = ping_cmd.query_async::<String>(&mut connection);
        if let Ok(Ok(_)) = tokio::time::timeout(timeout, ping).await {
            if let Some(backend) = backend.upgrade() {
                backend.down.store(false, Ordering::Relaxed);
                tracing::info!(
                    target: "postern::limits",
                    "Redis answers again: the rate limit is shared again"
                );
            }
            return;
        }
    }
}
