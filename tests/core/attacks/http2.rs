//! HTTP/2 attacks in raw frames over h2c: a client that never opens its
//! windows, slow request bodies, rapid reset, CONTINUATION and HPACK bombs,
//! PING and SETTINGS floods (spec/security.md §2.3).

use std::time::{Duration, Instant};

use postern_core::Configuration;
use postern_core::config::MinDataRate;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{Attacked, assert_on_time, bounded, only};
use crate::support::h2frames::*;
use crate::support::within;

/// Grace of the minimum rates of these tests.
const GRACE: Duration = Duration::from_millis(300);

/// hyper's connection-level WINDOW_UPDATE after its SETTINGS: the
/// connection window from 65,535 to Postern's 1 MiB.
const CONNECTION_WINDOW_UPDATE: u32 = (1 << 20) - 65_535;

/// The descriptions of `frames`, for assertion messages.
fn show(frames: &[Frame]) -> Vec<String> {
    frames.iter().map(Frame::describe).collect()
}

/// Split `frames` (read after [`H2Conn::handshake`]) into the server's
/// housekeeping after its SETTINGS (the acknowledgement of ours and the
/// connection window's WINDOW_UPDATE, in whichever order) and the rest.
/// Fails unless that housekeeping is there exactly once each.
fn without_housekeeping(frames: &[Frame]) -> Vec<Frame> {
    let ack = frames
        .iter()
        .position(|f| *f == Frame::settings_ack())
        .unwrap_or_else(|| panic!("no SETTINGS ACK in {:?}", show(frames)));
    let update = frames
        .iter()
        .position(|f| *f == Frame::window_update(0, CONNECTION_WINDOW_UPDATE))
        .unwrap_or_else(|| panic!("no connection WINDOW_UPDATE in {:?}", show(frames)));
    frames
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != ack && *i != update)
        .map(|(_, f)| f.clone())
        .collect()
}

/// An h2c connection to `addr`, handshaken (no settings of ours).
async fn h2c(addr: std::net::SocketAddr) -> H2Conn {
    let mut conn = H2Conn::connect(addr).await;
    conn.handshake(&[]).await;
    conn
}

// ---------------------------------------------------------------------------
// A client that never opens its windows

/// Four 1 MiB echoes whose responses the client never lets through (it
/// keeps the default 65,535-byte windows and sends no WINDOW_UPDATE): once
/// the responses have waited past the grace, GOAWAY(NO_ERROR) and the
/// close. Before the minimum response rate the connection was held forever.
#[tokio::test]
async fn a_client_that_never_opens_its_windows_gets_goaway_and_a_close() {
    bounded(async {
        const BODY: usize = 1 << 20;
        let attacked = Attacked::start(only(|t| {
            t.min_response_rate = Some(MinDataRate::new(1000, GRACE));
        }))
        .await;
        let mut conn = H2Conn::connect(attacked.addr).await;
        conn.refill_windows = false;
        conn.auto_ack = false;
        let hello = conn
            .handshake(&[(SETTINGS_INITIAL_WINDOW_SIZE, 65_535)])
            .await;
        assert_eq!(show(&hello), ["SETTINGS(stream 0, flags 0x0, 24 bytes)"]);
        let body = vec![b'b'; BODY];
        let length = BODY.to_string();
        let streams = [1, 3, 5, 7];
        for stream in streams {
            let block = request_block("POST", "/echo", &[("content-length", &length)]);
            conn.send_headers(stream, &block, false).await;
        }
        // Honouring the server's windows, as it reads the bodies.
        let bodies: Vec<(u32, &[u8])> = streams.iter().map(|&s| (s, &body[..])).collect();
        conn.send_bodies(&bodies).await;
        let sent = Instant::now();
        let ((), _) = tokio::join!(attacked.assert_bystander_served(), conn.frames_to_eof());
        assert_on_time(sent.elapsed(), GRACE, "GOAWAY and the close");

        // Everything the server sent after its SETTINGS, but the WINDOW_UPDATEs
        // that opened our uploads.
        let frames: Vec<Frame> = conn.seen[1..]
            .iter()
            .filter(|f| f.kind != WINDOW_UPDATE)
            .cloned()
            .collect();
        let (last, rest) = frames.split_last().expect("frames");
        let (goaway, rest) = rest.split_last().expect("frames");
        assert_eq!(rest[0], Frame::settings_ack(), "{:?}", show(&frames));
        assert_eq!(
            *goaway,
            Frame::new(GOAWAY, 0, 0, [0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]),
            "GOAWAY(last stream 2^31-1, NO_ERROR): {:?}",
            show(&frames)
        );
        assert_eq!(
            last.kind,
            PING,
            "the graceful GOAWAY's PING: {:?}",
            show(&frames)
        );
        assert_eq!(last.flags, 0);
        // Between them: each stream's 200 head, and exactly one window's worth
        // of response data, none of it ending a stream.
        let mut heads: Vec<u32> = rest[1..]
            .iter()
            .filter(|f| f.kind == HEADERS)
            .map(|f| f.stream)
            .collect();
        heads.sort_unstable();
        assert_eq!(heads, streams, "{:?}", show(&frames));
        assert!(
            rest[1..]
                .iter()
                .all(|f| f.kind == HEADERS && f.flags == END_HEADERS
                    || f.kind == DATA && f.flags == 0 && f.payload.iter().all(|&b| b == b'b')),
            "{:?}",
            show(&frames)
        );
        let data: usize = rest
            .iter()
            .filter(|f| f.kind == DATA)
            .map(|f| f.payload.len())
            .sum();
        assert_eq!(data, 65_535, "the connection window, and not a byte more");
        let responses = conn.responses();
        for stream in streams {
            let response = &responses[&stream];
            assert_eq!(response.status(), 200);
            assert_eq!(response.fields_but_date(), [("content-length", "1048576")]);
            assert!(!response.ended && response.reset.is_none());
        }
        assert_eq!(attacked.calls(), 4);
    })
    .await;
}

/// The minimum response rate of the paced window below: 256 KiB/s after
/// [`GRACE`].
const PACED_RATE: MinDataRate = MinDataRate::new(256 * 1024, GRACE);

/// `GET /big-chunks` (32 MiB in 64 KiB chunks) on an h2c connection whose
/// stream window starts shut, then opened (with the connection's) at `rate`
/// bytes a second, paced against the clock, while every frame is read at
/// once (the socket never fills: only the window holds the response back).
/// For `read_for`, or until the server's GOAWAY or close: returns when that
/// came, or `None` if neither did.
async fn window_paced(attacked: &Attacked, rate: u64, read_for: Duration) -> Option<Duration> {
    let mut conn = H2Conn::connect(attacked.addr).await;
    conn.refill_windows = false;
    conn.handshake(&[(SETTINGS_INITIAL_WINDOW_SIZE, 0)]).await;
    conn.send_headers(1, &request_block("GET", "/big-chunks", &[]), true)
        .await;
    let started = Instant::now();
    let (mut granted, mut data) = (0u64, 0u64);
    let mut status = None;
    while started.elapsed() < read_for {
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        if due > granted {
            let increment = u32::try_from(due - granted).expect("small increments");
            let mut both = Frame::window_update(1, increment).encode();
            both.extend(Frame::window_update(0, increment).encode());
            conn.send(both).await;
            granted = due;
        }
        let frame = match tokio::time::timeout(Duration::from_millis(5), conn.read_frame()).await {
            Err(_) => continue,
            Ok(Ok(Some(frame))) => frame,
            Ok(Ok(None)) => return Some(started.elapsed()),
            Ok(Err(error)) => panic!("the connection failed: {error}"),
        };
        match frame.kind {
            GOAWAY => {
                assert_eq!(frame.goaway().1, 0, "GOAWAY(NO_ERROR)");
                assert!(
                    data <= granted,
                    "{data} bytes sent past the window of {granted}"
                );
                return Some(started.elapsed());
            }
            HEADERS if frame.stream == 1 => status = Some(frame.flags),
            DATA => data += frame.payload.len() as u64,
            _ => {}
        }
    }
    assert_eq!(status, Some(END_HEADERS), "the response's head");
    assert!(
        data > 0 && data <= granted,
        "{data} bytes against a window of {granted}"
    );
    None
}

/// Response bytes count once, when the socket takes them: a client opening
/// its window at 70% of the minimum response rate gets the GOAWAY once the
/// deficit shows, past the grace; one opening it at 140% keeps its
/// connection for five times the grace. (Counted both when hyper pulled a
/// frame and when the socket took it, the slow window passed as 140%.)
#[tokio::test]
async fn a_window_just_below_the_minimum_response_rate_is_cut_and_just_above_is_not() {
    bounded(async {
        let rate = u64::from(PACED_RATE.bytes_per_second);
        let attacked = Attacked::start(only(|t| t.min_response_rate = Some(PACED_RATE))).await;
        let cut = window_paced(&attacked, rate * 7 / 10, Duration::from_secs(3))
            .await
            .expect("70% of the rate was not cut");
        assert!(cut > GRACE, "cut after {cut:?}, within the grace");
        attacked.assert_bystander_served().await;

        let attacked = Attacked::start(only(|t| t.min_response_rate = Some(PACED_RATE))).await;
        let cut = window_paced(&attacked, rate * 7 / 5, GRACE * 5).await;
        assert_eq!(cut, None, "140% of the rate was cut");
        attacked.assert_bystander_served().await;
    })
    .await;
}

// ---------------------------------------------------------------------------
// Slow request bodies

/// A `POST /echo` on `stream` with a `total`-byte body, `per_send` bytes in
/// a DATA frame every 50 ms, until the stream's response has ended. The
/// response, and the time from the first body byte.
async fn trickle(
    conn: &mut H2Conn,
    stream: u32,
    total: usize,
    per_send: usize,
) -> (H2Response, Duration) {
    let block = request_block("POST", "/echo", &[("content-length", &total.to_string())]);
    conn.send_headers(stream, &block, false).await;
    let started = Instant::now();
    let mut sent = 0;
    loop {
        if let Some(response) = conn.responses().remove(&stream)
            && response.ended
        {
            return (response, started.elapsed());
        }
        if sent < total {
            let n = per_send.min(total - sent);
            let data: Vec<u8> = (sent..sent + n).map(|i| b'a' + (i % 26) as u8).collect();
            conn.send_frame(&Frame::data(stream, &data, sent + n == total))
                .await;
            sent += n;
        }
        let until = Instant::now() + Duration::from_millis(50);
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match conn.frame_within(left).await {
                Some(Some(_)) => {}
                Some(None) => panic!("the connection ended: {:?}", show(&conn.seen)),
                None => break,
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no answer within 20 s"
        );
    }
}

/// The server's frames on `stream`.
fn on_stream(conn: &H2Conn, stream: u32) -> Vec<Frame> {
    conn.seen
        .iter()
        .filter(|f| f.stream == stream)
        .cloned()
        .collect()
}

/// A 408 refusal on HTTP/2: `:status 408`, empty, `content-length: 0`,
/// `content-type: application/x-empty`, `date`, the stream ended by its
/// HEADERS; then RST_STREAM(NO_ERROR), as the rest of the body is unwanted.
/// The reset follows the HEADERS, and on a loaded machine later than
/// [`trickle`]'s last read: it is waited for (5 s at most) first.
async fn assert_408(conn: &mut H2Conn, stream: u32, response: &H2Response) {
    let until = Instant::now() + Duration::from_secs(5);
    while !conn
        .seen
        .iter()
        .any(|f| f.stream == stream && f.kind == RST_STREAM)
    {
        let Some(left) = until.checked_duration_since(Instant::now()) else {
            break;
        };
        match conn.frame_within(left).await {
            Some(Some(_)) => {}
            Some(None) | None => break,
        }
    }
    assert_eq!(response.status(), 408, "{response:?}");
    assert_eq!(
        response.fields_but_date(),
        [
            ("content-length", "0"),
            ("content-type", "application/x-empty"),
        ]
    );
    assert_eq!(
        response.headers.iter().filter(|(n, _)| n == "date").count(),
        1
    );
    assert_eq!(response.body, b"");
    let frames = on_stream(conn, stream);
    assert_eq!(
        show(&frames),
        [
            format!(
                "HEADERS(stream {stream}, flags 0x5, {} bytes)",
                frames[0].payload.len()
            ),
            format!("RST_STREAM(stream {stream}, flags 0x0, 4 bytes)"),
        ]
    );
    assert_eq!(frames[1].rst_code(), NO_ERROR);
}

#[tokio::test]
async fn a_body_slower_than_the_minimum_rate_gets_408_on_its_stream() {
    bounded(async {
        let attacked = Attacked::start(only(|t| {
            t.min_request_body_rate = Some(MinDataRate::new(1000, GRACE));
        }))
        .await;
        let mut conn = h2c(attacked.addr).await;
        // 1 byte every 50 ms: 20 B/s against the 1,000 B/s required.
        let ((response, elapsed), ()) = tokio::join!(trickle(&mut conn, 1, 1000, 1), async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            attacked.assert_bystander_served().await;
        });
        assert_on_time(elapsed, GRACE, "the 408");
        assert_408(&mut conn, 1, &response).await;
        assert_eq!(attacked.calls(), 0, "the handler never ran");
        // The connection carries on.
        let hello = conn.request(3, "GET", "/hello", &[], b"").await;
        assert_eq!(hello.status(), 200);
        assert_eq!(hello.body, b"hello");
    })
    .await;
}

#[tokio::test]
async fn a_body_at_twice_the_minimum_rate_is_served_over_http2() {
    bounded(async {
        let attacked = Attacked::start(only(|t| {
            t.min_request_body_rate = Some(MinDataRate::new(1000, GRACE));
        }))
        .await;
        let mut conn = h2c(attacked.addr).await;
        // 100 bytes every 50 ms: 2,000 B/s for about half a second.
        let (response, _) = trickle(&mut conn, 1, 1000, 100).await;
        assert_eq!(response.status(), 200, "{response:?}");
        assert_eq!(response.fields_but_date(), [("content-length", "1000")]);
        let expected: Vec<u8> = (0..1000).map(|i| b'a' + (i % 26) as u8).collect();
        assert_eq!(response.body, expected);
        assert_eq!(attacked.calls(), 1);
    })
    .await;
}

/// One slow body on a connection is cut; the next body on the same
/// connection, sent whole at once, is nothing slow and is served.
#[tokio::test]
async fn after_a_slow_body_is_cut_the_next_body_on_the_connection_is_served() {
    bounded(async {
        let attacked = Attacked::start(only(|t| {
            t.min_request_body_rate = Some(MinDataRate::new(1000, GRACE));
        }))
        .await;
        let mut conn = h2c(attacked.addr).await;
        let (response, _) = trickle(&mut conn, 1, 1000, 1).await;
        assert_408(&mut conn, 1, &response).await;
        let response = conn
            .request(3, "POST", "/echo", &[("content-length", "4")], b"fast")
            .await;
        assert_eq!(response.status(), 200, "{response:?}");
        assert_eq!(response.body, b"fast");
        assert_eq!(attacked.calls(), 1);
    })
    .await;
}

// ---------------------------------------------------------------------------
// Floods and bombs that end in GOAWAY

/// Send `attack` on a handshaken h2c connection (the write may fail once
/// the server has had enough), serve the bystander, and assert that the
/// server's frames after its housekeeping are exactly one GOAWAY with
/// `code` and `debug` data (its last stream id returned), then the close.
async fn goaway_after(attack: Vec<u8>, code: u32, debug: &str) -> u32 {
    let attacked = Attacked::start(Configuration::default()).await;
    let mut conn = h2c(attacked.addr).await;
    // All at once: the server stops reading at the GOAWAY, and what it
    // never read may make the kernel reset the connection, so the write's
    // outcome is no part of the assertion.
    let _ = conn.stream().write_all(&attack).await;
    attacked.assert_bystander_served().await;
    let frames = without_housekeeping(&conn.frames_to_eof().await);
    assert_eq!(frames.len(), 1, "only a GOAWAY: {:?}", show(&frames));
    let (last, got_code, got_debug) = frames[0].goaway();
    assert_eq!(got_code, code, "{:?}", String::from_utf8_lossy(&got_debug));
    assert_eq!(String::from_utf8_lossy(&got_debug), debug);
    assert_eq!(attacked.calls(), 0, "no request reached the handler");
    last
}

/// HEADERS then RST_STREAM, 5,000 times in one write (CVE-2023-44487):
/// reset streams the server has not accepted yet pile up past
/// `max_pending_accept_reset_streams` (20), and h2 answers
/// GOAWAY(ENHANCE_YOUR_CALM, "too_many_resets").
#[tokio::test]
async fn rapid_reset_gets_goaway_enhance_your_calm() {
    bounded(async {
        let block = request_block("GET", "/hello", &[]);
        let mut attack = Vec::new();
        for i in 0..5000u32 {
            let stream = 1 + 2 * i;
            attack.extend(
                Frame::new(HEADERS, END_HEADERS | END_STREAM, stream, block.clone()).encode(),
            );
            attack.extend(Frame::rst_stream(stream, CANCEL).encode());
        }
        let last = goaway_after(attack, ENHANCE_YOUR_CALM, "too_many_resets").await;
        // The 21st reset stream is one too many.
        assert_eq!(last, 41, "the last stream processed");
    })
    .await;
}

/// A HEADERS frame without END_HEADERS, then 10,000 CONTINUATION frames of
/// one small field each (CVE-2024-27316 family): h2 counts them and answers
/// GOAWAY(ENHANCE_YOUR_CALM, "too_many_continuations") before any stream
/// opens.
#[tokio::test]
async fn continuation_flood_gets_goaway_enhance_your_calm() {
    bounded(async {
        let mut attack = Frame::new(HEADERS, 0, 1, request_block("GET", "/hello", &[])).encode();
        for i in 0..10_000u32 {
            let field = hpack_literal(&format!("x-{i}"), b"v");
            attack.extend(Frame::new(CONTINUATION, 0, 1, field).encode());
        }
        let last = goaway_after(attack, ENHANCE_YOUR_CALM, "too_many_continuations").await;
        assert_eq!(last, 0, "no stream was processed");
    })
    .await;
}

/// HPACK bomb: one 4,000-byte field enters the dynamic table, then 4,000
/// one-byte references to it (about 4 KB on the wire, 16 MB decoded): h2
/// stops at four times the header list limit with
/// GOAWAY(ENHANCE_YOUR_CALM, "header_list_way_too_large").
#[tokio::test]
async fn hpack_bomb_gets_goaway_enhance_your_calm() {
    bounded(async {
        let mut block = request_block("GET", "/hello", &[]);
        block.extend(hpack_literal_indexed("x-bomb", &[b'b'; 4000]));
        for _ in 0..4000 {
            block.extend(hpack_indexed(62));
        }
        assert!(block.len() < DEFAULT_MAX_FRAME, "one frame");
        let attack = Frame::new(HEADERS, END_HEADERS | END_STREAM, 1, block).encode();
        let last = goaway_after(attack, ENHANCE_YOUR_CALM, "header_list_way_too_large").await;
        assert_eq!(last, 0, "no stream was processed");
    })
    .await;
}

// ---------------------------------------------------------------------------
// Floods that stay bounded

/// 20,000 copies of `frame(i)` written by a task of their own while the
/// attacker reads nothing; a bystander is served meanwhile. Then the
/// attacker reads until `answers` frames for which `is_answer(i, frame)`
/// holds have come, in order, and the same connection still serves a
/// request. Returns the other frames read meanwhile.
async fn flood(
    frame: impl Fn(u64) -> Frame,
    answers: u64,
    is_answer: impl Fn(u64, &Frame) -> bool,
) -> Vec<Frame> {
    let attacked = Attacked::start(Configuration::default()).await;
    let tcp = within("connect", TcpStream::connect(attacked.addr))
        .await
        .expect("connect");
    let (reader, mut writer) = duplicate(tcp);
    let mut conn = H2Conn::new(reader);
    conn.handshake(&[]).await;
    let mut attack = Vec::new();
    for i in 0..20_000 {
        attack.extend(frame(i).encode());
    }
    let flooding = tokio::spawn(async move {
        writer.write_all(&attack).await.expect("the flood is read");
        writer
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    attacked.assert_bystander_served().await;
    // h2 answers each frame (one pending answer at a time, reading no
    // further until it is flushed): every one is answered, in order.
    let mut read = Vec::new();
    let mut answered = 0;
    while answered < answers {
        let frame = conn.next_frame().await.expect("more answers");
        if is_answer(answered, &frame) {
            answered += 1;
        } else {
            read.push(frame);
        }
    }
    let _writer = within("the flood to be written", flooding)
        .await
        .expect("the flooding task");
    let response = conn.request(1, "GET", "/hello", &[], b"").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.body, b"hello");
    assert_eq!(attacked.calls(), 1);
    read
}

#[tokio::test]
async fn a_ping_flood_is_answered_in_order_and_the_connection_still_serves() {
    bounded(async {
        let others = flood(
            |i| Frame::ping(i.to_be_bytes()),
            20_000,
            |i, frame| *frame == Frame::new(PING, ACK, 0, i.to_be_bytes()),
        )
        .await;
        assert_eq!(without_housekeeping(&others), [], "{:?}", show(&others));
    })
    .await;
}

#[tokio::test]
async fn a_settings_flood_is_answered_in_order_and_the_connection_still_serves() {
    bounded(async {
        // 20,001 acknowledgements: the handshake's SETTINGS, then the flood's.
        let others = flood(
            |_| Frame::settings(&[(SETTINGS_INITIAL_WINDOW_SIZE, 65_535)]),
            20_001,
            |_, frame| *frame == Frame::settings_ack(),
        )
        .await;
        assert_eq!(others, [Frame::window_update(0, CONNECTION_WINDOW_UPDATE)]);
    })
    .await;
}

// ---------------------------------------------------------------------------
// Heads h2 lets through that name the host twice or take the wrong form

/// Each head on its own stream of one h2c connection: the ambiguous ones
/// get exactly `:status 400`, `content-length: 0`, `content-type:
/// application/x-empty` (and `date`), END_STREAM on the HEADERS, no reset
/// and no handler; the well-formed ones next to them are served. The
/// connection serves every stream in turn: a refusal ends its stream only.
#[tokio::test]
async fn ambiguous_hosts_and_target_forms_get_400_on_their_stream() {
    bounded(async {
        let attacked = Attacked::start(Configuration::default()).await;
        let mut conn = h2c(attacked.addr).await;
        let hello = |authority: &'static str| {
            vec![
                (":method", "GET"),
                (":scheme", "http"),
                (":authority", authority),
                (":path", "/hello"),
            ]
        };
        let without_authority = vec![(":method", "GET"), (":scheme", "http"), (":path", "/hello")];
        let with = |mut fields: Vec<(&'static str, &'static str)>,
                    more: &[(&'static str, &'static str)]| {
            fields.extend_from_slice(more);
            fields
        };
        // (fields, status): 400 is the refusal, anything else the handler's
        // answer (`hello`, or its 404 to a path it does not know).
        let cases: Vec<(Vec<(&str, &str)>, u16)> = vec![
            (with(hello("a"), &[("host", "b")]), 400),
            (with(hello("a:80"), &[("host", "a")]), 400),
            (with(hello("a"), &[("host", "a"), ("host", "a")]), 400),
            (
                with(without_authority.clone(), &[("host", "a"), ("host", "b")]),
                400,
            ),
            (with(without_authority.clone(), &[("host", "[hello]")]), 400),
            (hello("user@a"), 400),
            (hello("user:pw@a:80"), 400),
            (
                vec![
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":authority", "a"),
                    (":path", "*"),
                ],
                400,
            ),
            (hello("a"), 200),
            (with(hello("a:80"), &[("host", "A:80")]), 200),
            (with(without_authority.clone(), &[("host", "a")]), 200),
            (without_authority, 200),
            (vec![(":method", "CONNECT"), (":authority", "a:80")], 404),
        ];
        let mut served = 0;
        for (i, (fields, status)) in cases.iter().enumerate() {
            let _case = crate::support::case(format!("{fields:?}"));
            let stream = 1 + 2 * i as u32;
            conn.send_headers(stream, &header_block(fields), true).await;
            let response = conn.response(stream).await;
            assert_eq!(response.reset, None, "{response:?}");
            assert!(response.ended, "{response:?}");
            if *status == 400 {
                assert_eq!(response.status(), 400, "{response:?}");
                assert_eq!(
                    response.fields_but_date(),
                    [
                        ("content-length", "0"),
                        ("content-type", "application/x-empty"),
                    ]
                );
                assert_eq!(response.body, b"");
            } else {
                served += 1;
                assert_eq!(response.status(), *status, "{response:?}");
                let body: &[u8] = if *status == 200 { b"hello" } else { b"" };
                assert_eq!(response.body, body);
            }
            assert_eq!(
                attacked.calls(),
                served,
                "the handler ran for the served only"
            );
        }
    })
    .await;
}

/// Malformed heads h2 itself refuses (RFC 9113 §8.2, §8.3), each on a
/// fresh h2c connection, none reaching the handler, a bystander served:
/// stream errors reset only their stream (RST_STREAM(PROTOCOL_ERROR)) and
/// the connection serves the next; a field name h2 cannot even decode into
/// a request ends the connection with GOAWAY(PROTOCOL_ERROR).
#[tokio::test]
async fn malformed_heads_are_reset_before_the_handler() {
    bounded(async {
        let attacked = Attacked::start(Configuration::default()).await;
        let get = |more: &[(&'static str, &'static str)]| {
            let mut fields = vec![
                (":method", "GET"),
                (":scheme", "http"),
                (":authority", "a"),
                (":path", "/hello"),
            ];
            fields.extend_from_slice(more);
            fields
        };
        let pseudo = |method: &'static str, path: &'static str| {
            vec![
                (":method", method),
                (":scheme", "http"),
                (":authority", "a"),
                (":path", path),
            ]
        };
        // (fields, goaway): a stream reset when `goaway` is false.
        let cases: Vec<(Vec<(&str, &str)>, bool)> = vec![
            (get(&[("connection", "close")]), false),
            (get(&[("transfer-encoding", "chunked")]), false),
            (get(&[("keep-alive", "timeout=5")]), false),
            (get(&[("upgrade", "h2c")]), false),
            (get(&[("proxy-connection", "close")]), false),
            (get(&[("te", "gzip")]), false),
            (get(&[(":path", "/hello")]), false),
            (get(&[(":status", "200")]), false),
            (
                vec![
                    (":method", "GET"),
                    (":scheme", "http"),
                    ("x-early", "1"),
                    (":authority", "a"),
                    (":path", "/hello"),
                ],
                false,
            ),
            (
                vec![(":method", "GET"), (":scheme", "http"), (":authority", "a")],
                false,
            ),
            (
                vec![
                    (":scheme", "http"),
                    (":authority", "a"),
                    (":path", "/hello"),
                ],
                false,
            ),
            (pseudo("GET", ""), false),
            (pseudo("GET", "hello"), false),
            (pseudo("GET", "/hel lo"), false),
            (get(&[("X-Upper", "1")]), true),
            (get(&[(":unknown", "1")]), true),
            (get(&[("x-nul", "a\0b")]), true),
            (get(&[("x-lf", "a\nb")]), true),
            (get(&[("x space", "1")]), true),
        ];
        for (fields, goaway) in &cases {
            let _case = crate::support::case(format!("{fields:?}"));
            let mut conn = h2c(attacked.addr).await;
            conn.send_headers(1, &header_block(fields), true).await;
            attacked.assert_bystander_served().await;
            if *goaway {
                let frames = without_housekeeping(&conn.frames_to_eof().await);
                assert_eq!(frames.len(), 1, "only a GOAWAY: {:?}", show(&frames));
                let (_, code, _) = frames[0].goaway();
                assert_eq!(code, PROTOCOL_ERROR);
            } else {
                let response = conn.response(1).await;
                assert_eq!(response.headers, Vec::<(String, String)>::new());
                assert_eq!(response.reset, Some(PROTOCOL_ERROR));
                let hello = conn.request(3, "GET", "/hello", &[], b"").await;
                assert_eq!(hello.body, b"hello");
            }
        }
        let served = cases.iter().filter(|(_, goaway)| !goaway).count();
        assert_eq!(attacked.calls(), served, "only the follow-up requests ran");
    })
    .await;
}
