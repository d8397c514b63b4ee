//! The responses every layer answers with when it refuses a request.
//!
//! Every refusal is built here, so all look alike: an empty body with
//! `content-type: application/x-empty` and `content-length: 0`, as Qt's
//! responder sends its 403 and 429 and as postern-core sends its own 400 and
//! 413 (so a 413 reads the same whether the size layer refused a declared
//! `Content-Length` or the server caught a streamed body); `retry-after` on
//! the rate limit's 429; `connection: close` on HTTP/1.x when asked.

use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode, Version};

/// Why a request was refused, and what the response must say.
///
/// Kept `Copy` and tiny so that a refusing future stores it inline; the
/// response (and its header map) is only built when the future is polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// 403: the client IP is outside the allow list or inside the deny list.
    #[cfg_attr(not(feature = "ip-filter"), allow(dead_code))]
    Forbidden,
    /// 429: the client spent its rate budget; `Retry-After` in whole seconds.
    #[cfg_attr(not(feature = "rate"), allow(dead_code))]
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

/// The `content-type` of every refusal: Qt's type for an empty body.
pub(crate) const EMPTY_MIME: &str = "application/x-empty";

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

    /// The refusal with an empty `body`, built by [`empty_response`], plus
    /// `retry-after` for the rate limit.
    pub(crate) fn into_response<B>(self, body: B) -> Response<B> {
        let close = matches!(
            self,
            Rejection::UriTooLong { close: true }
                | Rejection::HeadersTooLarge { close: true }
                | Rejection::BodyTooLarge { close: true }
                | Rejection::TooManyConnections { close: true }
        );
        // `close` was decided with `may_close` where the version was known.
        let mut response = empty_response(self.status(), Version::HTTP_11, close, body);
        if let Rejection::TooManyRequests { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

/// The empty answer every refusal of Postern's is, whichever layer or server
/// part sends it: `status`, `body` (meant to be empty),
/// `content-type: application/x-empty` (Qt's type for an empty body),
/// `content-length: 0`, and `connection: close` when `close` is asked and
/// `version` is HTTP/1.x (HTTP/2 forbids connection-specific fields).
///
/// ```
/// use http::{StatusCode, Version};
/// let response = postern_limits::empty_response(StatusCode::FORBIDDEN, Version::HTTP_11, true, ());
/// assert_eq!(response.headers()["content-type"], "application/x-empty");
/// assert_eq!(response.headers()["content-length"], "0");
/// assert_eq!(response.headers()["connection"], "close");
/// let h2 = postern_limits::empty_response(StatusCode::FORBIDDEN, Version::HTTP_2, true, ());
/// assert!(h2.headers().get("connection").is_none());
/// ```
pub fn empty_response<B>(
    status: StatusCode,
    version: Version,
    close: bool,
    body: B,
) -> Response<B> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(EMPTY_MIME));
    headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    if close && may_close(version) {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Whole seconds to wait, rounded up, at least 1 (`Retry-After` has no fractions
/// and `0` would invite an immediate retry).
#[cfg_attr(not(feature = "rate"), allow(dead_code))]
pub(crate) fn retry_after_secs(wait: std::time::Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// A response's headers as `(name, value)` pairs, in order: what the tests
/// compare refusals against.
#[cfg(test)]
pub(crate) fn header_list(headers: &http::HeaderMap) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.to_str().unwrap()))
        .collect()
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
    fn every_refusal_has_exact_headers() {
        const EMPTY: [(&str, &str); 2] = [
            ("content-type", "application/x-empty"),
            ("content-length", "0"),
        ];
        const CLOSE: (&str, &str) = ("connection", "close");
        type Headers = &'static [(&'static str, &'static str)];
        let table: &[(Rejection, u16, Headers)] = &[
            (Rejection::Forbidden, 403, &EMPTY),
            (
                Rejection::TooManyRequests {
                    retry_after_secs: 3,
                },
                429,
                &[EMPTY[0], EMPTY[1], ("retry-after", "3")],
            ),
            (Rejection::UriTooLong { close: false }, 414, &EMPTY),
            (
                Rejection::UriTooLong { close: true },
                414,
                &[EMPTY[0], EMPTY[1], CLOSE],
            ),
            (Rejection::HeadersTooLarge { close: false }, 431, &EMPTY),
            (
                Rejection::HeadersTooLarge { close: true },
                431,
                &[EMPTY[0], EMPTY[1], CLOSE],
            ),
            (Rejection::BodyTooLarge { close: false }, 413, &EMPTY),
            (
                Rejection::BodyTooLarge { close: true },
                413,
                &[EMPTY[0], EMPTY[1], CLOSE],
            ),
            (Rejection::TooManyConnections { close: false }, 429, &EMPTY),
            (
                Rejection::TooManyConnections { close: true },
                429,
                &[EMPTY[0], EMPTY[1], CLOSE],
            ),
            (Rejection::MissingPeer, 500, &EMPTY),
        ];
        for (rejection, status, expected) in table {
            let response = rejection.into_response(());
            assert_eq!(response.status().as_u16(), *status, "{rejection:?}");
            assert_eq!(header_list(response.headers()), *expected, "{rejection:?}");
        }
    }

    #[test]
    fn connection_close_only_on_http1() {
        assert!(may_close(Version::HTTP_10));
        assert!(may_close(Version::HTTP_11));
        assert!(!may_close(Version::HTTP_2));
        assert!(!may_close(Version::HTTP_3));
    }
}
