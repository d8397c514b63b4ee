//! HTTP/2 with prior knowledge on plain TCP (h2c): reqwest and hyper
//! clients, request facts from `:authority`, concurrent streams, and the
//! server's own answers (404, 500) framed as HTTP/2.

use std::time::Duration;

use bytes::Bytes;
use http::{StatusCode, Version};
use http_body_util::{BodyExt, Full};

use crate::support::{TestServer, get, h2c, reqwest_client, start, within};

#[tokio::test]
async fn h2c_prior_knowledge_with_reqwest() {
    let (_server, server_addr) = start(TestServer).await;
    let client = reqwest_client(None, &[], |b| b.http2_prior_knowledge());
    let response = within(
        "h2c request",
        client
            .get(format!("http://{server_addr}/info?lang=fr&q=a%26b"))
            .header("x-multi", "1")
            .header("x-multi", "2")
            .send(),
    )
    .await
    .expect("response");
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{:?}",
        response.headers()
    );
    assert!(response.headers().contains_key("date"));
    let facts: serde_json::Value = within("body", response.json()).await.unwrap();
    assert_eq!(facts["version"], "HTTP/2.0");
    assert_eq!(facts["method"], "GET");
    assert_eq!(facts["transport"], "Tcp");
    assert_eq!(facts["scheme"], "http");
    assert_eq!(facts["host"], server_addr.to_string());
    assert_eq!(
        facts["url"],
        format!("http://{server_addr}/info?lang=fr&q=a%26b")
    );
    assert_eq!(
        facts["query"],
        serde_json::json!([["lang", "fr"], ["q", "a&b"]])
    );
    assert_eq!(facts["x_multi"], "1, 2");
    assert_eq!(facts["local"], server_addr.to_string());
    assert_eq!(facts["alpn"], serde_json::Value::Null);
}

#[tokio::test]
async fn h2c_prior_knowledge_with_hyper_posts_a_body() {
    let (_server, addr) = start(TestServer).await;
    let (mut send, _conn) = h2c(addr).await;
    let request = http::Request::post("http://device.test/echo")
        .body(Full::new(Bytes::from_static(b"over h2")))
        .unwrap();
    let response = within("response", send.send_request(request))
        .await
        .unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-method"], "POST");
    assert_eq!(response.headers()["content-length"], "7");
    let body = within("body", response.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&body[..], b"over h2");

    // The URL comes from :authority when there is no Host header.
    let response = within(
        "response",
        send.send_request(get("http://device.test:81/info")),
    )
    .await
    .unwrap();
    let body = within("body", response.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    let facts: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(facts["url"], "http://device.test:81/info");
    assert_eq!(facts["host"], "device.test:81");
}

#[tokio::test]
async fn streams_on_one_connection_run_concurrently() {
    let (_server, addr) = start(TestServer).await;
    let (send, _conn) = h2c(addr).await;
    let mut slow_sender = send.clone();
    let slow = tokio::spawn(async move {
        let response = slow_sender
            .send_request(get("http://a/slow?ms=1500"))
            .await
            .unwrap();
        response.into_body().collect().await.unwrap().to_bytes()
    });
    // Let the slow stream open first.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fast_sender = send.clone();
    let fast = within("a fast stream beside a slow one", async {
        let response = fast_sender
            .send_request(get("http://a/hello"))
            .await
            .unwrap();
        response.into_body().collect().await.unwrap().to_bytes()
    })
    .await;
    assert_eq!(&fast[..], b"hello");
    assert!(
        !slow.is_finished(),
        "the fast stream did not wait for the slow one"
    );
    let slow = within("slow stream", slow).await.unwrap();
    assert_eq!(&slow[..], b"slow 1500");
}

#[tokio::test]
async fn h2c_missing_handler_and_dropped_responder() {
    let (_server, addr) = start(TestServer).await;
    let (mut send, _conn) = h2c(addr).await;

    let response = within("404", send.send_request(get("http://a/nothing/here")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()["content-type"], "application/x-empty");
    // hyper's HTTP/2 server sends no content-length for an empty body (the
    // END_STREAM flag on HEADERS says it all).
    assert_eq!(
        response.headers().get("content-length"),
        None,
        "{:?}",
        response.headers()
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(body.is_empty());

    let response = within("500", send.send_request(get("http://a/drop")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()["content-type"], "application/x-empty");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(body.is_empty());
}

#[tokio::test]
async fn h2c_head_has_no_body() {
    let (_server, addr) = start(TestServer).await;
    let (mut send, _conn) = h2c(addr).await;
    let request = http::Request::head("http://a/hello")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = within("HEAD", send.send_request(request)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-length"], "5");
    assert_eq!(response.headers()["x-test"], "yes");
    // The h2 client resets a HEAD stream that receives DATA (RFC 9113 §8.1:
    // a HEAD response has no content), so this fails when the server sends
    // the body.
    let body = within("body", response.into_body().collect())
        .await
        .expect("a HEAD response without DATA frames")
        .to_bytes();
    assert!(body.is_empty());
}

/// The raw-frame tests' HPACK decoder against RFC 7541's examples (C.4:
/// Huffman-coded requests sharing one dynamic table), so that what it reads
/// off the wire can be trusted.
#[test]
fn the_tests_hpack_decoder_reads_rfc_7541_c4() {
    use crate::support::h2frames::Decoder;
    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
    let fields = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    };
    let mut decoder = Decoder::default();
    let first = decoder
        .decode(&hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"))
        .unwrap();
    assert_eq!(
        first,
        fields(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
        ])
    );
    let second = decoder
        .decode(&hex("8286 84be 5886 a8eb 1064 9cbf"))
        .unwrap();
    assert_eq!(
        second,
        fields(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
            ("cache-control", "no-cache"),
        ])
    );
    let third = decoder
        .decode(&hex(
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        ))
        .unwrap();
    assert_eq!(
        third,
        fields(&[
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/index.html"),
            (":authority", "www.example.com"),
            ("custom-key", "custom-value"),
        ])
    );
}
