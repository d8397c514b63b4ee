//! A small REST service meant to run as several replicas behind a load
//! balancer, with one per-client rate limit shared by all of them through
//! Redis.
//!
//! | path | answer |
//! |---|---|
//! | `GET /whoami` | the client IP Postern resolved, as text |
//!
//! ```text
//! cargo run --example replica -- [--port N] [--redis URL] [--rate N] [--replicas N]
//!     [--on-redis-failure local|open|closed] [--redis-timeout-ms N] [--proxy-protocol CIDR]
//! ```
//!
//! - `--port N`: the port on 127.0.0.1 (default 0: any free port); one
//!   `listening on <url>` line is printed once it accepts connections.
//! - `--redis URL`: share the limit through Redis (`redis://127.0.0.1:6379/`,
//!   `redis+unix:///path/to/socket`); without it each replica counts alone,
//!   in memory.
//! - `--rate N`: requests per second per client IP, burst N (default 50).
//! - `--replicas N`: how many replicas share the limit, for the local
//!   fallback while Redis is away (each then admits `rate / N`; default 1).
//! - `--on-redis-failure`: `local` (default: the local fallback), `open`
//!   (admit everything) or `closed` (503 with `Retry-After: 1`).
//! - `--redis-timeout-ms N`: the longest a decision waits for Redis (default 50).
//! - `--proxy-protocol CIDR` (repeatable): trust PROXY protocol headers (v1
//!   or v2) from peers in CIDR, such as the load balancer's subnet; such
//!   peers must send one, and its client address is the one the rate limit
//!   and `/whoami` see. Other peers are served as direct clients.
//!
//! Three replicas sharing 50 requests per second per client:
//!
//! ```text
//! redis-server --port 6379 --save '' &
//! for port in 8081 8082 8083; do
//!   cargo run --example replica -- --port $port --redis redis://127.0.0.1:6379/ --rate 50 --replicas 3 &
//! done
//! ```

use std::time::Duration;

use ipnet::IpNet;
use postern_core::{
    Configuration, HttpService, Listen, ProxyProtocol, Request, RunningServer, Server,
};
use postern_limits::config::{FailurePolicy, RateStore, RedisStore};
use postern_router::{HttpServer, RouteError};

/// The example's settings, from its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The Redis URL sharing the limit; `None`: in memory.
    pub redis: Option<String>,
    /// Requests per second per client IP (and the burst).
    pub rate: u32,
    /// Replicas sharing the limit (the local fallback's divisor).
    pub replicas: u32,
    /// What answers while Redis cannot.
    pub on_failure: FailurePolicy,
    /// The longest a decision waits for Redis.
    pub redis_timeout: Duration,
    /// Peers trusted to send PROXY headers (and required to); empty: none.
    pub proxy_protocol: Vec<IpNet>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            port: 0,
            redis: None,
            rate: 50,
            replicas: 1,
            on_failure: FailurePolicy::LocalFallback { replicas: 1 },
            redis_timeout: Duration::from_millis(50),
            proxy_protocol: Vec::new(),
        }
    }
}

const USAGE: &str = "usage: replica [--port N] [--redis URL] [--rate N] [--replicas N] \
                     [--on-redis-failure local|open|closed] [--redis-timeout-ms N] \
                     [--proxy-protocol CIDR]";

/// Read the options from `args` (without the program name).
///
/// # Errors
/// An unknown flag, a missing or malformed value, with what to write instead.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
        value.parse().map_err(|e| format!("{flag} {value}: {e}"))
    }
    let mut options = Options::default();
    let mut policy = "local".to_owned();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" | "-p" => options.port = number("--port", args.next())?,
            "--redis" => options.redis = Some(args.next().ok_or("--redis needs a URL")?),
            "--rate" => options.rate = number("--rate", args.next())?,
            "--replicas" => options.replicas = number("--replicas", args.next())?,
            "--on-redis-failure" => {
                policy = args.next().ok_or("--on-redis-failure needs a value")?
            }
            "--redis-timeout-ms" => {
                options.redis_timeout =
                    Duration::from_millis(number("--redis-timeout-ms", args.next())?);
            }
            "--proxy-protocol" => options
                .proxy_protocol
                .push(number("--proxy-protocol", args.next())?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}; {USAGE}")),
        }
    }
    options.on_failure = match policy.as_str() {
        "local" => FailurePolicy::LocalFallback {
            replicas: options.replicas,
        },
        "open" => FailurePolicy::FailOpen,
        "closed" => FailurePolicy::FailClosed,
        other => {
            return Err(format!(
                "--on-redis-failure {other}: write local, open or closed"
            ));
        }
    };
    Ok(options)
}

/// The server configuration of `options`: the rate limit, in memory or in Redis.
///
/// # Errors
/// A Redis URL or setting that cannot be used, saying what to fix.
pub fn configuration(
    options: &Options,
) -> Result<Configuration, postern_limits::config::ConfigError> {
    let mut configuration = Configuration::default().with_rate_limit_per_second(options.rate);
    if let Some(url) = &options.redis {
        let store = RedisStore::new(url.as_str())
            .with_timeout(options.redis_timeout)
            .with_failure_policy(options.on_failure);
        store.validate()?;
        configuration.limits.rate_store = RateStore::Redis(store);
    }
    Ok(configuration)
}

/// The routes.
///
/// # Errors
/// A route refused by the router (none is, but registration never panics).
pub fn build_server() -> Result<HttpServer, RouteError> {
    let mut server = HttpServer::new();
    server.route("/whoami", |request: &Request| {
        request
            .remote_addr()
            .map_or_else(|| "unknown".to_owned(), |addr| addr.ip().to_string())
    })?;
    Ok(server)
}

/// Serve the routes on 127.0.0.1:`options.port` with `options`' limits.
///
/// # Errors
/// Unusable options, or the address cannot be bound.
pub async fn start(options: &Options) -> Result<RunningServer, Box<dyn std::error::Error>> {
    let configuration = configuration(options)?;
    let server = build_server()?;
    let running = Server::builder()
        .configuration(configuration)
        .bind(listen(options))
        .serve(HttpService::new(server))
        .await?;
    Ok(running)
}

/// The listener: 127.0.0.1:`options.port`, reading PROXY headers from the
/// trusted peers when `--proxy-protocol` names any.
fn listen(options: &Options) -> Listen {
    let listen = Listen::tcp(format!("127.0.0.1:{}", options.port));
    if options.proxy_protocol.is_empty() {
        listen
    } else {
        listen.proxy_protocol(ProxyProtocol::from(options.proxy_protocol.clone()))
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("replica: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let options = parse_args(std::env::args().skip(1))?;
    let running = start(&options).await?;
    for listener in running.listeners() {
        println!("listening on {listener}");
    }
    tokio::signal::ctrl_c().await?;
    running.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
