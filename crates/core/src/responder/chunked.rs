//! [`ChunkedWriter`]: the streaming half of a response.

use std::fmt;

use bytes::Bytes;
use http::HeaderMap;
use http_body::Frame;
use tokio::sync::mpsc;

use super::body::StreamItem;

/// The client went away before the response was finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseCanceled;

impl fmt::Display for ResponseCanceled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the client is gone; the response was canceled")
    }
}

impl std::error::Error for ResponseCanceled {}

/// Writes the body of a response begun with
/// [`Responder::begin_chunked`](super::Responder::begin_chunked).
///
/// Each write waits while the client is behind (back-pressure). Dropping the
/// writer without [`end_chunked`](Self::end_chunked) aborts the response, so
/// the client can tell the body is incomplete.
pub struct ChunkedWriter {
    tx: mpsc::Sender<StreamItem>,
}

impl fmt::Debug for ChunkedWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkedWriter")
            .field("canceled", &self.is_response_canceled())
            .finish()
    }
}

impl ChunkedWriter {
    pub(super) fn new(tx: mpsc::Sender<StreamItem>) -> Self {
        ChunkedWriter { tx }
    }

    /// Whether the client has gone; further writes are then no-ops.
    pub fn is_response_canceled(&self) -> bool {
        self.tx.is_closed()
    }

    /// Send one chunk. Empty data is skipped (an empty chunk would end an
    /// HTTP/1 body). Errs once the client has gone.
    pub async fn write_chunk(&mut self, data: impl Into<Bytes>) -> Result<(), ResponseCanceled> {
        let data = data.into();
        if data.is_empty() {
            tracing::debug!(target: "postern::request", "empty chunk skipped");
            return if self.is_response_canceled() {
                Err(ResponseCanceled)
            } else {
                Ok(())
            };
        }
        self.tx
            .send(StreamItem::Frame(Frame::data(data)))
            .await
            .map_err(|_| ResponseCanceled)
    }

    /// Send the last `data` (may be empty), then `trailers` (HTTP/1 chunked
    /// trailer fields, HTTP/2 trailing HEADERS), and end the body.
    pub async fn end_chunked(
        mut self,
        data: impl Into<Bytes>,
        trailers: HeaderMap,
    ) -> Result<(), ResponseCanceled> {
        self.write_chunk(data).await?;
        if !trailers.is_empty() {
            self.tx
                .send(StreamItem::Frame(Frame::trailers(trailers)))
                .await
                .map_err(|_| ResponseCanceled)?;
        }
        self.tx
            .send(StreamItem::End)
            .await
            .map_err(|_| ResponseCanceled)
    }
}
