//! [`Admission`]: the connection caps, counting and logging what they refuse.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::StatusCode;
use postern_limits::RefusalReason;
use postern_limits::config::ConnectionLimits;
use postern_limits::connections::{ConnectionLimiter, ConnectionPermit, ConnectionRefused};

use super::{Counters, refusal_event};

/// The server's [`ConnectionLimiter`], whose refusals count as
/// `connection_cap` and go to the access log when it is on.
#[derive(Debug)]
pub(crate) struct Admission {
    limiter: ConnectionLimiter,
    counters: Arc<Counters>,
    /// The configuration's `access_log` (read only when refusing).
    log: AtomicBool,
}

impl Admission {
    pub(crate) fn new(limits: ConnectionLimits, counters: Arc<Counters>, log: bool) -> Admission {
        Admission {
            limiter: ConnectionLimiter::new(limits),
            counters,
            log: AtomicBool::new(log),
        }
    }

    /// Apply new caps and the access log switch.
    pub(crate) fn set(&self, limits: ConnectionLimits, log: bool) {
        self.limiter.set_limits(limits);
        self.log.store(log, Ordering::Relaxed);
    }

    /// Admit a new connection from `client`, or count and log its refusal.
    pub(crate) fn try_acquire(
        &self,
        client: Option<IpAddr>,
    ) -> Result<ConnectionPermit, ConnectionRefused> {
        let admitted = self.limiter.try_acquire(client);
        if admitted.is_err() {
            self.counters.refused(RefusalReason::ConnectionCap);
            if self.log.load(Ordering::Relaxed) {
                // Logged before its protocol is known: 429 is what an HTTP/1
                // client reads (an HTTP/2 client gets a GOAWAY).
                refusal_event(
                    client,
                    StatusCode::TOO_MANY_REQUESTS,
                    RefusalReason::ConnectionCap,
                    None,
                );
            }
        }
        admitted
    }
}
