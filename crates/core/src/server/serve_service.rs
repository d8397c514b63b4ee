//! [`ServeService`]: what a service must be for Postern's server to run it.

use bytes::Bytes;
use tower_service::Service;

use super::RequestBody;
use crate::BoxError;

/// A tower service Postern's server can run: it takes
/// `http::Request<`[`RequestBody`]`>`, answers `http::Response<B>` for some
/// body `B`, is cheap to clone (one clone per request) and can move across
/// threads. Implemented for every such service (an axum `Router`, an
/// [`HttpService`](crate::HttpService), a `tower::service_fn`, …); never
/// implement it yourself.
pub trait ServeService:
    Service<
        http::Request<RequestBody>,
        Response = http::Response<Self::ResponseBody>,
        Error: Into<BoxError>,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
    /// The response body type.
    type ResponseBody: http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static;
}

impl<S, B> ServeService for S
where
    S: Service<http::Request<RequestBody>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type ResponseBody = B;
}
