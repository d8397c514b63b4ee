//! [`HttpService`]: any [`AbstractHttpServer`] as a `tower::Service`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::StatusCode;
use http::header::HeaderValue;
use http_body_util::BodyExt;

use crate::BoxError;
use crate::responder::status_response;
use crate::{AbstractHttpServer, ConnectionInfo, Handled, Request, Responder, ResponseBody};

/// Serves an [`AbstractHttpServer`] as a `tower::Service<http::Request<B>>`.
///
/// The body is read whole before the handler runs, as in Qt. On Postern's
/// server it is bounded by the configured body limit; nested in another app,
/// put `postern_limits::SizeLimitLayer` (or the app's own limit) in front, or
/// the body is read without bound. A body that fails to arrive gets 400, or
/// 413 when it broke a size limit. Cloning is an `Arc` clone.
///
/// ```
/// use std::sync::Arc;
/// use bytes::Bytes;
/// use http::StatusCode;
/// use http_body_util::Full;
/// use postern_core::{AbstractHttpServer, Handled, HttpService, Request, Responder};
/// use tower_service::Service;
///
/// struct Declines;
/// impl AbstractHttpServer for Declines {
///     async fn handle_request(&self, _: &Request, responder: Responder) -> Handled {
///         Handled::No(responder)
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut service = HttpService::new(Declines);
/// let response = service.call(http::Request::new(Full::new(Bytes::new()))).await.unwrap();
/// assert_eq!(response.status(), StatusCode::NOT_FOUND);
/// # });
/// ```
#[derive(Debug)]
pub struct HttpService<T> {
    server: Arc<T>,
}

impl<T> Clone for HttpService<T> {
    fn clone(&self) -> Self {
        HttpService {
            server: Arc::clone(&self.server),
        }
    }
}

impl<T: AbstractHttpServer> HttpService<T> {
    /// Wrap a server.
    pub fn new(server: T) -> Self {
        HttpService::from_arc(Arc::new(server))
    }

    /// Wrap a server that is shared elsewhere too.
    pub fn from_arc(server: Arc<T>) -> Self {
        HttpService { server }
    }

    /// The wrapped server.
    pub fn server(&self) -> &Arc<T> {
        &self.server
    }
}

/// Answer one request with `server`: read the body, run the handler, fall
/// back to the missing handler, and wait for what the responder sends.
pub async fn respond<T, B>(server: &T, request: http::Request<B>) -> http::Response<ResponseBody>
where
    T: AbstractHttpServer,
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let connection = request.extensions().get::<ConnectionInfo>().cloned();
    respond_on(server, request, connection).await
}

/// [`respond`], with the connection given (else taken from the request's
/// extensions, else unknown).
async fn respond_on<T, B>(
    server: &T,
    request: http::Request<B>,
    connection: Option<ConnectionInfo>,
) -> http::Response<ResponseBody>
where
    T: AbstractHttpServer,
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let (head, body) = request.into_parts();
    let body = if body.is_end_stream() {
        Bytes::new()
    } else {
        match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => return body_error_response(error.into(), head.version),
        }
    };
    let request = match connection {
        Some(connection) => Request::with_connection(head, body, connection),
        None => Request::from_parts(head, body),
    };
    let (responder, pending) = Responder::pair();
    if let Handled::No(responder) = server.handle_request(&request, responder).await {
        server.missing_handler(&request, responder).await;
    }
    match pending.await {
        Ok(response) => response,
        // The responder's drop always sends; this is only reached if it was
        // leaked, so answer rather than hang.
        Err(_) => status_response(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

fn body_error_response(error: BoxError, version: http::Version) -> http::Response<ResponseBody> {
    let status = if postern_limits::is_body_too_large(&*error) {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::BAD_REQUEST
    };
    tracing::debug!(target: "postern::request", %error, %status, "request body failed");
    let mut response = status_response(status);
    // The rest of the body is unread: an HTTP/1 connection cannot carry on.
    // (HTTP/2 has no connection header; the stream alone ends.)
    if version < http::Version::HTTP_2 {
        response
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

impl<T, B> tower_service::Service<http::Request<B>> for HttpService<T>
where
    T: AbstractHttpServer,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<ResponseBody>;
    type Error = Infallible;
    // The handler's future type cannot be named on stable Rust (it is an
    // `impl Future` of the user's trait impl), so this one allocation per
    // request is the price of the async trait.
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let server = Arc::clone(&self.server);
        let connection = request
            .extensions()
            .get::<ConnectionInfo>()
            .cloned()
            .or_else(crate::server::current_connection);
        Box::pin(async move { Ok(respond_on(&*server, request, connection).await) })
    }
}
