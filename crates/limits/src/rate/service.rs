use crate::body::ResponseBody;
use crate::future::ResponseFuture;
use std::sync::Arc;

use super::{RateFuture, Verdict};
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::layer::Shared;

/// Middleware answering 429 to clients over their request rate. Built by
/// [`RateLimitLayer`](super::RateLimitLayer).
#[derive(Debug, Clone)]
pub struct RateLimitService<S> {
    pub(super) inner: S,
    pub(super) shared: Arc<Shared>,
}

impl<S> RateLimitService<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwrap the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimitService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = RateFuture<S, Request<ReqBody>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let shared = &*self.shared;
        if let Some(limiter) = &shared.limiter {
            let ip = match shared.resolver.resolve_for(&req, "rate") {
                Ok(ip) => ip,
                Err(rejection) => return RateFuture::decided(ResponseFuture::reject(rejection)),
            };
            match super::check(limiter, ip) {
                Verdict::Now(Ok(())) => {}
                Verdict::Now(Err(rejection)) => {
                    return RateFuture::decided(ResponseFuture::reject(rejection));
                }
                Verdict::Later(decision) => {
                    // The ready service goes with the request; this one
                    // polls its clone's readiness next time.
                    let clone = self.inner.clone();
                    let ready = std::mem::replace(&mut self.inner, clone);
                    return RateFuture::deciding(decision, ip, Ok(()), ready, req);
                }
            }
        }
        RateFuture::decided(ResponseFuture::inner(self.inner.call(req)))
    }
}
