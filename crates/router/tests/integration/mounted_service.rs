//! `HttpServer::route_service`: what the mounted tower service sees (prefix stripped, raw
//! path kept encoded, query, method, headers, body, connection), its answer streamed as is,
//! 500 for a service error, and rule conditions in front of it.

use std::convert::Infallible;
use std::future::Ready;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use postern_core::{ConnectionInfo, Request, TestRequest, respond};
use postern_router::HttpServer;
use tower_service::Service;

use crate::common::call_with;

/// Always fails, as a service whose disk is gone.
#[derive(Clone)]
struct Failing;

impl Service<http::Request<Full<Bytes>>> for Failing {
    type Response = http::Response<Full<Bytes>>;
    type Error = std::io::Error;
    type Future = Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<Full<Bytes>>) -> Self::Future {
        std::future::ready(Err(std::io::Error::other("disk on fire")))
    }
}

/// Answers with the method, target and `x` header it saw.
#[derive(Clone)]
struct Echo;

impl Service<http::Request<Full<Bytes>>> for Echo {
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Full<Bytes>>) -> Self::Future {
        let (head, _body) = request.into_parts();
        let target = head.uri.to_string();
        let x = head
            .headers
            .get("x")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        std::future::ready(Ok(http::Response::builder()
            .status(StatusCode::ACCEPTED)
            .header("content-type", "text/x-echo")
            .body(Full::new(Bytes::from(format!(
                "{} {target} x={x}",
                head.method
            ))))
            .expect("response")))
    }
}

fn server() -> HttpServer {
    let mut server = HttpServer::new();
    server.route_service("/files/", Echo).unwrap();
    server.route_service("/café/", Echo).unwrap();
    server
        .route_service("/guarded/", Echo)
        .unwrap()
        .when(|request: &Request| !request.decoded_path().contains("secret"));
    server.route_service("/failing/", Failing).unwrap();
    server
}

#[tokio::test]
async fn the_service_sees_the_path_after_the_prefix() {
    let server = server();
    // method, target → status, content type, body
    let table: &[(&str, &str, u16, Option<&str>, &str)] = &[
        (
            "GET",
            "/files/a/b.css?v=2",
            202,
            Some("text/x-echo"),
            "GET /a/b.css?v=2 x=1",
        ),
        ("GET", "/files/", 202, Some("text/x-echo"), "GET / x=1"),
        ("PUT", "/files/up", 202, Some("text/x-echo"), "PUT /up x=1"),
        // Still encoded: a file server decodes once, itself.
        (
            "GET",
            "/files/%2e%2e/x%20y",
            202,
            Some("text/x-echo"),
            "GET /%2e%2e/x%20y x=1",
        ),
        ("GET", "/%66iles/z", 202, Some("text/x-echo"), "GET /z x=1"),
        (
            "GET",
            "/caf%C3%A9/menu",
            202,
            Some("text/x-echo"),
            "GET /menu x=1",
        ),
        // The prefix without its `/`, or outside it: the missing handler.
        ("GET", "/files", 404, Some("application/x-empty"), ""),
        ("GET", "/filesx", 404, Some("application/x-empty"), ""),
        // A failed condition: the missing handler, the service never runs.
        (
            "GET",
            "/guarded/secret.txt",
            404,
            Some("application/x-empty"),
            "",
        ),
        (
            "GET",
            "/guarded/open.txt",
            202,
            Some("text/x-echo"),
            "GET /open.txt x=1",
        ),
        // A service error: 500, empty.
        ("GET", "/failing/x", 500, Some("application/x-empty"), ""),
    ];
    for (method, target, status, content_type, body) in table {
        let answer = call_with(&server, method, target, &[("x", "1")], "").await;
        assert_eq!(
            (
                answer.status.as_u16(),
                answer.header("content-type"),
                answer.body.as_str()
            ),
            (*status, *content_type, *body),
            "{method} {target}"
        );
    }
}

#[tokio::test]
async fn the_service_gets_the_connection() {
    let mut server = HttpServer::new();
    server
        .route_service(
            "/peer/",
            tower_service_fn(|request: http::Request<Full<Bytes>>| {
                let peer = request
                    .extensions()
                    .get::<ConnectionInfo>()
                    .and_then(ConnectionInfo::remote_addr);
                http::Response::new(Full::new(Bytes::from(format!("{peer:?}"))))
            }),
        )
        .unwrap();
    let request = TestRequest::get("/peer/x")
        .peer("192.0.2.9:7000".parse().unwrap())
        .build()
        .unwrap();
    let response = respond(&server, request).await;
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "Some(192.0.2.9:7000)");
}

/// A minimal `service_fn` (the router's tests do not pull in tower's util feature).
fn tower_service_fn<F>(f: F) -> FnService<F> {
    FnService(f)
}

#[derive(Clone)]
struct FnService<F>(F);

impl<F> Service<http::Request<Full<Bytes>>> for FnService<F>
where
    F: Fn(http::Request<Full<Bytes>>) -> http::Response<Full<Bytes>>,
{
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Full<Bytes>>) -> Self::Future {
        std::future::ready(Ok((self.0)(request)))
    }
}
