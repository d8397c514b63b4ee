//! Route lookup cost as the rule count grows: 12, 100 and 1,000 rules.
//!
//! Each "resource" `r{i}` registers four rules, as a REST API would: the literal list route
//! `/api/r{i}`, the item route `/api/r{i}/<arg>` (u64), a two-argument route
//! `/api/r{i}/<arg>/items/` (u64, String) and one whose second argument is a user type with its
//! own regex, `/api/r{i}/<arg>/tags/` (u64, Slug). Lookups hit the **last** resource registered
//! (the worst case for a linear scan), plus a path no rule matches.
//!
//! `lookup` times [`Router::find`], which returns the match with owned captures. `dispatch`
//! times what a connection runs per request: [`HttpServer::handle_request`] with the same
//! rules, from a fresh [`Responder`] to the handler's answer sent (handlers as above, and the
//! default 404 for the miss is left to the missing handler, as a connection does).
//!
//! Run: `cargo bench -p postern-router --bench lookup -- --warm-up-time 1 --measurement-time 2`

// `criterion_group!` generates an undocumented function.
#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use postern_core::{AbstractHttpServer, Handled, Method, Request, Responder};
use postern_router::{FromCapture, HttpServer, Router};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// A user argument type; its converter regex is not a default, so its rules use the regex.
struct Slug;

impl FromCapture for Slug {
    fn from_capture(_: &str) -> Option<Self> {
        Some(Slug)
    }
}

fn router(rules: usize) -> Router {
    let mut router = Router::new();
    add_rules(&mut router, rules);
    router
}

fn server(rules: usize) -> HttpServer {
    let mut server = HttpServer::new();
    add_rules(server.router_mut(), rules);
    server
}

fn add_rules(router: &mut Router, rules: usize) {
    router
        .converters_mut()
        .add::<Slug>("[a-z]+")
        .expect("valid regex");
    for i in 0..rules / 4 {
        router
            .add(&format!("/api/r{i}"), Method::Get, || "list")
            .expect("literal route");
        router
            .add(&format!("/api/r{i}/<arg>"), Method::Get, |id: u64| {
                format!("{id}")
            })
            .expect("item route");
        router
            .add(
                &format!("/api/r{i}/<arg>/items/"),
                Method::Get,
                |id: u64, name: String| format!("{id}{name}"),
            )
            .expect("two-argument route");
        router
            .add(
                &format!("/api/r{i}/<arg>/tags/"),
                Method::Get,
                |_: u64, _: Slug| "tag",
            )
            .expect("regex route");
    }
}

fn request(path: &str) -> Request {
    let request = http::Request::get(path)
        .body(Bytes::new())
        .expect("valid request");
    Request::from_http(request)
}

/// The benchmarked paths for `rules` rules: each hits the last resource, but the miss.
fn cases(rules: usize) -> [(&'static str, String); 5] {
    let last = rules / 4 - 1;
    [
        ("literal", format!("/api/r{last}")),
        ("one_arg", format!("/api/r{last}/12345")),
        ("two_args", format!("/api/r{last}/12345/items/widget")),
        ("regex_arg", format!("/api/r{last}/12345/tags/blue")),
        ("miss", format!("/api/r{last}/12345/nothing")),
    ]
}

/// Runs `handle_request` to its end; every handler here is synchronous.
fn handle(server: &HttpServer, request: &Request) -> bool {
    let (responder, answer) = Responder::pair();
    let mut handled = pin!(server.handle_request(request, responder));
    let Poll::Ready(handled) = handled
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    else {
        panic!("synchronous handlers answer at once");
    };
    drop(answer);
    matches!(handled, Handled::Yes)
}

fn lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("lookup");
    for rules in [12usize, 100, 1000] {
        let router = router(rules);
        for (name, path) in cases(rules) {
            let request = request(&path);
            let expect_hit = name != "miss";
            assert_eq!(router.find(&request).is_some(), expect_hit, "{name} {path}");
            group.bench_with_input(BenchmarkId::new(name, rules), &request, |b, request| {
                b.iter(|| router.find(black_box(request)))
            });
        }
    }
    group.finish();
}

fn dispatch(c: &mut Criterion) {
    let mut group = c.benchmark_group("dispatch");
    for rules in [12usize, 100, 1000] {
        let server = server(rules);
        for (name, path) in cases(rules) {
            let request = request(&path);
            assert_eq!(handle(&server, &request), name != "miss", "{name} {path}");
            group.bench_with_input(BenchmarkId::new(name, rules), &request, |b, request| {
                b.iter(|| handle(&server, black_box(request)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, lookup, dispatch);
criterion_main!(benches);
