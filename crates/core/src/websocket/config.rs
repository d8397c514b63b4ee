//! [`WebSocketConfig`]: the limits every accepted socket runs under.

use std::time::Duration;

/// Limits and timers of accepted WebSockets. Every state a client can hold a
/// socket in has a deadline, and no client can make the server buffer
/// without bound.
///
/// Durations are taken between 1 ms and a week ([`Timeouts::MAX`](crate::config::Timeouts::MAX)),
/// so `Duration::MAX` means "as long as allowed".
///
/// | setting | default | when it is broken |
/// |---|---|---|
/// | [`max_message_size`](Self::max_message_size) | 1 MiB | close 1009 (a frame, or a fragmented message, over it) |
/// | [`frame_size`](Self::frame_size) | 256 KiB | outgoing messages are split into frames of this size |
/// | [`allowed_origins`](Self::allowed_origins) | none: any `Origin` | 403 before the upgrade |
/// | [`ping_interval`](Self::ping_interval) | 30 s | a ping after this long without a frame from the client |
/// | [`idle_timeout`](Self::idle_timeout) | 60 s | close 1001 when nothing, not even a pong, came for this long, or when a queued socket was not taken for this long |
/// | [`max_buffered_outgoing`](Self::max_buffered_outgoing) | 64 KiB | `send` waits (back-pressure) until the client takes the bytes |
/// | [`write_timeout`](Self::write_timeout) | 30 s | the socket is dropped when the client takes no bytes for this long |
/// | [`close_timeout`](Self::close_timeout) | 5 s | the socket is dropped when the client does not answer a close |
/// | [`upgrade_timeout`](Self::upgrade_timeout) | 10 s | an accepted upgrade whose 101 cannot be written is dropped |
/// | [`max_pending_connections`](Self::max_pending_connections) | 64 | 503 before the upgrade while this many accepted sockets wait to be taken |
///
/// ```
/// use std::time::Duration;
/// use postern_core::websocket::WebSocketConfig;
///
/// let config = WebSocketConfig::default()
///     .max_message_size(64 * 1024)
///     .allowed_origins(["https://app.example"])
///     .idle_timeout(Duration::from_secs(20));
/// assert_eq!(config.get_max_message_size(), 64 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketConfig {
    pub(crate) max_message_size: usize,
    pub(crate) frame_size: usize,
    pub(crate) allowed_origins: Option<Vec<String>>,
    pub(crate) ping_interval: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_buffered_outgoing: usize,
    pub(crate) write_timeout: Duration,
    pub(crate) close_timeout: Duration,
    pub(crate) upgrade_timeout: Duration,
    pub(crate) max_pending_connections: usize,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        WebSocketConfig {
            max_message_size: 1024 * 1024,
            frame_size: 256 * 1024,
            allowed_origins: None,
            ping_interval: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_buffered_outgoing: 64 * 1024,
            write_timeout: Duration::from_secs(30),
            close_timeout: Duration::from_secs(5),
            upgrade_timeout: Duration::from_secs(10),
            max_pending_connections: 64,
        }
    }
}

impl WebSocketConfig {
    /// The largest message (and frame) a client may send, in payload bytes
    /// (at least 1; 0 is taken as 1). Default 1 MiB.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes.max(1);
        self
    }

    /// The payload size outgoing messages are split into frames of (at
    /// least 1). Default 256 KiB.
    pub fn frame_size(mut self, bytes: usize) -> Self {
        self.frame_size = bytes.max(1);
        self
    }

    /// Accept upgrades only from these `Origin`s (exact, ASCII
    /// case-insensitive, e.g. `https://app.example`); an upgrade with another
    /// `Origin` or none gets 403 before any verifier runs. Default: no check
    /// (non-browser clients send no `Origin`).
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Send a ping after this long without a frame from the client. Default
    /// 30 s.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = bounded(interval);
        self
    }

    /// Close (1001) a socket from which nothing, not even a pong, came for
    /// this long. Checked on the ping timer, so it fires between this and
    /// this plus one ping interval. A socket waiting in the hub's queue is
    /// closed (1001) once it has waited this long untaken. Default 60 s.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = bounded(timeout);
        self
    }

    /// Outgoing bytes queued in the socket past which `send` waits until the
    /// client has taken them. Default 64 KiB.
    pub fn max_buffered_outgoing(mut self, bytes: usize) -> Self {
        self.max_buffered_outgoing = bytes;
        self
    }

    /// Drop a socket whose client takes no bytes for this long while the
    /// server has some to send. Default 30 s.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = bounded(timeout);
        self
    }

    /// After the server sends a close frame, drop the socket when the client
    /// has not answered within this. Default 5 s.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = bounded(timeout);
        self
    }

    /// Drop an accepted upgrade whose response could not be written within
    /// this. Default 10 s.
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.upgrade_timeout = bounded(timeout);
        self
    }

    /// Accepted sockets that may wait for the application to take them
    /// ([`next_pending_websocket_connection`](super::WebSocketUpgrades::next_pending_websocket_connection));
    /// past it, upgrades get 503 with `retry-after: 1`. Default 64. Sockets
    /// accepted for a route are handed to their handler and never wait.
    pub fn max_pending_connections(mut self, count: usize) -> Self {
        self.max_pending_connections = count;
        self
    }

    /// The largest message a client may send, in bytes.
    pub fn get_max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// The allowed `Origin`s, if they are checked.
    pub fn get_allowed_origins(&self) -> Option<&[String]> {
        self.allowed_origins.as_deref()
    }

    /// Whether `origin` (the request's `Origin` value, if any) passes.
    pub(crate) fn origin_allowed(&self, origin: Option<&[u8]>) -> bool {
        match &self.allowed_origins {
            None => true,
            Some(allowed) => origin.is_some_and(|origin| {
                allowed
                    .iter()
                    .any(|allowed| allowed.as_bytes().eq_ignore_ascii_case(origin))
            }),
        }
    }
}

/// A duration between 1 ms and a week: a timer set to zero would spin, and
/// one past a week would overflow the deadline arithmetic (`Duration::MAX`
/// is a natural way to write "never").
fn bounded(duration: Duration) -> Duration {
    duration.clamp(Duration::from_millis(1), crate::config::Timeouts::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Timeouts;

    #[test]
    fn durations_are_bounded_so_deadlines_never_overflow() {
        let ms = Duration::from_millis(1);
        for (given, taken) in [
            (Duration::ZERO, ms),
            (Duration::from_secs(3), Duration::from_secs(3)),
            (Duration::MAX, Timeouts::MAX),
        ] {
            let config = WebSocketConfig::default()
                .ping_interval(given)
                .idle_timeout(given)
                .write_timeout(given)
                .close_timeout(given)
                .upgrade_timeout(given);
            assert_eq!(
                [
                    config.ping_interval,
                    config.idle_timeout,
                    config.write_timeout,
                    config.close_timeout,
                    config.upgrade_timeout
                ],
                [taken; 5],
                "{given:?}"
            );
            // The socket's first deadline is `now + ping_interval`.
            let _ = tokio::time::Instant::now() + config.ping_interval;
        }
    }
}
