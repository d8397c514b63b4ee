//! Per-request cost of the rate limit's stores: the in-memory GCRA against
//! the Redis store (one `EVALSHA` round trip to a local `redis-server` over
//! TCP), one decision at a time and 64 at once on the one multiplexed
//! connection.
//!
//! Starts its own `redis-server` (a child process on a free 127.0.0.1 port)
//! and skips the Redis cases, saying so, when the binary is missing.
//!
//! ```text
//! cargo bench -p postern-limits --features redis --bench rate_store -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use postern_limits::config::{RateLimit, RateStore, RedisStore};
use postern_limits::rate::ClientRateLimiter;

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

/// A rate nobody reaches: every decision admits, so both stores do the
/// same work per request.
fn generous() -> RateLimit {
    RateLimit::default().with_per_second(1_000_000_000)
}

/// The `redis-server` child; killed when dropped.
struct Redis(Child, u16);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis() -> Option<Redis> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .ok()?
        .port();
    let child = match Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => {
            eprintln!(
                "rate_store: skipping the Redis store: cannot start redis-server ({error}); \
                 install it (apt-get install redis-server) to measure it"
            );
            return None;
        }
    };
    let redis = Redis(child, port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            eprintln!("rate_store: skipping the Redis store: redis-server did not start");
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Some(redis)
}

fn stores(c: &mut Criterion) {
    let mut group = c.benchmark_group("rate_store");

    let memory = ClientRateLimiter::new(generous());
    group.bench_function("memory_decide", |b| {
        b.iter(|| black_box(memory.decide(black_box(CLIENT)).now()));
    });

    let Some(redis) = start_redis() else {
        group.finish();
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let store = RedisStore::new(format!("redis://127.0.0.1:{}/", redis.1))
        .with_timeout(Duration::from_secs(1));
    let shared = ClientRateLimiter::try_with_store(generous(), &RateStore::Redis(store))
        .expect("a Redis limiter");
    // Connect and load the script before measuring.
    runtime
        .block_on(shared.decide(CLIENT))
        .expect("Redis admits");

    group.bench_function("redis_decide_one_at_a_time", |b| {
        b.iter(|| black_box(runtime.block_on(shared.decide(black_box(CLIENT)))));
    });

    const CONCURRENT: u64 = 64;
    group.throughput(Throughput::Elements(CONCURRENT));
    group.bench_function("redis_decide_64_concurrent", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut set = tokio::task::JoinSet::new();
                for n in 0..CONCURRENT {
                    let ip = IpAddr::V4(Ipv4Addr::from(3_221_225_984 + n as u32));
                    set.spawn(shared.decide(ip));
                }
                while let Some(result) = set.join_next().await {
                    let _ = black_box(result);
                }
            })
        });
    });
    group.finish();
    drop(redis);
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    stores(&mut criterion);
    criterion.final_summary();
}
