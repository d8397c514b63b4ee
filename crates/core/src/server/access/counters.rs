//! The server-wide counters behind [`RunningServer::stats`](crate::RunningServer::stats):
//! relaxed atomics, at most one increment per request.

use std::sync::atomic::{AtomicU64, Ordering};

use postern_limits::RefusalReason;

use crate::access::Refusals;

/// Requests answered, refusals by reason and upgrades, for one server.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    served: AtomicU64,
    refusals: [AtomicU64; 8],
    upgrades: AtomicU64,
}

/// The slot of `reason` in [`Counters::refusals`] (the enum is
/// non-exhaustive, so no cast).
fn slot(reason: RefusalReason) -> Option<usize> {
    Some(match reason {
        RefusalReason::IpDenied => 0,
        RefusalReason::RateLimited => 1,
        RefusalReason::UrlTooLong => 2,
        RefusalReason::HeaderTooLarge => 3,
        RefusalReason::BodyTooLarge => 4,
        RefusalReason::ConnectionCap => 5,
        RefusalReason::Timeout => 6,
        RefusalReason::BadRequest => 7,
        _ => return None,
    })
}

impl Counters {
    /// One request answered: served by the service, or refused for `reason`.
    #[inline]
    pub(crate) fn answered(&self, reason: Option<RefusalReason>) {
        match reason {
            None => {
                self.served.fetch_add(1, Ordering::Relaxed);
            }
            Some(reason) => self.refused(reason),
        }
    }

    /// One request or connection refused for `reason`.
    pub(crate) fn refused(&self, reason: RefusalReason) {
        if let Some(slot) = slot(reason) {
            self.refusals[slot].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One connection (HTTP/1 `101`) or stream (HTTP/2 `CONNECT`) handed
    /// over to an upgrade. The server calls it when it sends such a
    /// response, so code that takes the upgraded connection (WebSockets)
    /// need not.
    pub(crate) fn count_upgrade(&self) {
        self.upgrades.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    pub(crate) fn upgrades(&self) -> u64 {
        self.upgrades.load(Ordering::Relaxed)
    }

    pub(crate) fn refusals(&self) -> Refusals {
        let get =
            |reason| slot(reason).map_or(0, |slot| self.refusals[slot].load(Ordering::Relaxed));
        Refusals {
            ip_denied: get(RefusalReason::IpDenied),
            rate_limited: get(RefusalReason::RateLimited),
            url_too_long: get(RefusalReason::UrlTooLong),
            header_too_large: get(RefusalReason::HeaderTooLarge),
            body_too_large: get(RefusalReason::BodyTooLarge),
            connection_cap: get(RefusalReason::ConnectionCap),
            timeout: get(RefusalReason::Timeout),
            bad_request: get(RefusalReason::BadRequest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_has_its_own_slot() {
        let counters = Counters::default();
        for (i, reason) in RefusalReason::ALL.into_iter().enumerate() {
            for _ in 0..=i {
                counters.answered(Some(reason));
            }
        }
        counters.answered(None);
        counters.count_upgrade();
        let refusals = counters.refusals();
        for (i, reason) in RefusalReason::ALL.into_iter().enumerate() {
            assert_eq!(refusals.get(reason), i as u64 + 1, "{reason}");
        }
        assert_eq!(refusals.total(), 36);
        assert_eq!(counters.served(), 1);
        assert_eq!(counters.upgrades(), 1);
    }
}
