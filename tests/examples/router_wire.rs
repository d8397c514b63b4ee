//! `postern_router::HttpServer` over real sockets: what only the wire shows (HEAD without a
//! body, 405 with `Allow`, percent-decoding, async handlers on HTTP/2 streams).

use std::sync::Arc;
use std::time::Duration;

use http::{Method as HttpMethod, StatusCode, Version};
use postern_core::{Configuration, HttpService, Method, Request, Responder, Response};
use postern_router::{HttpServer, UrlPath};

use crate::support::{Running, start_service};

async fn serve(server: HttpServer) -> (Running, String) {
    let (running, addr) = start_service(Configuration::default(), HttpService::new(server)).await;
    (running, format!("http://{addr}"))
}

fn clients() -> [(reqwest::Client, Version); 2] {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let build = |builder: reqwest::ClientBuilder| {
        builder
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client")
    };
    [
        (
            build(reqwest::Client::builder().http1_only()),
            Version::HTTP_11,
        ),
        (
            build(reqwest::Client::builder().http2_prior_knowledge()),
            Version::HTTP_2,
        ),
    ]
}

/// How many `/together` requests meet before any is answered.
const SIDE_BY_SIDE: usize = 8;

fn server() -> HttpServer {
    let mut s = HttpServer::new().with_method_not_allowed(true);
    s.route_with_methods("/item/", Method::Get, |id: u32| format!("item {id}"))
        .unwrap();
    s.route_with_methods("/item/", Method::Delete, |_: u32| StatusCode::NO_CONTENT)
        .unwrap();
    s.route("/files/<arg>", |url: UrlPath| format!("[{url}]"))
        .unwrap();
    s.route("/name/", |name: String| format!("[{name}]"))
        .unwrap();
    // Each request waits until `SIDE_BY_SIDE` of them are running: they can
    // only be answered if their handlers run at the same time.
    let meeting = Arc::new(tokio::sync::Barrier::new(SIDE_BY_SIDE));
    s.route("/together", move |responder: Responder| {
        let meeting = Arc::clone(&meeting);
        async move {
            meeting.wait().await;
            responder.send(Response::text("met"));
        }
    })
    .unwrap();
    s.route("/echo", |request: Request| async move {
        Response::bytes(request.body().clone())
    })
    .unwrap();
    s
}

#[tokio::test]
async fn head_405_and_decoding_on_http1_and_http2() {
    let (running, base) = serve(server()).await;
    for (client, version) in clients() {
        let head = client
            .head(format!("{base}/item/12"))
            .send()
            .await
            .expect("HEAD");
        assert_eq!((head.status(), head.version()), (StatusCode::OK, version));
        assert_eq!(head.headers()["content-length"], "7", "{version:?}");
        assert!(head.bytes().await.expect("body").is_empty(), "{version:?}");

        let refused = client
            .request(HttpMethod::PATCH, format!("{base}/item/12"))
            .send()
            .await
            .expect("PATCH");
        assert_eq!(
            refused.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{version:?}"
        );
        assert_eq!(
            refused.headers()["allow"],
            "GET, DELETE, HEAD",
            "{version:?}"
        );

        let table = [
            ("/files/a%20b/c%2Fd", "[a b/c/d]"),
            ("/name/caf%C3%A9", "[café]"),
            ("/name/a%3Fb", "[a?b]"),
            ("/files/x?y=1", "[x]"),
        ];
        for (path, body) in table {
            let answer = client
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("GET");
            assert_eq!(answer.status(), StatusCode::OK, "{version:?} {path}");
            assert_eq!(
                answer.text().await.expect("text"),
                body,
                "{version:?} {path}"
            );
        }
        let missing = client
            .get(format!("{base}/name/a%2Fb"))
            .send()
            .await
            .expect("GET");
        assert_eq!(
            missing.status(),
            StatusCode::NOT_FOUND,
            "%2F is a separator"
        );

        let echoed = client
            .post(format!("{base}/echo"))
            .body("posted body")
            .send()
            .await
            .expect("POST");
        assert_eq!(echoed.text().await.expect("text"), "posted body");
    }
    running.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn async_responder_handlers_run_side_by_side_on_one_http2_connection() {
    let (running, base) = serve(server()).await;
    let [_, (h2, _)] = clients();
    let requests = (0..SIDE_BY_SIDE).map(|_| {
        let (client, url) = (h2.clone(), format!("{base}/together"));
        tokio::spawn(async move {
            let response = client.get(url).send().await.expect("GET");
            (response.version(), response.text().await.expect("text"))
        })
    });
    // Had the handlers run one after another, the first would still be
    // waiting for the others when the client gives up (10 s).
    for request in requests.collect::<Vec<_>>() {
        let (version, body) = request.await.expect("task");
        assert_eq!((version, body.as_str()), (Version::HTTP_2, "met"));
    }
    running.shutdown(Duration::from_secs(1)).await;
}
