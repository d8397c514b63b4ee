//! The make-service step: each connection gets its own service, built once
//! when the connection opens and owning that connection's facts, so nothing
//! per request has to look the connection up.

use std::task::{Context, Poll};

use tower_service::Service;

use super::{RequestBody, ServeService};
use crate::ConnectionInfo;

/// Builds the service that one connection's requests go through.
pub(crate) trait MakeConnService: Send + Sync + 'static {
    /// The per-connection service.
    type Service: ServeService;

    /// The service for the connection described by `info` (a few `Arc`
    /// clones: paid once per connection, not per request).
    fn for_connection(&self, info: &ConnectionInfo) -> Self::Service;

    /// Whether HTTP/2 connections should offer extended `CONNECT` (the
    /// server takes WebSocket upgrades). Asked once per connection.
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    fn websocket_over_http2(&self) -> bool {
        false
    }
}

/// What [`ServerBuilder::serve`](super::ServerBuilder::serve) runs: any tower
/// service, whose requests carry the connection's [`ConnectionInfo`] as an
/// extension (as axum's `ConnectInfo` does).
#[derive(Debug)]
pub(crate) struct WithConnectionInfo<S>(pub(crate) S);

impl<S: ServeService> MakeConnService for WithConnectionInfo<S> {
    type Service = AddConnectionInfo<S>;

    fn for_connection(&self, info: &ConnectionInfo) -> AddConnectionInfo<S> {
        AddConnectionInfo {
            inner: self.0.clone(),
            info: info.clone(),
        }
    }
}

/// One connection's service: inserts the connection's facts into each
/// request, then calls the user's service.
#[derive(Debug, Clone)]
pub(crate) struct AddConnectionInfo<S> {
    inner: S,
    info: ConnectionInfo,
}

impl<S: ServeService> Service<http::Request<RequestBody>> for AddConnectionInfo<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, mut request: http::Request<RequestBody>) -> Self::Future {
        request.extensions_mut().insert(self.info.clone());
        self.inner.call(request)
    }
}
