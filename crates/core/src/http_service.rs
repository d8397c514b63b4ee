//! [`HttpService`]: any [`AbstractHttpServer`] as a `tower::Service`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body::Body;
use http_body_util::BodyExt;

use crate::BoxError;
use crate::body::{BodyBudget, Reservation};
use crate::responder::{HandlerTask, PendingResponse, run_to_completion};
use crate::server::MakeConnService;
use crate::{
    AbstractHttpServer, BodyPolicy, BodyStream, ConnectionInfo, Handled, Request, Responder,
    ResponseBody,
};

/// Serves an [`AbstractHttpServer`] as a `tower::Service<http::Request<B>>`.
///
/// The server's [`body_policy`](AbstractHttpServer::body_policy) decides,
/// from the head, whether the body is read whole before the handler runs
/// (the default, as in Qt), handed over as a stream, read and dropped, or
/// not read at all.
/// On Postern's server a body read whole is bounded by the body limit and
/// counts against the server-wide budget for buffered bodies (503 when it
/// stays full); nested in another app, put
/// `postern_limits::size::SizeLimitLayer` (or the app's own limit) in front,
/// or the body is read without bound. A body that fails to arrive gets 400,
/// 408 when it arrived too slowly, or 413 when it broke a size limit.
/// Cloning is an `Arc` clone.
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
    /// The connection this service was made for, on Postern's server
    /// ([`ServerBuilder::serve_abstract`](crate::ServerBuilder::serve_abstract));
    /// elsewhere each request's [`ConnectionInfo`] extension, if any.
    connection: Option<ConnectionInfo>,
    /// The budget buffered bodies count against when the connection brings
    /// none (outside Postern's server): unbounded.
    budget: Arc<BodyBudget>,
}

impl<T> Clone for HttpService<T> {
    fn clone(&self) -> Self {
        HttpService {
            server: Arc::clone(&self.server),
            connection: self.connection.clone(),
            budget: Arc::clone(&self.budget),
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
        HttpService {
            server,
            connection: None,
            budget: BodyBudget::new(None, Duration::ZERO),
        }
    }

    /// The wrapped server.
    pub fn server(&self) -> &Arc<T> {
        &self.server
    }
}

impl<T: AbstractHttpServer> MakeConnService for HttpService<T> {
    type Service = HttpService<T>;

    fn for_connection(&self, info: &ConnectionInfo) -> HttpService<T> {
        HttpService {
            server: Arc::clone(&self.server),
            connection: Some(info.clone()),
            budget: Arc::clone(&self.budget),
        }
    }

    #[cfg(feature = "ws")]
    fn websocket_over_http2(&self) -> bool {
        self.server
            .websocket_upgrades()
            .is_some_and(crate::websocket::WebSocketUpgrades::is_active)
    }
}

/// Answer one request with `server`, as Postern's server would (read the
/// body, run the handler, fall back to the missing handler), without
/// sockets: the way to test an [`AbstractHttpServer`]. The request's
/// [`ConnectionInfo`] extension, if any, is the connection its handlers see.
///
/// A handler that streams from its own future after writing the head runs
/// to its end before this returns, its frames kept for the body.
///
/// ```
/// use bytes::Bytes;
/// use http::StatusCode;
/// use http_body_util::{BodyExt, Full};
/// use postern_core::{AbstractHttpServer, Handled, Request, Responder, respond};
///
/// struct Echo;
/// impl AbstractHttpServer for Echo {
///     async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
///         responder.write_with_mime(request.body().clone(), "text/plain", StatusCode::OK);
///         Handled::Yes
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let request = http::Request::post("/").body(Full::new(Bytes::from("hi"))).unwrap();
/// let response = respond(&Echo, request).await;
/// assert_eq!(response.status(), StatusCode::OK);
/// assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "hi");
/// # });
/// ```
pub async fn respond<T, B>(server: &T, request: http::Request<B>) -> http::Response<ResponseBody>
where
    T: AbstractHttpServer,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let connection = request.extensions().get::<ConnectionInfo>().cloned();
    let (request, body) = match start(server, request, connection) {
        Start::Answered(response) => return response,
        Start::Handle(request, body) => (request, body),
    };
    let (responder, mut pending) = Responder::pair();
    let fallback = BodyBudget::new(None, Duration::ZERO);
    let mut handler = std::pin::pin!(handle(server, request, body, responder, Some(fallback)));
    let mut handler_done = false;
    let response = std::future::poll_fn(|cx| {
        if !handler_done && handler.as_mut().poll(cx).is_ready() {
            handler_done = true;
        }
        Pin::new(&mut pending).poll(cx)
    })
    .await;
    if handler_done {
        return response;
    }
    // The handler goes on writing from its own future: keep its frames
    // until it ends, as a client reading the body would let it.
    let (head, mut body) = response.into_parts();
    let mut frames = std::collections::VecDeque::new();
    std::future::poll_fn(|cx| {
        loop {
            if handler.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            match Pin::new(&mut body).poll_frame(cx) {
                Poll::Ready(Some(frame)) => frames.push_back(frame),
                // The body is complete; only the handler is left.
                Poll::Ready(None) => return handler.as_mut().poll(cx),
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await;
    http::Response::from_parts(head, body.after(frames))
}

/// What a request needs before its handler runs, found without waiting.
enum Start<B> {
    /// Answered already: a WebSocket upgrade the hub decided on.
    #[cfg_attr(not(feature = "ws"), allow(dead_code))]
    Answered(http::Response<ResponseBody>),
    /// The handler's turn: the request (its body not read yet) and the body.
    Handle(Request, B),
}

/// Build the [`Request`] from the head, and let the WebSocket hub decide on
/// an upgrade request. Done in `call`, before the handler's future is made,
/// so that future carries the request as one pointer, not its head.
fn start<T, B>(
    server: &T,
    request: http::Request<B>,
    connection: Option<ConnectionInfo>,
) -> Start<B>
where
    T: AbstractHttpServer,
{
    #[cfg_attr(not(feature = "ws"), allow(unused_mut))]
    let (mut head, body) = request.into_parts();
    // An upgrade request for a server with a hub: take what the upgrade
    // needs out of the head before it becomes the `Request`.
    #[cfg(feature = "ws")]
    let upgrade = match server.websocket_upgrades() {
        Some(hub) => crate::websocket::handshake::upgrade_kind(&head).map(|kind| {
            (
                hub,
                kind,
                head.extensions.remove::<hyper::upgrade::OnUpgrade>(),
                head.extensions.remove::<crate::server::UpgradeSource>(),
            )
        }),
        None => None,
    };
    #[cfg(not(feature = "ws"))]
    let _ = server;
    let request = match connection {
        Some(connection) => Request::with_connection(head, Bytes::new(), connection),
        None => Request::from_parts(head, Bytes::new()),
    };
    #[cfg(feature = "ws")]
    if let Some((hub, kind, on_upgrade, source)) = upgrade
        && let crate::websocket::Decision::Respond(response) =
            hub.decide(&request, kind, on_upgrade, source)
    {
        return Start::Answered(response);
    }
    Start::Handle(request, body)
}

/// Read the body as the server's policy says, run the handler and, when it
/// declines, the missing handler. `server` is the server itself or an `Arc`
/// of it: the future owns what it needs, once.
async fn handle<T, S, B>(
    server: S,
    request: Request,
    body: B,
    responder: Responder,
    fallback: Option<Arc<BodyBudget>>,
) where
    T: AbstractHttpServer,
    S: std::ops::Deref<Target = T>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let server = &*server;
    let request = if body.is_end_stream() {
        drop(body);
        request
    } else {
        let version = request.version();
        match server.body_policy(&request) {
            BodyPolicy::Buffer => {
                // Boxed: only requests with a body pay for it, and the
                // handler's future stays small for the many without one.
                let read = match request.connection().budget().or(fallback.as_ref()) {
                    Some(budget) => Box::pin(read_whole(body, budget)).await,
                    None => {
                        Box::pin(read_whole(body, &BodyBudget::new(None, Duration::ZERO))).await
                    }
                };
                match read {
                    Ok((bytes, reservation)) => request.with_buffered_body(bytes, reservation),
                    Err(ReadError::Body(error)) => {
                        responder.send_http(body_error_response(error, version));
                        return;
                    }
                    Err(ReadError::NoRoom) => {
                        responder.send_http(busy_response(version));
                        return;
                    }
                }
            }
            BodyPolicy::Stream => request.with_body_stream(BodyStream::new(body)),
            // Read to its end and dropped before the handler runs, as Qt
            // handles a request only once it is whole: a malformed body (bad
            // chunk framing, pseudo-fields in HTTP/2 trailers) or one over its
            // limits gets its error status instead of the handler's answer,
            // which would otherwise end an HTTP/2 stream before the frames
            // that break it arrive. Boxed like the buffered read.
            BodyPolicy::Discard => {
                if let Err(error) = Box::pin(drain(body)).await {
                    responder.send_http(body_error_response(error, version));
                    return;
                }
                request
            }
            // Dropped unread, now rather than after the answer: hyper skips
            // it or closes the connection.
            BodyPolicy::Ignore => {
                drop(body);
                request
            }
        }
    };
    if let Handled::No(responder) = server.handle_request(&request, responder).await {
        server.missing_handler(&request, responder).await;
    }
}

/// Read `body` to its end, keeping nothing: the body's own limits and
/// timeouts bound how long this takes.
async fn drain<B>(body: B) -> Result<(), BoxError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    while let Some(frame) = body.frame().await {
        // Converted at once: the body's own error type need not be `Send`.
        frame.map_err(Into::into)?;
    }
    Ok(())
}

/// Why a body could not be buffered.
enum ReadError {
    Body(BoxError),
    /// No room in the server's budget for buffered bodies within its wait.
    NoRoom,
}

/// Read `body` whole, holding its bytes in `budget`: a declared length is
/// reserved before the first byte is read, a streamed body frame by frame
/// (while it waits for room, the body is not read, so its client is held
/// back by flow control).
async fn read_whole<B>(body: B, budget: &Arc<BodyBudget>) -> Result<(Bytes, Reservation), ReadError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let mut reservation = Reservation::new(budget);
    let declared = body.size_hint().exact();
    if let Some(length) = declared {
        reservation
            .grow(length)
            .await
            .map_err(|_| ReadError::NoRoom)?;
    }
    let mut body = std::pin::pin!(body);
    // One frame (the common case) is kept as it is; more are joined.
    let mut first: Option<Bytes> = None;
    let mut joined = bytes::BytesMut::new();
    loop {
        // Converted at once: the body's own error type need not be `Send`.
        let frame = match body.frame().await {
            None => break,
            Some(frame) => frame.map_err(|error| ReadError::Body(error.into()))?,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if declared.is_none() {
            reservation
                .grow(data.len() as u64)
                .await
                .map_err(|_| ReadError::NoRoom)?;
        }
        match first.take() {
            None if joined.is_empty() => first = Some(data),
            None => joined.extend_from_slice(&data),
            Some(earlier) => {
                joined.extend_from_slice(&earlier);
                joined.extend_from_slice(&data);
            }
        }
    }
    let bytes = first.unwrap_or_else(|| joined.freeze());
    Ok((bytes, reservation))
}

/// 503 with `retry-after: 1`: the server holds as many buffered bodies as
/// its budget allows. The body is unread, so an HTTP/1 connection closes.
fn busy_response(version: http::Version) -> http::Response<ResponseBody> {
    tracing::debug!(target: "postern::request", "no room for the request body in the budget: answering 503");
    let mut response = postern_limits::empty_response(
        StatusCode::SERVICE_UNAVAILABLE,
        version,
        true,
        ResponseBody::empty(),
    );
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("1"),
    );
    response
}

fn body_error_response(error: BoxError, version: http::Version) -> http::Response<ResponseBody> {
    use postern_limits::RefusalReason;
    let (status, reason) = if postern_limits::size::is_body_too_large(&*error) {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Some(RefusalReason::BodyTooLarge),
        )
    } else if crate::server::is_body_timeout(&*error) {
        (StatusCode::REQUEST_TIMEOUT, Some(RefusalReason::Timeout))
    } else {
        (StatusCode::BAD_REQUEST, None)
    };
    tracing::debug!(target: "postern::request", %error, %status, "request body failed");
    // The rest of the body is unread: an HTTP/1 connection cannot carry on.
    let mut response = postern_limits::empty_response(status, version, true, ResponseBody::empty());
    if let Some(reason) = reason {
        // For the access log and the counters: a refusal, not an answer.
        response.extensions_mut().insert(reason);
    }
    response
}

/// The future of [`HttpService`]'s `call`: it runs the handler and resolves
/// as soon as the responder has written the response head. A handler still
/// running then (one that streams the body from its own future, or works on
/// after answering) is driven by the response body while the client reads
/// it, and runs to completion even when the client goes away (an HTTP/2
/// reset, an HTTP/1 disconnect): a handler that should stop early checks
/// [`Responder::is_response_canceled`] or the writer's errors.
pub struct HttpServiceFuture {
    handler: Option<HandlerTask>,
    pending: PendingResponse,
}

impl std::fmt::Debug for HttpServiceFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServiceFuture")
            .field("handler_running", &self.handler.is_some())
            .finish()
    }
}

impl HttpServiceFuture {
    fn new<T, B>(
        server: Arc<T>,
        request: http::Request<B>,
        connection: Option<ConnectionInfo>,
        fallback: Option<Arc<BodyBudget>>,
    ) -> Self
    where
        T: AbstractHttpServer,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (request, body) = match start(&*server, request, connection) {
            Start::Answered(response) => {
                let (responder, pending) = Responder::pair();
                responder.send_http(response);
                return HttpServiceFuture {
                    handler: None,
                    pending,
                };
            }
            Start::Handle(request, body) => (request, body),
        };
        let (responder, pending) = Responder::pair();
        // One allocation per request: the handler's future type cannot be
        // named on stable Rust (it is an `impl Future` of the user's trait
        // impl), and it may have to outlive this future inside the body.
        let handler: HandlerTask = Box::pin(handle(server, request, body, responder, fallback));
        HttpServiceFuture {
            handler: Some(handler),
            pending,
        }
    }
}

impl Future for HttpServiceFuture {
    type Output = Result<http::Response<ResponseBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        // Out of its slot while polled: a handler that panics is dropped
        // with the unwinding, not handed to `run_to_completion` by `drop`
        // (polled again, it would only panic a second time).
        if let Some(mut handler) = this.handler.take()
            && handler.as_mut().poll(cx).is_pending()
        {
            this.handler = Some(handler);
        }
        let response = std::task::ready!(Pin::new(&mut this.pending).poll(cx));
        Poll::Ready(Ok(match this.handler.take() {
            Some(handler) => response.map(|body| body.driving(handler)),
            None => response,
        }))
    }
}

impl Drop for HttpServiceFuture {
    fn drop(&mut self) {
        // Dropped before the response: the client went away.
        if let Some(handler) = self.handler.take() {
            run_to_completion(handler);
        }
    }
}

impl<T, B> tower_service::Service<http::Request<B>> for HttpService<T>
where
    T: AbstractHttpServer,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<ResponseBody>;
    type Error = Infallible;
    type Future = HttpServiceFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let connection = match &self.connection {
            Some(connection) => Some(connection.clone()),
            None => request.extensions().get::<ConnectionInfo>().cloned(),
        };
        // The server's budget travels with the connection, so it applies
        // however the service was handed to the server; this service's own
        // (unbounded) one only where the connection brings none.
        let fallback = connection
            .as_ref()
            .is_none_or(|connection| connection.budget().is_none())
            .then(|| Arc::clone(&self.budget));
        HttpServiceFuture::new(Arc::clone(&self.server), request, connection, fallback)
    }
}
