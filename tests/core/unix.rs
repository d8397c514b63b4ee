//! Unix domain socket listeners (in a temp dir): HTTP/1 and h2c served, the
//! connection facts a handler sees, and the listener's reported address.

use std::path::PathBuf;

use bytes::Bytes;
use http::{StatusCode, Version};
use http_body_util::{BodyExt, Full};
use postern_core::{Configuration, HttpService, ListenAddr, Server};
use tokio::net::UnixStream;

use crate::support::{
    Raw, Running, TestServer, get, h1_client, h2_client, serve, temp_dir, within,
};

struct UnixServer {
    server: Running,
    path: PathBuf,
    dir: PathBuf,
}

impl Drop for UnixServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn unix_server() -> UnixServer {
    let dir = temp_dir("unix");
    let path = dir.join("postern.sock");
    let server = serve(
        Configuration::default(),
        |b| b.bind_unix(&path),
        HttpService::new(TestServer),
    )
    .await;
    UnixServer { server, path, dir }
}

async fn connect(path: &PathBuf) -> UnixStream {
    within("connect", UnixStream::connect(path))
        .await
        .expect("connect to the socket")
}

#[tokio::test]
async fn the_listener_reports_its_path() {
    let unix = unix_server().await;
    assert_eq!(
        unix.server.listeners(),
        [ListenAddr::Unix(unix.path.clone())]
    );
    let listener = &unix.server.listeners()[0];
    assert_eq!(listener.port(), None);
    assert_eq!(listener.socket_addr(), None);
    assert_eq!(
        listener.to_string(),
        format!("unix:{}", unix.path.display())
    );
    assert!(unix.server.ports().is_empty());
}

#[tokio::test]
async fn http1_over_a_unix_socket_with_hyper() {
    let unix = unix_server().await;
    let mut send = h1_client(connect(&unix.path).await).await;
    let request = http::Request::post("/info?k=v")
        .header("host", "device.local")
        .body(Full::new(Bytes::from_static(b"hi")))
        .unwrap();
    let response = within("response", send.send_request(request))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_11);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let facts: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        facts,
        serde_json::json!({
            "method": "POST",
            "version": "HTTP/1.1",
            "url": "http://device.local/info?k=v",
            "path": "/info",
            "host": "device.local",
            "query": [["k", "v"]],
            "remote": null,
            "local": null,
            "transport": "Unix",
            "scheme": "http",
            "alpn": null,
            "sni": null,
            "tls_version": null,
            "x_multi": null,
            "body": "hi",
        })
    );
    // A second request on the same connection (HTTP/1.1 needs a Host).
    let mut request = get("/hello");
    request
        .headers_mut()
        .insert("host", http::HeaderValue::from_static("device.local"));
    let response = within("second response", send.send_request(request))
        .await
        .unwrap();
    assert_eq!(response.headers()["x-test"], "yes");
}

#[tokio::test]
async fn h2c_over_a_unix_socket() {
    let unix = unix_server().await;
    let (mut send, _conn) = h2_client(connect(&unix.path).await).await;
    let response = within("response", send.send_request(get("http://local/hello")))
        .await
        .unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hello");
}

#[tokio::test]
async fn raw_http1_over_a_unix_socket_closes_on_request() {
    let unix = unix_server().await;
    let mut raw = Raw::new(connect(&unix.path).await);
    let response = raw
        .roundtrip("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.body, b"hello");
    assert_eq!(raw.eof().await, b"");
}

#[tokio::test]
async fn binding_an_existing_path_fails() {
    let unix = unix_server().await;
    let second = Server::builder()
        .bind_unix(&unix.path)
        .serve(HttpService::new(TestServer))
        .await;
    let error = second.expect_err("the path is taken");
    assert!(
        error.to_string().contains(&*unix.path.to_string_lossy()),
        "the error names the path: {error}"
    );
}
