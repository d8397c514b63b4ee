//! Tower all the way: an axum `Router` served by Postern (reading
//! `ConnectionInfo` from request extensions), a bare `tower::service_fn`, a
//! failing service answered with 500, and an `HttpService` nested in axum.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Extension;
use axum::routing::{get, post};
use bytes::Bytes;
use http::{StatusCode, Version};
use http_body_util::{BodyExt, Full};
use postern_core::{Configuration, ConnectionInfo, HttpService, RequestBody};
use tokio::net::TcpStream;

use crate::support::{
    Raw, Running, TestServer, h2_client, reqwest_client, serve, server_tls, start_service,
    test_cert, within,
};

async fn who(Extension(info): Extension<ConnectionInfo>) -> String {
    let alpn = info
        .tls()
        .and_then(|t| t.alpn.as_deref())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .unwrap_or_else(|| "-".to_owned());
    format!(
        "{:?} {} {} {alpn}",
        info.transport(),
        info.remote_addr().map_or("-".to_owned(), |a| a.to_string()),
        info.local_addr().map_or("-".to_owned(), |a| a.to_string()),
    )
}

async fn echo(body: Bytes) -> (StatusCode, [(&'static str, &'static str); 1], Bytes) {
    (StatusCode::CREATED, [("x-echo", "axum")], body)
}

async fn json() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"served": "by postern"}))
}

fn router() -> axum::Router {
    axum::Router::new()
        .route("/who", get(who))
        .route("/echo", post(echo))
        .route("/json", get(json))
}

async fn serve_router() -> (Running, SocketAddr) {
    start_service(Configuration::default(), router()).await
}

#[tokio::test]
async fn an_axum_router_reads_connection_info_from_extensions() {
    let (_server, addr) = serve_router().await;
    let mut raw = Raw::connect(addr).await;
    let client = raw.local_addr();
    let response = raw.roundtrip("GET /who HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.text(), format!("Tcp {client} {addr} -"));

    let response = raw
        .roundtrip("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody")
        .await;
    assert_eq!(response.status_line, "HTTP/1.1 201 Created");
    assert_eq!(response.header("x-echo"), Some("axum"));
    assert_eq!(response.body, b"body");

    let response = raw.roundtrip("GET /json HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.body, br#"{"served":"by postern"}"#);

    // axum's own fallback answers unknown paths.
    let response = raw.roundtrip("GET /none HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(response.status_line, "HTTP/1.1 404 Not Found");
    assert_eq!(response.body, b"");
}

#[tokio::test]
async fn postern_strictness_applies_in_front_of_axum() {
    let (_server, addr) = serve_router().await;
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip("GET /who HTTP/1.1\r\n\r\n").await;
    assert_eq!(response.status_line, "HTTP/1.1 400 Bad Request");
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(raw.eof().await, b"");
}

#[tokio::test]
async fn an_axum_router_over_h2c() {
    let (_server, addr) = serve_router().await;
    let tcp = within("connect", TcpStream::connect(addr)).await.unwrap();
    let client_addr = tcp.local_addr().unwrap();
    let (mut send, _conn) = h2_client(tcp).await;
    let response = within(
        "response",
        send.send_request(crate::support::get("http://a/who")),
    )
    .await
    .unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        String::from_utf8_lossy(&body),
        format!("Tcp {client_addr} {addr} -")
    );
}

#[tokio::test]
async fn an_axum_router_over_tls_sees_the_tls_facts() {
    let cert = test_cert();
    let tls = server_tls(&cert);
    let server = serve(
        Configuration::default(),
        |b| b.bind_tls("127.0.0.1:0", tls),
        router(),
    )
    .await;
    let addr = server.addr();
    let client = reqwest_client(Some(&cert), &[b"h2"], |b| b.resolve("localhost", addr));
    let response = within(
        "TLS request",
        client
            .get(format!("https://localhost:{}/who", addr.port()))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    let text = response.text().await.unwrap();
    assert!(text.starts_with("Tls 127.0.0.1:"), "{text}");
    assert!(text.ends_with(&format!(" {addr} h2")), "{text}");
}

#[tokio::test]
async fn a_bare_service_fn_is_served() {
    let service = tower::service_fn(|request: http::Request<RequestBody>| async move {
        let (head, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let mut response = http::Response::new(Full::new(Bytes::from(format!(
            "{} {} {}",
            head.method,
            head.uri,
            body.len()
        ))));
        response
            .headers_mut()
            .insert("x-service", http::HeaderValue::from_static("fn"));
        Ok::<_, Infallible>(response)
    });
    let (_server, addr) = start_service(Configuration::default(), service).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("PATCH /thing?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
        .await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.header("x-service"), Some("fn"));
    assert_eq!(response.body, b"PATCH /thing?x=1 3");
}

#[tokio::test]
async fn a_failing_service_is_answered_with_500() {
    let service = tower::service_fn(|_: http::Request<RequestBody>| async {
        Err::<http::Response<Full<Bytes>>, _>(std::io::Error::other("service failed"))
    });
    let (_server, addr) = start_service(Configuration::default(), service).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip("GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(response.status_line, "HTTP/1.1 500 Internal Server Error");
    assert_eq!(response.header("content-type"), Some("application/x-empty"));
    assert_eq!(response.header("content-length"), Some("0"));
    assert_eq!(response.body, b"");
    // The connection survives.
    let again = raw.roundtrip("GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(again.status, 500);
}

#[tokio::test]
async fn an_http_service_nested_in_axum_is_served_by_postern() {
    let app = axum::Router::new()
        .route("/who", get(who))
        .fallback_service(HttpService::new(TestServer));
    let (_server, addr) = start_service(Configuration::default(), app).await;
    let mut raw = Raw::connect(addr).await;
    let client = raw.local_addr();
    let response = raw.roundtrip("GET /who HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(response.text(), format!("Tcp {client} {addr} -"));
    // The AbstractHttpServer behind axum still sees the connection facts.
    let response = raw
        .roundtrip("GET /info?q=1 HTTP/1.1\r\nHost: nested\r\n\r\n")
        .await;
    let facts: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(facts["remote"], client.to_string());
    assert_eq!(facts["url"], "http://nested/info?q=1");
    let response = raw
        .roundtrip("GET /missing HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(response.status, 404);
    assert_eq!(response.header("content-type"), Some("application/x-empty"));
}

#[tokio::test]
async fn an_axum_router_shuts_down_gracefully() {
    let (started, mut started_rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/slow",
        get(move || {
            let _ = started.send(());
            async {
                tokio::time::sleep(Duration::from_millis(600)).await;
                "slow axum"
            }
        }),
    );
    let (server, addr) = start_service(Configuration::default(), app).await;
    let mut raw = Raw::connect(addr).await;
    raw.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n").await;
    within("the handler to start", started_rx.recv())
        .await
        .unwrap();
    let shutdown = tokio::spawn(server.shutdown(Duration::from_secs(8)));
    let response = raw.response().await;
    assert_eq!(response.body, b"slow axum");
    assert_eq!(raw.eof().await, b"");
    let report = within("shutdown", shutdown).await.unwrap();
    assert_eq!((report.cut, report.drained), (0, true));
}
