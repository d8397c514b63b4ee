//! Upload floods against the `custom_server` example, run as its own
//! process so that its memory can be read from `/proc`: bodies nobody wants
//! are never held, buffered bodies stay within the server's budget
//! (256 MiB by default) plus a stated overhead, a streamed upload keeps
//! memory flat, and a normal client is served throughout.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::cli::{Running, start};
use crate::support::RawResponse;

const MIB: usize = 1024 * 1024;

/// The example's resident memory in KiB (`VmRSS`).
fn rss_kib(server: &Running) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.0.id()))
        .expect("the example's /proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

fn authority(url: &str) -> String {
    url.strip_prefix("http://")
        .expect("an http:// URL")
        .to_owned()
}

/// A client that sends the head of a `length`-byte POST to `path` and all
/// of the body but its last byte, then holds the connection; its writes
/// stop when the server closes (it need not read what it did not want).
fn hold_body(authority: &str, path: &str, length: usize) -> TcpStream {
    let mut stream = TcpStream::connect(authority).expect("connect");
    stream
        .set_write_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {length}\r\n\r\n"
    )
    .expect("head");
    let block = vec![b'x'; MIB];
    let mut left = length - 1;
    while left > 0 {
        let n = left.min(block.len());
        if stream.write_all(&block[..n]).is_err() {
            break; // refused and closed: the rest is not wanted
        }
        left -= n;
    }
    stream
}

/// The response a held client got, read until the server closed.
fn answer(mut stream: TcpStream) -> RawResponse {
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    RawResponse::parse(&bytes)
}

/// A small POST /echo on its own connection.
fn small_echo(authority: &str) -> RawResponse {
    let mut stream = TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "POST /echo HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 14\r\nConnection: close\r\n\r\na small upload"
    )
    .expect("write");
    answer(stream)
}

/// A normal request on its own connection.
fn hello(authority: &str) -> RawResponse {
    let mut stream = TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET /hello HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    answer(stream)
}

/// 20 clients, each holding a 30 MiB body to `path` (all but its last
/// byte), against a fresh `custom_server`; a normal client checked served
/// during the flood, and the server's memory before and during.
struct Flood {
    _server: Running,
    authority: String,
    held: Vec<TcpStream>,
    before: usize,
    during: usize,
}

impl Flood {
    fn of_20_times_30_mib(path: &'static str) -> Flood {
        let (server, urls) = start("custom_server", &["--port", "0"], 1);
        let authority = authority(&urls[0]);
        assert_eq!(hello(&authority).status, 200);
        let before = rss_kib(&server);
        let clients: Vec<_> = (0..20)
            .map(|_| {
                let authority = authority.clone();
                std::thread::spawn(move || hold_body(&authority, path, 30 * MIB))
            })
            .collect();
        let held = clients
            .into_iter()
            .map(|c| c.join().expect("client"))
            .collect();
        let during = rss_kib(&server);
        assert_eq!(hello(&authority).status, 200, "a normal client is served");
        Flood {
            _server: server,
            authority,
            held,
            before,
            during,
        }
    }
}

/// 20 clients each sending a 30 MiB body to a path that reads none: the
/// server never reads them into memory (it answers 404 and closes).
#[test]
fn bodies_nobody_wants_are_never_held() {
    let flood = Flood::of_20_times_30_mib("/nowhere");
    let (before, during) = (flood.before, flood.during);
    for stream in flood.held {
        let response = answer(stream);
        assert_eq!(
            response.status_line, "HTTP/1.1 404 Not Found",
            "{response:?}"
        );
    }
    let grown = during.saturating_sub(before);
    eprintln!("20 x 30 MiB to a 404 path: {before} KiB before, grew {grown} KiB");
    assert!(
        grown < 5 * 1024,
        "20 x 30 MiB to a 404 path grew the server by {grown} KiB (before {before} KiB)"
    );
}

/// 20 clients each sending a 30 MiB body to a route that buffers it: the
/// budget (256 MiB) holds 7 of them (210 MiB, reserved at their declared
/// length: a body takes at most half of what is free, so 46 MiB stay for
/// small bodies); the other 13 wait their second and get 503 with
/// `retry-after`, while a small upload still gets in.
/// The server's memory stays under the budget plus 48 MiB of overhead.
#[test]
fn buffered_bodies_stay_within_the_budget() {
    let flood = Flood::of_20_times_30_mib("/echo");
    let (authority, before, during) = (&flood.authority, flood.before, flood.during);
    assert_eq!(
        small_echo(authority).text(),
        "a small upload",
        "a small body still finds room"
    );
    // Let the held bodies go without their last byte: their connections
    // close unanswered; the refused ones have their 503 waiting.
    let mut refused = 0;
    for stream in flood.held {
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let response = answer(stream);
        if response.status == 503 {
            assert_eq!(response.header("retry-after"), Some("1"), "{response:?}");
            assert_eq!(response.header("connection"), Some("close"), "{response:?}");
            refused += 1;
        }
    }
    assert_eq!(refused, 13, "7 bodies of 30 MiB take 210 of 256 MiB");
    let grown = during.saturating_sub(before);
    eprintln!("20 x 30 MiB to /echo: {before} KiB before, grew {grown} KiB, {refused} refused");
    assert!(
        grown < (256 + 48) * 1024,
        "buffered bodies grew the server by {grown} KiB (before {before} KiB)"
    );
}

/// A 1 GiB upload read as a stream keeps the server's memory flat.
#[test]
fn a_streamed_gibibyte_keeps_memory_flat() {
    let (server, urls) = start("custom_server", &["--port", "0", "--max-body", "0"], 1);
    let authority = authority(&urls[0]);
    assert_eq!(hello(&authority).status, 200);
    let before = rss_kib(&server);
    let length = 1024 * MIB;
    let mut stream = TcpStream::connect(&authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    write!(
        stream,
        "POST /upload HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .expect("head");
    let block = vec![b'u'; MIB];
    let mut peak = before;
    for i in 0..1024 {
        stream.write_all(&block).expect("body");
        if i % 64 == 0 {
            peak = peak.max(rss_kib(&server));
        }
    }
    let response = answer(stream);
    assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{response:?}");
    assert_eq!(response.text(), "1073741824\n");
    let grown = peak.saturating_sub(before);
    eprintln!("1 GiB streamed: {before} KiB before, peak grew {grown} KiB");
    assert!(
        grown < 16 * 1024,
        "a streamed 1 GiB grew the server by {grown} KiB (before {before} KiB)"
    );
}
