//! [`WebSocketError`]: why a socket operation failed.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The peer broke the protocol (the socket sent close 1002 or 1007).
    Protocol,
    /// The peer sent a message over the size limit (the socket sent 1009).
    TooBig,
    /// Reading or writing the connection failed.
    Io,
    /// The client took no bytes within the write timeout, or did not answer
    /// a close in time.
    TimedOut,
    /// The socket is closed: nothing more can be sent.
    Closed,
}

/// Why a [`WebSocket`](super::WebSocket) operation failed. Ask with the
/// predicates; the message says what happened.
pub struct WebSocketError {
    kind: Kind,
    source: Option<tokio_websockets::Error>,
}

impl WebSocketError {
    pub(crate) fn new(kind: Kind) -> Self {
        WebSocketError { kind, source: None }
    }

    pub(crate) fn from_engine(error: tokio_websockets::Error) -> Self {
        use tokio_websockets::Error as E;
        let kind = match &error {
            E::PayloadTooLong { .. } => Kind::TooBig,
            E::Io(_) => Kind::Io,
            E::AlreadyClosed => Kind::Closed,
            _ => Kind::Protocol,
        };
        WebSocketError {
            kind,
            source: Some(error),
        }
    }

    /// The client sent a message or frame over
    /// [`max_message_size`](super::WebSocketConfig::max_message_size); the
    /// socket answered with close 1009.
    pub fn is_message_too_big(&self) -> bool {
        self.kind == Kind::TooBig
    }

    /// The client broke the WebSocket protocol (bad framing, invalid UTF-8);
    /// the socket answered with close 1002 or 1007.
    pub fn is_protocol(&self) -> bool {
        self.kind == Kind::Protocol
    }

    /// The connection failed underneath.
    pub fn is_io(&self) -> bool {
        self.kind == Kind::Io
    }

    /// A deadline passed: the client took no bytes within the write timeout
    /// or did not answer a close in time.
    pub fn is_timeout(&self) -> bool {
        self.kind == Kind::TimedOut
    }

    /// The socket was already closed.
    pub fn is_closed(&self) -> bool {
        self.kind == Kind::Closed
    }
}

impl fmt::Debug for WebSocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketError")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for WebSocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            Kind::Protocol => "the client broke the WebSocket protocol",
            Kind::TooBig => "the client sent a message over the size limit",
            Kind::Io => "the WebSocket connection failed",
            Kind::TimedOut => "the WebSocket client missed a deadline",
            Kind::Closed => "the WebSocket is closed",
        };
        match &self.source {
            Some(source) => write!(f, "{what}: {source}"),
            None => f.write_str(what),
        }
    }
}

impl std::error::Error for WebSocketError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|error| error as &(dyn std::error::Error + 'static))
    }
}
