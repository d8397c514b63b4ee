//! Every example server, run as the binary a user runs: `--port 0` picks a
//! free port, one `listening on <url>` line per listener is printed once it
//! accepts connections, and the first listener answers a request.
//!
//! The binaries are those `cargo build --examples` (the first part of
//! README's test command) puts next to this test's directory; `cargo test`
//! alone builds examples as test harnesses, not as the servers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::RawResponse;

/// Kills the example when the test ends, passed or not.
pub(super) struct Running(pub(super) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn example_binary(name: &str) -> PathBuf {
    let test = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test> → target/<profile>/examples/<name>
    let dir = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .join("examples");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the examples first (`cargo build --examples`, as README's test command does)",
        path.display()
    );
    path
}

/// Start `name` with `args`; returns the process and the URLs it printed
/// (reading until `listeners` lines came).
pub(super) fn start(name: &str, args: &[&str], listeners: usize) -> (Running, Vec<String>) {
    let mut child = Command::new(example_binary(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the example starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let running = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut urls = Vec::new();
    while urls.len() < listeners {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{name}: no `listening on` line within 30 s"));
        if let Some(url) = line.strip_prefix("listening on ") {
            urls.push(url.to_owned());
        }
    }
    (running, urls)
}

/// One HTTP/1.1 GET to `http://host:port` + `path` with `Connection:
/// close`; the answer, read until the example closes the connection.
fn get(url: &str, path: &str) -> RawResponse {
    let authority = url.strip_prefix("http://").expect("an http:// URL");
    let mut stream = TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    RawResponse::parse(&answer)
}

fn assert_answer(answer: &RawResponse, status_line: &str, body: &str) {
    assert_eq!(answer.status_line, status_line, "{answer:?}");
    assert_eq!(answer.text(), body, "{answer:?}");
}

#[test]
fn custom_server() {
    let (_server, urls) = start("custom_server", &["--port", "0"], 1);
    assert!(urls[0].starts_with("http://127.0.0.1:"), "{urls:?}");
    assert_answer(
        &get(&urls[0], "/hello"),
        "HTTP/1.1 200 OK",
        "Hello from a custom server\n",
    );
    assert_answer(&get(&urls[0], "/nothing"), "HTTP/1.1 404 Not Found", "");
}

#[test]
fn simple_prints_an_http_and_an_https_listener() {
    let (_server, urls) = start("simple", &["--port", "0"], 2);
    assert!(urls[0].starts_with("http://127.0.0.1:"), "{urls:?}");
    assert!(urls[1].starts_with("https://127.0.0.1:"), "{urls:?}");
    assert_answer(&get(&urls[0], "/"), "HTTP/1.1 200 OK", "Hello world");
}

#[test]
fn colorpalette() {
    let (_server, urls) = start("colorpalette", &["--port", "0"], 1);
    let answer = get(&urls[0], "/api/unknown/1");
    assert_eq!(answer.status_line, "HTTP/1.1 200 OK", "{answer:?}");
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{answer:?}"
    );
}

#[test]
fn axum_limits() {
    let (_server, urls) = start("axum_limits", &["--port", "0"], 1);
    let answer = get(&urls[0], &format!("/{}", "a".repeat(100_000)));
    assert_answer(&answer, "HTTP/1.1 414 URI Too Long", "");
}

#[test]
fn bench_peer() {
    let (_server, urls) = start("bench_peer", &["--port", "0"], 1);
    assert_answer(&get(&urls[0], "/"), "HTTP/1.1 200 OK", "Hello, World!");
    assert_answer(&get(&urls[0], "/user/42"), "HTTP/1.1 200 OK", "user 42");
}

/// One HTTP/1.1 POST of a URL-encoded `form` to `path`, as `get` does it.
fn post_form(url: &str, path: &str, form: &str) -> RawResponse {
    let authority = url.strip_prefix("http://").expect("an http:// URL");
    let mut stream = TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
    .expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    RawResponse::parse(&answer)
}

#[test]
fn device() {
    let (_server, urls) = start("device", &["--port", "0"], 1);
    assert!(urls[0].starts_with("http://127.0.0.1:"), "{urls:?}");
    let page = get(&urls[0], "/");
    assert_eq!(page.status_line, "HTTP/1.1 200 OK", "{page:?}");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{page:?}"
    );
    assert!(page.text().contains("Hello"), "{page:?}");
    let status = get(&urls[0], "/status");
    assert_eq!(status.status_line, "HTTP/1.1 200 OK", "{status:?}");
    assert_eq!(status.header("content-type"), Some("application/json"));
    assert!(
        status
            .text()
            .starts_with(r#"{"name":"device","interval":60,"uptime":"#),
        "{status:?}"
    );
    assert_answer(
        &post_form(&urls[0], "/config", "name=porch+%22light%22&interval=30"),
        "HTTP/1.1 200 OK",
        "name=porch \"light\"\ninterval=30\n",
    );
    assert!(
        get(&urls[0], "/status")
            .text()
            .starts_with(r#"{"name":"porch \"light\"","interval":30,"uptime":"#),
    );
    // A bad field sets nothing, not even the good one before it.
    assert_answer(
        &post_form(&urls[0], "/config", "name=attic&interval=0"),
        "HTTP/1.1 400 Bad Request",
        "interval: a whole number of seconds, 1 to 3600\n",
    );
    assert_answer(
        &post_form(&urls[0], "/config", "colour=red"),
        "HTTP/1.1 400 Bad Request",
        "unknown setting: colour\n",
    );
    assert!(
        get(&urls[0], "/status")
            .text()
            .starts_with(r#"{"name":"porch \"light\"","interval":30,"#),
    );
    assert_answer(&get(&urls[0], "/config"), "HTTP/1.1 404 Not Found", "");
}

#[test]
fn websocket_echo_prints_an_http_and_an_https_listener() {
    let (_server, urls) = start("websocket_echo", &["--port", "0"], 2);
    assert!(urls[0].starts_with("http://127.0.0.1:"), "{urls:?}");
    assert!(urls[1].starts_with("https://127.0.0.1:"), "{urls:?}");
    assert_answer(
        &get(&urls[0], "/"),
        "HTTP/1.1 200 OK",
        "WebSocket echo server",
    );
}

#[test]
fn a_bad_port_is_one_plain_error() {
    for name in [
        "custom_server",
        "simple",
        "colorpalette",
        "axum_limits",
        "websocket_echo",
        "device",
    ] {
        let output = Command::new(example_binary(name))
            .args(["--port", "not-a-port"])
            .output()
            .expect("the example runs");
        assert!(!output.status.success(), "{name} accepted a bad port");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("port"), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name} panicked: {stderr}");
    }
}
