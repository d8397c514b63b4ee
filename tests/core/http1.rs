//! HTTP/1.0 and HTTP/1.1 over raw TCP: keep-alive, pipelining,
//! `Connection: close`, HEAD, `Expect: 100-continue`, the missing handler, a
//! dropped responder, the request facts a handler sees, Qt's reason phrases
//! and its tolerance of runs of spaces in the request line.

use http::{HeaderMap, HeaderValue, StatusCode};
use postern_core::{AbstractHttpServer, Handled, Request, Responder};

use crate::support::{Raw, RawResponse, TestServer, start};

/// An IMF-fixdate as RFC 9110 §5.6.7 writes it: `Sun, 06 Nov 1994 08:49:37 GMT`.
fn assert_http_date(value: &str) {
    let bytes = value.as_bytes();
    assert_eq!(bytes.len(), 29, "date {value:?}");
    assert!(value.ends_with(" GMT"), "date {value:?}");
    assert_eq!(&value[3..5], ", ", "date {value:?}");
    assert!(
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&&value[..3]),
        "date {value:?}"
    );
}

/// A keep-alive `GET /hello` on `raw` gets the whole hello answer: the
/// connection is still in step after what came before.
async fn assert_serves_hello(raw: &mut Raw) {
    let hello = raw
        .roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_hello(&hello, "HTTP/1.1 200 OK");
}

fn assert_hello(response: &RawResponse, status_line: &str) {
    assert_eq!(response.status_line, status_line);
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.header("x-test"), Some("yes"));
    assert_eq!(response.header("content-length"), Some("5"));
    assert_http_date(response.header("date").expect("a date header"));
    assert_eq!(response.body, b"hello");
}

#[tokio::test]
async fn http10_without_keep_alive_is_closed_after_the_response() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip("GET /hello HTTP/1.0\r\n\r\n").await;
    assert_hello(&response, "HTTP/1.0 200 OK");
    assert_eq!(
        response.names(),
        ["content-length", "content-type", "date", "x-test"]
    );
    assert_eq!(raw.eof().await, b"", "nothing after the response, then EOF");
}

#[tokio::test]
async fn http10_with_keep_alive_stays_open_for_a_second_request() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let first = raw
        .roundtrip("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .await;
    assert_hello(&first, "HTTP/1.0 200 OK");
    assert_eq!(first.header("connection"), Some("keep-alive"));

    let second = raw
        .roundtrip("POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\nping")
        .await;
    assert_eq!(second.status_line, "HTTP/1.0 200 OK");
    assert_eq!(second.header("connection"), Some("keep-alive"));
    assert_eq!(second.header("x-method"), Some("POST"));
    assert_eq!(second.body, b"ping");

    // A last request without keep-alive ends the connection.
    let third = raw.roundtrip("GET /hello HTTP/1.0\r\n\r\n").await;
    assert_hello(&third, "HTTP/1.0 200 OK");
    assert_eq!(raw.eof().await, b"");
}

#[tokio::test]
async fn http11_pipelined_requests_are_answered_in_order() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    // Three requests in one write; the first one is slow.
    raw.send(concat!(
        "GET /slow?ms=300 HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
        "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
    ))
    .await;
    let slow = raw.response().await;
    assert_eq!(slow.status_line, "HTTP/1.1 200 OK");
    assert_eq!(slow.body, b"slow 300");
    let echo = raw.response().await;
    assert_eq!(echo.status_line, "HTTP/1.1 200 OK");
    assert_eq!(echo.header("x-method"), Some("POST"));
    assert_eq!(echo.body, b"abc");
    let hello = raw.response().await;
    assert_hello(&hello, "HTTP/1.1 200 OK");

    // Still open: a fourth request on the same connection works.
    assert_serves_hello(&mut raw).await;
}

#[tokio::test]
async fn connection_close_is_honoured() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .await;
    assert_hello(&response, "HTTP/1.1 200 OK");
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(raw.eof().await, b"", "EOF right after the response");
}

#[tokio::test]
async fn head_has_no_body_but_keeps_the_content_length() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    raw.send("HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let head = raw.head_response().await;
    assert_eq!(head.status_line, "HTTP/1.1 200 OK");
    assert_eq!(head.header("content-length"), Some("5"));
    assert_eq!(head.header("content-type"), Some("text/plain"));
    assert_eq!(head.header("x-test"), Some("yes"));
    // Had any body bytes followed the head, this response would not parse.
    assert_serves_hello(&mut raw).await;
}

#[tokio::test]
async fn expect_100_continue_gets_an_interim_response_first() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let interim = raw
        .roundtrip(
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        )
        .await;
    assert_eq!(interim.status_line, "HTTP/1.1 100 Continue");
    assert!(interim.headers.is_empty(), "{:?}", interim.headers);
    let response = raw.roundtrip("hello").await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.header("x-method"), Some("POST"));
    assert_eq!(response.body, b"hello");
}

#[tokio::test]
async fn a_declined_request_gets_the_default_404() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET /nobody/answers/this HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(response.status_line, "HTTP/1.1 404 Not Found");
    assert_eq!(response.header("content-type"), Some("application/x-empty"));
    assert_eq!(response.header("content-length"), Some("0"));
    assert_eq!(
        response.names(),
        [
            "connection",
            "content-length",
            "content-type",
            "date",
            "keep-alive"
        ]
    );
    assert_eq!(response.header("connection"), Some("keep-alive"));
    assert_eq!(response.header("keep-alive"), Some("timeout=15"));
    assert_eq!(response.body, b"");
    // The connection stays usable.
    assert_serves_hello(&mut raw).await;
}

/// Declines everything and answers with its own missing handler.
struct OwnMissingHandler;

impl AbstractHttpServer for OwnMissingHandler {
    async fn handle_request(&self, _: &Request, responder: Responder) -> Handled {
        Handled::No(responder)
    }

    async fn missing_handler(&self, request: &Request, responder: Responder) {
        responder.write_with_mime(
            format!("no route for {}", request.path()),
            "text/plain",
            StatusCode::IM_A_TEAPOT,
        );
    }
}

#[tokio::test]
async fn an_overridden_missing_handler_answers_declined_requests() {
    let (_server, addr) = start(OwnMissingHandler).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip("GET /x HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(response.status_line, "HTTP/1.1 418 I'm a teapot");
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.body, b"no route for /x");
}

#[tokio::test]
async fn a_dropped_responder_answers_500() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip("GET /drop HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(response.status_line, "HTTP/1.1 500 Internal Server Error");
    assert_eq!(response.header("content-type"), Some("application/x-empty"));
    assert_eq!(response.header("content-length"), Some("0"));
    assert_eq!(response.body, b"");
    assert_serves_hello(&mut raw).await;
}

#[tokio::test]
async fn request_facts_reach_the_handler() {
    let (_server, server_addr) = start(TestServer).await;
    let mut raw = Raw::connect(server_addr).await;
    let client_addr = raw.local_addr();
    let response = raw
        .roundtrip(concat!(
            "PUT /info?x=1&y=two+words&z=%C3%A9&flag HTTP/1.1\r\n",
            "Host: device.test:8080\r\n",
            "X-Multi: 1\r\n",
            "x-multi: 2\r\n",
            "Content-Length: 7\r\n",
            "\r\n",
            "payload",
        ))
        .await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.header("content-type"), Some("application/json"));
    let facts: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
    assert_eq!(
        facts,
        serde_json::json!({
            "method": "PUT",
            "version": "HTTP/1.1",
            "url": "http://device.test:8080/info?x=1&y=two+words&z=%C3%A9&flag",
            "path": "/info",
            "host": "device.test:8080",
            "query": [["x", "1"], ["y", "two words"], ["z", "é"], ["flag", ""]],
            "remote": client_addr.to_string(),
            "local": server_addr.to_string(),
            "transport": "Tcp",
            "scheme": "http",
            "alpn": null,
            "sni": null,
            "tls_version": null,
            "x_multi": "1, 2",
            "body": "payload",
        })
    );
}

#[tokio::test]
async fn http10_without_host_gets_the_loopback_url() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip("GET /info?a=b HTTP/1.0\r\n\r\n").await;
    assert_eq!(response.status_line, "HTTP/1.0 200 OK");
    let facts: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
    assert_eq!(facts["url"], "http://127.0.0.1/info?a=b");
    assert_eq!(facts["host"], serde_json::Value::Null);
    assert_eq!(facts["version"], "HTTP/1.0");
}

#[tokio::test]
async fn requests_pipelined_after_connection_close_are_not_answered() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    raw.send(concat!(
        "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n",
    ))
    .await;
    let response = raw.response().await;
    assert_hello(&response, "HTTP/1.1 200 OK");
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(raw.eof().await, b"", "the second request gets nothing");
}

#[tokio::test]
async fn head_of_a_streamed_response_sends_no_chunks() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    raw.send("HEAD /stream HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let head = raw.head_response().await;
    assert_eq!(head.status_line, "HTTP/1.1 200 OK");
    // hyper leaves out what only a chunked body needs (`trailer`,
    // `transfer-encoding`) when it sends none.
    assert_eq!(head.names(), ["connection", "date", "keep-alive"]);
    // No chunk may follow: the next response must parse from its first byte.
    assert_serves_hello(&mut raw).await;
}

#[tokio::test]
async fn http10_keep_alive_with_a_streamed_response_closes_after_it() {
    // HTTP/1.0 has no chunked coding: a body of unknown length ends with the
    // connection, keep-alive or not.
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .await;
    assert_eq!(response.status_line, "HTTP/1.0 200 OK");
    assert_eq!(response.header("transfer-encoding"), None);
    assert_eq!(response.header("content-length"), None);
    // Read to EOF: the server closed the connection to end the body.
    assert_eq!(response.body, b"chunk 0\nchunk 1\nchunk 2\ndone\n");
}

#[tokio::test]
async fn an_absolute_form_target_names_the_authority() {
    // RFC 9112 §3.2.2: with an absolute-form target the server MUST ignore
    // Host and use the target's authority. Postern uses it (rejecting a
    // mismatch with 400 would be allowed too; Postern does not).
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET http://target.test/info?y=1 HTTP/1.1\r\nHost: header.test\r\n\r\n")
        .await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    let facts: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
    assert_eq!(facts["host"], "target.test");
    assert_eq!(facts["url"], "http://target.test/info?y=1");
    assert_eq!(facts["path"], "/info");
}

/// Answers `/status/<code>` with that status and an empty body, and
/// `/body/<code>` with that status and the body `body`.
struct StatusEcho;

impl AbstractHttpServer for StatusEcho {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        let (with_body, code) = match request.path().split_once('/').map(|(_, rest)| rest) {
            Some(rest) if rest.starts_with("status/") => (false, &rest["status/".len()..]),
            Some(rest) if rest.starts_with("body/") => (true, &rest["body/".len()..]),
            _ => return Handled::No(responder),
        };
        let Some(status) = code
            .parse::<u16>()
            .ok()
            .and_then(|code| StatusCode::from_u16(code).ok())
        else {
            return Handled::No(responder);
        };
        if with_body {
            responder.write_with_mime("body", "text/plain", status);
        } else {
            responder.write_status(status);
        }
        Handled::Yes
    }
}

#[tokio::test]
async fn status_lines_carry_qts_reason_phrases() {
    let (_server, addr) = start(StatusEcho).await;
    let mut raw = Raw::connect(addr).await;
    // Qt's wording where hyper's differs, a phrase the two share, and codes
    // outside Qt's table: no phrase (hyper would write `<none>`), keeping
    // the space after the code.
    let cases = [
        (200, "HTTP/1.1 200 OK"),
        (203, "HTTP/1.1 203 Non-Authoritative Information"),
        (226, "HTTP/1.1 226 I'm Used"),
        (413, "HTTP/1.1 413 Request Entity Too Large"),
        (414, "HTTP/1.1 414 Request-URI Too Long"),
        (416, "HTTP/1.1 416 Requested Range Not Satisfiable"),
        (418, "HTTP/1.1 418 I'm a teapot"),
        (599, "HTTP/1.1 599 Network Connect Timeout Error"),
        (299, "HTTP/1.1 299 "),
        (425, "HTTP/1.1 425 "),
    ];
    for (code, status_line) in cases {
        let response = raw
            .roundtrip(&format!("GET /status/{code} HTTP/1.1\r\nHost: a\r\n\r\n"))
            .await;
        assert_eq!(response.status_line, status_line, "{response:?}");
        assert_eq!(response.header("content-length"), Some("0"), "{response:?}");
        assert_eq!(response.body, b"", "{response:?}");
    }
    // HTTP/1.0 gets the same phrases.
    let response = raw
        .roundtrip("GET /status/414 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .await;
    assert_eq!(response.status_line, "HTTP/1.0 414 Request-URI Too Long");
}

#[tokio::test]
async fn runs_of_spaces_in_the_request_line_are_accepted() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let hello = raw
        .roundtrip("GET   /hello  HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_hello(&hello, "HTTP/1.1 200 OK");
    // The connection carries on (a tab instead is refused: see `attacks`).
    assert_serves_hello(&mut raw).await;
}

#[tokio::test]
async fn a_connect_answered_2xx_opens_a_tunnel_without_a_body() {
    // Qt would send `hello` and carry on; HTTP makes a 2xx to CONNECT the
    // start of a tunnel, which nothing here takes, so the connection ends.
    // (The target is authority-form: a CONNECT to a path is refused with
    // 400, see `attacks`.)
    struct ConnectOk;
    impl AbstractHttpServer for ConnectOk {
        async fn handle_request(&self, _: &Request, responder: Responder) -> Handled {
            let mut headers = HeaderMap::new();
            headers.insert("x-test", HeaderValue::from_static("yes"));
            responder.write("hello", headers, StatusCode::OK);
            Handled::Yes
        }
    }
    let (_server, addr) = start(ConnectOk).await;
    let mut raw = Raw::connect(addr).await;
    raw.send("CONNECT a:80 HTTP/1.1\r\nHost: a:80\r\n\r\n")
        .await;
    let bytes = raw.eof().await;
    let (response, rest) = RawResponse::parse_head(&bytes);
    assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{response:?}");
    assert_eq!(response.header("content-length"), None, "{response:?}");
    assert_eq!(response.header("x-test"), Some("yes"), "{response:?}");
    assert_eq!(rest, b"", "no body");
}

#[tokio::test]
async fn no_content_and_not_modified_carry_no_length_and_no_body() {
    // Qt sends `content-length: 0` (or the body's length) and the body given.
    let (_server, addr) = start(StatusEcho).await;
    let mut raw = Raw::connect(addr).await;
    for (path, status_line) in [
        ("/body/204", "HTTP/1.1 204 No Content"),
        ("/body/304", "HTTP/1.1 304 Not Modified"),
        ("/status/204", "HTTP/1.1 204 No Content"),
    ] {
        raw.send(format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n"))
            .await;
        let response = raw.head_response().await;
        assert_eq!(response.status_line, status_line, "{response:?}");
        assert_eq!(response.header("content-length"), None, "{response:?}");
        assert_eq!(response.header("connection"), Some("keep-alive"));
    }
    // Nothing was sent after those heads: the next bytes are the next answer.
    let next = raw
        .roundtrip("GET /body/200 HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(next.status_line, "HTTP/1.1 200 OK", "{next:?}");
    assert_eq!(next.body, b"body");
}
