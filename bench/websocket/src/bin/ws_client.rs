//! The client of bench/websocket.sh: CONNS WebSocket connections to URL, each
//! making ROUNDS round trips of a 32-byte text message (send, wait for the
//! echo, check it), all at once on one thread; prints one JSON line with
//! the round trips per second and, given the server's PID, the server's CPU
//! time (utime + stime from /proc/PID/stat) spent in the timed part.
//!
//! ```text
//! ws_client ws://127.0.0.1:PORT/echo [--conns 64] [--rounds 1000] [--pid PID]
//! ```
//!
//! The connections are opened before the clock starts, so the figures are
//! those of echoing messages, not of handshakes.

use futures_util::{SinkExt, StreamExt};
use std::time::Instant;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    url: String,
    conns: usize,
    rounds: usize,
    pid: Option<u32>,
}

fn args() -> Result<Args, Error> {
    let mut parsed = Args {
        url: String::new(),
        conns: 64,
        rounds: 1000,
        pid: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--conns" => parsed.conns = value()?.parse()?,
            "--rounds" => parsed.rounds = value()?.parse()?,
            "--pid" => parsed.pid = Some(value()?.parse()?),
            _ if arg.starts_with("ws://") => parsed.url = arg,
            _ => return Err(format!("unknown argument {arg}").into()),
        }
    }
    if parsed.url.is_empty() {
        return Err(
            "usage: ws_client ws://HOST:PORT/PATH [--conns N] [--rounds M] [--pid PID]".into(),
        );
    }
    Ok(parsed)
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64, Error> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces: the fields counted are after its ')'.
    let rest = stat.rsplit_once(')').ok_or("no ')' in /proc/PID/stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `rest` starts at field 3.
    Ok(fields.get(11).ok_or("short stat")?.parse::<u64>()?
        + fields.get(12).ok_or("short stat")?.parse::<u64>()?)
}

fn clock_ticks_per_second() -> u64 {
    // sysconf(_SC_CLK_TCK) is 100 on every Linux configuration in use;
    // reading it would need libc for one call.
    100
}

async fn connect(url: &str) -> Result<tokio_tungstenite::WebSocketStream<TcpStream>, Error> {
    let authority = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap_or_default();
    let tcp = TcpStream::connect(authority).await?;
    tcp.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async(url, tcp).await?;
    Ok(ws)
}

async fn run(
    mut ws: tokio_tungstenite::WebSocketStream<TcpStream>,
    rounds: usize,
    id: usize,
) -> Result<(), Error> {
    for round in 0..rounds {
        // 32 bytes, different every time so that a stale echo is caught.
        let text = format!("{id:08}:{round:08}:0123456789abcd");
        debug_assert_eq!(text.len(), 32);
        ws.send(Message::text(text.clone())).await?;
        match ws.next().await {
            Some(Ok(Message::Text(echo))) if echo.as_str() == text => {}
            other => {
                return Err(
                    format!("connection {id} round {round}: sent {text:?}, got {other:?}").into(),
                );
            }
        }
    }
    ws.close(None).await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let args = args()?;
    let mut sockets = Vec::with_capacity(args.conns);
    for _ in 0..args.conns {
        sockets.push(connect(&args.url).await?);
    }
    let cpu_before = args.pid.map(cpu_ticks).transpose()?;
    let started = Instant::now();
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(id, ws)| tokio::spawn(run(ws, args.rounds, id)))
        .collect();
    for task in tasks {
        task.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu_after = args.pid.map(cpu_ticks).transpose()?;
    let round_trips = (args.conns * args.rounds) as f64;
    let cpu = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) => {
            let cpu_s = (after - before) as f64 / clock_ticks_per_second() as f64;
            format!(
                r#","server_cpu_s":{cpu_s:.2},"server_cpu_us_per_msg":{:.3}"#,
                cpu_s * 1e6 / round_trips
            )
        }
        _ => String::new(),
    };
    println!(
        r#"{{"conns":{},"rounds":{},"secs":{secs:.3},"round_trips_per_s":{:.0}{cpu}}}"#,
        args.conns,
        args.rounds,
        round_trips / secs
    );
    Ok(())
}
