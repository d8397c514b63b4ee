//! The response value type: [`Response`], and [`IntoResponse`]. Its items are re-exported at the crate root.

mod into_response;
mod sniff;

use std::path::Path;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};

pub use into_response::IntoResponse;
pub(crate) use sniff::sniff_mime;

/// MIME types written often enough to keep as static header values.
/// The common `Content-Type` values, each a constant checked when the crate
/// is compiled: a response of one of these types copies no string and
/// validates no byte.
macro_rules! common_mime {
    ($mime:expr, $($known:literal),+ $(,)?) => {
        match $mime {
            $($known => {
                const VALUE: HeaderValue = HeaderValue::from_static($known);
                Some(VALUE)
            })+
            _ => None,
        }
    };
}

/// The constant `Content-Type` value of a common type.
fn common_mime_value(mime: &str) -> Option<HeaderValue> {
    common_mime!(
        mime,
        "text/plain",
        "text/plain; charset=utf-8",
        "text/html",
        "text/html; charset=utf-8",
        "application/json",
        "application/octet-stream",
        "application/x-empty",
        "text/css",
        "application/javascript",
        "image/png",
        "image/jpeg",
        "image/svg+xml",
    )
}

/// The `Content-Type` value for a non-empty `mime`: a shared static for the
/// common types (no copy of the string per response), else a copy, or
/// `application/octet-stream` when `mime` is not a valid field value.
pub(crate) fn mime_value(mime: &str) -> HeaderValue {
    common_mime_value(mime).unwrap_or_else(|| {
        HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream"))
    })
}

/// A whole response: status, headers and body.
///
/// `content-length` is not stored; the server adds it when sending.
///
/// ```
/// use http::StatusCode;
/// use postern_core::Response;
///
/// let r = Response::text("Hello world");
/// assert_eq!(r.status(), StatusCode::OK);
/// assert_eq!(r.mime_type(), "text/plain; charset=utf-8");
///
/// let r = Response::new(StatusCode::NOT_FOUND);
/// assert_eq!(r.mime_type(), "application/x-empty");
/// assert!(r.body().is_empty());
///
/// let png = Response::bytes(&b"\x89PNG\r\n\x1a\n...."[..]);
/// assert_eq!(png.mime_type(), "image/png");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Response {
    /// An empty response with `content-type: application/x-empty` (Qt's
    /// `QHttpServerResponse(StatusCode)`).
    pub fn new(status: StatusCode) -> Response {
        Response::with_static_mime("application/x-empty", Bytes::new()).with_status(status)
    }

    /// A 200 text response, `text/plain; charset=utf-8`.
    pub fn text(text: impl Into<String>) -> Response {
        Response::with_static_mime("text/plain; charset=utf-8", text.into())
    }

    /// A 200 HTML response, `text/html; charset=utf-8`.
    pub fn html(html: impl Into<String>) -> Response {
        Response::with_static_mime("text/html; charset=utf-8", html.into())
    }

    /// A 200 response whose MIME type is sniffed from the bytes (PNG, JPEG,
    /// GIF, PDF, HTML, XML, plain text, else `application/octet-stream`).
    pub fn bytes(body: impl Into<Bytes>) -> Response {
        let body = body.into();
        let mime = sniff_mime(&body);
        Response::with_static_mime(mime, body)
    }

    /// A 200 response with an explicit MIME type; an empty `mime` means no
    /// `content-type` header. A MIME type that is not a valid header value is
    /// replaced by `application/octet-stream`.
    pub fn with_mime(mime: &str, body: impl Into<Bytes>) -> Response {
        if mime.is_empty() {
            return Response {
                status: StatusCode::OK,
                headers: HeaderMap::new(),
                body: body.into(),
            };
        }
        Response::with_content_type(mime_value(mime), body)
    }

    fn with_content_type(value: HeaderValue, body: impl Into<Bytes>) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, value);
        Response {
            status: StatusCode::OK,
            headers,
            body: body.into(),
        }
    }

    fn with_static_mime(mime: &'static str, body: impl Into<Bytes>) -> Response {
        // A common type's value is a constant; others are checked here.
        let value = common_mime_value(mime).unwrap_or_else(|| HeaderValue::from_static(mime));
        Response::with_content_type(value, body)
    }

    /// A 200 compact JSON response, `application/json`, from any
    /// serialisable value (`serde_json::Value`, or a `#[derive(Serialize)]`
    /// type).
    ///
    /// A value that cannot be written as JSON (a map with non-string keys,
    /// or a `Serialize` impl that fails) is a bug in the caller, not in the
    /// client: the answer is then 500 with an empty body, and the error is
    /// logged on `postern::request`.
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct Colour { id: u32, name: &'static str }
    ///
    /// let r = postern_core::Response::json(&Colour { id: 1, name: "cerulean" });
    /// assert_eq!(r.mime_type(), "application/json");
    /// assert_eq!(&r.body()[..], br#"{"id":1,"name":"cerulean"}"#);
    /// ```
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => Response::with_static_mime("application/json", body),
            Err(error) => {
                tracing::error!(target: "postern::request", %error, "response value is not serialisable as JSON; answering 500");
                Response::new(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    /// The whole file, with the MIME type from its name (then its content when
    /// the name says nothing); 404 with an empty body when it cannot be read.
    ///
    /// **Blocking**: the file is read whole with `std::fs`, as Qt's
    /// `fromFile` does, on the thread that calls it. Keep it for small files
    /// read rarely; inside an `async` handler under load, or for large files,
    /// read with `tokio::fs::read` and answer with [`Response::bytes`] or
    /// [`Response::with_mime`], or stream with
    /// [`Responder::write_reader`](crate::Responder::write_reader) over a
    /// `tokio::fs::File`; to serve a folder, mount tower-http's `ServeDir`
    /// with postern-router's `HttpServer::route_service` (async reads,
    /// Range, conditional requests).
    ///
    /// The path is used as given: never build it from a request without
    /// checking it stays inside your directory.
    pub fn from_file(path: impl AsRef<Path>) -> Response {
        let path = path.as_ref();
        match std::fs::read(path) {
            Ok(data) => {
                let mime = mime_guess::from_path(path)
                    .first_raw()
                    .unwrap_or_else(|| sniff_mime(&data));
                Response::with_static_mime(mime, data)
            }
            Err(error) => {
                tracing::debug!(target: "postern::request", path = %path.display(), %error, "file not readable");
                Response::new(StatusCode::NOT_FOUND)
            }
        }
    }

    /// Replace the status.
    pub fn with_status(mut self, status: StatusCode) -> Response {
        self.status = status;
        self
    }

    /// Add a header (kept beside earlier values of the same name).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Response {
        self.headers.append(name, value);
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Set the status.
    pub fn set_status(&mut self, status: StatusCode) {
        self.status = status;
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// Replace every header.
    pub fn set_headers(&mut self, headers: HeaderMap) {
        self.headers = headers;
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Replace the body.
    pub fn set_body(&mut self, body: impl Into<Bytes>) {
        self.body = body.into();
    }

    /// The `content-type` value, `"text/html"` when there is none (as Qt).
    pub fn mime_type(&self) -> &str {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("text/html")
    }

    /// Split into status, headers and body.
    pub fn into_parts(self) -> (StatusCode, HeaderMap, Bytes) {
        (self.status, self.headers, self.body)
    }

    /// Convert to an `http::Response`.
    pub fn into_http(self) -> http::Response<Bytes> {
        let mut response = http::Response::new(self.body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_file_uses_name_then_content() {
        let dir = std::env::temp_dir().join(format!("postern-resp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let html = dir.join("page.html");
        std::fs::write(&html, "<p>hi</p>").unwrap();
        let unknown = dir.join("blob");
        std::fs::write(&unknown, b"\x89PNG\r\n\x1a\nrest").unwrap();

        let r = Response::from_file(&html);
        assert_eq!((r.status(), r.mime_type()), (StatusCode::OK, "text/html"));
        assert_eq!(&r.body()[..], b"<p>hi</p>");
        assert_eq!(Response::from_file(&unknown).mime_type(), "image/png");
        let missing = Response::from_file(dir.join("missing.txt"));
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert!(missing.body().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_mime_means_no_content_type() {
        assert!(Response::with_mime("", "x").headers().is_empty());
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_is_compact() {
        let r = Response::json(&serde_json::json!({"property": "test", "value": 1}));
        assert_eq!(&r.body()[..], br#"{"property":"test","value":1}"#);
        assert_eq!(r.mime_type(), "application/json");
        // A map with non-string keys has no JSON form: the caller's bug, 500.
        let unwritable = std::collections::BTreeMap::from([((1, 2), "x")]);
        let r = Response::json(&unwritable);
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(r.mime_type(), "application/x-empty");
        assert!(r.body().is_empty());
    }

    #[test]
    fn conversions() {
        let r: Response = (StatusCode::CREATED, "made").into_response();
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(&r.body()[..], b"made");
        let e: Result<String, StatusCode> = Err(StatusCode::BAD_REQUEST);
        assert_eq!(e.into_response().status(), StatusCode::BAD_REQUEST);
    }
}
