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

/// Clears the "waiting for body bytes" mark when the body goes away.
struct Waiting(Arc<Activity>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.body_done();
    }
}

pin_project! {
    /// A request body as it arrives from the client. A handler that waits
    /// longer than [`Timeouts::body_idle`](crate::config::Timeouts::body_idle)
    /// for the next bytes gets its connection closed.
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
            waiting: Waiting(Arc::clone(activity)),
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
    type Error = hyper::Error;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Pending => this.waiting.0.body_polled(true),
            Poll::Ready(Some(Ok(_))) => this.waiting.0.body_polled(false),
            Poll::Ready(_) => this.waiting.0.body_done(),
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
