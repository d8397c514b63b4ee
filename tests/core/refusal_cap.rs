//! A flood over the connection caps cannot pile up work: at most 256 refused
//! connections are answered at once (each waits up to 2 s for the client's
//! first bytes to pick its protocol); past that, refused connections are
//! closed at once.
//! The budget is each server's own, so this test does not disturb the other
//! tests that count on a refusal being answered.

use std::time::{Duration, Instant};

use crate::support::{Raw, TestServer, start_with, wait_live};
use tokio::net::TcpStream;

#[tokio::test]
async fn refusals_past_256_pending_are_closed_at_once() {
    let (server, addr) = start_with(
        postern_core::Configuration::default().with_max_connections(1),
        TestServer,
    )
    .await;
    // The one admitted connection, kept open and silent.
    let _held = TcpStream::connect(addr).await.expect("connect");
    wait_live(&server, 1).await;

    // 256 silent connections over the cap: each waits for its first bytes.
    let mut waiting = Vec::new();
    for _ in 0..256 {
        waiting.push(TcpStream::connect(addr).await.expect("connect"));
    }
    // Give the accept loop time to take them all.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The next ones find the refusal budget spent: closed with nothing sent.
    for _ in 0..8 {
        let mut extra = Raw::connect(addr).await;
        let (took, rest) = extra.time_to_close(Instant::now()).await;
        assert_eq!(rest, b"", "closed without a byte");
        assert!(
            took < Duration::from_millis(1500),
            "closed only after {took:?}: it waited like an answered refusal"
        );
    }

    // The answered ones are still waiting for their first bytes (up to 2 s)
    // and then closed silently; none was served.
    let mut first = Raw::new(waiting.remove(0));
    let (took, rest) = first.time_to_close(Instant::now()).await;
    assert_eq!(rest, b"", "closed without a byte");
    assert!(
        took >= Duration::from_millis(500),
        "a pending refusal closed after {took:?}, before its wait"
    );
}
