//! [`ResponseFuture`]: the response future of every request-level layer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

use crate::body::ResponseBody;
use crate::rejection::Rejection;

pin_project! {
    /// Response future of the request-level layers: the inner service's future,
    /// or a refusal decided in `call` (no inner future exists then).
    ///
    /// Every limit is decided synchronously when the request arrives, so one
    /// future type serves the IP filter, the rate limit, the size limits and
    /// [`LimitsService`](crate::LimitsService).
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<F> {
        Inner { #[pin] future: F },
        Reject { rejection: Rejection },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn inner(future: F) -> Self {
        ResponseFuture {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn reject(rejection: Rejection) -> Self {
        ResponseFuture {
            kind: Kind::Reject { rejection },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(response.map(ResponseBody::new)))
            }
            KindProj::Reject { rejection } => {
                Poll::Ready(Ok(rejection.into_response(ResponseBody::rejection())))
            }
        }
    }
}
