//! The futures of the connection layer: [`MakeFuture`] admits or refuses a
//! connection, [`ResponseFuture`] answers its requests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use super::{ConnectionLimitService, ConnectionPermit, ConnectionRefused};

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
