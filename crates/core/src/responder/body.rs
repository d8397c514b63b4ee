//! [`ResponseBody`]: the body type of every response a [`Responder`](super::Responder) writes.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::mpsc;

/// One message from a streaming writer to the body.
#[derive(Debug)]
pub(crate) enum StreamItem {
    /// A frame to send (data or trailers).
    Frame(Frame<Bytes>),
    /// The writer finished cleanly: end the body.
    End,
}

/// The error a streamed body ends with when its writer was dropped before
/// finishing; hyper then aborts the response so the client sees truncation
/// instead of a short body that looks complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamAborted;

impl fmt::Display for StreamAborted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the response writer was dropped before the body was finished")
    }
}

impl std::error::Error for StreamAborted {}

enum Kind {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<StreamItem>),
}

/// A response body: whole bytes, or frames streamed by a
/// [`ChunkedWriter`](super::ChunkedWriter) or a reader.
pub struct ResponseBody {
    kind: Kind,
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full(b) => f
                .debug_tuple("ResponseBody::Full")
                .field(&b.as_ref().map_or(0, Bytes::len))
                .finish(),
            Kind::Stream(_) => f.write_str("ResponseBody::Stream"),
        }
    }
}

impl ResponseBody {
    /// A body of these bytes.
    pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
        let bytes = bytes.into();
        ResponseBody {
            kind: Kind::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }

    /// An empty body.
    pub fn empty() -> ResponseBody {
        ResponseBody {
            kind: Kind::Full(None),
        }
    }

    pub(crate) fn stream(rx: mpsc::Receiver<StreamItem>) -> ResponseBody {
        ResponseBody {
            kind: Kind::Stream(rx),
        }
    }
}

impl Default for ResponseBody {
    fn default() -> Self {
        ResponseBody::empty()
    }
}

impl From<Bytes> for ResponseBody {
    fn from(bytes: Bytes) -> Self {
        ResponseBody::full(bytes)
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = StreamAborted;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamAborted>>> {
        let this = self.get_mut();
        match &mut this.kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Stream(rx) => match rx.poll_recv(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Some(StreamItem::Frame(frame))) => Poll::Ready(Some(Ok(frame))),
                Poll::Ready(Some(StreamItem::End)) => {
                    this.kind = Kind::Full(None);
                    Poll::Ready(None)
                }
                // Every sender is gone without `End`: the writer was dropped early.
                Poll::Ready(None) => {
                    this.kind = Kind::Full(None);
                    Poll::Ready(Some(Err(StreamAborted)))
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.kind, Kind::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Kind::Full(None) => SizeHint::with_exact(0),
            Kind::Stream(_) => SizeHint::default(),
        }
    }
}
