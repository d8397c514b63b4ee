use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Extensions, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{Layer, Service, ServiceExt, service_fn};

use super::*;
use crate::client_ip::PeerAddr;
use crate::config::{ClientIpConfig, IpFilter, Limits, RateLimit, SizeLimits, parse_subnet};
use crate::rejection::header_list;
use crate::size::RequestBody;

type App = LimitsService<
    tower::util::ServiceFn<
        fn(
            Request<RequestBody<Full<Bytes>>>,
        ) -> std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>,
    >,
>;

fn hello(
    _req: Request<RequestBody<Full<Bytes>>>,
) -> std::future::Ready<Result<Response<Full<Bytes>>, Infallible>> {
    std::future::ready(Ok(Response::new(Full::new(Bytes::from_static(b"hello")))))
}

fn app(layer: &LimitsLayer) -> App {
    layer.layer(service_fn(hello as fn(_) -> _))
}

fn request(peer: Option<&str>, path: &str) -> Request<Full<Bytes>> {
    let mut req = Request::get(path).body(Full::new(Bytes::new())).unwrap();
    if let Some(peer) = peer {
        req.extensions_mut()
            .insert(PeerAddr(peer.parse::<SocketAddr>().unwrap()));
    }
    req
}

async fn status(app: &App, req: Request<Full<Bytes>>) -> StatusCode {
    app.clone().oneshot(req).await.unwrap().status()
}

fn limits() -> Limits {
    let mut limits = Limits::disabled();
    limits.ip_filter = IpFilter::default().with_deny([parse_subnet("203.0.113.0/24").unwrap()]);
    limits.rate = RateLimit::default().with_per_second(2);
    limits.sizes = SizeLimits::disabled().with_max_url(Some(10));
    limits
}

#[tokio::test(start_paused = true)]
async fn order_is_filter_then_rate_then_sizes() {
    let app = app(&LimitsLayer::new(&limits()));
    let long = "/0123456789";
    assert_eq!(
        status(&app, request(Some("203.0.113.1:1"), long)).await,
        StatusCode::FORBIDDEN
    );
    // Refused by the filter: not counted by the rate limit.
    assert_eq!(
        status(&app, request(Some("203.0.113.1:1"), long)).await,
        StatusCode::FORBIDDEN
    );

    let client = Some("198.51.100.1:1");
    assert_eq!(status(&app, request(client, "/")).await, StatusCode::OK);
    assert_eq!(
        status(&app, request(client, long)).await,
        StatusCode::URI_TOO_LONG
    );
    // Over the rate: 429 before the size check.
    let response = app.clone().oneshot(request(client, long)).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header_list(response.headers()),
        [
            ("content-type", "application/x-empty"),
            ("content-length", "0"),
            ("retry-after", "1"),
        ]
    );
    assert!(response.into_body().is_rejection());

    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(status(&app, request(client, "/")).await, StatusCode::OK);
}

#[tokio::test]
async fn rejections_have_exact_headers_and_empty_bodies() {
    let app = app(&LimitsLayer::new(&limits()));
    let response = app
        .clone()
        .oneshot(request(Some("203.0.113.1:1"), "/"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header_list(response.headers()),
        [
            ("content-type", "application/x-empty"),
            ("content-length", "0"),
        ]
    );
    assert!(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .is_empty()
    );

    let response = app
        .oneshot(request(Some("198.51.100.1:1"), "/0123456789"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::URI_TOO_LONG);
    assert_eq!(
        header_list(response.headers()),
        [
            ("content-type", "application/x-empty"),
            ("content-length", "0"),
            ("connection", "close"),
        ]
    );
}

#[tokio::test]
async fn missing_peer_is_a_500_not_a_shared_bucket() {
    let app = app(&LimitsLayer::new(&limits()));
    let response = app.oneshot(request(None, "/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        header_list(response.headers()),
        [
            ("content-type", "application/x-empty"),
            ("content-length", "0"),
        ]
    );
}

#[tokio::test]
async fn without_ip_checks_no_peer_is_needed() {
    // Qt's defaults: sizes only, no IP-keyed limit.
    let app = app(&LimitsLayer::new(&Limits::default()));
    assert_eq!(status(&app, request(None, "/")).await, StatusCode::OK);

    let app = self::app(&LimitsLayer::new(&Limits::disabled()));
    let long = format!("/{}", "a".repeat(60_000));
    let response = app.oneshot(request(None, &long)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "hello");
}

#[tokio::test]
async fn custom_peer_accessor() {
    #[derive(Clone)]
    struct Conn(SocketAddr);
    fn accessor(ext: &Extensions) -> Option<SocketAddr> {
        ext.get::<Conn>().map(|c| c.0)
    }
    let layer = LimitsLayer::new(&limits()).with_peer_accessor(accessor);
    let app = app(&layer);
    // PeerAddr is not what this accessor reads.
    assert_eq!(
        status(&app, request(Some("198.51.100.1:1"), "/")).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let mut req = request(None, "/");
    req.extensions_mut()
        .insert(Conn("203.0.113.1:1".parse().unwrap()));
    assert_eq!(status(&app, req).await, StatusCode::FORBIDDEN);

    // reconfigure keeps the accessor.
    let again = app_after_reconfigure(&layer, &Limits::disabled());
    let mut req = request(None, "/");
    req.extensions_mut()
        .insert(Conn("203.0.113.1:1".parse().unwrap()));
    assert_eq!(status(&again, req).await, StatusCode::OK);
}

fn app_after_reconfigure(layer: &LimitsLayer, limits: &Limits) -> App {
    app(&layer.reconfigure(limits).unwrap())
}

#[tokio::test(start_paused = true)]
async fn reconfigure_keeps_rate_state_only_when_rate_is_unchanged() {
    let layer = LimitsLayer::new(&limits());
    let client = Some("198.51.100.1:1");
    let first = app(&layer);
    assert_eq!(status(&first, request(client, "/")).await, StatusCode::OK);
    assert_eq!(status(&first, request(client, "/")).await, StatusCode::OK);
    assert_eq!(
        status(&first, request(client, "/")).await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Only the sizes change: the spent budget carries over.
    let mut changed = limits();
    changed.sizes = SizeLimits::disabled();
    let kept = layer.reconfigure(&changed).unwrap();
    assert!(kept.shares_rate_limiter_with(&layer));
    let second = app(&kept);
    assert_eq!(
        status(&second, request(client, "/")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        status(&second, request(client, "/0123456789")).await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // The rate changes: a new limiter.
    changed.rate = RateLimit::default().with_per_second(5);
    let fresh = layer.reconfigure(&changed).unwrap();
    assert!(!fresh.shares_rate_limiter_with(&layer));
    assert_eq!(
        status(&app(&fresh), request(client, "/")).await,
        StatusCode::OK
    );

    // The old layer is untouched.
    assert_eq!(layer.limits(), &limits());
}

#[tokio::test]
async fn invalid_limits_are_refused() {
    let mut bad = limits();
    bad.rate = bad.rate.with_max_tracked_clients(0);
    assert!(LimitsLayer::try_new(&bad).is_err());
    assert!(LimitsLayer::new(&limits()).reconfigure(&bad).is_err());
}

#[tokio::test(start_paused = true)]
async fn spoofed_forwarded_for_does_not_dodge_the_rate_limit() {
    let mut limits = limits();
    limits.client_ip =
        ClientIpConfig::default().with_trusted_proxies([parse_subnet("10.0.0.0/8").unwrap()]);
    let app = app(&LimitsLayer::new(&limits));
    let spoofed = |n: u8| {
        let mut req = request(Some("198.51.100.1:1"), "/");
        req.headers_mut()
            .insert("x-forwarded-for", format!("192.0.2.{n}").parse().unwrap());
        req
    };
    assert_eq!(status(&app, spoofed(1)).await, StatusCode::OK);
    assert_eq!(status(&app, spoofed(2)).await, StatusCode::OK);
    assert_eq!(
        status(&app, spoofed(3)).await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Through the trusted proxy, each forwarded client has its own budget,
    // and a denied client is refused even behind the proxy.
    let proxied = |client: &str| {
        let mut req = request(Some("10.0.0.1:1"), "/");
        req.headers_mut().insert(
            "x-forwarded-for",
            format!("6.6.6.6, {client}").parse().unwrap(),
        );
        req
    };
    for client in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
        assert_eq!(status(&app, proxied(client)).await, StatusCode::OK);
    }
    assert_eq!(
        status(&app, proxied("203.0.113.7")).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn body_limit_refuses_declared_length_and_limits_the_stream() {
    let mut limits = Limits::disabled();
    limits.sizes = SizeLimits::disabled().with_max_body(Some(3));
    let layer = LimitsLayer::new(&limits);
    let mut app = layer.layer(service_fn(|req: Request<RequestBody<Chunks>>| async move {
        let result = req.into_body().collect().await;
        let status = match result {
            Ok(_) => StatusCode::OK,
            Err(error) if crate::size::is_body_too_large(&*error) => StatusCode::PAYLOAD_TOO_LARGE,
            Err(_) => StatusCode::BAD_REQUEST,
        };
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = status;
        Ok::<_, Infallible>(response)
    }));
    let frames = |left: usize| Chunks { left };
    // Declared too long: refused before the body is read.
    let req = Request::post("/")
        .header("content-length", "4")
        .body(frames(2))
        .unwrap();
    let response = app.ready().await.unwrap().call(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        header_list(response.headers()),
        [
            ("content-type", "application/x-empty"),
            ("content-length", "0"),
            ("connection", "close"),
        ]
    );
    // Undeclared (chunked): the body fails once past the limit.
    let req = Request::post("/").body(frames(2)).unwrap();
    let response = app.ready().await.unwrap().call(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.headers().get("connection").is_none());
    let req = Request::post("/").body(frames(1)).unwrap();
    let response = app.ready().await.unwrap().call(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// A body of unknown length: `left` frames of 2 bytes.
struct Chunks {
    left: usize,
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(b"12")))))
    }
}
