//! [`IncomingBody`]: hyper's request body, telling the connection's watchdog
//! when a handler waits for bytes (the body-idle timeout).

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;

use super::activity::Activity;
use crate::BoxError;

/// The error of a request body cut by the server: its bytes arrived slower
/// than [`Timeouts::min_request_body_rate`](crate::config::Timeouts::min_request_body_rate)
/// allows, or not at all within
/// [`Timeouts::body_idle`](crate::config::Timeouts::body_idle).
/// [`HttpService`](crate::HttpService) answers it with **408**.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BodyTimedOut;

impl fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request body arrived too slowly")
    }
}

impl std::error::Error for BodyTimedOut {}

/// Whether a body error, or any error in its source chain, is a
/// [`BodyTimedOut`].
pub(crate) fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<BodyTimedOut>() {
            return true;
        }
        current = error.source();
    }
    false
}

/// One body's side of the connection's "waiting for body bytes" count.
struct Waiting {
    activity: Arc<Activity>,
    now: bool,
    /// The connection's cut epoch when the body was made.
    epoch: u32,
}

impl Waiting {
    fn set(&mut self, waiting: bool) {
        if waiting != self.now {
            self.now = waiting;
            if !waiting {
                self.activity.body_wait_ended();
            }
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.set(false);
    }
}

pin_project! {
    /// A request body as it arrives from the client. It fails with
    /// [`BodyTimedOut`] when the bytes arrive slower than
    /// [`Timeouts::min_request_body_rate`](crate::config::Timeouts::min_request_body_rate)
    /// or not at all within
    /// [`Timeouts::body_idle`](crate::config::Timeouts::body_idle) while a
    /// handler waits for them.
    pub struct IncomingBody {
        #[pin]
        inner: Incoming,
        waiting: Waiting,
    }
}

impl IncomingBody {
    pub(crate) fn new(inner: Incoming, activity: &Arc<Activity>) -> Self {
        IncomingBody {
            inner,
            waiting: Waiting {
                activity: Arc::clone(activity),
                now: false,
                epoch: activity.cut_epoch(),
            },
        }
    }
}

impl fmt::Debug for IncomingBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingBody")
            .field("inner", &self.inner)
            .finish()
    }
}

impl Body for IncomingBody {
    type Data = Bytes;
    type Error = BoxError;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        let waiting = this.waiting;
        if waiting.activity.is_cut(waiting.epoch) {
            waiting.set(false);
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        match this.inner.poll_frame(cx) {
            Poll::Pending => {
                if waiting.now {
                    waiting.activity.register_body_waker(cx.waker());
                } else {
                    waiting.now = true;
                    waiting.activity.body_wait_started(cx.waker());
                }
                Poll::Pending
            }
            Poll::Ready(Some(Ok(frame))) => {
                waiting.set(false);
                let bytes = frame.data_ref().map_or(0, Bytes::len);
                waiting.activity.body_received(bytes);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                waiting.set(false);
                Poll::Ready(Some(Err(Box::new(error))))
            }
            Poll::Ready(None) => {
                waiting.set(false);
                waiting.activity.set_body_unread(false);
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
