use std::task::{Context, Poll};

use crate::body::ResponseBody;
use crate::future::ResponseFuture;
use crate::size::RequestBody;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::SizeCheck;

/// Middleware refusing oversized requests and limiting the body the inner
/// service reads. Built by [`SizeLimitLayer`](super::SizeLimitLayer).
///
/// The inner service receives `Request<RequestBody<ReqBody>>`.
#[derive(Debug, Clone)]
pub struct SizeLimitService<S> {
    pub(super) inner: S,
    pub(super) check: SizeCheck,
}

impl<S> SizeLimitService<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwrap the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SizeLimitService<S>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>,
    ReqBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if let Err(rejection) = self.check.check(&req) {
            return ResponseFuture::reject(rejection);
        }
        let limit = self.check.limits.max_body;
        let req = req.map(|body| RequestBody::new(body, limit));
        ResponseFuture::inner(self.inner.call(req))
    }
}
