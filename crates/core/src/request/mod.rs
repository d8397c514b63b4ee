//! The request a handler sees: [`Request`]. Its items are re-exported at the crate root.

mod connection;

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bytes::Bytes;
use http::{Extensions, HeaderMap, Uri, Version};
use percent_encoding::percent_decode_str;

pub use connection::{ConnectionInfo, TlsInfo, Transport};

use crate::Method;
use crate::body::{BodyStream, Reservation};

struct Inner {
    head: http::request::Parts,
    body: Bytes,
    /// The body the server read whole after the request was built, with
    /// the budget bytes it holds (given back with it). Set in place, so
    /// the request needs no copy of its head when the body policy kept a
    /// clone of it.
    buffered: OnceLock<(Bytes, Reservation)>,
    /// The unread body, for a server whose policy is to stream it.
    stream: Mutex<Option<BodyStream>>,
    connection: ConnectionInfo,
}

/// A complete request: head, whole body, and the connection it came on.
///
/// Cheap to clone (an `Arc`), so it can be moved into spawned tasks.
///
/// ```
/// use bytes::Bytes;
/// use postern_core::{Method, Request};
///
/// let http = http::Request::builder()
///     .method("POST")
///     .uri("/items/caf%C3%A9?tag=a%20b&tag=c")
///     .header("host", "device.local:8080")
///     .header("accept", "text/plain")
///     .header("accept", "application/json")
///     .body(Bytes::from_static(b"payload"))
///     .unwrap();
/// let request = Request::from_http(http);
///
/// assert_eq!(request.method(), Method::Post);
/// assert_eq!(request.path(), "/items/caf%C3%A9");
/// assert_eq!(request.decoded_path(), "/items/café");
/// assert_eq!(request.query_value("tag").as_deref(), Some("a b"));
/// assert_eq!(request.value("Accept").as_deref(), Some("text/plain, application/json"));
/// assert_eq!(request.url(), "http://device.local:8080/items/caf%C3%A9?tag=a%20b&tag=c");
/// assert_eq!(&request.body()[..], b"payload");
/// ```
#[derive(Clone)]
pub struct Request {
    inner: Arc<Inner>,
}

impl Request {
    /// Build from a head and a complete body. The connection facts are taken
    /// from a [`ConnectionInfo`] extension when there is one.
    pub fn from_parts(head: http::request::Parts, body: Bytes) -> Request {
        let connection = head
            .extensions
            .get::<ConnectionInfo>()
            .cloned()
            .unwrap_or_default();
        Request::with_connection(head, body, connection)
    }

    /// Build from a head, a complete body and the connection it came on.
    pub fn with_connection(
        head: http::request::Parts,
        body: Bytes,
        connection: ConnectionInfo,
    ) -> Request {
        Request {
            inner: Arc::new(Inner {
                head,
                body,
                buffered: OnceLock::new(),
                stream: Mutex::new(None),
                connection,
            }),
        }
    }

    /// This request with its body read whole, holding `reservation` of the
    /// server's body budget until the request is dropped.
    pub(crate) fn with_buffered_body(self, body: Bytes, reservation: Reservation) -> Request {
        // Set once: the server reads a body whole at most once, into a
        // request built without one.
        let _ = self.inner.buffered.set((body, reservation));
        self
    }

    /// This request with its body left unread, for the handler to stream.
    pub(crate) fn with_body_stream(self, stream: BodyStream) -> Request {
        *self
            .inner
            .stream
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(stream);
        self
    }

    /// Build from an `http::Request` whose body is already complete.
    pub fn from_http(request: http::Request<Bytes>) -> Request {
        let (head, body) = request.into_parts();
        Request::from_parts(head, body)
    }

    /// Qt's method (`Unknown` outside Qt's set).
    pub fn method(&self) -> Method {
        Method::from_http(&self.inner.head.method)
    }

    /// The exact method sent.
    pub fn http_method(&self) -> &http::Method {
        &self.inner.head.method
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.inner.head.version
    }

    /// The request target as parsed by hyper.
    pub fn uri(&self) -> &Uri {
        &self.inner.head.uri
    }

    /// The path as sent, still percent-encoded.
    pub fn path(&self) -> &str {
        self.inner.head.uri.path()
    }

    /// The percent-decoded path (`%2F` becomes `/`, as in Qt); invalid UTF-8
    /// is replaced with U+FFFD.
    pub fn decoded_path(&self) -> Cow<'_, str> {
        percent_decode_str(self.path()).decode_utf8_lossy()
    }

    /// The raw query string, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.inner.head.uri.query()
    }

    /// Decoded `name=value` pairs of the query, in order (`+` is a space, as
    /// browsers encode forms; Qt's `QUrlQuery` keeps a `+`; `%2B` is a `+`
    /// in both).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query().map(parse_query).unwrap_or_default()
    }

    /// The first decoded value of query parameter `name`.
    pub fn query_value(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// `"https"` on TLS connections, `"http"` otherwise.
    pub fn scheme(&self) -> &'static str {
        self.inner.connection.scheme()
    }

    /// The authority the client named: the target's own authority when it
    /// has one (absolute-form targets, HTTP/2 `:authority`; RFC 9112 §3.2.2
    /// says `Host` is then ignored), else the `Host` header.
    pub fn host(&self) -> Option<&str> {
        self.inner
            .head
            .uri
            .authority()
            .map(|a| a.as_str())
            .or_else(|| {
                self.inner
                    .head
                    .headers
                    .get(http::header::HOST)
                    .and_then(|v| v.to_str().ok())
            })
    }

    /// The full URL: scheme from the transport, authority from
    /// [`host`](Self::host) (`127.0.0.1` when there is none, as in Qt), then
    /// the target's path and query.
    pub fn url(&self) -> String {
        let path_and_query = self
            .inner
            .head
            .uri
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/");
        format!(
            "{}://{}{}",
            self.scheme(),
            self.host().unwrap_or("127.0.0.1"),
            path_and_query
        )
    }

    /// All headers. Lookup is case-insensitive; duplicates are kept.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.head.headers
    }

    /// Every value of header `name` joined with `", "` (Qt's `value()`);
    /// `None` when absent. Non-UTF-8 bytes are replaced with U+FFFD.
    pub fn value(&self, name: &str) -> Option<Cow<'_, str>> {
        let mut values = self.inner.head.headers.get_all(name).iter();
        let first = values.next()?;
        let first = String::from_utf8_lossy(first.as_bytes());
        let Some(second) = values.next() else {
            return Some(first);
        };
        let mut joined = first.into_owned();
        for value in std::iter::once(second).chain(values) {
            joined.push_str(", ");
            joined.push_str(&String::from_utf8_lossy(value.as_bytes()));
        }
        Some(Cow::Owned(joined))
    }

    /// The whole body (de-chunked).
    pub fn body(&self) -> &Bytes {
        self.inner
            .buffered
            .get()
            .map_or(&self.inner.body, |(body, _)| body)
    }

    /// Decoded `name=value` pairs of an `application/x-www-form-urlencoded`
    /// body, in order (`+` is a space, as in [`query_pairs`](Self::query_pairs));
    /// empty when the `Content-Type` is another one, the body is not UTF-8,
    /// or it was not buffered.
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        let is_form = self
            .inner
            .head
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| {
                mime.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        match std::str::from_utf8(self.body()) {
            Ok(body) if is_form => parse_query(body),
            _ => Vec::new(),
        }
    }

    /// The body as a stream, when the server's
    /// [`body_policy`](crate::AbstractHttpServer::body_policy) chose
    /// [`BodyPolicy::Stream`](crate::BodyPolicy::Stream); taken once (later
    /// calls, and other policies, give `None`).
    pub fn body_stream(&self) -> Option<BodyStream> {
        self.inner
            .stream
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// The client's address: the peer's, or the one a trusted proxy's PROXY
    /// header gave; `None` on Unix sockets without such a header.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.inner.connection.remote_addr()
    }

    /// Our end's address; `None` on Unix sockets.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.inner.connection.local_addr()
    }

    /// TLS facts (ALPN, SNI, peer certificates) on TLS connections.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.inner.connection.tls()
    }

    /// The connection the request came on.
    pub fn connection(&self) -> &ConnectionInfo {
        &self.inner.connection
    }

    /// The request's extensions (what layers below the handler attached).
    pub fn extensions(&self) -> &Extensions {
        &self.inner.head.extensions
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", self.http_method())
            .field("uri", self.uri())
            .field("version", &self.version())
            .field("remote", &self.remote_addr())
            .field("body_size", &self.body().len())
            .finish()
    }
}

fn decode_component(text: &str) -> String {
    if text.contains('+') {
        let spaced = text.replace('+', " ");
        percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
    } else {
        percent_decode_str(text).decode_utf8_lossy().into_owned()
    }
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode_component(k), decode_component(v)),
            None => (decode_component(pair), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body read whole reaches the handler, and the clone the body policy
    /// kept sees it too (the body is set in place, not in a copy).
    #[tokio::test]
    async fn buffered_body_reaches_a_clone_kept_by_the_body_policy() {
        use crate::{AbstractHttpServer, BodyPolicy, Handled, Responder};
        use http_body_util::{BodyExt, Full};

        #[derive(Default)]
        struct Keeps(Mutex<Option<Request>>);
        impl AbstractHttpServer for Keeps {
            fn body_policy(&self, request: &Request) -> BodyPolicy {
                *self.0.lock().unwrap() = Some(request.clone());
                BodyPolicy::Buffer
            }
            async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
                let kept = self.0.lock().unwrap().take().unwrap();
                let answer = format!("{:?}|{:?}", request.body(), kept.body());
                responder.write_with_mime(answer, "text/plain", http::StatusCode::OK);
                Handled::Yes
            }
        }

        let request = http::Request::post("/")
            .body(Full::new(Bytes::from_static(b"name=porch")))
            .unwrap();
        let response = crate::respond(&Keeps::default(), request).await;
        assert_eq!(response.status(), http::StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "b\"name=porch\"|b\"name=porch\"");
    }

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = http::Request::builder().uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        Request::from_http(builder.body(Bytes::new()).unwrap())
    }

    #[test]
    fn query_decoding_table() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("/", &[]),
            ("/?a=1", &[("a", "1")]),
            ("/?a=1&b=two%20words", &[("a", "1"), ("b", "two words")]),
            ("/?q=x+y&flag", &[("q", "x y"), ("flag", "")]),
            ("/?&&a=%3D%26", &[("a", "=&")]),
            ("/?k=%ZZ", &[("k", "%ZZ")]),
        ];
        for (uri, expected) in cases {
            let got = request(uri, &[]).query_pairs();
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(got, expected, "{uri}");
        }
    }

    #[test]
    fn form_pairs_table() {
        let form = "application/x-www-form-urlencoded";
        type Case<'a> = (Option<&'a str>, &'a [u8], &'a [(&'a str, &'a str)]);
        let cases: &[Case] = &[
            (
                Some(form),
                b"name=porch+light&interval=30",
                &[("name", "porch light"), ("interval", "30")],
            ),
            (
                Some("Application/X-WWW-Form-URLEncoded; charset=utf-8"),
                b"a=%3D",
                &[("a", "=")],
            ),
            (Some(form), b"", &[]),
            (Some("text/plain"), b"a=1", &[]),
            (None, b"a=1", &[]),
            (Some(form), b"a=\xff", &[]),
        ];
        for (content_type, body, expected) in cases {
            let mut builder = http::Request::builder().method("POST").uri("/");
            if let Some(content_type) = content_type {
                builder = builder.header("content-type", *content_type);
            }
            let request = Request::from_http(builder.body(Bytes::copy_from_slice(body)).unwrap());
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(request.form_pairs(), expected, "{content_type:?} {body:?}");
        }
    }

    #[test]
    fn decoded_path_decodes_slashes_like_qt() {
        assert_eq!(request("/a%2Fb/%20c", &[]).decoded_path(), "/a/b/ c");
    }

    #[test]
    fn value_joins_duplicates_and_is_case_insensitive() {
        let r = request("/", &[("x-a", "1"), ("X-A", "2"), ("x-b", "solo")]);
        assert_eq!(r.value("x-a").as_deref(), Some("1, 2"));
        assert_eq!(r.value("X-B").as_deref(), Some("solo"));
        assert_eq!(r.value("x-missing"), None);
    }

    #[test]
    fn url_defaults_to_loopback_without_host() {
        assert_eq!(request("/p?q=1", &[]).url(), "http://127.0.0.1/p?q=1");
        assert_eq!(
            request("/p", &[("host", "example.org:81")]).url(),
            "http://example.org:81/p"
        );
    }
}
