//! The access log and the request counters (see [`crate::access`]): what
//! each connection knows of them, the entry of each request, the refusals
//! that come before any request (heads hyper refuses, connections over the
//! caps).

mod admission;
mod counters;
mod entry;

use std::net::IpAddr;
use std::sync::Arc;

use http::StatusCode;
use postern_limits::RefusalReason;

pub(crate) use admission::Admission;
pub(crate) use counters::Counters;
pub(crate) use entry::{AccessEntry, refusal_event};

/// The `tracing` target of the access log.
pub(crate) const TARGET: &str = "postern::access";

/// Whether the access log is wanted by `config` and some subscriber listens
/// to it: decided once per connection, never per request.
pub(crate) fn log_wanted(config: &crate::Configuration) -> bool {
    config.access_log && tracing::enabled!(target: TARGET, tracing::Level::INFO)
}

/// What one connection knows of the access log and the counters, fixed when
/// it opens.
#[derive(Debug)]
pub(crate) struct ConnAccess {
    pub(crate) counters: Arc<Counters>,
    /// Whether each request gets an [`AccessEntry`].
    log: bool,
    client: Option<IpAddr>,
}

impl ConnAccess {
    pub(crate) fn new(counters: Arc<Counters>, log: bool, client: Option<IpAddr>) -> ConnAccess {
        ConnAccess {
            counters,
            log,
            client,
        }
    }

    /// The entry of `request` when the log is on.
    #[inline]
    pub(crate) fn entry<B>(&self, request: &http::Request<B>) -> Option<Box<AccessEntry>> {
        self.log.then(|| AccessEntry::start(request, self.client))
    }

    /// A request was answered with `status`, refused for `reason` if any:
    /// count it (served, refused or upgraded) and note it in its entry.
    /// `upgrade_on_2xx`: the request takes over its stream when answered
    /// 2xx (`CONNECT`).
    #[inline]
    pub(crate) fn answered(
        &self,
        status: StatusCode,
        reason: Option<RefusalReason>,
        upgrade_on_2xx: bool,
        entry: Option<&mut AccessEntry>,
    ) {
        self.counters.answered(reason);
        if status == StatusCode::SWITCHING_PROTOCOLS || (upgrade_on_2xx && status.is_success()) {
            self.counters.count_upgrade();
        }
        if let Some(entry) = entry {
            entry.answered(status, reason);
        }
    }

    /// The connection ended with `error`: when hyper refused a request head
    /// (and answered it itself), count and log the refusal.
    pub(crate) fn connection_error(&self, error: &hyper::Error) {
        if let Some((status, reason)) = head_refusal(error) {
            self.counters.refused(reason);
            if self.log {
                refusal_event(self.client, status, reason, Some("HTTP/1.1"));
            }
        }
    }
}

/// The answer hyper wrote itself for a request head it could not parse:
/// 414 for a target over its 65,534 bytes, 431 for a head over the buffer,
/// 400 for a malformed head.
#[cfg(feature = "http1")]
fn head_refusal(error: &hyper::Error) -> Option<(StatusCode, RefusalReason)> {
    if error.is_parse_too_large() {
        // hyper tells the two apart only in its message.
        return Some(if displays_as(error, "URI too long") {
            (StatusCode::URI_TOO_LONG, RefusalReason::UrlTooLong)
        } else {
            (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                RefusalReason::HeaderTooLarge,
            )
        });
    }
    (error.is_parse() && !error.is_parse_version_h2() && !error.is_parse_status())
        .then_some((StatusCode::BAD_REQUEST, RefusalReason::BadRequest))
}

/// HTTP/2 refuses oversize or malformed heads per stream, inside h2: no
/// connection error to see.
#[cfg(not(feature = "http1"))]
fn head_refusal(_error: &hyper::Error) -> Option<(StatusCode, RefusalReason)> {
    None
}

/// Whether `value` displays exactly as `expected`, compared as it is
/// written (no string is built).
#[cfg(feature = "http1")]
fn displays_as(value: &dyn std::fmt::Display, expected: &str) -> bool {
    use std::fmt::Write;
    struct Compare<'a> {
        rest: &'a str,
        equal: bool,
    }
    impl Write for Compare<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            match self.rest.strip_prefix(s) {
                Some(rest) if self.equal => self.rest = rest,
                _ => self.equal = false,
            }
            Ok(())
        }
    }
    let mut compare = Compare {
        rest: expected,
        equal: true,
    };
    write!(compare, "{value}").is_ok() && compare.equal && compare.rest.is_empty()
}

#[cfg(all(test, feature = "http1"))]
mod tests {
    use super::*;

    #[test]
    fn display_comparison() {
        let cases: &[(&str, &str, bool)] = &[
            ("URI too long", "URI too long", true),
            ("URI too long!", "URI too long", false),
            ("URI too", "URI too long", false),
            ("message head is too large", "URI too long", false),
            ("", "", true),
        ];
        for (shown, expected, equal) in cases {
            assert_eq!(
                displays_as(shown, expected),
                *equal,
                "{shown:?} vs {expected:?}"
            );
        }
    }
}
