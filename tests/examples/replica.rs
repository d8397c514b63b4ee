//! `examples/replica.rs` against a real `redis-server` (a child process on a
//! free 127.0.0.1 port; `tools/test.sh` installs it when missing): replicas
//! share one budget per client, each failure policy does what it says while
//! Redis is killed, and sharing resumes once Redis is back.

#[path = "../../examples/replica.rs"]
#[allow(dead_code, unreachable_pub)]
mod example;

use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http::StatusCode;
use postern_limits::config::{FailurePolicy, RateLimit, RateStore, RedisStore};
use postern_limits::rate::ClientRateLimiter;

use crate::support::Running;

/// A `redis-server` child on one port; killed when dropped.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut redis = Redis { port, child: None };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Start (again) on the same port, with nothing stored.
    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start redis-server ({error}): install it (`apt-get install \
                     redis-server`; tools/test.sh does) to run these tests"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.command("PING") != "+PONG" {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL: connections drop, the port refuses.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// One inline command; the first line of the answer ("" when down).
    fn command(&self, command: &str) -> String {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return String::new();
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        if stream
            .write_all(format!("{command}\r\n").as_bytes())
            .is_err()
        {
            return String::new();
        }
        let mut answer = Vec::new();
        let mut byte = [0u8; 1];
        while stream.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
            answer.push(byte[0]);
        }
        String::from_utf8_lossy(&answer).trim_end().to_owned()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

const TIMEOUT: Duration = Duration::from_millis(50);

async fn replica(redis: Option<&Redis>, rate: u32, replicas: u32, policy: &str) -> Running {
    let mut args = vec![
        "--rate".to_owned(),
        rate.to_string(),
        "--replicas".to_owned(),
        replicas.to_string(),
        "--on-redis-failure".to_owned(),
        policy.to_owned(),
        "--redis-timeout-ms".to_owned(),
        TIMEOUT.as_millis().to_string(),
    ];
    if let Some(redis) = redis {
        args.extend(["--redis".to_owned(), redis.url()]);
    }
    let options = example::parse_args(args).expect("options");
    Running::new(example::start(&options).await.expect("listening"))
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

/// One `GET /whoami`: its status, `retry-after`, body and how long it took.
struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: String,
    took: Duration,
}

async fn whoami(client: &reqwest::Client, replica: &Running) -> Answer {
    let started = Instant::now();
    let response = client
        .get(format!("http://{}/whoami", replica.addr()))
        .send()
        .await
        .expect("an answer");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let body = response.text().await.expect("a body");
    Answer {
        status,
        retry_after,
        body,
        took: started.elapsed(),
    }
}

/// Send `count` requests one after the other, round robin over `replicas`.
async fn burst(client: &reqwest::Client, replicas: &[&Running], count: usize) -> Vec<Answer> {
    let mut answers = Vec::with_capacity(count);
    for n in 0..count {
        answers.push(whoami(client, replicas[n % replicas.len()]).await);
    }
    answers
}

fn admitted(answers: &[Answer]) -> usize {
    answers
        .iter()
        .filter(|a| a.status == StatusCode::OK)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_answers_the_client_ip() {
    let server = replica(None, 50, 1, "local").await;
    let answer = whoami(&client(), &server).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "127.0.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_whoami_and_the_limit_see_the_proxied_client() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let options =
        example::parse_args(["--rate", "1", "--proxy-protocol", "127.0.0.0/8"].map(String::from))
            .expect("options");
    let server = Running::new(example::start(&options).await.expect("listening"));
    // One client behind the proxy: its budget is its own, not the proxy's.
    let ask = |client: &'static str| {
        let addr = server.addr();
        async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let request = format!(
                "PROXY TCP4 {client} 10.0.0.1 40000 80\r\n\
                 GET /whoami HTTP/1.1\r\nHost: replica\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await.expect("write");
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.expect("read");
            answer
        }
    };
    let first = ask("203.0.113.7").await;
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    assert!(first.ends_with("\r\n\r\n203.0.113.7"), "{first}");
    let second = ask("203.0.113.7").await;
    assert!(
        second.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
        "{second}"
    );
    let other = ask("198.51.100.9").await;
    assert!(other.ends_with("\r\n\r\n198.51.100.9"), "{other}");
    // A trusted peer that sends no header is closed unanswered.
    let mut stream = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    stream
        .write_all(b"GET /whoami HTTP/1.1\r\nHost: replica\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    assert_eq!(String::from_utf8_lossy(&answer), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_50_per_second_within_5_percent() {
    let redis = Redis::start();
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(replica(Some(&redis), 50, 3, "local").await);
    }
    let servers: Vec<&Running> = servers.iter().collect();
    let client = client();
    // One client at about 200 requests per second (4 times the limit), round
    // robin over the replicas, for 5 s.
    let started = Instant::now();
    let mut answers = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(5));
    while started.elapsed() < Duration::from_secs(5) {
        ticker.tick().await;
        answers.push(whoami(&client, servers[answers.len() % 3]).await);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let admitted = admitted(&answers) as f64;
    // GCRA: the burst of 50 at once, then 50 per second.
    let expected = 50.0 + 50.0 * elapsed;
    let error = (admitted - expected) / expected;
    println!(
        "3 replicas, --rate 50: {admitted} of {} requests admitted in {elapsed:.2} s; \
         expected {expected:.0} (error {:+.1}%)",
        answers.len(),
        error * 100.0
    );
    assert!(
        answers.len() as f64 > 2.0 * expected,
        "the client sent too few requests"
    );
    assert!(
        error.abs() <= 0.05,
        "admitted {admitted}, expected {expected:.0}"
    );
    for answer in &answers {
        if answer.status != StatusCode::OK {
            assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(answer.retry_after.as_deref(), Some("1"));
        }
    }
    // Every replica took part in refusing and admitting: the budget is shared.
    for (n, _) in servers.iter().enumerate() {
        let mine: Vec<&Answer> = answers.iter().skip(n).step_by(3).collect();
        assert!(mine.iter().any(|a| a.status == StatusCode::OK));
        assert!(
            mine.iter()
                .any(|a| a.status == StatusCode::TOO_MANY_REQUESTS)
        );
    }
}

/// Spend a replica's shared budget, then kill Redis: what the next 20
/// requests get, none waiting past the timeout.
async fn after_kill(policy: &str, replicas: u32, rate: u32) -> Vec<Answer> {
    let mut redis = Redis::start();
    let server = replica(Some(&redis), rate, replicas, policy).await;
    let client = client();
    // Spend the shared budget: `rate` at once, then the first 429.
    let mut before = Vec::new();
    while before
        .last()
        .is_none_or(|a: &Answer| a.status == StatusCode::OK)
    {
        assert!(before.len() <= 2 * rate as usize, "{policy}: never refused");
        before.push(whoami(&client, &server).await);
    }
    assert!(admitted(&before) >= rate as usize);
    assert_eq!(
        before.last().map(|a| a.retry_after.as_deref()),
        Some(Some("1"))
    );
    redis.kill();
    let answers = burst(&client, &[&server], 20).await;
    let slowest = answers.iter().map(|a| a.took).max().unwrap_or_default();
    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    println!("Redis killed, policy {policy}: {statuses:?}, slowest {slowest:?}");
    // Without the timeout a decision would wait for the reconnection (up to
    // its 500 ms connect timeout, retried): well past this bound.
    assert!(
        slowest < TIMEOUT * 4,
        "{policy}: a request waited {slowest:?} with Redis down (timeout {TIMEOUT:?})"
    );
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_fail_open_admits_everything() {
    let answers = after_kill("open", 1, 5).await;
    assert_eq!(admitted(&answers), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_fail_closed_answers_503_with_retry_after() {
    let answers = after_kill("closed", 1, 5).await;
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.retry_after.as_deref(), Some("1"));
        assert_eq!(answer.body, "");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_local_fallback_limits_at_rate_over_replicas() {
    // 50 per second over 5 replicas: 10 per second (burst 10) each.
    let started = Instant::now();
    let answers = after_kill("local", 5, 50).await;
    let window = started.elapsed().as_secs_f64();
    let admitted = admitted(&answers);
    // The local limiter is fresh: its burst of 10, plus what refilled while
    // the 20 requests ran (at most 10 per second of the whole test).
    assert!(
        (10..=10 + (10.0 * window).ceil() as usize).contains(&admitted),
        "admitted {admitted} in {window:.2} s"
    );
    assert_eq!(answers[0].status, StatusCode::OK);
    assert_eq!(answers[19].status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_resumes_within_a_second_of_redis_returning() {
    let mut redis = Redis::start();
    let a = replica(Some(&redis), 5, 2, "open").await;
    let b = replica(Some(&redis), 5, 2, "open").await;
    let client = client();
    assert_eq!(admitted(&burst(&client, &[&a, &b], 10).await), 5);
    redis.kill();
    assert_eq!(admitted(&burst(&client, &[&a, &b], 10).await), 10);
    redis.restart();
    let back = Instant::now();
    // Fail open admits everything until Redis decides again; the first 429
    // says the shared budget (5) is counted again.
    let mut answers = Vec::new();
    while answers
        .last()
        .is_none_or(|a: &Answer| a.status != StatusCode::TOO_MANY_REQUESTS)
    {
        assert!(
            back.elapsed() < Duration::from_secs(3),
            "sharing did not resume"
        );
        answers.push(whoami(&client, [&a, &b][answers.len() % 2]).await);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let resumed = back.elapsed();
    println!("sharing resumed {resumed:?} after redis-server was back");
    assert!(
        resumed < Duration::from_millis(1200),
        "resumed after {resumed:?}"
    );
    // Both replicas count in the one budget again.
    assert_eq!(
        whoami(&client, &a).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        whoami(&client, &b).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_clients_share_their_64_in_redis_and_keys_expire() {
    let redis = Redis::start();
    let store = RedisStore::new(redis.url()).with_key_prefix("test:");
    let limiter = ClientRateLimiter::try_with_store(
        RateLimit::default().with_per_second(2),
        &RateStore::Redis(store),
    )
    .expect("limiter");
    assert!(limiter.is_shared());
    let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
    assert!(limiter.decide(ip("2001:db8:0:1::1")).await.is_ok());
    assert!(limiter.decide(ip("2001:db8:0:1::2")).await.is_ok());
    let refused = limiter
        .decide(ip("2001:db8:0:1:ffff:ffff:ffff:ffff"))
        .await
        .expect_err("the /64's budget is spent");
    assert!(!refused.is_unavailable());
    assert!(refused.retry_after() > Duration::ZERO);
    assert!(refused.retry_after() <= Duration::from_millis(500));
    assert!(limiter.decide(ip("2001:db8:0:2::1")).await.is_ok());
    assert!(limiter.decide(ip("192.0.2.1")).await.is_ok());
    assert!(limiter.decide(ip("::ffff:192.0.2.1")).await.is_ok());
    assert!(limiter.decide(ip("192.0.2.1")).await.is_err());
    assert_eq!(redis.command("DBSIZE"), ":3");
    // Two requests of 500 ms each: the key lives until the budget is full.
    let ttl = redis.command("PTTL test:2001:db8:0:1::/64");
    let ttl: i64 = ttl.trim_start_matches(':').parse().expect("a PTTL");
    assert!((500..=1000).contains(&ttl), "PTTL {ttl}");
    // The script cache flushed (as after a restart): EVALSHA's NOSCRIPT is
    // answered by loading the script again.
    assert_eq!(redis.command("SCRIPT FLUSH"), "+OK");
    assert!(limiter.decide(ip("198.51.100.1")).await.is_ok());
}

#[test]
fn config_errors_are_typed() {
    use postern_limits::config::ConfigError;
    let error = |store: RedisStore| {
        ClientRateLimiter::try_with_store(
            RateLimit::default().with_per_second(1),
            &RateStore::Redis(store),
        )
        .expect_err("refused")
    };
    assert!(matches!(
        error(RedisStore::new("http://127.0.0.1/")),
        ConfigError::InvalidRedisUrl { .. }
    ));
    assert_eq!(
        error(RedisStore::new("redis://127.0.0.1/").with_timeout(Duration::ZERO)),
        ConfigError::ZeroRedisTimeout
    );
    assert_eq!(
        error(
            RedisStore::new("redis://127.0.0.1/")
                .with_failure_policy(FailurePolicy::LocalFallback { replicas: 0 })
        ),
        ConfigError::ZeroReplicas
    );
    assert_eq!(
        example::parse_args(["--on-redis-failure".to_owned(), "maybe".to_owned()]),
        Err("--on-redis-failure maybe: write local, open or closed".to_owned())
    );
}
