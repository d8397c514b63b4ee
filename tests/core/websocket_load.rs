//! 1,000 WebSocket connections open at once on one server: each echoes its
//! own message, the server counts all 1,000 as live connections while they
//! are open and none once their clients have closed, and the memory they
//! take stays bounded.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use postern_core::websocket::{WebSocketConnection, WebSocketUpgrades};
use postern_core::{AbstractHttpServer, Configuration, Handled, Request, Responder};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_websockets::{ClientBuilder, Message, WebSocketStream};

use crate::support::{on_loopback, serve_abstract, wait_live, within};

const SOCKETS: usize = 1_000;

/// What the process may grow by while the 1,000 sockets are open, client
/// and server side together: 128 KiB a socket pair. An engine or a server
/// that gave each socket a buffer of its own worth a large message (1 MiB
/// by default) would need eight times as much.
#[cfg(target_os = "linux")]
const MAX_GROWTH_KIB: u64 = 128 * 1024;

/// A server with only a WebSocket route: `/echo` echoes text and binary.
struct EchoOnly {
    hub: WebSocketUpgrades,
}

impl AbstractHttpServer for EchoOnly {
    async fn handle_request(&self, _: &Request, responder: Responder) -> Handled {
        Handled::No(responder)
    }

    fn websocket_upgrades(&self) -> Option<&WebSocketUpgrades> {
        Some(&self.hub)
    }
}

async fn echo(connection: WebSocketConnection) {
    let mut socket = connection.into_socket();
    while let Some(Ok(message)) = socket.recv().await {
        if message.is_data() && socket.send(message).await.is_err() {
            break;
        }
    }
}

async fn connect(addr: SocketAddr) -> WebSocketStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (client, _) = ClientBuilder::new()
        .uri(&format!("ws://{addr}/echo"))
        .expect("a ws URI")
        .connect_on(tcp)
        .await
        .expect("the upgrade is accepted");
    client
}

/// This process's resident memory now, in KiB (Linux's /proc).
#[cfg(target_os = "linux")]
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sockets_echo_at_once_and_count_until_closed() {
    let hub = WebSocketUpgrades::new();
    hub.route("/echo", echo);
    let running = serve_abstract(Configuration::default(), on_loopback, EchoOnly { hub }).await;
    let addr = running.addr();
    #[cfg(target_os = "linux")]
    let before = rss_kib();

    // Opened a hundred at a time, so that the listen backlog is never the
    // limit being tested.
    let mut clients = Vec::with_capacity(SOCKETS);
    for _ in 0..SOCKETS / 100 {
        let mut opening = JoinSet::new();
        for _ in 0..100 {
            opening.spawn(connect(addr));
        }
        clients.extend(within("100 upgrades", opening.join_all()).await);
    }
    wait_live(&running, SOCKETS).await;

    // Every socket at once: its own message, its own echo.
    let mut talking = JoinSet::new();
    for (n, mut client) in clients.into_iter().enumerate() {
        talking.spawn(async move {
            let text = format!("socket {n}");
            client
                .send(Message::text(text.clone()))
                .await
                .expect("send");
            let echoed = client.next().await.expect("an echo").expect("no error");
            assert_eq!(echoed.as_text(), Some(text.as_str()), "socket {n}");
            client
        });
    }
    let clients = within("1,000 echoes", talking.join_all()).await;
    assert_eq!(clients.len(), SOCKETS);
    assert_eq!(running.server().stats().live_connections, SOCKETS);
    #[cfg(target_os = "linux")]
    {
        let grown = rss_kib().saturating_sub(before);
        eprintln!("1,000 open sockets: the process grew by {grown} KiB");
        assert!(
            grown < MAX_GROWTH_KIB,
            "1,000 open sockets took {grown} KiB, more than {MAX_GROWTH_KIB} KiB"
        );
    }

    // Every client closes; the server's sockets end and stop counting.
    let mut closing = JoinSet::new();
    for mut client in clients {
        closing.spawn(async move {
            client.close().await.expect("close");
            // The server's close frame answers, then the stream ends.
            while let Some(Ok(_)) = client.next().await {}
        });
    }
    within("1,000 closes", closing.join_all()).await;
    wait_live(&running, 0).await;
    assert_eq!(running.server().stats().live_connections, 0);
}
