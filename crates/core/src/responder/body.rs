//! [`ResponseBody`]: the body type of every response a [`Responder`](super::Responder) writes.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
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
    /// Frames already taken from the body that follows (see
    /// [`ResponseBody::after`]).
    Buffered(Box<(VecDeque<Frame<Bytes>>, ResponseBody)>),
    /// Another body (a tower service's), streamed as the client reads it.
    /// A `Mutex` only so the body stays `Sync`: reached through `&mut`.
    Foreign(Box<Mutex<ForeignBody>>),
}

/// A body of any type, its errors boxed.
type ForeignBody = Pin<Box<dyn http_body::Body<Data = Bytes, Error = crate::BoxError> + Send>>;

/// A handler's future, still running when its response head was written.
pub(crate) type HandlerTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Let a handler's future finish in a task of its own: its client has gone
/// or its response is sent, but a handler is never stopped half-way (Qt
/// runs it to completion; a device handler writing settings must not stop
/// because a client went away).
pub(crate) fn run_to_completion(handler: HandlerTask) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(handler);
    }
}

/// Spawn a task of the server's own (a connection, an accept loop, a
/// refusal) as a boxed future: every such task then shares one task type,
/// and so one copy of tokio's task code, with the handlers run to
/// completion, for one allocation per task (per connection at most, never
/// per request; the task itself then holds only the pointer).
pub(crate) fn spawn_boxed(
    task: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let task: HandlerTask = Box::pin(task);
    tokio::spawn(task)
}

/// A response body: whole bytes, or frames streamed by a
/// [`ChunkedWriter`](super::ChunkedWriter) or a reader.
///
/// When a handler writes the response head and goes on running in its own
/// future (streaming chunks without spawning a task, say), the body drives
/// that future as the client reads, so back-pressure holds and nothing
/// waits on anything else; the handler then runs to completion even if the
/// body is dropped early.
pub struct ResponseBody {
    kind: Kind,
    /// The handler still running, if any (boxed: it is rare, and the body
    /// stays small). A `Mutex` only so the body stays `Sync`: it is reached
    /// through `&mut` (`get_mut`), never locked.
    handler: Option<Box<Mutex<HandlerTask>>>,
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full(b) => f
                .debug_tuple("ResponseBody::Full")
                .field(&b.as_ref().map_or(0, Bytes::len))
                .finish(),
            Kind::Stream(_) | Kind::Buffered(_) | Kind::Foreign(_) => {
                f.write_str("ResponseBody::Stream")
            }
        }
    }
}

impl ResponseBody {
    /// A body of these bytes.
    pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
        let bytes = bytes.into();
        ResponseBody {
            kind: Kind::Full((!bytes.is_empty()).then_some(bytes)),
            handler: None,
        }
    }

    /// An empty body.
    pub fn empty() -> ResponseBody {
        ResponseBody {
            kind: Kind::Full(None),
            handler: None,
        }
    }

    /// Any body, streamed as the client reads it: a body error ends the
    /// response as a dropped writer does (the client sees it cut short).
    pub fn from_body<B>(body: B) -> ResponseBody
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<crate::BoxError>,
    {
        use http_body_util::BodyExt;
        let body: ForeignBody = Box::pin(body.map_err(Into::into));
        ResponseBody {
            kind: Kind::Foreign(Box::new(Mutex::new(body))),
            handler: None,
        }
    }

    pub(crate) fn stream(rx: mpsc::Receiver<StreamItem>) -> ResponseBody {
        ResponseBody {
            kind: Kind::Stream(rx),
            handler: None,
        }
    }

    /// `frames` (taken from this body already), then the rest of this body.
    pub(crate) fn after(
        self,
        frames: VecDeque<Result<Frame<Bytes>, StreamAborted>>,
    ) -> ResponseBody {
        let mut taken = VecDeque::with_capacity(frames.len());
        for frame in frames {
            match frame {
                Ok(frame) => taken.push_back(frame),
                // The writer gave up: what followed is lost, as on a socket.
                Err(StreamAborted) => {
                    let (tx, rx) = mpsc::channel(1);
                    drop(tx);
                    return ResponseBody::stream(rx).after_frames(taken);
                }
            }
        }
        self.after_frames(taken)
    }

    fn after_frames(self, frames: VecDeque<Frame<Bytes>>) -> ResponseBody {
        if frames.is_empty() {
            return self;
        }
        ResponseBody {
            kind: Kind::Buffered(Box::new((frames, self))),
            handler: None,
        }
    }

    /// This body, driving `handler` while the client reads it.
    pub(crate) fn driving(mut self, handler: HandlerTask) -> ResponseBody {
        self.handler = Some(Box::new(Mutex::new(handler)));
        self
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        if let Some(handler) = self.handler.take() {
            run_to_completion(handler.into_inner().unwrap_or_else(PoisonError::into_inner));
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

    // Whole bytes with no handler left to drive (nearly every response)
    // inline; everything else out of line.
    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamAborted>>> {
        let this = self.get_mut();
        if this.handler.is_none()
            && let Kind::Full(bytes) = &mut this.kind
        {
            return Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b))));
        }
        this.poll_driven(cx)
    }

    // Whole bytes (nearly every response) answered inline; the rest out of
    // line, so the check stays small enough to inline into hyper's loop.
    #[inline]
    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            _ => self.streamed_end(),
        }
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Kind::Full(None) => SizeHint::with_exact(0),
            _ => self.streamed_size_hint(),
        }
    }
}

impl ResponseBody {
    /// [`poll_frame`](http_body::Body::poll_frame) of a body that drives a
    /// handler or is not whole bytes.
    #[inline(never)]
    fn poll_driven(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamAborted>>> {
        let this = self;
        // Out of its slot while polled, as in the service future: a handler
        // that panics is not run again when the body is dropped.
        if let Some(mut slot) = this.handler.take()
            && slot
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .as_mut()
                .poll(cx)
                .is_pending()
        {
            this.handler = Some(slot);
        }
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
            Kind::Buffered(buffered) => match buffered.0.pop_front() {
                Some(frame) => Poll::Ready(Some(Ok(frame))),
                None => http_body::Body::poll_frame(Pin::new(&mut buffered.1), cx),
            },
            Kind::Foreign(body) => {
                let body = body.get_mut().unwrap_or_else(PoisonError::into_inner);
                match body.as_mut().poll_frame(cx) {
                    Poll::Ready(Some(Err(error))) => {
                        tracing::debug!(target: "postern::request", %error, "response body failed: cutting the response");
                        this.kind = Kind::Full(None);
                        Poll::Ready(Some(Err(StreamAborted)))
                    }
                    other => other.map(|frame| frame.map(|frame| frame.map_err(|_| StreamAborted))),
                }
            }
        }
    }

    /// [`is_end_stream`](http_body::Body::is_end_stream) of a body that is
    /// not whole bytes.
    #[inline(never)]
    fn streamed_end(&self) -> bool {
        match &self.kind {
            Kind::Foreign(body) => body.lock().is_ok_and(|body| body.is_end_stream()),
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Stream(_) | Kind::Buffered(_) => false,
        }
    }

    /// [`size_hint`](http_body::Body::size_hint) of a body that is not
    /// whole bytes.
    #[inline(never)]
    fn streamed_size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Foreign(body) => body
                .lock()
                .map_or_else(|_| SizeHint::default(), |body| body.size_hint()),
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream(_) | Kind::Buffered(_) => SizeHint::default(),
        }
    }
}
