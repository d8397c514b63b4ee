//! The responses every layer answers with when it refuses a request.

use http::header::{CONNECTION, CONTENT_LENGTH, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode, Version};

/// Why a request was refused, and what the response must say.
///
/// Kept `Copy` and tiny so that a refusing future stores it inline; the
/// response (and its header map) is only built when the future is polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// 403: the client IP is outside the allow list or inside the deny list.
    Forbidden,
    /// 429: the client spent its rate budget; `Retry-After` in whole seconds.
    TooManyRequests { retry_after_secs: u64 },
    /// 414: the request target is longer than allowed.
    UriTooLong { close: bool },
    /// 431: too many header fields, one field too long, or too many header bytes.
    HeadersTooLarge { close: bool },
    /// 413: the declared body is longer than allowed.
    BodyTooLarge { close: bool },
    /// 429 on a connection over the connection caps.
    TooManyConnections { close: bool },
    /// 500: the layer cannot tell who the client is (a configuration error).
    MissingPeer,
}

/// Whether `connection: close` may be sent: HTTP/1.x only (RFC 9113 §8.2.2
/// forbids connection-specific fields in HTTP/2 and HTTP/3).
#[inline]
pub(crate) fn may_close(version: Version) -> bool {
    matches!(
        version,
        Version::HTTP_09 | Version::HTTP_10 | Version::HTTP_11
    )
}

impl Rejection {
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Rejection::Forbidden => StatusCode::FORBIDDEN,
            Rejection::TooManyRequests { .. } | Rejection::TooManyConnections { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Rejection::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Rejection::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Rejection::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::MissingPeer => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The refusal with an empty `body`: `content-length: 0`, plus
    /// `retry-after` for the rate limit and `connection: close` when asked.
    pub(crate) fn into_response<B>(self, body: B) -> Response<B> {
        let mut response = Response::new(body);
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        match self {
            Rejection::TooManyRequests { retry_after_secs } => {
                headers.insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            Rejection::UriTooLong { close: true }
            | Rejection::HeadersTooLarge { close: true }
            | Rejection::BodyTooLarge { close: true }
            | Rejection::TooManyConnections { close: true } => {
                headers.insert(CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

/// Whole seconds to wait, rounded up, at least 1 (`Retry-After` has no fractions
/// and `0` would invite an immediate retry).
pub(crate) fn retry_after_secs(wait: std::time::Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn retry_after_rounds_up_and_is_at_least_one() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(10)), 10);
    }

    #[test]
    fn connection_close_only_on_http1() {
        assert!(may_close(Version::HTTP_10));
        assert!(may_close(Version::HTTP_11));
        assert!(!may_close(Version::HTTP_2));
        assert!(!may_close(Version::HTTP_3));
    }
}
