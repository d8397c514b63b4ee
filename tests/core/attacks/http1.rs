//! HTTP/1 attacks over raw TCP: slow bodies, slow readers, slowloris and
//! silence, request smuggling shapes (spec/security.md §2.1), and the
//! keep-alive fields a response promises.

use std::time::{Duration, Instant};

use postern_core::config::MinDataRate;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use super::{Attacked, BIG, SLACK, assert_on_time, bounded, only, timeouts};
use crate::support::h2frames::H2Conn;
use crate::support::{Raw, RawResponse, case, wait_live};

/// Grace of the minimum rates, and the short timeouts.
const SHORT: Duration = Duration::from_millis(300);

/// The minimum request body rate of these tests: 1,000 B/s after [`SHORT`].
const BODY_RATE: MinDataRate = MinDataRate::new(1000, SHORT);

/// Wait `delay`, then check the bystander: the attack is under way by then.
async fn bystander_after(attacked: &Attacked, delay: Duration) {
    tokio::time::sleep(delay).await;
    attacked.assert_bystander_served().await;
}

// ---------------------------------------------------------------------------
// Slow request bodies

/// Send the head of a `POST /echo` with a `total`-byte body (`extra` fields
/// added), then the body, `per_send` bytes every 50 ms, reading meanwhile;
/// stop sending once the server has answered or closed. Returns every byte
/// the server sent until it closed, and the time from the first body byte
/// to the close.
async fn trickle(raw: &mut Raw, total: usize, per_send: usize, extra: &str) -> (Vec<u8>, Duration) {
    raw.send(format!(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {total}\r\n{extra}\r\n"
    ))
    .await;
    let started = Instant::now();
    let mut sent = 0;
    let mut received = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if sent < total && received.is_empty() {
            let n = per_send.min(total - sent);
            let part: Vec<u8> = (sent..sent + n).map(|i| b'a' + (i % 26) as u8).collect();
            // The server may close between two parts: then the rest of the
            // body has nowhere to go, and the read below sees the close.
            if raw.stream().write_all(&part).await.is_ok() {
                sent += n;
            }
        }
        match tokio::time::timeout(Duration::from_millis(50), raw.stream().read(&mut buf)).await {
            Err(_) => {}
            Ok(Ok(0)) => return (received, started.elapsed()),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Ok(Err(error)) => panic!(
                "the connection failed ({error}) instead of closing, after {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no close within 20 s"
        );
    }
}

/// A body trickling at 20 B/s against 1,000 B/s: once the grace is over,
/// exactly `408` in Postern's refusal layout with `connection: close`, then
/// the close; the handler never ran.
#[tokio::test]
async fn a_body_slower_than_the_minimum_rate_gets_408_and_a_close() {
    bounded(async {
        let attacked = Attacked::start(only(|t| t.min_request_body_rate = Some(BODY_RATE))).await;
        let mut raw = Raw::connect(attacked.addr).await;
        // 1 byte every 50 ms: 20 B/s against the 1,000 B/s required.
        let ((received, elapsed), ()) = tokio::join!(
            trickle(&mut raw, 1000, 1, ""),
            bystander_after(&attacked, Duration::from_millis(100)),
        );
        let response = RawResponse::parse(&received);
        assert_eq!(response.status_line, "HTTP/1.1 408 Request Timeout");
        assert_eq!(
            response.headers_but_date(),
            [
                ("connection", "close"),
                ("content-length", "0"),
                ("content-type", "application/x-empty"),
            ]
        );
        assert_eq!(response.header_all("date").len(), 1, "{response:?}");
        assert_on_time(elapsed, SHORT, "the 408 and the close");
        assert_eq!(attacked.calls(), 0, "the handler never ran");
    })
    .await;
}

/// A body at twice the minimum rate, for longer than the grace, is served.
#[tokio::test]
async fn a_body_at_twice_the_minimum_rate_is_served() {
    bounded(async {
        let attacked = Attacked::start(only(|t| t.min_request_body_rate = Some(BODY_RATE))).await;
        let mut raw = Raw::connect(attacked.addr).await;
        // 100 bytes every 50 ms: 2,000 B/s, for about half a second.
        let ((received, _), ()) = tokio::join!(
            trickle(&mut raw, 1000, 100, "Connection: close\r\n"),
            bystander_after(&attacked, Duration::from_millis(100)),
        );
        let response = RawResponse::parse(&received);
        assert_eq!(response.status_line, "HTTP/1.1 200 OK");
        assert_eq!(
            response.headers_but_date(),
            [("connection", "close"), ("content-length", "1000")]
        );
        let expected: Vec<u8> = (0..1000).map(|i| b'a' + (i % 26) as u8).collect();
        assert_eq!(response.body, expected);
        assert_eq!(attacked.calls(), 1);
    })
    .await;
}

// ---------------------------------------------------------------------------
// Slow readers

/// A TCP connection to `addr` whose receive buffer is 4 KiB, so that the
/// server's writes block as soon as the client stops reading.
async fn small_window(addr: std::net::SocketAddr) -> Raw {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .set_recv_buffer_size(4096)
        .expect("small receive buffer");
    Raw::new(socket.connect(addr).await.expect("connect"))
}

/// A client asks for `path` (32 MiB) and reads nothing: the server closes
/// the connection within `bound` + [`SLACK`] of the request (not before
/// 0.9 × `bound`), while a bystander is served. What had been sent by then
/// is the head and part of the body, then the close.
async fn reads_nothing(configuration: postern_core::Configuration, path: &str, bound: Duration) {
    let attacked = Attacked::start(configuration).await;
    let mut raw = small_window(attacked.addr).await;
    raw.send(format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n"))
        .await;
    let started = Instant::now();
    wait_live(&attacked.server, 1).await;
    bystander_after(&attacked, Duration::from_millis(50)).await;
    // The server's closing is seen in its count: the client, reading
    // nothing, would see it only after the bytes already on their way.
    let deadline = started + bound + SLACK;
    while attacked.server.live_connections() != 0 {
        assert!(
            Instant::now() < deadline,
            "{path}: still open {:?} after the request (bound {bound:?})",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= bound.mul_f32(0.9),
        "{path}: closed after {elapsed:?}, before the configured {bound:?}"
    );
    let all = raw.eof().await;
    let (head, body) = RawResponse::parse_head(&all);
    assert_eq!(head.status_line, "HTTP/1.1 200 OK");
    if path == "/big" {
        assert_eq!(head.header("content-length"), Some("33554432"));
        assert!(body.len() < BIG, "{path}: the whole body arrived");
    } else {
        assert_eq!(head.header("transfer-encoding"), Some("chunked"));
        assert!(
            !body.ends_with(b"\r\n0\r\n\r\n"),
            "{path}: the whole body arrived"
        );
    }
}

/// Rates off, write stall 300 ms: a client that takes nothing of a 32 MiB
/// answer, whole or streamed, is cut once the server's writes have been
/// blocked for the write-stall timeout.
#[tokio::test]
async fn a_client_that_reads_nothing_is_cut_at_the_write_stall_timeout() {
    bounded(async {
        for path in ["/big", "/big-chunks"] {
            let _case = case(path);
            reads_nothing(only(|t| t.write_stall = SHORT), path, SHORT).await;
        }
    })
    .await;
}

/// The minimum response rate of these tests: 1 MiB/s after [`SHORT`]
/// (well above what a non-reading client's buffers absorb in the grace).
const RESPONSE_RATE: MinDataRate = MinDataRate::new(1 << 20, SHORT);

/// A streamed body (64 KiB chunks) that the client takes nothing of: past
/// the grace the rate is broken, and the connection is closed.
#[tokio::test]
async fn a_client_that_reads_nothing_of_a_streamed_body_is_cut_by_the_minimum_rate() {
    bounded(reads_nothing(
        only(|t| t.min_response_rate = Some(RESPONSE_RATE)),
        "/big-chunks",
        SHORT,
    ))
    .await;
}

/// The same for a body written whole (`Responder::write`, one frame): the
/// full socket is the response waiting, and only the bytes the socket takes
/// count, so the rate cuts it too.
#[tokio::test]
async fn a_client_that_reads_nothing_of_a_whole_body_is_cut_by_the_minimum_rate() {
    bounded(reads_nothing(
        only(|t| t.min_response_rate = Some(RESPONSE_RATE)),
        "/big",
        SHORT,
    ))
    .await;
}

/// A client reading 32 MiB steadily above the minimum rate, for longer than
/// its grace, gets all of it, whole or streamed.
#[tokio::test]
async fn a_client_reading_slowly_above_the_minimum_rate_gets_everything() {
    bounded(async {
        for path in ["/big", "/big-chunks"] {
            let _case = case(path);
            let attacked =
                Attacked::start(only(|t| t.min_response_rate = Some(RESPONSE_RATE))).await;
            let mut raw = Raw::connect(attacked.addr).await;
            raw.send(format!(
                "GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
            ))
            .await;
            // At most 128 KiB every 5 ms: about 25 MB/s, 25 times the rate,
            // for over a second, well past the grace.
            let started = Instant::now();
            let mut all = Vec::with_capacity(BIG + 1024);
            let mut buf = vec![0u8; 128 * 1024];
            loop {
                let n = raw.stream().read(&mut buf).await.expect("read");
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&buf[..n]);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert!(
                started.elapsed() > SHORT * 2,
                "{path}: read too fast ({:?}) to test the rate",
                started.elapsed()
            );
            let response = RawResponse::parse(&all);
            assert_eq!(response.status_line, "HTTP/1.1 200 OK");
            assert_eq!(response.body.len(), BIG, "{path}: the whole body");
            assert!(response.body.iter().all(|&b| b == b'x'));
            attacked.assert_bystander_served().await;
        }
    })
    .await;
}

/// The minimum response rate of the paced readers below: 8 MiB/s after a
/// second. High, and with a long grace, because the kernel wakes a writer
/// only once a third of the socket's send buffer (autotuned to megabytes on
/// loopback) has drained: the bytes the socket takes come in bursts that
/// lag what the client has read by up to that third.
const PACED_RATE: MinDataRate = MinDataRate::new(8 << 20, Duration::from_secs(1));

/// Ask for `path` (32 MiB) on a connection with a 64 KiB receive buffer and
/// read it at `rate` bytes a second, paced against the clock (a late read
/// catches up, an early one waits), for `read_for` or until the server
/// closes the connection. Returns when the server closed it (its live count
/// fell to 0), or `None` if it was still open after `read_for`.
async fn read_paced(
    attacked: &Attacked,
    path: &str,
    rate: u64,
    read_for: Duration,
) -> Option<Duration> {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .set_recv_buffer_size(64 * 1024)
        .expect("receive buffer");
    let mut raw = Raw::new(socket.connect(attacked.addr).await.expect("connect"));
    raw.send(format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n"))
        .await;
    wait_live(&attacked.server, 1).await;
    let started = Instant::now();
    let mut head = Vec::new();
    let mut read: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while started.elapsed() < read_for {
        if attacked.server.live_connections() == 0 {
            return Some(started.elapsed());
        }
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        let allowed = due.saturating_sub(read).min(buf.len() as u64) as usize;
        if allowed == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
            continue;
        }
        match tokio::time::timeout(
            Duration::from_millis(20),
            raw.stream().read(&mut buf[..allowed]),
        )
        .await
        {
            Err(_) => {}
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => {
                read += n as u64;
                if head.len() < 1024 {
                    head.extend_from_slice(&buf[..n]);
                }
            }
            Ok(Err(error)) => panic!("{path}: the connection failed: {error}"),
        }
    }
    let (head, _) = RawResponse::parse_head(&head);
    assert_eq!(head.status_line, "HTTP/1.1 200 OK", "{path}");
    assert!(read < BIG as u64, "{path}: the whole body was read");
    (attacked.server.live_connections() == 0).then(|| started.elapsed())
}

/// Response bytes count once, when the socket takes them: a client reading
/// at 70% of the minimum response rate is cut once the deficit shows (past
/// the grace, within 4 s), while one reading at 140% of it keeps its
/// connection for 2.5 times the grace. (Counted both when hyper pulled a frame and
/// when the socket took it, the slow reader passed as 140%.)
#[tokio::test]
async fn a_reader_just_below_the_minimum_response_rate_is_cut_and_just_above_is_not() {
    bounded(async {
        let rate = u64::from(PACED_RATE.bytes_per_second);
        for path in ["/big", "/big-chunks"] {
            let _case = case(path);
            let attacked = Attacked::start(only(|t| t.min_response_rate = Some(PACED_RATE))).await;
            let cut = read_paced(&attacked, path, rate * 7 / 10, Duration::from_secs(4)).await;
            let cut = cut.unwrap_or_else(|| panic!("{path}: 70% of the rate was not cut"));
            assert!(
                cut > PACED_RATE.grace,
                "{path}: cut after {cut:?}, within the grace"
            );
            attacked.assert_bystander_served().await;

            let attacked = Attacked::start(only(|t| t.min_response_rate = Some(PACED_RATE))).await;
            let cut = read_paced(&attacked, path, rate * 7 / 5, Duration::from_millis(2500)).await;
            assert_eq!(cut, None, "{path}: 140% of the rate was cut");
            attacked.assert_bystander_served().await;
        }
    })
    .await;
}

// ---------------------------------------------------------------------------
// Slowloris and silence

/// Slowloris: a head trickled a byte every 100 ms, forever. Every byte is
/// activity, but the head must be whole within the request-head timeout
/// (500 ms): closed without a byte on time.
#[tokio::test]
async fn slowloris_a_head_trickled_a_byte_at_a_time_is_closed_without_a_byte() {
    bounded(async {
        const HEAD: Duration = Duration::from_millis(500);
        let attacked = Attacked::start(only(|t| t.request_head = HEAD)).await;
        let mut raw = Raw::connect(attacked.addr).await;
        let slowloris = async {
            let head = b"GET /hello HTTP/1.1\r\nHost: a\r\nX-Slow: ";
            let started = Instant::now();
            let mut buf = [0u8; 1024];
            let mut at = 0;
            loop {
                // One byte every 100 ms: the head, then an endless value.
                let byte = head.get(at).copied().unwrap_or(b'z');
                at += 1;
                let _ = raw.stream().write_all(&[byte]).await;
                match tokio::time::timeout(Duration::from_millis(100), raw.stream().read(&mut buf))
                    .await
                {
                    Err(_) => {}
                    Ok(Ok(0)) => return (started.elapsed(), at),
                    Ok(Ok(n)) => panic!("bytes from the server: {:?}", &buf[..n]),
                    Ok(Err(error)) => panic!("the connection failed ({error}) instead of closing"),
                }
            }
        };
        let ((elapsed, sent), ()) = tokio::join!(
            slowloris,
            bystander_after(&attacked, Duration::from_millis(200))
        );
        assert_on_time(elapsed, HEAD, "slowloris");
        assert!(
            sent < 20,
            "{sent} bytes sent: the head timeout did not fire"
        );
        assert_eq!(attacked.calls(), 0);
    })
    .await;
}

/// A connection that sends nothing is closed without a byte after the
/// first-byte timeout.
#[tokio::test]
async fn a_silent_connection_is_closed_without_a_byte_after_the_first_byte_timeout() {
    bounded(async {
        let attacked = Attacked::start(only(|t| t.first_byte = SHORT)).await;
        let mut raw = Raw::connect(attacked.addr).await;
        let started = Instant::now();
        let (rest, ()) = tokio::join!(
            raw.eof(),
            bystander_after(&attacked, Duration::from_millis(100))
        );
        assert_eq!(rest, b"", "closed without a byte");
        assert_on_time(started.elapsed(), SHORT, "the silent connection");
    })
    .await;
}

// ---------------------------------------------------------------------------
// Request smuggling (spec/security.md §2.1)

/// A request pipelined after each smuggling attempt: it must never be
/// answered (it would be the smuggled request).
const SMUGGLED: &str = "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n";

/// What one attempt comes to.
#[derive(Debug, Clone, Copy)]
enum Then {
    /// hyper's parser refuses the head: exactly `400 Bad Request` with
    /// `connection: close`, `content-length: 0` and `date` (hyper's own
    /// answer, without Postern's `content-type`), then the close.
    HyperRefuses,
    /// Postern refuses it before any handler (an ambiguous head, or a body
    /// that is not valid chunked coding): `400` in Postern's refusal layout
    /// (`content-type: application/x-empty`), then the close.
    PosternRefuses,
    /// Read as chunked (the `Content-Length` ignored) and served once with
    /// this body and `connection: close` (nothing else about the
    /// connection), then the close.
    ServedChunkedThenClosed(&'static str),
}

/// Send `attempt` then [`SMUGGLED`] in one write, and assert `then`: exactly
/// one answer, then the close; no handler call for a refusal, one for a
/// served request; a bystander served meanwhile.
async fn smuggle(attempt: &str, then: Then) {
    let attacked = Attacked::start(postern_core::Configuration::default()).await;
    let mut raw = Raw::connect(attacked.addr).await;
    raw.send(format!("{attempt}{SMUGGLED}")).await;
    attacked.assert_bystander_served().await;
    // `parse` fails on any byte after the one response.
    let response = RawResponse::parse(&raw.eof().await);
    let (status_line, fields, calls): (_, Vec<(&str, &str)>, _) = match then {
        Then::HyperRefuses => (
            "HTTP/1.1 400 Bad Request",
            vec![("connection", "close"), ("content-length", "0")],
            0,
        ),
        Then::PosternRefuses => (
            "HTTP/1.1 400 Bad Request",
            vec![
                ("connection", "close"),
                ("content-length", "0"),
                ("content-type", "application/x-empty"),
            ],
            0,
        ),
        Then::ServedChunkedThenClosed(body) => {
            assert_eq!(response.body, body.as_bytes(), "{response:?}");
            (
                "HTTP/1.1 200 OK",
                vec![("connection", "close"), ("content-length", "4")],
                1,
            )
        }
    };
    assert_eq!(response.status_line, status_line, "{response:?}");
    assert_eq!(response.headers_but_date(), fields, "{response:?}");
    assert_eq!(response.header_all("date").len(), 1, "{response:?}");
    assert_eq!(attacked.calls(), calls, "handler calls");
}

/// One test per row: `name: attempt => outcome`.
macro_rules! smuggling {
    ($($(#[$meta:meta])* $name:ident: $attempt:expr => $then:expr;)*) => {$(
        $(#[$meta])*
        #[tokio::test]
        async fn $name() {
            bounded(smuggle(&$attempt, $then)).await;
        }
    )*};
}

smuggling! {
    // Content-Length
    two_different_content_lengths:
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"
        => Then::HyperRefuses;
    a_content_length_list:
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 4\r\n\r\nabcd" => Then::HyperRefuses;
    a_content_length_with_a_plus_sign:
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd" => Then::HyperRefuses;
    a_negative_content_length:
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n" => Then::HyperRefuses;
    a_content_length_past_u64:
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\nabcd"
        => Then::HyperRefuses;
    // Transfer-Encoding other than exactly chunked
    transfer_encoding_xchunked:
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
        => Then::HyperRefuses;
    transfer_encoding_chunked_then_gzip:
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
        => Then::HyperRefuses;
    transfer_encoding_identity:
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
        => Then::HyperRefuses;
    transfer_encoding_gzip_then_chunked:
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
        => Then::PosternRefuses;
    two_transfer_encoding_fields:
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n\
         4\r\nabcd\r\n0\r\n\r\n"
        => Then::PosternRefuses;
    transfer_encoding_folded_onto_a_continuation_line:
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
        => Then::HyperRefuses;
    transfer_encoding_with_a_space_before_the_colon:
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
        => Then::HyperRefuses;
    http10_with_transfer_encoding:
        "POST /echo HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
        => Then::HyperRefuses;
    // Content-Length with Transfer-Encoding, in both orders
    content_length_then_chunked_is_read_as_chunked_and_closed:
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n\
         4\r\nabcd\r\n0\r\n\r\n"
        => Then::ServedChunkedThenClosed("abcd");
    chunked_then_content_length_is_read_as_chunked_and_closed:
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n\
         4\r\nabcd\r\n0\r\n\r\n"
        => Then::ServedChunkedThenClosed("abcd");
    // Chunked coding
    a_chunk_size_line_ended_by_a_bare_lf:
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\nabcd\r\n0\r\n\r\n"
        => Then::PosternRefuses;
    a_chunk_size_past_u64:
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nabcd\r\n0\r\n\r\n"
        => Then::PosternRefuses;
    a_chunk_size_that_is_not_hex:
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabcd\r\n0\r\n\r\n"
        => Then::PosternRefuses;
    a_chunk_extension_over_16_kib:
        format!(
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;e={}\r\nabcd\r\n0\r\n\r\n",
            "x".repeat(17 * 1024)
        )
        => Then::PosternRefuses;
    // The head's syntax
    an_obs_fold_continuation_line:
        "GET /hello HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n b\r\n\r\n" => Then::HyperRefuses;
    a_nul_in_a_field_value:
        "GET /hello HTTP/1.1\r\nHost: a\r\nX-Nul: a\0b\r\n\r\n" => Then::HyperRefuses;
    a_space_in_a_field_name:
        "GET /hello HTTP/1.1\r\nHost: a\r\nX Space: a\r\n\r\n" => Then::HyperRefuses;
    a_tab_in_a_field_name:
        "GET /hello HTTP/1.1\r\nHost: a\r\nX\tTab: a\r\n\r\n" => Then::HyperRefuses;
    a_control_byte_in_the_target:
        "GET /hel\x01lo HTTP/1.1\r\nHost: a\r\n\r\n" => Then::HyperRefuses;
    // Runs of spaces between the request line's parts are accepted, as Qt
    // accepts them (`http1::runs_of_spaces_in_the_request_line_are_accepted`);
    // any other whitespace there is refused.
    a_tab_in_the_request_line:
        "GET\t/hello HTTP/1.1\r\nHost: a\r\n\r\n" => Then::HyperRefuses;
    a_bare_cr_in_the_head:
        "GET /hello HTTP/1.1\rHost: a\r\n\r\n" => Then::HyperRefuses;
    an_http09_request_line:
        "GET /hello\r\n\r\n" => Then::HyperRefuses;
    an_http20_request_line:
        "GET /hello HTTP/2.0\r\nHost: a\r\n\r\n" => Then::HyperRefuses;
    // Host
    no_host_on_http11:
        "GET /hello HTTP/1.1\r\n\r\n" => Then::PosternRefuses;
    two_host_fields:
        "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" => Then::PosternRefuses;
    two_identical_host_fields:
        "GET /hello HTTP/1.1\r\nHost: a:80\r\nHost: a:80\r\n\r\n" => Then::PosternRefuses;
    a_host_with_a_space:
        "GET /hello HTTP/1.1\r\nHost: a b\r\n\r\n" => Then::PosternRefuses;
    a_host_with_a_path:
        "GET /hello HTTP/1.1\r\nHost: a/b\r\n\r\n" => Then::PosternRefuses;
    a_host_with_a_user:
        "GET /hello HTTP/1.1\r\nHost: user@a\r\n\r\n" => Then::PosternRefuses;
}

/// Bare LF line endings are accepted (httparse is lenient, RFC 9112 §2.2
/// allows it) and read the same way for every request of the connection,
/// so nothing can hide between two requests: both pipelined requests are
/// answered, then the close the second asked for.
#[tokio::test]
async fn bare_lf_line_endings_are_read_consistently() {
    bounded(async {
        let attacked = Attacked::start(postern_core::Configuration::default()).await;
        let mut raw = Raw::connect(attacked.addr).await;
        raw.send(concat!(
            "POST /echo HTTP/1.1\nHost: a\nContent-Length: 4\n\nabcd",
            "GET /hello HTTP/1.1\nHost: a\nConnection: close\n\n",
        ))
        .await;
        let first = raw.response().await;
        assert_eq!(first.status_line, "HTTP/1.1 200 OK");
        assert_eq!(first.body, b"abcd");
        let second = raw.response().await;
        assert_eq!(second.status_line, "HTTP/1.1 200 OK");
        assert_eq!(second.body, b"hello");
        assert_eq!(second.header("connection"), Some("close"));
        assert_eq!(raw.eof().await, b"");
        assert_eq!(attacked.calls(), 2);
    })
    .await;
}

/// An invalid `Host` in the middle of a pipeline: the request before it is
/// served, it gets 400, and the request after it is never read.
#[tokio::test]
async fn a_pipeline_stops_at_an_invalid_host() {
    bounded(async {
        let attacked = Attacked::start(postern_core::Configuration::default()).await;
        let mut raw = Raw::connect(attacked.addr).await;
        raw.send(concat!(
            "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /hello HTTP/1.1\r\nHost: a b\r\n\r\n",
            "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
        ))
        .await;
        let first = raw.response().await;
        assert_eq!(first.status_line, "HTTP/1.1 200 OK");
        assert_eq!(first.body, b"hello");
        let second = RawResponse::parse(&raw.eof().await);
        assert_eq!(second.status_line, "HTTP/1.1 400 Bad Request");
        assert_eq!(
            second.headers_but_date(),
            [
                ("connection", "close"),
                ("content-length", "0"),
                ("content-type", "application/x-empty"),
            ]
        );
        assert_eq!(attacked.calls(), 1, "only the first request ran");
    })
    .await;
}

/// A chunk announcing 2^63 − 1 bytes that never come: not refused up front
/// (hyper reads chunk sizes itself), the body fails once it stalls for the
/// body-idle timeout: 408, then the close, no handler.
#[tokio::test]
async fn an_absurd_chunk_size_that_stalls_gets_408_after_the_body_idle_timeout() {
    bounded(async {
        let attacked = Attacked::start(only(|t| t.body_idle = SHORT)).await;
        let mut raw = Raw::connect(attacked.addr).await;
        raw.send(
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
             7FFFFFFFFFFFFFFF\r\nabcd",
        )
        .await;
        let started = Instant::now();
        attacked.assert_bystander_served().await;
        let response = RawResponse::parse(&raw.eof().await);
        assert_on_time(started.elapsed(), SHORT, "the 408");
        assert_eq!(response.status_line, "HTTP/1.1 408 Request Timeout");
        assert_eq!(
            response.headers_but_date(),
            [
                ("connection", "close"),
                ("content-length", "0"),
                ("content-type", "application/x-empty"),
            ]
        );
        assert_eq!(attacked.calls(), 0);
    })
    .await;
}

// ---------------------------------------------------------------------------
// Keep-alive fields

/// A 200 to an HTTP/1.1 request that leaves the connection open carries
/// exactly `connection: keep-alive` and `keep-alive: timeout=N`, N the
/// keep-alive timeout in whole seconds (rounded down: the client gives up
/// first); with `Connection: close`, `connection: close` and no
/// `keep-alive`.
#[tokio::test]
async fn keep_alive_fields_say_the_configured_timeout_in_whole_seconds() {
    bounded(async {
        for (keep_alive, field) in [
            (Duration::from_secs(15), "timeout=15"),
            (Duration::from_secs(7), "timeout=7"),
            (Duration::from_millis(7_900), "timeout=7"),
        ] {
            let _case = case(format!("{keep_alive:?}"));
            let attacked = Attacked::start(timeouts(|t| t.keep_alive = keep_alive)).await;
            let mut raw = Raw::connect(attacked.addr).await;
            let response = raw
                .roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                .await;
            assert_eq!(response.status_line, "HTTP/1.1 200 OK");
            assert_eq!(
                response.headers_but_date(),
                [
                    ("connection", "keep-alive"),
                    ("content-length", "5"),
                    ("content-type", "text/plain"),
                    ("keep-alive", field),
                ]
            );
            let response = raw
                .roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                .await;
            assert_eq!(response.status_line, "HTTP/1.1 200 OK");
            assert_eq!(
                response.headers_but_date(),
                [
                    ("connection", "close"),
                    ("content-length", "5"),
                    ("content-type", "text/plain"),
                ]
            );
            assert_eq!(raw.eof().await, b"");
        }
    })
    .await;
}

/// HTTP/1.0 responses never carry `keep-alive: timeout` (the field is an
/// HTTP/1.1 courtesy): without keep-alive they say nothing about the
/// connection and close; with `Connection: keep-alive`, hyper's
/// `connection: keep-alive` alone.
#[tokio::test]
async fn http10_responses_carry_no_keep_alive_timeout() {
    bounded(async {
        let attacked = Attacked::start(timeouts(|t| t.keep_alive = Duration::from_secs(7))).await;
        let mut raw = Raw::connect(attacked.addr).await;
        let response = raw
            .roundtrip("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .await;
        assert_eq!(response.status_line, "HTTP/1.0 200 OK");
        assert_eq!(
            response.headers_but_date(),
            [
                ("connection", "keep-alive"),
                ("content-length", "5"),
                ("content-type", "text/plain"),
            ]
        );
        let response = raw.roundtrip("GET /hello HTTP/1.0\r\n\r\n").await;
        assert_eq!(response.status_line, "HTTP/1.0 200 OK");
        assert_eq!(
            response.headers_but_date(),
            [("content-length", "5"), ("content-type", "text/plain")]
        );
        assert_eq!(raw.eof().await, b"");
    })
    .await;
}

/// HTTP/2 responses carry neither field (RFC 9113 §8.2.2 forbids them).
#[tokio::test]
async fn http2_responses_carry_no_connection_fields() {
    bounded(async {
        let attacked = Attacked::start(timeouts(|t| t.keep_alive = Duration::from_secs(7))).await;
        let mut conn = H2Conn::connect(attacked.addr).await;
        conn.handshake(&[]).await;
        let response = conn.request(1, "GET", "/hello", &[], b"").await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.fields_but_date(),
            [("content-length", "5"), ("content-type", "text/plain")]
        );
        assert_eq!(response.body, b"hello");
    })
    .await;
}
