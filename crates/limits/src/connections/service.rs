use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::MakeFuture;
use super::{ConnectionLimiter, ConnectionPermit, ConnectionRefused};
use crate::future::{KeepBody, ResponseFuture};
use crate::rejection::{Rejection, may_close};

/// The make-service built by [`ConnectionLimitLayer`](super::ConnectionLimitLayer):
/// admits or refuses each new connection, then makes its service.
#[derive(Clone)]
pub struct ConnectionLimitMakeService<M, F> {
    pub(super) inner: M,
    pub(super) limiter: ConnectionLimiter,
    pub(super) peer: F,
}

impl<M: fmt::Debug, F> fmt::Debug for ConnectionLimitMakeService<M, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionLimitMakeService")
            .field("inner", &self.inner)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl<M, F, T> Service<T> for ConnectionLimitMakeService<M, F>
where
    M: Service<T>,
    F: Fn(&T) -> Option<IpAddr>,
{
    type Response = ConnectionLimitService<M::Response>;
    type Error = M::Error;
    type Future = MakeFuture<M::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, target: T) -> Self::Future {
        let client = (self.peer)(&target);
        let admission = self.limiter.try_acquire(client);
        if let Err(refused) = &admission {
            tracing::debug!(target: "postern::limits", client = ?client, "{refused}");
        }
        MakeFuture::new(self.inner.call(target), admission.map(Arc::new))
    }
}

/// One connection's service: passes requests through while the connection
/// holds a permit; over the caps, answers every request **429** with an empty
/// body, `content-type: application/x-empty`, `content-length: 0` and
/// (HTTP/1.x) `connection: close`, so the client's HTTP/1 connection ends
/// after one response.
///
/// Its clones share the permit, which is released when the last clone is
/// dropped: when the connection and its in-flight requests are done. The
/// response body type is the inner one (`B: Default` builds the empty refusal
/// body), so it drops into `axum::serve` unchanged.
#[derive(Debug, Clone)]
pub struct ConnectionLimitService<S> {
    inner: S,
    admission: Result<Arc<ConnectionPermit>, ConnectionRefused>,
}

impl<S> ConnectionLimitService<S> {
    /// Wrap one connection's service with the result of
    /// [`ConnectionLimiter::try_acquire`] for it (for servers that make their
    /// per-connection services themselves).
    pub fn new(inner: S, admission: Result<ConnectionPermit, ConnectionRefused>) -> Self {
        ConnectionLimitService {
            inner,
            admission: admission.map(Arc::new),
        }
    }

    pub(super) fn from_shared(
        inner: S,
        admission: Result<Arc<ConnectionPermit>, ConnectionRefused>,
    ) -> Self {
        ConnectionLimitService { inner, admission }
    }

    /// Whether this connection was admitted.
    pub fn is_admitted(&self) -> bool {
        self.admission.is_ok()
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ConnectionLimitService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, KeepBody>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if self.admission.is_err() {
            return ResponseFuture::reject(Rejection::TooManyConnections {
                close: may_close(req.version()),
            });
        }
        ResponseFuture::inner(self.inner.call(req))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::{Request, Response, StatusCode, Version};
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::config::ConnectionLimits;
    use crate::rejection::header_list;

    fn hello(_req: Request<()>) -> std::future::Ready<Result<Response<String>, Infallible>> {
        std::future::ready(Ok(Response::new(String::from("hello"))))
    }

    #[tokio::test]
    async fn refused_connection_answers_429_with_exact_headers() {
        let limiter = ConnectionLimiter::new(ConnectionLimits::disabled().with_max_per_host(1));
        let client = Some("192.0.2.1".parse().unwrap());
        let admitted = ConnectionLimitService::new(service_fn(hello), limiter.try_acquire(client));
        let refused = ConnectionLimitService::new(service_fn(hello), limiter.try_acquire(client));
        assert!(admitted.is_admitted());
        assert!(!refused.is_admitted());

        let response = admitted.oneshot(Request::new(())).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.body(), "hello");
        assert!(response.headers().is_empty());

        for (version, close) in [(Version::HTTP_11, true), (Version::HTTP_2, false)] {
            let request = Request::builder().version(version).body(()).unwrap();
            let response = refused.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            let mut expected = vec![
                ("content-type", "application/x-empty"),
                ("content-length", "0"),
            ];
            if close {
                expected.push(("connection", "close"));
            }
            assert_eq!(header_list(response.headers()), expected, "{version:?}");
            assert_eq!(response.body(), ""); // the inner body type's default
        }
        drop(refused);
        assert_eq!(limiter.open_connections(), 0);
    }
}
