//! [`Message`] and [`CloseCode`]: what travels over a [`WebSocket`](super::WebSocket).

use std::fmt;

use bytes::Bytes;

/// A close status code (RFC 6455 section 7.4).
///
/// ```
/// use postern_core::websocket::CloseCode;
///
/// assert_eq!(CloseCode::GOING_AWAY.as_u16(), 1001);
/// assert_eq!(CloseCode::new(4000).map(CloseCode::as_u16), Some(4000));
/// assert!(CloseCode::new(1005).is_none()); // never sent on the wire
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the server is going down or the client idled out.
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a message of a type this end does not take.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1007: a text message that is not UTF-8.
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message against this end's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message or frame over the size limit.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting.
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (overload).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);

    /// A code that may be sent in a close frame: 1000-1003, 1007-1014 and
    /// 3000-4999; `None` for the rest (1004-1006 and 1015 are reserved for
    /// reporting, others unassigned).
    pub fn new(code: u16) -> Option<CloseCode> {
        tokio_websockets::CloseCode::try_from(code)
            .ok()
            .filter(|engine| !engine.is_reserved())
            .map(|_| CloseCode(code))
    }

    /// The numeric value.
    pub fn as_u16(self) -> u16 {
        self.0
    }

    pub(crate) fn to_engine(self) -> Option<tokio_websockets::CloseCode> {
        tokio_websockets::CloseCode::try_from(self.0).ok()
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// What kind of message a [`Message`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// UTF-8 text (checked on receipt).
    Text,
    /// Bytes.
    Binary,
    /// A ping; the socket answers it with a pong by itself.
    Ping,
    /// A pong (the answer to a ping of the server's own, among others).
    Pong,
    /// The peer's close frame; the socket answers it by itself.
    Close,
}

/// One WebSocket message: text, binary, ping, pong or close.
///
/// Fragmented messages arrive whole. Cloning shares the payload.
///
/// ```
/// use postern_core::websocket::{Message, MessageKind};
///
/// let message = Message::text("hi");
/// assert_eq!(message.kind(), MessageKind::Text);
/// assert_eq!(message.as_text(), Some("hi"));
/// assert_eq!(Message::binary(vec![1, 2]).as_bytes(), &[1, 2]);
/// ```
#[derive(Clone)]
pub struct Message(pub(crate) tokio_websockets::Message);

impl Message {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Message {
        Message(tokio_websockets::Message::text(text.into()))
    }

    /// A binary message.
    pub fn binary(bytes: impl Into<Bytes>) -> Message {
        Message(tokio_websockets::Message::binary(bytes.into()))
    }

    /// A ping (control frames carry at most 125 bytes: longer payloads are
    /// cut to 125).
    pub fn ping(payload: impl Into<Bytes>) -> Message {
        Message(tokio_websockets::Message::ping(control(payload.into())))
    }

    /// A pong (at most 125 bytes, as for [`ping`](Self::ping)).
    pub fn pong(payload: impl Into<Bytes>) -> Message {
        Message(tokio_websockets::Message::pong(control(payload.into())))
    }

    /// A close frame with `code` and `reason` (the reason is cut to the 123
    /// bytes a close frame has room for, at a character boundary).
    pub fn close(code: CloseCode, reason: &str) -> Message {
        Message(tokio_websockets::Message::close(
            code.to_engine(),
            cut_reason(reason),
        ))
    }

    /// The kind of message.
    pub fn kind(&self) -> MessageKind {
        let m = &self.0;
        if m.is_text() {
            MessageKind::Text
        } else if m.is_binary() {
            MessageKind::Binary
        } else if m.is_ping() {
            MessageKind::Ping
        } else if m.is_pong() {
            MessageKind::Pong
        } else {
            MessageKind::Close
        }
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        self.0.is_text()
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        self.0.is_binary()
    }

    /// Whether this is a text or binary message (not a control frame).
    pub fn is_data(&self) -> bool {
        self.0.is_text() || self.0.is_binary()
    }

    /// The text of a text message.
    pub fn as_text(&self) -> Option<&str> {
        self.0.as_text()
    }

    /// The payload bytes (a close frame's include its code).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_payload()
    }

    /// The payload, without a copy.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_payload().into()
    }

    /// A close frame's code and reason (`None` for other messages; a close
    /// frame without a code reports 1005, "no status received").
    pub fn as_close(&self) -> Option<(CloseCode, &str)> {
        let (code, reason) = self.0.as_close()?;
        Some((CloseCode(u16::from(code)), reason))
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("kind", &self.kind())
            .field("len", &self.as_bytes().len())
            .finish()
    }
}

impl PartialEq for Message {
    fn eq(&self, other: &Message) -> bool {
        self.kind() == other.kind() && self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Message {}

/// Control frames carry at most 125 payload bytes.
fn control(mut payload: Bytes) -> Bytes {
    payload.truncate(125);
    payload
}

/// A close reason fits in 123 bytes (125 less the code).
fn cut_reason(reason: &str) -> &str {
    if reason.len() <= 123 {
        return reason;
    }
    let mut end = 123;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_that_may_be_sent() {
        let cases: &[(u16, bool)] = &[
            (999, false),
            (1000, true),
            (1001, true),
            (1004, false),
            (1005, false),
            (1006, false),
            (1009, true),
            (1015, false),
            (2999, false),
            (3000, true),
            (4999, true),
            (5000, false),
        ];
        for &(code, valid) in cases {
            assert_eq!(CloseCode::new(code).is_some(), valid, "{code}");
        }
    }

    #[test]
    fn close_reason_is_cut_at_a_character_boundary() {
        let long = "é".repeat(100);
        let message = Message::close(CloseCode::NORMAL, &long);
        let (code, reason) = message.as_close().unwrap();
        assert_eq!(code, CloseCode::NORMAL);
        assert_eq!(reason.len(), 122);
        assert_eq!(Message::ping(vec![0u8; 200]).as_bytes().len(), 125);
    }
}
