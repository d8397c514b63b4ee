//! [`RefusalReason`]: why a request was refused, carried by every refusal
//! response as an extension.

use std::fmt;

/// Why a request (or a connection) was refused before any handler saw it.
///
/// Every refusal response of this crate's layers carries its reason in the
/// response's extensions, so a layer outside them (a trace or metrics layer)
/// can tell a rate limit's 429 from a handler's:
///
/// ```
/// use http::{Request, Response, StatusCode};
/// use postern_limits::RefusalReason;
/// use postern_limits::client_ip::PeerAddr;
/// use postern_limits::config::Limits;
/// use postern_limits::stack::LimitsLayer;
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use postern_limits::config::{IpFilter, parse_subnet};
/// let mut limits = Limits::default();
/// limits.ip_filter = IpFilter::default().with_deny([parse_subnet("192.0.2.0/24").unwrap()]);
/// let app = ServiceBuilder::new()
///     .layer(LimitsLayer::new(&limits))
///     .service(service_fn(|_req: Request<_>| async {
///         Ok::<_, std::convert::Infallible>(Response::new(String::from("hello")))
///     }));
///
/// let mut req = Request::new(String::new());
/// req.extensions_mut().insert(PeerAddr("192.0.2.1:4000".parse().unwrap()));
/// let response = app.oneshot(req).await.unwrap();
/// assert_eq!(response.status(), StatusCode::FORBIDDEN);
/// assert_eq!(response.extensions().get::<RefusalReason>(), Some(&RefusalReason::IpDenied));
/// assert_eq!(RefusalReason::IpDenied.as_str(), "ip_denied");
/// # }
/// ```
///
/// Responses a handler writes carry none. A layer that cannot tell who the
/// client is answers 500 without a reason: that is a configuration error,
/// not a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalReason {
    /// `ip_denied`, 403: the client IP is outside the allow list or inside
    /// the deny list.
    IpDenied,
    /// `rate_limited`, 429: the client spent its rate budget (or 503 when a
    /// rate limit shared through Redis cannot decide and fails closed).
    RateLimited,
    /// `url_too_long`, 414: the request target is longer than allowed.
    UrlTooLong,
    /// `header_too_large`, 431: too many header fields, one field too long,
    /// or too many header bytes.
    HeaderTooLarge,
    /// `body_too_large`, 413: the body is (or was declared) longer than
    /// allowed.
    BodyTooLarge,
    /// `connection_cap`, 429: the connection is over the connection caps.
    ConnectionCap,
    /// `timeout`, 408: the request body came too slowly.
    Timeout,
    /// `bad_request`, 400: the request head is malformed or ambiguous.
    BadRequest,
}

impl RefusalReason {
    /// Every reason, in declaration order.
    pub const ALL: [RefusalReason; 8] = [
        RefusalReason::IpDenied,
        RefusalReason::RateLimited,
        RefusalReason::UrlTooLong,
        RefusalReason::HeaderTooLarge,
        RefusalReason::BodyTooLarge,
        RefusalReason::ConnectionCap,
        RefusalReason::Timeout,
        RefusalReason::BadRequest,
    ];

    /// The reason's name in logs: `ip_denied`, `rate_limited`,
    /// `url_too_long`, `header_too_large`, `body_too_large`,
    /// `connection_cap`, `timeout` or `bad_request`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RefusalReason::IpDenied => "ip_denied",
            RefusalReason::RateLimited => "rate_limited",
            RefusalReason::UrlTooLong => "url_too_long",
            RefusalReason::HeaderTooLarge => "header_too_large",
            RefusalReason::BodyTooLarge => "body_too_large",
            RefusalReason::ConnectionCap => "connection_cap",
            RefusalReason::Timeout => "timeout",
            RefusalReason::BadRequest => "bad_request",
        }
    }
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let names: Vec<&str> = RefusalReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "ip_denied",
                "rate_limited",
                "url_too_long",
                "header_too_large",
                "body_too_large",
                "connection_cap",
                "timeout",
                "bad_request"
            ]
        );
        assert_eq!(RefusalReason::Timeout.to_string(), "timeout");
    }
}
