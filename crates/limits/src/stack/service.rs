use crate::body::ResponseBody;
use crate::future::ResponseFuture;
#[cfg(feature = "rate")]
use crate::rate::RateFuture;
use crate::size::RequestBody;
use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::layer::Shared;

/// IP filter → rate → sizes over an inner service, built by
/// [`LimitsLayer`](super::LimitsLayer).
///
/// `Request<ReqBody>` in, `Request<RequestBody<ReqBody>>` to the inner service,
/// `Response<ResponseBody<ResBody>>` out: concrete types, no boxing. Cloning
/// it clones the inner service and one `Arc`.
#[derive(Debug, Clone)]
pub struct LimitsService<S> {
    pub(super) inner: S,
    pub(super) shared: Arc<Shared>,
    /// The connection's peer, for a service built by
    /// [`LimitsLayer::layer_for_peer`](super::LimitsLayer::layer_for_peer).
    pub(super) peer: Option<IpAddr>,
}

impl<S> LimitsService<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwrap the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for LimitsService<S>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>> + Clone,
    ReqBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    #[cfg(feature = "rate")]
    type Future = RateFuture<S, Request<RequestBody<ReqBody>>>;
    #[cfg(not(feature = "rate"))]
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let pending = match self.shared.check(&req, self.peer) {
            Ok(pending) => pending,
            Err(rejection) => return decided(ResponseFuture::reject(rejection)),
        };
        let limit = self.shared.size.limits.max_body;
        let req = req.map(|body| RequestBody::new(body, limit));
        match pending {
            None => decided(ResponseFuture::inner(self.inner.call(req))),
            #[cfg(not(feature = "rate"))]
            Some(never) => match never {},
            #[cfg(feature = "rate")]
            Some(pending) => {
                // The ready service goes with the request; this one polls
                // its clone's readiness next time.
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                RateFuture::deciding(pending.decision, pending.client, pending.sizes, ready, req)
            }
        }
    }
}

/// A response future decided in `call`, in the service's future type.
#[cfg(feature = "rate")]
#[inline]
fn decided<S: Service<R>, R>(future: ResponseFuture<S::Future>) -> RateFuture<S, R> {
    RateFuture::decided(future)
}

/// A response future decided in `call`, in the service's future type.
#[cfg(not(feature = "rate"))]
#[inline]
fn decided<F>(future: ResponseFuture<F>) -> ResponseFuture<F> {
    future
}
