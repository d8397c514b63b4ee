//! [`Responder`]: how a handler answers, at once or streamed, possibly from
//! another task. Its items are re-exported at the crate root.

mod body;
mod chunked;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, TRAILER};
use http::{HeaderMap, StatusCode};
use tokio::sync::{mpsc, oneshot};

pub(crate) use body::{HandlerTask, run_to_completion, spawn_boxed};
pub use body::{ResponseBody, StreamAborted};
pub use chunked::{ChunkedWriter, ResponseCanceled};

use crate::Response;

/// How many frames a streaming writer may run ahead of the client.
const STREAM_BUFFER_FRAMES: usize = 4;

/// The one way to answer one request.
///
/// Owned and `Send + 'static`: move it into a spawned task and write later.
/// Every write consumes it, so a request gets exactly one response. A
/// responder dropped without writing answers **500 Internal Server Error**
/// with an empty body and logs a warning (Qt sends nothing, which leaves an
/// HTTP client waiting forever).
///
/// another task.
///
/// ```
/// use http::{HeaderMap, StatusCode};
/// use postern_core::{Responder, ResponseBody};
/// use http_body_util::BodyExt;
///
/// # tokio_test_block_on(async {
/// let (responder, pending) = Responder::pair();
/// tokio::spawn(async move {
///     let mut chunks = responder.begin_chunked(HeaderMap::new(), StatusCode::OK);
///     chunks.write_chunk("hello, ").await.unwrap();
///     chunks.end_chunked("world", HeaderMap::new()).await.unwrap();
/// });
/// let response = pending.await;
/// assert_eq!(response.status(), StatusCode::OK);
/// let body = response.into_body().collect().await.unwrap().to_bytes();
/// assert_eq!(&body[..], b"hello, world");
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
pub struct Responder {
    tx: Option<oneshot::Sender<http::Response<ResponseBody>>>,
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("canceled", &self.is_response_canceled())
            .finish()
    }
}

/// The receiving side of a [`Responder`]: resolves to the response written
/// (a dropped responder writes 500). A responder leaked with `mem::forget`
/// is never dropped, so its request is never answered: the client waits
/// until it gives up or a shutdown's deadline cuts the connection.
#[derive(Debug)]
pub struct PendingResponse {
    rx: oneshot::Receiver<http::Response<ResponseBody>>,
}

impl Future for PendingResponse {
    type Output = http::Response<ResponseBody>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|sent| sent.unwrap_or_else(|_| status_response(StatusCode::INTERNAL_SERVER_ERROR)))
    }
}

impl Responder {
    /// A responder and the future its response arrives on. Servers and tests
    /// use this; handlers get theirs from the server.
    pub fn pair() -> (Responder, PendingResponse) {
        let (tx, rx) = oneshot::channel();
        (Responder { tx: Some(tx) }, PendingResponse { rx })
    }

    /// Whether the client has gone (connection closed, HTTP/2 stream reset):
    /// writing is then a harmless no-op.
    pub fn is_response_canceled(&self) -> bool {
        self.tx.as_ref().is_none_or(|tx| tx.is_closed())
    }

    pub(crate) fn send_http(mut self, response: http::Response<ResponseBody>) {
        if let Some(tx) = self.tx.take() {
            // An error means the client went away: writes are no-ops then.
            let _ = tx.send(response);
        }
    }

    fn send_parts(self, status: StatusCode, headers: HeaderMap, body: ResponseBody) {
        let mut response = http::Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        self.send_http(response);
    }

    /// Send a [`Response`]; `content-length` is added from its body.
    pub fn send(self, response: Response) {
        let (status, headers, body) = response.into_parts();
        self.send_parts(status, headers, ResponseBody::full(body));
    }

    /// Send `body` with these headers and status.
    pub fn write(self, body: impl Into<Bytes>, headers: HeaderMap, status: StatusCode) {
        self.send_parts(status, headers, ResponseBody::full(body));
    }

    /// Send `body` with `content-type: mime` and this status.
    pub fn write_with_mime(self, body: impl Into<Bytes>, mime: &str, status: StatusCode) {
        // Built in place: the same response as `Response::with_mime`, without
        // a `Response` to take apart and a header map to move.
        let mut response = http::Response::new(ResponseBody::full(body));
        *response.status_mut() = status;
        if !mime.is_empty() {
            response
                .headers_mut()
                .insert(CONTENT_TYPE, crate::response::mime_value(mime));
        }
        self.send_http(response);
    }

    /// Send compact JSON with `content-type: application/json`, from any
    /// serialisable value (see [`Response::json`]: a value with no JSON form
    /// answers 500). Qt's responder writes indented JSON; Postern writes
    /// compact JSON everywhere.
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    pub fn write_json<T: serde::Serialize + ?Sized>(self, value: &T, status: StatusCode) {
        self.send(Response::json(value).with_status(status));
    }

    /// Send an `http::Response` with a body of any type (a tower service's
    /// answer, say), streamed as the client reads it; its `content-length`
    /// comes from the body's exact size, when it has one.
    pub fn send_http_body<B>(self, response: http::Response<B>)
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<crate::BoxError>,
    {
        let (head, body) = response.into_parts();
        self.send_http(http::Response::from_parts(
            head,
            ResponseBody::from_body(body),
        ));
    }

    /// Send an empty body with `content-type: application/x-empty`.
    pub fn write_status(self, status: StatusCode) {
        self.send(Response::new(status));
    }

    /// Send an empty body with just these headers.
    pub fn write_headers(self, headers: HeaderMap, status: StatusCode) {
        self.send_parts(status, headers, ResponseBody::empty());
    }

    /// Start a streamed response: chunked transfer coding on HTTP/1.1, DATA
    /// frames on HTTP/2. Finish it with [`ChunkedWriter::end_chunked`].
    pub fn begin_chunked(self, headers: HeaderMap, status: StatusCode) -> ChunkedWriter {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER_FRAMES);
        self.send_parts(status, headers, ResponseBody::stream(rx));
        ChunkedWriter::new(tx)
    }

    /// Like [`begin_chunked`](Self::begin_chunked), with a `content-type`.
    pub fn begin_chunked_with_mime(self, mime: &str, status: StatusCode) -> ChunkedWriter {
        let headers = Response::with_mime(mime, Bytes::new()).into_parts().1;
        self.begin_chunked(headers, status)
    }

    /// Like [`begin_chunked`](Self::begin_chunked), announcing the trailer
    /// fields that [`ChunkedWriter::end_chunked`] will send (a `trailer:`
    /// header). HTTP/1.1 clients receive trailers only when they sent
    /// `TE: trailers`; HTTP/2 clients always do.
    pub fn begin_chunked_with_trailers(
        self,
        mut headers: HeaderMap,
        trailer_names: &[HeaderName],
        status: StatusCode,
    ) -> ChunkedWriter {
        if !trailer_names.is_empty() {
            let joined = trailer_names
                .iter()
                .map(HeaderName::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(value) = HeaderValue::from_str(&joined) {
                headers.insert(TRAILER, value);
            }
        }
        self.begin_chunked(headers, status)
    }

    /// Stream a body from `reader` with back-pressure: the future reads the
    /// next block only when the client has taken the previous one, and
    /// resolves when the reader is exhausted or the client has gone. Without
    /// a `content-length` in `headers` the body is chunked (HTTP/1.1).
    ///
    /// The first block is read before the status is sent, so a reader that
    /// fails at once answers **500** with an empty body (as Qt does); a
    /// later read error aborts the response (the client sees a truncated
    /// body). Either error is returned.
    pub async fn write_reader<R>(
        self,
        mut reader: R,
        headers: HeaderMap,
        status: StatusCode,
    ) -> std::io::Result<()>
    where
        R: tokio::io::AsyncRead + Unpin,
    {
        use tokio::io::AsyncReadExt;
        const BLOCK: usize = 16 * 1024;
        let mut block = bytes::BytesMut::with_capacity(BLOCK);
        if let Err(error) = reader.read_buf(&mut block).await {
            tracing::warn!(target: "postern::request", %error, "response reader failed before its first block: answering 500");
            self.write_status(StatusCode::INTERNAL_SERVER_ERROR);
            return Err(error);
        }
        let mut writer = self.begin_chunked(headers, status);
        loop {
            if block.is_empty() {
                let _ = writer.end_chunked(Bytes::new(), HeaderMap::new()).await;
                return Ok(());
            }
            if writer.write_chunk(block.split().freeze()).await.is_err() {
                return Ok(());
            }
            block.reserve(BLOCK);
            reader.read_buf(&mut block).await?;
        }
    }
}

/// An empty answer with `content-type: application/x-empty` (Qt's
/// `write(StatusCode)`), as an `http::Response`.
pub(crate) fn status_response(status: StatusCode) -> http::Response<ResponseBody> {
    postern_limits::empty_response(status, http::Version::HTTP_11, false, ResponseBody::empty())
}

impl Drop for Responder {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            if tx.is_closed() {
                return;
            }
            tracing::warn!(
                target: "postern::request",
                "responder dropped without a response: answering 500"
            );
            let _ = tx.send(status_response(StatusCode::INTERNAL_SERVER_ERROR));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn dropped_responder_answers_500() {
        let (responder, pending) = Responder::pair();
        drop(responder);
        let response = pending.await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn cancel_is_seen_and_writes_are_harmless() {
        let (responder, pending) = Responder::pair();
        assert!(!responder.is_response_canceled());
        drop(pending);
        assert!(responder.is_response_canceled());
        responder.write_status(StatusCode::OK);
    }

    #[tokio::test]
    async fn chunked_with_trailers() {
        let (responder, pending) = Responder::pair();
        let name = HeaderName::from_static("x-checksum");
        let writer = responder.begin_chunked_with_trailers(
            HeaderMap::new(),
            std::slice::from_ref(&name),
            StatusCode::OK,
        );
        let task = tokio::spawn(async move {
            let mut writer = writer;
            writer.write_chunk("a").await.unwrap();
            writer.write_chunk("").await.unwrap();
            let mut trailers = HeaderMap::new();
            trailers.insert(name, HeaderValue::from_static("42"));
            writer.end_chunked("b", trailers).await.unwrap();
        });
        let response = pending.await;
        assert_eq!(response.headers()[TRAILER], "x-checksum");
        let collected = response.into_body().collect().await.unwrap();
        assert_eq!(collected.trailers().unwrap()["x-checksum"], "42");
        assert_eq!(&collected.to_bytes()[..], b"ab");
        task.await.unwrap();
    }

    #[tokio::test]
    async fn dropped_writer_aborts_the_body() {
        let (responder, pending) = Responder::pair();
        let mut writer = responder.begin_chunked(HeaderMap::new(), StatusCode::OK);
        let response = pending.await;
        writer.write_chunk("partial").await.unwrap();
        drop(writer);
        let error = response.into_body().collect().await.unwrap_err();
        assert_eq!(error, StreamAborted);
    }

    #[tokio::test]
    async fn reader_streams_everything() {
        let (responder, pending) = Responder::pair();
        let data = vec![7u8; 100_000];
        let reader = std::io::Cursor::new(data.clone());
        let task = tokio::spawn(responder.write_reader(reader, HeaderMap::new(), StatusCode::OK));
        let body = pending
            .await
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(body.len(), data.len());
        task.await.unwrap().unwrap();
    }
}
