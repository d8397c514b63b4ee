//! Which requests have their body read: buffered only for a rule whose
//! handler takes the request, read and dropped for a handler without a
//! `Request` argument, left unread for a missing route or a 405.

use bytes::Bytes;
use http_body_util::Empty;
use postern_core::{AbstractHttpServer, BodyPolicy, Method, Request, Responder};
use postern_router::HttpServer;

fn server() -> HttpServer {
    let mut server = HttpServer::new();
    server
        .route_with_methods("/plain", Method::Post, || "no request")
        .unwrap();
    server
        .route_with_methods("/by-ref", Method::Post, |request: &Request| {
            request.body().len().to_string()
        })
        .unwrap();
    server
        .route_with_methods("/owned/", Method::Post, |id: u32, request: Request| {
            format!("{id} {}", request.body().len())
        })
        .unwrap();
    server
        .route_with_methods("/responder", Method::Post, |responder: Responder| {
            responder.write_status(http::StatusCode::ACCEPTED);
        })
        .unwrap();
    server
        .route_with_methods(
            "/both",
            Method::Put,
            |responder: Responder, request: &Request| {
                responder.write_status(if request.body().is_empty() {
                    http::StatusCode::NO_CONTENT
                } else {
                    http::StatusCode::OK
                });
            },
        )
        .unwrap();
    server
        .route("/get", |request: &Request| request.path().to_owned())
        .unwrap();
    server
        .route_with_methods("/upload", Method::Put, |request: Request| async move {
            let mut body = request.body_stream().expect("streamed");
            let mut bytes = 0;
            while let Some(Ok(chunk)) = body.chunk().await {
                bytes += chunk.len();
            }
            bytes.to_string()
        })
        .unwrap()
        .stream_body();
    server
}

fn head(method: &str, uri: &str) -> Request {
    let (head, _) = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(Empty::<Bytes>::new())
        .unwrap()
        .into_parts();
    Request::from_parts(head, Bytes::new())
}

#[test]
fn body_policy_table() {
    let server = server();
    let cases = [
        ("POST", "/plain", BodyPolicy::Discard),
        ("POST", "/by-ref", BodyPolicy::Buffer),
        ("POST", "/owned/7", BodyPolicy::Buffer),
        ("POST", "/owned/x", BodyPolicy::Ignore), // the capture does not convert: 404
        ("POST", "/responder", BodyPolicy::Discard),
        ("PUT", "/both", BodyPolicy::Buffer),
        ("POST", "/both", BodyPolicy::Ignore), // wrong method: 404 (or 405)
        ("POST", "/nowhere", BodyPolicy::Ignore),
        ("GET", "/get", BodyPolicy::Buffer),
        ("HEAD", "/get", BodyPolicy::Buffer), // answered by the GET route
        ("PUT", "/upload", BodyPolicy::Stream),
    ];
    for (method, uri, expected) in cases {
        assert_eq!(
            server.body_policy(&head(method, uri)),
            expected,
            "{method} {uri}"
        );
    }
}

/// A streamed upload through `respond`, the way a connection calls it.
#[tokio::test]
async fn a_rule_marked_stream_body_reads_it_chunk_by_chunk() {
    let server = server();
    let request = http::Request::put("/upload")
        .body(http_body_util::Full::new(Bytes::from(vec![7u8; 100_000])))
        .unwrap();
    let response = postern_core::respond(&server, request).await;
    assert_eq!(response.status(), http::StatusCode::OK);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(body, "100000");
}
