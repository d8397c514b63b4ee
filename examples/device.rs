//! A device's configuration page: the lean build Postern's footprint is
//! measured on (`bench/footprint.sh`).
//!
//! | request | answer |
//! |---|---|
//! | `GET /` | a small HTML page with a form |
//! | `GET /status` | `{"name":"…","interval":N,"uptime":S}` (JSON written by hand: no `json` feature) |
//! | `POST /config` | `name=…` and/or `interval=1..3600` as a URL-encoded form; answers what it set, one `key=value` per line, or 400 and sets nothing |
//!
//! It runs on a current-thread runtime with the HTTP/1-only build, and
//! keeps Postern's default timeouts and limits:
//!
//! ```text
//! cargo run --example device --no-default-features --features http1 -- --port 8080
//! curl http://127.0.0.1:8080/status
//! curl -d 'name=porch&interval=30' http://127.0.0.1:8080/config
//! ```
//! `--port 0` (the default) picks any free port; one line, `listening on
//! <url>`, is printed once it accepts connections. It runs until killed.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use postern::http::StatusCode;
use postern::{AbstractHttpServer, BodyPolicy, Handled, Method, Request, Responder, Server};

const PAGE: &str = "<!doctype html>\n<title>Device</title>\n<h1>Hello from the device</h1>\n\
<form method=post action=/config>\n\
<label>Name <input name=name maxlength=32></label>\n\
<label>Interval (s) <input name=interval type=number min=1 max=3600></label>\n\
<button>Set</button>\n</form>\n";

/// The longest device name `/config` takes, in bytes.
const MAX_NAME: usize = 32;

/// What the device lets a client configure.
struct Settings {
    name: String,
    /// Seconds between reports, 1 to 3600.
    interval: u32,
}

struct Device {
    settings: Mutex<Settings>,
    started: Instant,
}

/// Append `text` to `out` as a JSON string.
fn json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The settings a `/config` form asks for, checked whole: the first bad
/// field is the error, and then nothing is set.
fn parse_config(pairs: &[(String, String)]) -> Result<(Option<String>, Option<u32>), String> {
    let (mut name, mut interval) = (None, None);
    for (key, value) in pairs {
        match key.as_str() {
            "name" if !value.is_empty() && value.len() <= MAX_NAME => name = Some(value.clone()),
            "name" => return Err(format!("name: 1 to {MAX_NAME} bytes\n")),
            "interval" => match value.parse::<u32>() {
                Ok(seconds @ 1..=3600) => interval = Some(seconds),
                _ => return Err("interval: a whole number of seconds, 1 to 3600\n".into()),
            },
            other => return Err(format!("unknown setting: {other}\n")),
        }
    }
    if name.is_none() && interval.is_none() {
        return Err("nothing to set: send name and/or interval\n".into());
    }
    Ok((name, interval))
}

impl AbstractHttpServer for Device {
    /// Only `/config` reads its body (a small form); every other request is
    /// answered from its head alone, its body left unread.
    fn body_policy(&self, request: &Request) -> BodyPolicy {
        match (request.method(), request.path()) {
            (Method::Post, "/config") => BodyPolicy::Buffer,
            _ => BodyPolicy::Ignore,
        }
    }

    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        match (request.method(), request.path()) {
            (Method::Get, "/") => {
                responder.write_with_mime(PAGE, "text/html; charset=utf-8", StatusCode::OK);
            }
            (Method::Get, "/status") => {
                let mut json = String::from("{\"name\":");
                {
                    let settings = self.settings.lock().unwrap_or_else(|e| e.into_inner());
                    json_string(&mut json, &settings.name);
                    let _ = write!(json, ",\"interval\":{}", settings.interval);
                }
                let _ = write!(json, ",\"uptime\":{}}}", self.started.elapsed().as_secs());
                responder.write_with_mime(json, "application/json", StatusCode::OK);
            }
            (Method::Post, "/config") => match parse_config(&request.form_pairs()) {
                Ok((name, interval)) => {
                    let mut answer = String::new();
                    let mut settings = self.settings.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(name) = name {
                        let _ = writeln!(answer, "name={name}");
                        settings.name = name;
                    }
                    if let Some(interval) = interval {
                        let _ = writeln!(answer, "interval={interval}");
                        settings.interval = interval;
                    }
                    drop(settings);
                    responder.write_with_mime(answer, "text/plain", StatusCode::OK);
                }
                Err(reason) => {
                    responder.write_with_mime(reason, "text/plain", StatusCode::BAD_REQUEST);
                }
            },
            _ => return Handled::No(responder),
        }
        Handled::Yes
    }
}

/// `--port N`, 0 to 65535 (default 0: any free port).
fn port() -> Result<u16, String> {
    let mut port = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().map(|v| v.parse::<u16>())) {
            ("--port", Some(Ok(p))) => port = p,
            _ => return Err("usage: device [--port 0-65535]".into()),
        }
    }
    Ok(port)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port = match port() {
        Ok(port) => port,
        Err(usage) => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let device = Device {
        settings: Mutex::new(Settings {
            name: "device".into(),
            interval: 60,
        }),
        started: Instant::now(),
    };
    let running = match Server::builder()
        .bind_tcp(format!("127.0.0.1:{port}"))
        .serve_abstract(device)
        .await
    {
        Ok(running) => running,
        Err(error) => {
            eprintln!("cannot start: {error}");
            std::process::exit(1);
        }
    };
    for addr in running.listeners() {
        println!("listening on {addr}");
    }
    // Serve until the process is killed.
    std::future::pending::<()>().await;
}
