//! What a request costs without sockets, so regressions show without a load generator.
//!
//! `responder` times the [`Responder`] paths up to the last body byte read: a whole body
//! (`write_with_mime`), a chunked body of 16 chunks (`begin_chunked` and `write_chunk`), and
//! `write_reader` of a 1 MiB file. `service` times one request through the whole
//! [`HttpService`]`<`[`HttpServer`]`>` tower service, from an `http::Request` to the response body
//! collected: `GET /` (a literal rule), `GET /user/42` (an argument rule), `POST /echo` with a
//! 4 KiB body (the body read whole before the handler), and a path no rule matches (404).
//!
//! Run: `cargo bench -p postern-router --bench respond -- --warm-up-time 1 --measurement-time 2`
//! (`cargo test --all-targets` runs each case once, as a test).

// `criterion_group!` generates an undocumented function.
#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Full};
use postern_core::{HttpService, Request, Responder, ResponseBody};
use postern_router::HttpServer;
use std::hint::black_box;
use tower_service::Service;

const FILE_SIZE: usize = 1024 * 1024;
const CHUNKS: usize = 16;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Every body byte of `response`, counted.
async fn body_len(response: http::Response<ResponseBody>) -> usize {
    response
        .into_body()
        .collect()
        .await
        .expect("a complete body")
        .to_bytes()
        .len()
}

fn responder(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("responder");
    group.bench_function("whole", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (responder, pending) = Responder::pair();
                responder.write_with_mime(
                    black_box("Hello, World!"),
                    "text/plain; charset=utf-8",
                    StatusCode::OK,
                );
                assert_eq!(body_len(pending.await).await, 13);
            })
        })
    });
    let chunk = Bytes::from(vec![b'x'; 1024]);
    group.bench_function("chunked_16x1k", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (responder, pending) = Responder::pair();
                let mut writer = responder.begin_chunked(HeaderMap::new(), StatusCode::OK);
                let chunk = chunk.clone();
                let write = async move {
                    for _ in 0..CHUNKS {
                        writer.write_chunk(chunk.clone()).await.expect("a reader");
                    }
                    writer
                        .end_chunked(Bytes::new(), HeaderMap::new())
                        .await
                        .expect("a reader");
                };
                let read = async { body_len(pending.await).await };
                let ((), len) = tokio::join!(write, read);
                assert_eq!(len, CHUNKS * 1024);
            })
        })
    });
    let path = std::env::temp_dir().join(format!("postern-bench-{}.bin", std::process::id()));
    std::fs::write(&path, vec![b'y'; FILE_SIZE]).expect("a writable temporary directory");
    group.bench_function("write_reader_1mib_file", |b| {
        b.iter(|| {
            rt.block_on(async {
                let file = tokio::fs::File::open(&path).await.expect("the file");
                let (responder, pending) = Responder::pair();
                let write = responder.write_reader(file, HeaderMap::new(), StatusCode::OK);
                let read = async { body_len(pending.await).await };
                let (written, len) = tokio::join!(write, read);
                written.expect("the file reads");
                assert_eq!(len, FILE_SIZE);
            })
        })
    });
    group.finish();
    let _ = std::fs::remove_file(&path);
}

fn server() -> HttpServer {
    let mut server = HttpServer::new();
    server.route("/", || "Hello, World!").expect("a route");
    server
        .route("/user/<arg>", |id: i64| format!("user {id}"))
        .expect("a route");
    server
        .route("/echo", |request: &Request| request.body().clone())
        .expect("a route");
    server
}

fn service(c: &mut Criterion) {
    let rt = runtime();
    let service = HttpService::new(server());
    let echo = Bytes::from(vec![b'a'; 4096]);
    let cases: [(&str, http::Method, &str, Bytes, StatusCode, usize); 4] = [
        (
            "get_root",
            http::Method::GET,
            "/",
            Bytes::new(),
            StatusCode::OK,
            13,
        ),
        (
            "get_user",
            http::Method::GET,
            "/user/42",
            Bytes::new(),
            StatusCode::OK,
            7,
        ),
        (
            "post_echo_4k",
            http::Method::POST,
            "/echo",
            echo,
            StatusCode::OK,
            4096,
        ),
        (
            "miss",
            http::Method::GET,
            "/nothing",
            Bytes::new(),
            StatusCode::NOT_FOUND,
            0,
        ),
    ];
    let mut group = c.benchmark_group("service");
    for (name, method, path, body, status, len) in cases {
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let request = http::Request::builder()
                        .method(method.clone())
                        .uri(path)
                        .body(Full::new(body.clone()))
                        .expect("a valid request");
                    let response = service.clone().call(request).await.expect("infallible");
                    assert_eq!(response.status(), status);
                    assert_eq!(body_len(response).await, len);
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, responder, service);
criterion_main!(benches);
