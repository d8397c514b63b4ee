//! Per-request overhead of each layer against a bare service, of the full
//! stack, and the rate limiter's memory after 1,000,000 distinct clients.
//!
//! Each iteration does what hyper does per request: clone the service, call it
//! with a request carrying the peer address (built outside the timing), poll
//! the (ready) future and drop the response.
//!
//! ```text
//! cargo bench -p postern-limits --bench limits -- --warm-up-time 1 --measurement-time 2
//! ```

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use http::{Request, Response};
use postern_limits::client_ip::PeerAddr;
use postern_limits::config::{IpFilter, Limits, RateLimit, SizeLimits, parse_subnet};
use postern_limits::ip_filter::IpFilterLayer;
use postern_limits::rate::{ClientRateLimiter, RateLimitLayer};
use postern_limits::size::SizeLimitLayer;
use postern_limits::stack::LimitsLayer;
use tower::{Layer, Service, service_fn};

/// The smallest body: the bench measures the layers, not body handling.
type Body = http_body_util::Empty<bytes::Bytes>;

fn bare<B>(_req: Request<B>) -> Ready<Result<Response<Body>, Infallible>> {
    ready(Ok(Response::new(Body::new())))
}

fn request(peer: SocketAddr) -> Request<Body> {
    let mut req = Request::get("/api/items?page=2")
        .header("host", "example.com")
        .header("user-agent", "bench/1.0")
        .header("accept", "*/*")
        .body(Body::new())
        .unwrap();
    req.extensions_mut().insert(PeerAddr(peer));
    req
}

/// Clone + call + poll once, like hyper's `TowerToHyperService`.
#[inline]
fn run<S>(service: &S, req: Request<Body>) -> u16
where
    S: Service<Request<Body>, Error = Infallible> + Clone,
    S::Response: StatusOf,
{
    let mut service = service.clone();
    let future = pin!(service.call(req));
    match future.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(response)) => response.status_code(),
        Poll::Pending => unreachable!("the bench services are ready at once"),
    }
}

trait StatusOf {
    fn status_code(&self) -> u16;
}

impl<B> StatusOf for Response<B> {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

fn peer() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)), 40000)
}

fn filter() -> IpFilter {
    IpFilter::default().with_deny(
        ["203.0.113.0/24", "192.0.2.0/24", "2001:db8::/32"]
            .iter()
            .map(|s| parse_subnet(s).unwrap()),
    )
}

/// A quota no single client exhausts, so every request takes the admit path.
fn generous_rate() -> RateLimit {
    RateLimit::default().with_per_second(u32::MAX)
}

fn layers(c: &mut Criterion) {
    let mut group = c.benchmark_group("per_request");
    let peer = peer();

    let svc = service_fn(bare::<Body>);
    group.bench_function("bare", |b| {
        b.iter_batched(
            || request(peer),
            |req| run(&svc, req),
            BatchSize::SmallInput,
        )
    });

    let svc = IpFilterLayer::new(IpFilter::default()).layer(service_fn(bare::<Body>));
    group.bench_function("ip_filter_off", |b| {
        b.iter_batched(
            || request(peer),
            |req| run(&svc, req),
            BatchSize::SmallInput,
        )
    });
    let svc = IpFilterLayer::new(filter()).layer(service_fn(bare::<Body>));
    group.bench_function("ip_filter_3_subnets", |b| {
        b.iter_batched(
            || request(peer),
            |req| run(&svc, req),
            BatchSize::SmallInput,
        )
    });

    let svc = RateLimitLayer::new(RateLimit::disabled()).layer(service_fn(bare::<Body>));
    group.bench_function("rate_off", |b| {
        b.iter_batched(
            || request(peer),
            |req| run(&svc, req),
            BatchSize::SmallInput,
        )
    });
    let svc = RateLimitLayer::new(generous_rate()).layer(service_fn(bare::<Body>));
    group.bench_function("rate_1_client", |b| {
        b.iter_batched(
            || request(peer),
            |req| run(&svc, req),
            BatchSize::SmallInput,
        )
    });
    let svc = RateLimitLayer::new(generous_rate()).layer(service_fn(bare::<Body>));
    let mut n = 0u32;
    group.bench_function("rate_4096_clients", |b| {
        b.iter_batched(
            || {
                n = n.wrapping_add(1);
                let ip = Ipv4Addr::from(0x0A00_0000 | (n & 4095));
                request(SocketAddr::new(IpAddr::V4(ip), 1))
            },
            |req| run(&svc, req),
            BatchSize::SmallInput,
        )
    });

    let svc = SizeLimitLayer::new(SizeLimits::disabled()).layer(service_fn(bare::<_>));
    group.bench_function("sizes_off", |b| {
        b.iter_batched(
            || request(peer),
            |req| run(&svc, req),
            BatchSize::SmallInput,
        )
    });
    let svc = SizeLimitLayer::new(SizeLimits::default()).layer(service_fn(bare::<_>));
    group.bench_function("sizes_qt_default", |b| {
        b.iter_batched(
            || request(peer),
            |req| run(&svc, req),
            BatchSize::SmallInput,
        )
    });

    let svc = LimitsLayer::new(&Limits::disabled()).layer(service_fn(bare::<_>));
    group.bench_function("stack_disabled", |b| {
        b.iter_batched(
            || request(peer),
            |req| run(&svc, req),
            BatchSize::SmallInput,
        )
    });
    let svc = LimitsLayer::new(&Limits::default()).layer(service_fn(bare::<_>));
    group.bench_function("stack_qt_default", |b| {
        b.iter_batched(
            || request(peer),
            |req| run(&svc, req),
            BatchSize::SmallInput,
        )
    });
    let mut all = Limits::strict();
    all.ip_filter = filter();
    all.rate = generous_rate();
    let svc = LimitsLayer::new(&all).layer(service_fn(bare::<_>));
    group.bench_function("stack_filter_rate_sizes", |b| {
        b.iter_batched(
            || request(peer),
            |req| run(&svc, req),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// Distinct /64s: every address is a new client.
fn nth_ipv6_client(n: u64) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(
        (0x2001_0db8_u128 << 96) | (u128::from(n) << 64) | 1,
    ))
}

fn rate_under_attack(c: &mut Criterion) {
    // The table is full and every request comes from a new client: the
    // refusal path (one atomic load + one map lookup).
    let limiter = ClientRateLimiter::new(
        RateLimit::default()
            .with_per_second(10)
            .with_max_tracked_clients(100_000)
            .with_sweep_interval(Duration::from_secs(3600)),
    );
    for n in 0..100_000 {
        let _ = limiter.check(nth_ipv6_client(n));
    }
    let mut n = 100_000u64;
    c.bench_function("rate_check_new_client_table_full", |b| {
        b.iter(|| {
            n += 1;
            black_box(limiter.check(nth_ipv6_client(n)).is_err())
        })
    });
}

/// Resident memory in KiB (Linux), for the memory report.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Not a timing: 1,000,000 distinct clients against a cap, reporting how many
/// are tracked and the memory they hold.
fn memory_report() {
    for cap in [100_000usize, 1_000_000] {
        let before = rss_kib();
        let limiter = ClientRateLimiter::new(
            RateLimit::default()
                .with_per_second(10)
                .with_max_tracked_clients(cap)
                .with_sweep_interval(Duration::from_secs(3600)),
        );
        let start = Instant::now();
        let mut refused = 0u32;
        for n in 0..1_000_000 {
            if limiter.check(nth_ipv6_client(n)).is_err() {
                refused += 1;
            }
        }
        let elapsed = start.elapsed();
        let after = rss_kib();
        let tracked = limiter.tracked_clients();
        assert!(tracked <= cap, "tracked {tracked} > cap {cap}");
        let grown = match (before, after) {
            (Some(b), Some(a)) => format!("{:.1} MiB", a.saturating_sub(b) as f64 / 1024.0),
            _ => "n/a".into(),
        };
        println!(
            "rate_memory: cap {cap}: 1,000,000 distinct clients in {elapsed:.2?}: \
             tracked {tracked}, refused {refused}, table capacity {}, RSS +{grown}",
            limiter.capacity()
        );
    }
}

fn main() {
    if std::env::args().any(|arg| arg == "--bench") {
        memory_report();
    }
    let mut criterion = Criterion::default().configure_from_args();
    layers(&mut criterion);
    rate_under_attack(&mut criterion);
    criterion.final_summary();
}
