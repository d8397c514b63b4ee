use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

use super::{ConnectionLimitService, ConnectionPermit, ConnectionRefused};
use crate::rejection::Rejection;

pin_project! {
    /// Future of [`ConnectionLimitMakeService`](super::ConnectionLimitMakeService):
    /// the inner make-service's future, whose service is then wrapped with the
    /// connection's admission.
    #[derive(Debug)]
    pub struct MakeFuture<F> {
        #[pin]
        inner: F,
        admission: Result<Arc<ConnectionPermit>, ConnectionRefused>,
    }
}

impl<F> MakeFuture<F> {
    pub(super) fn new(
        inner: F,
        admission: Result<Arc<ConnectionPermit>, ConnectionRefused>,
    ) -> Self {
        MakeFuture { inner, admission }
    }
}

impl<F, S, E> Future for MakeFuture<F>
where
    F: Future<Output = Result<S, E>>,
{
    type Output = Result<ConnectionLimitService<S>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let service = ready!(this.inner.poll(cx))?;
        Poll::Ready(Ok(ConnectionLimitService::from_shared(
            service,
            this.admission.clone(),
        )))
    }
}

pin_project! {
    /// Response future of [`ConnectionLimitService`]: the inner future, or the
    /// 429 of a refused connection.
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
    pub(super) fn inner(future: F) -> Self {
        ResponseFuture {
            kind: Kind::Inner { future },
        }
    }

    pub(super) fn reject(rejection: Rejection) -> Self {
        ResponseFuture {
            kind: Kind::Reject { rejection },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Reject { rejection } => {
                Poll::Ready(Ok(rejection.into_response(B::default())))
            }
        }
    }
}
