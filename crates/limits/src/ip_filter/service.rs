use crate::body::ResponseBody;
use crate::future::ResponseFuture;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::layer::Shared;

/// Middleware answering 403 to clients refused by an
/// [`IpFilter`](crate::config::IpFilter). Built by
/// [`IpFilterLayer`](super::IpFilterLayer).
#[derive(Debug, Clone)]
pub struct IpFilterService<S> {
    pub(super) inner: S,
    pub(super) shared: Arc<Shared>,
}

impl<S> IpFilterService<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwrap the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for IpFilterService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let shared = &*self.shared;
        if shared.enabled {
            let verdict = shared
                .resolver
                .resolve_for(&req, "ip_filter")
                .and_then(|ip| super::check(&shared.filter, ip));
            if let Err(rejection) = verdict {
                return ResponseFuture::reject(rejection);
            }
        }
        ResponseFuture::inner(self.inner.call(req))
    }
}
