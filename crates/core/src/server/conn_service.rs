//! The per-connection hyper service: strictness checks, connection facts,
//! in-flight accounting, then the configured tower service.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::{CONNECTION, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::ServeService;
use super::access::AccessEntry;
use super::activity::{Activity, InFlight};
use super::body::ServerBody;
use super::incoming::IncomingBody;
use super::make::MakeConnService;
use super::shared::{Shared, Snapshot};
use super::strict;
use crate::BoxError;
use crate::ConnectionInfo;
use postern_limits::RefusalReason;
use postern_limits::ResponseBody as LimitsBody;
use postern_limits::stack::LimitsService;

pub(crate) struct ConnService<M: MakeConnService> {
    shared: Arc<Shared<M>>,
    /// The configuration in force when the stack was built; requests use
    /// the stack until the configuration changes, so the hot path takes no
    /// lock.
    snapshot: Arc<Snapshot>,
    stack: LimitsService<M::Service>,
    info: ConnectionInfo,
    activity: Arc<Activity>,
}

impl<M: MakeConnService> ConnService<M> {
    /// The service of the connection `info` describes. Its facts are fixed
    /// here, once, before the stack is built.
    pub(crate) fn new(
        shared: Arc<Shared<M>>,
        snapshot: Arc<Snapshot>,
        info: ConnectionInfo,
        activity: Arc<Activity>,
    ) -> Self {
        let stack = shared.stack(&snapshot, &info);
        ConnService {
            shared,
            snapshot,
            stack,
            info,
            activity,
        }
    }
}

/// The `keep-alive` response field (RFC 9112 appendix C.2.2).
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// Add `connection: keep-alive` and `keep-alive: <value>` to a response
/// that sets no `Connection` of its own (a `keep-alive` it sets is
/// replaced). A response has few fields: one pass over their names costs
/// less than the hashed lookup `entry` makes before its insert.
fn add_keep_alive(headers: &mut HeaderMap, value: HeaderValue) {
    let mut has_keep_alive = false;
    for name in headers.keys() {
        if *name == CONNECTION {
            return;
        }
        has_keep_alive |= *name == KEEP_ALIVE;
    }
    headers.append(CONNECTION, HeaderValue::from_static("keep-alive"));
    if has_keep_alive {
        headers.insert(KEEP_ALIVE, value);
    } else {
        headers.append(KEEP_ALIVE, value);
    }
}

/// A bodiless response of the server's own (see
/// [`empty_response`](postern_limits::empty_response)).
pub(crate) fn own_response<B>(
    status: StatusCode,
    version: http::Version,
    close: bool,
) -> http::Response<ServerBody<B>> {
    postern_limits::empty_response(status, version, close, ServerBody::own(Bytes::new()))
}

impl<M: MakeConnService> hyper::service::Service<http::Request<Incoming>> for ConnService<M> {
    type Response =
        http::Response<ServerBody<LimitsBody<<M::Service as ServeService>::ResponseBody>>>;
    type Error = Infallible;
    type Future = ConnFuture<LimitsService<M::Service>, http::Request<IncomingBody>>;

    // `mut` for the upgrade check only: rebinding the request instead would
    // copy it.
    #[cfg_attr(not(feature = "ws"), allow(unused_mut))]
    fn call(&self, mut request: http::Request<Incoming>) -> Self::Future {
        let access = self.activity.access().entry(&request);
        let head = match strict::check(
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
        ) {
            Ok(head) => head,
            Err(ambiguity) => {
                tracing::debug!(
                    target: "postern::request",
                    peer = ?self.info.remote_addr(),
                    reason = ambiguity.reason(),
                    "ambiguous request refused with 400"
                );
                return ConnFuture::rejected(
                    StatusCode::BAD_REQUEST,
                    request.version(),
                    &self.activity,
                    access,
                );
            }
        };
        // Reconfigured since the connection opened: the new limits and
        // keep-alive time (one lock, only on such a connection).
        let fresh;
        let snapshot = if self.shared.core.is_current(&self.snapshot) {
            &self.snapshot
        } else {
            fresh = self.shared.core.snapshot();
            &fresh
        };
        // Tell HTTP/1.1 clients how long the connection stays open idle, so
        // they close it first instead of racing the server (as Qt does):
        // unless the request asks to close, or leaves a body unread at the
        // response, or is chunked (hyper closes after a request that also
        // had a Content-Length, which it removes before we see the request).
        let keep_alive = (request.version() == http::Version::HTTP_11
            && !head.close
            && !head.chunked)
            .then(|| {
                self.activity
                    .set_body_unread(!http_body::Body::is_end_stream(request.body()));
                snapshot.keep_alive_header.clone()
            });
        // A possible upgrade (the hub decides): how to tie a socket to this
        // connection. The HTTP/1 head check saw any `Upgrade` field already;
        // other heads are looked up.
        #[cfg(feature = "ws")]
        if request.method() == http::Method::CONNECT
            || match request.version() {
                http::Version::HTTP_10 | http::Version::HTTP_11 => head.upgrade,
                _ => request.headers().contains_key(http::header::UPGRADE),
            }
        {
            let source =
                super::UpgradeSource::new(&self.activity, self.shared.core.phase.subscribe());
            request.extensions_mut().insert(source);
        }
        let request = request.map(|body| IncomingBody::new(body, &self.activity));
        let in_flight = InFlight::start(&self.activity);
        let service = if Arc::ptr_eq(snapshot, &self.snapshot) {
            self.stack.clone()
        } else {
            self.shared.stack(snapshot, &self.info)
        };
        // hyper drops HEAD bodies itself on HTTP/1 only.
        let strip_body =
            request.method() == http::Method::HEAD && request.version() == http::Version::HTTP_2;
        // An HTTP/2 CONNECT answered 2xx hands its stream over (an upgrade).
        let upgrade_on_2xx = request.method() == http::Method::CONNECT;
        ConnFuture::call(
            service,
            request,
            in_flight,
            Flags {
                strip_body,
                upgrade_on_2xx,
            },
            keep_alive,
            access,
        )
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, R> where S: Service<R> {
        /// Refused before the service: this status, with `connection: close`.
        Rejected { status: StatusCode, version: http::Version },
        // Boxed: services are nearly always ready at once, and inline the
        // service and the request would make every request's future (and
        // each move of it) as large as they are.
        NotReady { waiting: Box<(S, Option<R>)> },
        Called { #[pin] future: S::Future },
    }
}

pin_project! {
    /// Drives one request through the service.
    pub(crate) struct ConnFuture<S, R> where S: Service<R> {
        #[pin]
        state: State<S, R>,
        in_flight: Option<InFlight>,
        flags: Flags,
        // The `keep-alive` header value for a response that leaves the
        // connection open.
        keep_alive: Option<HeaderValue>,
        // The access log entry (log on only), handed to the response body.
        access: Option<Box<AccessEntry>>,
    }
}

/// What a request asks of its response.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flags {
    /// An HTTP/2 HEAD: send the head (with the body's exact length) only.
    strip_body: bool,
    /// A `CONNECT`: a 2xx answer is an upgrade.
    upgrade_on_2xx: bool,
}

impl<S: Service<R>, R> ConnFuture<S, R> {
    /// Refused as ambiguous (counted here: no request is in flight).
    fn rejected(
        status: StatusCode,
        version: http::Version,
        activity: &Activity,
        mut access: Option<Box<AccessEntry>>,
    ) -> Self {
        let reason = RefusalReason::BadRequest;
        activity.access().counters.refused(reason);
        if let Some(entry) = access.as_mut() {
            entry.answered(status, Some(reason));
        }
        ConnFuture {
            state: State::Rejected { status, version },
            in_flight: None,
            flags: Flags::default(),
            keep_alive: None,
            access,
        }
    }

    #[inline]
    fn call(
        mut service: S,
        request: R,
        in_flight: InFlight,
        flags: Flags,
        keep_alive: Option<HeaderValue>,
        access: Option<Box<AccessEntry>>,
    ) -> Self {
        // Services are nearly always ready: call at once. Otherwise wait for
        // readiness in `poll`.
        let mut noop = Context::from_waker(std::task::Waker::noop());
        let state = match service.poll_ready(&mut noop) {
            Poll::Ready(Ok(())) => State::Called {
                future: service.call(request),
            },
            _ => State::NotReady {
                waiting: Box::new((service, Some(request))),
            },
        };
        ConnFuture {
            state,
            in_flight: Some(in_flight),
            flags,
            keep_alive,
            access,
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
                StateProj::Rejected { status, version } => {
                    let mut response = own_response(*status, *version, true);
                    response.extensions_mut().insert(RefusalReason::BadRequest);
                    response.body_mut().set_access(this.access.take());
                    return Poll::Ready(Ok(response));
                }
                StateProj::NotReady { waiting } => match ready!(waiting.0.poll_ready(cx)) {
                    Ok(()) => {
                        let (service, request) = &mut **waiting;
                        let Some(request) = request.take() else {
                            return Poll::Ready(Ok(own_response(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                http::Version::HTTP_11,
                                false,
                            )));
                        };
                        let future = service.call(request);
                        this.state.set(State::Called { future });
                        continue;
                    }
                    Err(error) => Err(error.into()),
                },
                StateProj::Called { future } => ready!(future.poll(cx)).map_err(Into::into),
            };
            if let Some(in_flight) = this.in_flight.as_ref() {
                let (status, reason) = match &result {
                    Ok(response) => (
                        response.status(),
                        response.extensions().get::<RefusalReason>().copied(),
                    ),
                    Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, None),
                };
                in_flight.activity().access().answered(
                    status,
                    reason,
                    this.flags.upgrade_on_2xx,
                    this.access.as_deref_mut(),
                );
            }
            let mut response = match result {
                Ok(response) if this.flags.strip_body => {
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
                    let (mut parts, body) = response.into_parts();
                    if let Some(keep_alive) = this.keep_alive.take()
                        && this
                            .in_flight
                            .as_ref()
                            .is_some_and(|in_flight| !in_flight.activity().body_unread())
                    {
                        add_keep_alive(&mut parts.headers, keep_alive);
                    }
                    let body = match this.in_flight.take() {
                        Some(in_flight) => ServerBody::service(body, in_flight),
                        None => {
                            return Poll::Ready(Ok(own_response(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                http::Version::HTTP_11,
                                false,
                            )));
                        }
                    };
                    http::Response::from_parts(parts, body)
                }
                Err(error) => {
                    tracing::error!(target: "postern::request", %error, "service failed: answering 500");
                    own_response(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        http::Version::HTTP_11,
                        false,
                    )
                }
            };
            #[cfg(feature = "http1")]
            super::reason::apply_qt_reason(&mut response);
            response.body_mut().set_access(this.access.take());
            return Poll::Ready(Ok(response));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alive_fields_table() {
        type Fields = &'static [(&'static str, &'static str)];
        let cases: &[(Fields, Fields)] = &[
            (
                &[],
                &[("connection", "keep-alive"), ("keep-alive", "timeout=5")],
            ),
            (
                &[("content-type", "text/plain")],
                &[
                    ("content-type", "text/plain"),
                    ("connection", "keep-alive"),
                    ("keep-alive", "timeout=5"),
                ],
            ),
            // The response's own Connection: neither field is added.
            (&[("connection", "close")], &[("connection", "close")]),
            (
                &[("keep-alive", "timeout=1"), ("connection", "upgrade")],
                &[("keep-alive", "timeout=1"), ("connection", "upgrade")],
            ),
            // Its own keep-alive alone is replaced, in its place.
            (
                &[("keep-alive", "timeout=1"), ("content-type", "text/plain")],
                &[
                    ("keep-alive", "timeout=5"),
                    ("content-type", "text/plain"),
                    ("connection", "keep-alive"),
                ],
            ),
            (
                &[("keep-alive", "timeout=1"), ("keep-alive", "max=3")],
                &[("keep-alive", "timeout=5"), ("connection", "keep-alive")],
            ),
        ];
        for (given, expected) in cases {
            let mut headers = HeaderMap::new();
            for (name, value) in *given {
                headers.append(
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                );
            }
            add_keep_alive(&mut headers, HeaderValue::from_static("timeout=5"));
            let got: Vec<(&str, &str)> = headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.to_str().unwrap_or("?")))
                .collect();
            assert_eq!(got, *expected, "{given:?}");
        }
    }
}
