//! [`ResponseBody`]: the response body of every request-level layer.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// The response body of the request-level layers: either the inner
    /// service's body, untouched, or the empty body of a refusal.
    ///
    /// One concrete type for every layer and for [`LimitsService`](crate::stack::LimitsService),
    /// so a stack of limits costs no boxing. A refusal body is empty
    /// (`size_hint` exactly 0, `is_end_stream` true); its response carries
    /// `content-type: application/x-empty` and `content-length: 0`.
    #[derive(Debug)]
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Rejection,
    }
}

impl<B> ResponseBody<B> {
    /// Wrap the inner service's body.
    pub const fn new(body: B) -> Self {
        ResponseBody {
            kind: Kind::Inner { body },
        }
    }

    /// The empty body of a refusal.
    pub const fn rejection() -> Self {
        ResponseBody {
            kind: Kind::Rejection,
        }
    }

    /// Whether this is a refusal's empty body.
    pub const fn is_rejection(&self) -> bool {
        matches!(self.kind, Kind::Rejection)
    }

    /// The inner service's body, or `None` for a refusal.
    pub fn into_inner(self) -> Option<B> {
        match self.kind {
            Kind::Inner { body } => Some(body),
            Kind::Rejection => None,
        }
    }
}

impl<B> Default for ResponseBody<B> {
    /// The empty body of a refusal.
    fn default() -> Self {
        ResponseBody::rejection()
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Rejection => Poll::Ready(None),
        }
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Rejection => true,
        }
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Rejection => SizeHint::with_exact(0),
        }
    }
}
