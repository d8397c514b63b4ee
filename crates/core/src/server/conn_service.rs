//! The per-connection hyper service: strictness checks, connection facts,
//! in-flight accounting, then the configured tower service.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::StatusCode;
use http::header::{CONNECTION, CONTENT_TYPE, HeaderValue};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::activity::{Activity, InFlight};
use super::body::ServerBody;
use super::incoming::IncomingBody;
use super::shared::{Shared, Snapshot};
use super::strict;
use crate::BoxError;
use crate::ConnectionInfo;
use crate::server::RequestBody;
use postern_limits::{LimitsService, ResponseBody as LimitsBody};

pub(crate) struct ConnService<S> {
    shared: Arc<Shared<S>>,
    /// The stack in force when the connection opened; requests use it until
    /// the configuration changes, so the hot path takes no lock.
    snapshot: Arc<Snapshot<S>>,
    info: ConnectionInfo,
    activity: Arc<Activity>,
}

impl<S> ConnService<S> {
    pub(crate) fn new(
        shared: Arc<Shared<S>>,
        snapshot: Arc<Snapshot<S>>,
        info: ConnectionInfo,
        activity: Arc<Activity>,
    ) -> Self {
        ConnService {
            shared,
            snapshot,
            info,
            activity,
        }
    }
}

/// A bodiless response of the server's own.
pub(crate) fn own_response<B>(status: StatusCode, close: bool) -> http::Response<ServerBody<B>> {
    let mut response = http::Response::new(ServerBody::own(Bytes::new()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-empty"),
    );
    if close {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

impl<S, B> hyper::service::Service<http::Request<Incoming>> for ConnService<S>
where
    S: Service<http::Request<RequestBody>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes>,
{
    type Response = http::Response<ServerBody<LimitsBody<B>>>;
    type Error = Infallible;
    type Future = ConnFuture<LimitsService<S>, http::Request<IncomingBody>>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        if let Err(ambiguity) = strict::check(request.version(), request.headers()) {
            tracing::debug!(
                target: "postern::http1",
                peer = ?self.info.remote_addr(),
                reason = ambiguity.reason(),
                "ambiguous request refused with 400"
            );
            return ConnFuture::rejected(StatusCode::BAD_REQUEST);
        }
        let mut request = request.map(|body| IncomingBody::new(body, &self.activity));
        if self.shared.insert_connection_info {
            request.extensions_mut().insert(self.info.clone());
        }
        let in_flight = InFlight::start(&self.activity);
        let service = if self.shared.is_current(&self.snapshot) {
            self.snapshot.service.clone()
        } else {
            self.shared.snapshot().service.clone()
        };
        // hyper drops HEAD bodies itself on HTTP/1 only.
        let strip_body =
            request.method() == http::Method::HEAD && request.version() == http::Version::HTTP_2;
        ConnFuture::call(service, request, in_flight, strip_body, &self.info)
    }
}

thread_local! {
    /// The connection whose request is being handed to the service stack
    /// right now, on this thread: how Postern's own layers and `HttpService`
    /// learn the connection without a request extension (which costs three
    /// allocations per request).
    static CURRENT: std::cell::RefCell<Option<ConnectionInfo>> = const { std::cell::RefCell::new(None) };
}

/// The connection of the request being passed to a service by Postern's
/// server on this thread, if any (only during the service's `call`).
pub(crate) fn current_connection() -> Option<ConnectionInfo> {
    CURRENT.with(|current| current.borrow().clone())
}

/// Call `service` with `info` as the current connection.
fn call_in_scope<S: Service<R>, R>(
    service: &mut S,
    request: R,
    info: &ConnectionInfo,
) -> S::Future {
    struct Reset(Option<ConnectionInfo>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|current| *current.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|current| current.borrow_mut().replace(info.clone()));
    let _reset = Reset(previous);
    service.call(request)
}

pin_project! {
    #[project = StateProj]
    enum State<S, R> where S: Service<R> {
        /// Refused before the service: this status, with `connection: close`.
        Rejected { status: StatusCode },
        NotReady { service: S, request: Option<R>, info: ConnectionInfo },
        Called { #[pin] future: S::Future },
    }
}

pin_project! {
    /// Drives one request through the service.
    pub(crate) struct ConnFuture<S, R> where S: Service<R> {
        #[pin]
        state: State<S, R>,
        in_flight: Option<InFlight>,
        // An HTTP/2 HEAD: send the head (with the body's exact length) only.
        strip_body: bool,
    }
}

impl<S: Service<R>, R> ConnFuture<S, R> {
    fn rejected(status: StatusCode) -> Self {
        ConnFuture {
            state: State::Rejected { status },
            in_flight: None,
            strip_body: false,
        }
    }

    fn call(
        mut service: S,
        request: R,
        in_flight: InFlight,
        strip_body: bool,
        info: &ConnectionInfo,
    ) -> Self {
        // Services are nearly always ready: call at once, inside the
        // connection scope. Otherwise wait for readiness in `poll`.
        let mut noop = Context::from_waker(std::task::Waker::noop());
        let state = match service.poll_ready(&mut noop) {
            Poll::Ready(Ok(())) => State::Called {
                future: call_in_scope(&mut service, request, info),
            },
            _ => State::NotReady {
                service,
                request: Some(request),
                info: info.clone(),
            },
        };
        ConnFuture {
            state,
            in_flight: Some(in_flight),
            strip_body,
        }
    }
}

impl<S, R, B> Future for ConnFuture<S, R>
where
    S: Service<R, Response = http::Response<B>>,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes>,
{
    type Output = Result<http::Response<ServerBody<B>>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let result = match this.state.as_mut().project() {
                StateProj::Rejected { status } => {
                    return Poll::Ready(Ok(own_response(*status, true)));
                }
                StateProj::NotReady {
                    service,
                    request,
                    info,
                } => match ready!(service.poll_ready(cx)) {
                    Ok(()) => {
                        let Some(request) = request.take() else {
                            return Poll::Ready(Ok(own_response(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                false,
                            )));
                        };
                        let future = call_in_scope(service, request, info);
                        this.state.set(State::Called { future });
                        continue;
                    }
                    Err(error) => Err(error.into()),
                },
                StateProj::Called { future } => ready!(future.poll(cx)).map_err(Into::into),
            };
            return Poll::Ready(Ok(match result {
                Ok(response) if *this.strip_body => {
                    let (mut parts, body) = response.into_parts();
                    if let Some(length) = body.size_hint().exact() {
                        parts
                            .headers
                            .entry(http::header::CONTENT_LENGTH)
                            .or_insert_with(|| HeaderValue::from(length));
                    }
                    // The body and the request's in-flight mark end here.
                    this.in_flight.take();
                    http::Response::from_parts(parts, ServerBody::own(Bytes::new()))
                }
                Ok(response) => {
                    let (parts, body) = response.into_parts();
                    let body = match this.in_flight.take() {
                        Some(in_flight) => ServerBody::service(body, in_flight),
                        None => {
                            return Poll::Ready(Ok(own_response(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                false,
                            )));
                        }
                    };
                    http::Response::from_parts(parts, body)
                }
                Err(error) => {
                    tracing::error!(target: "postern::request", %error, "service failed: answering 500");
                    own_response(StatusCode::INTERNAL_SERVER_ERROR, false)
                }
            }));
        }
    }
}
