//! How request bodies are read, over real sockets: a server's body policy
//! (buffer, stream, discard), the budget for buffered bodies (503 when it
//! stays full, visible in the server's stats) and the body limit on a
//! streamed body.

use std::time::Duration;

use http::StatusCode;
use postern_core::{AbstractHttpServer, BodyPolicy, Configuration, Handled, Request, Responder};

use crate::support::{Raw, start_with, within};

/// `/buffer` reads bodies whole and answers their length, `/stream` counts
/// them chunk by chunk (413/408/400 on a failed body), anything else
/// discards the body and answers the length it saw (always 0).
struct Bodies;

impl AbstractHttpServer for Bodies {
    fn body_policy(&self, request: &Request) -> BodyPolicy {
        match request.path() {
            "/buffer" => BodyPolicy::Buffer,
            "/stream" => BodyPolicy::Stream,
            _ => BodyPolicy::Discard,
        }
    }

    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        let length = match request.body_stream() {
            None => request.body().len() as u64,
            Some(mut body) => {
                let mut length = 0;
                while let Some(chunk) = body.chunk().await {
                    match chunk {
                        Ok(chunk) => length += chunk.len() as u64,
                        Err(error) if error.is_too_large() => {
                            responder.write_status(StatusCode::PAYLOAD_TOO_LARGE);
                            return Handled::Yes;
                        }
                        Err(_) => {
                            responder.write_status(StatusCode::BAD_REQUEST);
                            return Handled::Yes;
                        }
                    }
                }
                length
            }
        };
        responder.write_with_mime(length.to_string(), "text/plain", StatusCode::OK);
        Handled::Yes
    }
}

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn each_policy_reads_the_body_its_way() {
    let (_server, addr) = start_with(Configuration::default(), Bodies).await;
    let mut raw = Raw::connect(addr).await;
    for (path, answer) in [("/buffer", "5"), ("/stream", "5"), ("/discard", "0")] {
        let response = raw.roundtrip(post(path, "hello")).await;
        assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{path}");
        assert_eq!(response.text(), answer, "{path}");
    }
    // The discarded body was skipped: the connection carries on.
    let response = raw.roundtrip(post("/buffer", "again")).await;
    assert_eq!(response.text(), "5");
}

#[tokio::test]
async fn a_streamed_body_past_the_body_limit_fails_mid_stream() {
    let mut config = Configuration::default();
    config.limits.sizes.max_body = Some(10);
    let (_server, addr) = start_with(config, Bodies).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip(
            "POST /stream HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
             6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n",
        )
        .await;
    assert_eq!(
        response.status_line,
        "HTTP/1.1 413 Request Entity Too Large"
    );
}

/// One body holds the whole budget; another waits its 200 ms and gets 503;
/// the stats show what is held; once the first is done, bodies get in again.
#[tokio::test]
async fn a_full_budget_answers_503_after_its_wait() {
    let mut config = Configuration::default();
    config.max_buffered_body_bytes = Some(1000);
    config.buffered_body_wait = Duration::from_millis(200);
    let (server, addr) = start_with(config, Bodies).await;

    let mut holder = Raw::connect(addr).await;
    holder
        .send(format!(
            "POST /buffer HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n{}",
            "x".repeat(500)
        ))
        .await;
    within("the body's reservation", async {
        while server.server().stats().buffered_body_bytes != 1000 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;

    let mut refused = Raw::connect(addr).await;
    let response = refused.roundtrip(post("/buffer", "0123456789")).await;
    assert_eq!(response.status_line, "HTTP/1.1 503 Service Unavailable");
    assert_eq!(
        response.headers_but_date(),
        [
            ("connection", "close"),
            ("content-length", "0"),
            ("content-type", "application/x-empty"),
            ("retry-after", "1"),
        ]
    );
    assert_eq!(refused.eof().await, b"");

    // Bodies not buffered are not held back by the budget.
    let mut streamed = Raw::connect(addr).await;
    let response = streamed.roundtrip(post("/stream", "0123456789")).await;
    assert_eq!(response.text(), "10");

    holder.send("y".repeat(500)).await;
    let response = holder.response().await;
    assert_eq!(response.text(), "1000");
    within("the budget given back", async {
        while server.server().stats().buffered_body_bytes != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let response = holder.roundtrip(post("/buffer", "0123456789")).await;
    assert_eq!(response.text(), "10");
}
