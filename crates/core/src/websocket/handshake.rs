//! Recognising an upgrade request (cheaply: every request is looked at) and
//! checking it (only once a verifier accepted it), and the responses.

use base64::Engine;
use bytes::Bytes;
use http::header::{
    CONNECTION, CONTENT_TYPE, HeaderMap, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{Method, StatusCode, Version};

use crate::ResponseBody;

/// How the client asked for a WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// HTTP/1.1 `GET` with `Upgrade: websocket` (RFC 6455).
    Http1,
    /// HTTP/2 extended `CONNECT` with `:protocol websocket` (RFC 8441).
    Http2,
}

/// Whether a comma-separated header holds `token` (ASCII case-insensitive).
fn has_token(headers: &HeaderMap, name: http::header::HeaderName, token: &[u8]) -> bool {
    headers
        .get_all(name)
        .iter()
        .any(|value| crate::server::has_option(value.as_bytes(), token))
}

/// Whether `head` asks for a WebSocket. A field lookup or two for a normal
/// request.
pub(crate) fn upgrade_kind(head: &http::request::Parts) -> Option<Kind> {
    if head.method == Method::GET {
        let upgrade = head.headers.get(UPGRADE)?;
        return (head.version == Version::HTTP_11
            && upgrade.as_bytes().eq_ignore_ascii_case(b"websocket")
            && has_token(&head.headers, CONNECTION, b"upgrade"))
        .then_some(Kind::Http1);
    }
    #[cfg(feature = "http2")]
    if head.method == Method::CONNECT
        && head
            .extensions
            .get::<hyper::ext::Protocol>()
            .is_some_and(|protocol| protocol.as_str().eq_ignore_ascii_case("websocket"))
    {
        return Some(Kind::Http2);
    }
    None
}

/// Why an accepted upgrade request cannot be upgraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// `Sec-WebSocket-Version` is not 13: 426 naming 13.
    Version,
    /// No single `Sec-WebSocket-Key` of 16 base64 bytes: 400.
    Key,
}

/// Check an upgrade request `kind` and return the `Sec-WebSocket-Accept`
/// value it needs (HTTP/1) or `None` (HTTP/2 has no key).
pub(crate) fn check(kind: Kind, headers: &HeaderMap) -> Result<Option<HeaderValue>, Malformed> {
    let mut versions = headers.get_all(SEC_WEBSOCKET_VERSION).iter();
    match (versions.next(), versions.next()) {
        (Some(version), None) if version.as_bytes().trim_ascii() == b"13" => {}
        _ => return Err(Malformed::Version),
    }
    if kind == Kind::Http2 {
        return Ok(None);
    }
    let mut keys = headers.get_all(SEC_WEBSOCKET_KEY).iter();
    let key = match (keys.next(), keys.next()) {
        (Some(key), None) => key.as_bytes().trim_ascii(),
        _ => return Err(Malformed::Key),
    };
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Ok(decoded) if decoded.len() == 16 => {}
        _ => return Err(Malformed::Key),
    }
    Ok(Some(accept_value(key)))
}

/// `Sec-WebSocket-Accept` for `key`: base64 of SHA-1 of the key and the
/// protocol's GUID.
pub(crate) fn accept_value(key: &[u8]) -> HeaderValue {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key);
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let encoded = base64::engine::general_purpose::STANDARD.encode(sha.digest().bytes());
    // Base64 is always a valid header value.
    HeaderValue::from_str(&encoded).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The response that completes the upgrade: 101 on HTTP/1, 200 on HTTP/2.
pub(crate) fn switching(accept: Option<HeaderValue>) -> http::Response<ResponseBody> {
    let mut response = http::Response::new(ResponseBody::empty());
    match accept {
        Some(accept) => {
            *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            let headers = response.headers_mut();
            headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
        }
        None => *response.status_mut() = StatusCode::OK,
    }
    response
}

/// A refusal of a malformed upgrade: 426 with `Sec-WebSocket-Version: 13`,
/// or 400.
pub(crate) fn malformed(problem: Malformed, version: Version) -> http::Response<ResponseBody> {
    match problem {
        Malformed::Version => {
            let mut response = postern_limits::empty_response(
                StatusCode::UPGRADE_REQUIRED,
                version,
                false,
                ResponseBody::empty(),
            );
            response
                .headers_mut()
                .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            response
        }
        Malformed::Key => postern_limits::empty_response(
            StatusCode::BAD_REQUEST,
            version,
            false,
            ResponseBody::empty(),
        ),
    }
}

/// A verifier's denial: `status`, the message as the HTTP/1 reason phrase
/// (as Qt sends it) and as a `text/plain` body (HTTP/2 has no reason
/// phrase).
pub(crate) fn denied(status: StatusCode, message: &str) -> http::Response<ResponseBody> {
    let body = Bytes::copy_from_slice(message.as_bytes());
    let mut response = http::Response::new(ResponseBody::full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    #[cfg(feature = "http1")]
    if let Ok(reason) =
        hyper::ext::ReasonPhrase::try_from(Bytes::copy_from_slice(message.as_bytes()))
    {
        response.extensions_mut().insert(reason);
    }
    response
}

/// 503 with `retry-after: 1`: too many accepted sockets wait to be taken.
pub(crate) fn busy(version: Version) -> http::Response<ResponseBody> {
    let mut response = postern_limits::empty_response(
        StatusCode::SERVICE_UNAVAILABLE,
        version,
        false,
        ResponseBody::empty(),
    );
    response
        .headers_mut()
        .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    type Headers<'a> = &'a [(&'a str, &'a str)];

    fn head(method: &str, version: Version, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut builder = http::Request::builder()
            .method(method)
            .uri("/chat")
            .version(version);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn upgrade_requests_are_recognised() {
        use Version as V;
        let ws = ("upgrade", "websocket");
        let cases: &[(&str, V, Headers<'_>, Option<Kind>)] = &[
            (
                "GET",
                V::HTTP_11,
                &[ws, ("connection", "Upgrade")],
                Some(Kind::Http1),
            ),
            (
                "GET",
                V::HTTP_11,
                &[
                    ("upgrade", "WebSocket"),
                    ("connection", "keep-alive, upgrade"),
                ],
                Some(Kind::Http1),
            ),
            ("GET", V::HTTP_11, &[ws], None),
            ("GET", V::HTTP_11, &[ws, ("connection", "upgraded")], None),
            (
                "GET",
                V::HTTP_11,
                &[("upgrade", "h2c"), ("connection", "upgrade")],
                None,
            ),
            ("POST", V::HTTP_11, &[ws, ("connection", "upgrade")], None),
            ("GET", V::HTTP_10, &[ws, ("connection", "upgrade")], None),
            ("GET", V::HTTP_11, &[], None),
            ("CONNECT", V::HTTP_2, &[], None),
        ];
        for (method, version, headers, expected) in cases {
            assert_eq!(
                upgrade_kind(&head(method, *version, headers)),
                *expected,
                "{method} {headers:?}"
            );
        }
    }

    #[test]
    fn accept_key_is_the_rfc_example() {
        // RFC 6455 section 1.3.
        assert_eq!(
            accept_value(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn malformed_upgrades_are_told_apart() {
        let key = ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
        let v13 = ("sec-websocket-version", "13");
        let cases: &[(Headers<'_>, Result<(), Malformed>)] = &[
            (&[key, v13], Ok(())),
            (&[key], Err(Malformed::Version)),
            (
                &[key, ("sec-websocket-version", "8")],
                Err(Malformed::Version),
            ),
            (&[key, v13, v13], Err(Malformed::Version)),
            (&[v13], Err(Malformed::Key)),
            (&[("sec-websocket-key", "short"), v13], Err(Malformed::Key)),
            (&[key, key, v13], Err(Malformed::Key)),
        ];
        for (headers, expected) in cases {
            let parts = head("GET", Version::HTTP_11, headers);
            assert_eq!(
                check(Kind::Http1, &parts.headers).map(|_| ()),
                *expected,
                "{headers:?}"
            );
        }
        let parts = head("CONNECT", Version::HTTP_2, &[v13]);
        assert_eq!(check(Kind::Http2, &parts.headers), Ok(None));
    }
}
