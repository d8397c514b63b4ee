//! TLS listeners with rcgen certificates: ALPN picks HTTP/2 or HTTP/1.1, and
//! the negotiated ALPN, SNI and version reach the handler through
//! `Request::tls()`.

use std::net::SocketAddr;

use http::{StatusCode, Version};
use http_body_util::BodyExt;
use postern_core::{Configuration, HttpService, ListenAddr, TlsConfig};

use crate::support::{
    Raw, Running, TestCert, TestServer, client_tls, get, h1_client, h2_client, reqwest_client,
    serve, start_tls, temp_dir, test_cert, tls_connect, within,
};

async fn tls_server(cert: &TestCert) -> (Running, SocketAddr) {
    let (server, addr) = start_tls(Configuration::default(), TestServer, cert).await;
    assert_eq!(
        server.listeners(),
        [ListenAddr::Tls(addr)],
        "one TLS listener"
    );
    (server, addr)
}

async fn info_over_reqwest(
    cert: &TestCert,
    alpn: &[&[u8]],
    addr: SocketAddr,
    configure: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
) -> (Version, serde_json::Value) {
    let client = reqwest_client(Some(cert), alpn, |b| {
        configure(b.resolve("localhost", addr))
    });
    let url = format!("https://localhost:{}/info?via=tls", addr.port());
    let response = within("TLS request", client.get(url).send())
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let version = response.version();
    let facts = within("body", response.json()).await.expect("JSON");
    (version, facts)
}

#[tokio::test]
async fn alpn_h2_serves_http2() {
    let cert = test_cert();
    let (_server, addr) = tls_server(&cert).await;
    let (version, facts) = info_over_reqwest(&cert, &[b"h2"], addr, |b| b).await;
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(facts["version"], "HTTP/2.0");
    assert_eq!(facts["alpn"], "h2");
    assert_eq!(facts["sni"], "localhost");
    assert_eq!(facts["scheme"], "https");
    assert_eq!(facts["transport"], "Tls");
    assert_eq!(facts["tls_version"], "TLSv1_3");
    assert_eq!(
        facts["url"],
        format!("https://localhost:{}/info?via=tls", addr.port())
    );
    assert_eq!(facts["local"], addr.to_string());
}

#[tokio::test]
async fn alpn_http11_serves_http1() {
    let cert = test_cert();
    let (_server, addr) = tls_server(&cert).await;
    let (version, facts) = info_over_reqwest(&cert, &[b"http/1.1"], addr, |b| b.http1_only()).await;
    assert_eq!(version, Version::HTTP_11);
    assert_eq!(facts["version"], "HTTP/1.1");
    assert_eq!(facts["alpn"], "http/1.1");
    assert_eq!(facts["sni"], "localhost");
    assert_eq!(facts["scheme"], "https");
    assert_eq!(facts["transport"], "Tls");
}

#[tokio::test]
async fn alpn_h2_with_a_hyper_client_and_the_client_side_view() {
    let cert = test_cert();
    let (_server, addr) = tls_server(&cert).await;
    let tls = tls_connect(addr, client_tls(&cert, &[b"h2", b"http/1.1"]), "localhost").await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut send, _conn) = h2_client(tls).await;
    let response = within(
        "response",
        send.send_request(get("https://localhost/stream")),
    )
    .await
    .unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    let collected = within("body", response.into_body().collect())
        .await
        .unwrap();
    assert_eq!(collected.trailers().unwrap()["x-chunk-count"], "3");
    assert_eq!(
        &collected.to_bytes()[..],
        b"chunk 0\nchunk 1\nchunk 2\ndone\n"
    );
}

#[tokio::test]
async fn no_alpn_falls_back_to_http1_and_no_sni_for_an_ip() {
    let cert = test_cert();
    let (_server, addr) = tls_server(&cert).await;
    // An IP address as server name: rustls sends no SNI.
    let tls = tls_connect(addr, client_tls(&cert, &[]), "127.0.0.1").await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), None);
    let mut raw = Raw::new(tls);
    let response = raw
        .roundtrip("GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    let facts: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(facts["alpn"], serde_json::Value::Null);
    assert_eq!(facts["sni"], serde_json::Value::Null);
    assert_eq!(facts["transport"], "Tls");
    assert_eq!(facts["url"], "https://127.0.0.1/info");
    assert_eq!(raw.eof().await, b"");
}

#[tokio::test]
async fn http1_over_tls_with_a_hyper_client() {
    let cert = test_cert();
    let (_server, addr) = tls_server(&cert).await;
    let tls = tls_connect(addr, client_tls(&cert, &[b"http/1.1"]), "localhost").await;
    let mut send = h1_client(tls).await;
    let request = http::Request::post("/echo")
        .header("host", "localhost")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            b"secret",
        )))
        .unwrap();
    let response = within("response", send.send_request(request))
        .await
        .unwrap();
    assert_eq!(response.version(), Version::HTTP_11);
    assert_eq!(response.headers()["x-method"], "POST");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"secret");
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_is_refused() {
    let cert = test_cert();
    let other = test_cert();
    let (server, addr) = tls_server(&cert).await;
    let connector =
        tokio_rustls::TlsConnector::from(std::sync::Arc::new(client_tls(&other, &[b"h2"])));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let result = within("handshake", connector.connect(name, tcp)).await;
    assert!(result.is_err(), "an untrusted certificate must fail");
    // The server is unharmed.
    let (version, _) = info_over_reqwest(&cert, &[b"h2"], addr, |b| b).await;
    assert_eq!(version, Version::HTTP_2);
    drop(server);
}

#[tokio::test]
async fn tls_config_from_pem_files_and_bad_pem() {
    let cert = test_cert();
    let dir = temp_dir("tls");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, &cert.cert_pem).unwrap();
    std::fs::write(&key_path, &cert.key_pem).unwrap();
    let from_files = TlsConfig::from_pem_files(&cert_path, &key_path).expect("from files");
    assert_eq!(
        from_files.server_config().alpn_protocols,
        [b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    let server = serve(
        Configuration::default(),
        |b| b.bind_tls("127.0.0.1:0", from_files),
        HttpService::new(TestServer),
    )
    .await;
    let addr = server.addr();
    let (version, facts) = info_over_reqwest(&cert, &[b"http/1.1"], addr, |b| b.http1_only()).await;
    assert_eq!(version, Version::HTTP_11);
    assert_eq!(facts["alpn"], "http/1.1");

    assert!(TlsConfig::from_pem(b"not a pem", cert.key_pem.as_bytes()).is_err());
    assert!(TlsConfig::from_pem(cert.cert_pem.as_bytes(), b"").is_err());
    let other = test_cert();
    assert!(
        TlsConfig::from_pem(cert.cert_pem.as_bytes(), other.key_pem.as_bytes()).is_err(),
        "a key that does not match the certificate"
    );
    assert!(TlsConfig::from_pem_files(dir.join("missing.pem"), &key_path).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
