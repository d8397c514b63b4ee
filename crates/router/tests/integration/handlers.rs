//! Every handler form and return type, the missing and after-request handlers, HEAD, 405 and
//! rule conditions, through the same path the server uses.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{call, call_with};
use bytes::Bytes;
use http::header::{HeaderValue, SERVER};
use http::{HeaderMap, StatusCode};
use postern_core::{Method, Request, Responder, Response};
use postern_router::{HttpServer, RuleCondition};

async fn async_user(id: u32) -> String {
    format!("async user {id}")
}

fn sync_user(id: u32, request: &Request) -> String {
    format!("sync user {id} via {}", request.path())
}

#[tokio::test]
async fn every_argument_shape() {
    let mut s = HttpServer::new();
    s.route("/plain", || "plain").unwrap();
    s.route("/fn/", sync_user).unwrap();
    s.route("/async-fn/", async_user).unwrap();
    s.route("/req/", |id: u32, request: Request| {
        format!("{id} {}", request.path())
    })
    .unwrap();
    s.route("/req-ref/", |id: u32, request: &Request| {
        format!("{id} {}", request.method())
    })
    .unwrap();
    s.route("/resp/", |id: u32, responder: Responder| {
        responder.write_with_mime(format!("resp {id}"), "text/plain", StatusCode::OK)
    })
    .unwrap();
    s.route(
        "/req-resp/",
        |id: u32, request: Request, responder: Responder| {
            responder.send(Response::text(format!("{id} {}", request.path())))
        },
    )
    .unwrap();
    s.route(
        "/resp-req/",
        |id: u32, responder: Responder, request: Request| {
            responder.send(Response::text(format!("{id} {}", request.path())))
        },
    )
    .unwrap();
    s.route(
        "/reqref-resp/",
        |id: u32, request: &Request, responder: Responder| {
            responder.send(Response::text(format!("{id} {}", request.path())))
        },
    )
    .unwrap();
    s.route(
        "/resp-reqref/",
        |id: u32, responder: Responder, request: &Request| {
            responder.send(Response::text(format!("{id} {}", request.path())))
        },
    )
    .unwrap();
    s.route("/async-req/", |id: u32, request: Request| async move {
        tokio::task::yield_now().await;
        format!("{id} {}", request.path())
    })
    .unwrap();
    s.route(
        "/async-resp/",
        |id: u32, responder: Responder, request: Request| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            responder.send(Response::text(format!("{id} {}", request.path())))
        },
    )
    .unwrap();
    s.route("/async-closure/", async |id: u32| {
        format!("async closure {id}")
    })
    .unwrap();
    s.route("/spawned/", |id: u32, responder: Responder| {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            responder.send(Response::text(format!("later {id}")));
        });
    })
    .unwrap();
    s.route(
        "/six/<arg>/<arg>/<arg>/<arg>/<arg>/<arg>",
        |a: u8, b: i16, c: u32, d: i64, e: f64, f: String| format!("{a} {b} {c} {d} {e} {f}"),
    )
    .unwrap();
    s.route(
        "/six-req/<arg>/<arg>/<arg>/<arg>/<arg>/<arg>",
        |a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, r: &Request, w: Responder| {
            w.send(Response::text(format!(
                "{} {}",
                a + b + c + d + e + f,
                r.path()
            )))
        },
    )
    .unwrap();

    let table: &[(&str, &str)] = &[
        ("/plain", "plain"),
        ("/fn/3", "sync user 3 via /fn/3"),
        ("/async-fn/4", "async user 4"),
        ("/req/5", "5 /req/5"),
        ("/req-ref/6", "6 GET"),
        ("/resp/7", "resp 7"),
        ("/req-resp/8", "8 /req-resp/8"),
        ("/resp-req/9", "9 /resp-req/9"),
        ("/reqref-resp/10", "10 /reqref-resp/10"),
        ("/resp-reqref/11", "11 /resp-reqref/11"),
        ("/async-req/12", "12 /async-req/12"),
        ("/async-resp/13", "13 /async-resp/13"),
        ("/spawned/14", "later 14"),
        ("/async-closure/15", "async closure 15"),
        ("/six/1/-2/3/-4/5.5/six", "1 -2 3 -4 5.5 six"),
        ("/six-req/1/1/1/1/1/1", "6 /six-req/1/1/1/1/1/1"),
    ];
    for (uri, body) in table {
        let answer = call(&s, "GET", uri).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (StatusCode::OK, *body),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn every_return_type() {
    let mut s = HttpServer::new();
    s.route("/string", || String::from("string")).unwrap();
    s.route("/str", || "str").unwrap();
    s.route("/vec", || b"<html><body>x</body></html>".to_vec())
        .unwrap();
    s.route("/bytes", || Bytes::from_static(b"\x89PNG\r\n\x1a\n...."))
        .unwrap();
    s.route("/json", || serde_json::json!({"key1": "1", "key2": [1, 2]}))
        .unwrap();
    s.route("/status", || StatusCode::ACCEPTED).unwrap();
    s.route("/response", || Response::with_mime("text/csv", "a,b"))
        .unwrap();
    s.route("/tuple", || (StatusCode::CREATED, "made")).unwrap();
    s.route("/ok/", |n: i32| -> Result<String, StatusCode> {
        if n > 0 {
            Ok(format!("ok {n}"))
        } else {
            Err(StatusCode::BAD_REQUEST)
        }
    })
    .unwrap();
    s.route("/unit", || ()).unwrap();
    s.route("/async-json", || async { serde_json::json!([1, 2, 3]) })
        .unwrap();

    let table: &[(&str, u16, Option<&str>, &str)] = &[
        ("/string", 200, Some("text/plain; charset=utf-8"), "string"),
        ("/str", 200, Some("text/plain; charset=utf-8"), "str"),
        (
            "/vec",
            200,
            Some("text/html"),
            "<html><body>x</body></html>",
        ),
        (
            "/json",
            200,
            Some("application/json"),
            r#"{"key1":"1","key2":[1,2]}"#,
        ),
        ("/status", 202, Some("application/x-empty"), ""),
        ("/response", 200, Some("text/csv"), "a,b"),
        ("/tuple", 201, Some("text/plain; charset=utf-8"), "made"),
        ("/ok/2", 200, Some("text/plain; charset=utf-8"), "ok 2"),
        ("/ok/-2", 400, Some("application/x-empty"), ""),
        ("/unit", 200, Some("application/x-empty"), ""),
        ("/async-json", 200, Some("application/json"), "[1,2,3]"),
    ];
    for (uri, status, mime, body) in table {
        let answer = call(&s, "GET", uri).await;
        assert_eq!(
            (
                answer.status.as_u16(),
                answer.header("content-type"),
                answer.body.as_str()
            ),
            (*status, *mime, *body),
            "{uri}"
        );
    }
    let png = call(&s, "GET", "/bytes").await;
    assert_eq!(png.header("content-type"), Some("image/png"));
}

fn recording_server(log: &Arc<Mutex<Vec<String>>>) -> HttpServer {
    let mut s = HttpServer::new();
    s.route("/returned", || "body").unwrap();
    s.route("/future", || async { "later" }).unwrap();
    s.route("/responder", |w: Responder| {
        w.send(Response::text("direct"))
    })
    .unwrap();
    for name in ["first", "second"] {
        let log = Arc::clone(log);
        s.add_after_request_handler(move |request: &Request, response: &mut Response| {
            log.lock()
                .unwrap()
                .push(format!("{name} {}", request.path()));
            let previous = response
                .headers()
                .get("x-order")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let value = HeaderValue::from_str(&format!("{previous}{name};")).unwrap();
            response.headers_mut().insert("x-order", value);
        });
    }
    s.add_after_request_handler(|_: &Request, response: &mut Response| {
        response
            .headers_mut()
            .insert(SERVER, HeaderValue::from_static("Postern test"));
    });
    s
}

#[tokio::test]
async fn after_request_handlers_run_in_order_on_returned_responses_only() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut s = recording_server(&log);

    for uri in ["/returned", "/future", "/nowhere"] {
        let answer = call(&s, "GET", uri).await;
        assert_eq!(answer.header("x-order"), Some("first;second;"), "{uri}");
        assert_eq!(answer.header("server"), Some("Postern test"), "{uri}");
    }
    let missing = call(&s, "GET", "/nowhere").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.header("content-type"), Some("application/x-empty"));
    assert_eq!(missing.body, "");

    let direct = call(&s, "GET", "/responder").await;
    assert_eq!(
        (direct.body.as_str(), direct.header("x-order")),
        ("direct", None)
    );

    s.set_missing_handler(|request: &Request, responder: Responder| {
        responder.send(
            Response::text(format!("nothing at {}", request.path())).with_status(StatusCode::GONE),
        )
    });
    let custom = call(&s, "GET", "/nowhere").await;
    assert_eq!(
        (
            custom.status,
            custom.body.as_str(),
            custom.header("x-order")
        ),
        (StatusCode::GONE, "nothing at /nowhere", None)
    );
    s.clear_missing_handler();
    let cleared = call(&s, "GET", "/nowhere").await;
    assert_eq!(
        (cleared.status, cleared.header("x-order")),
        (StatusCode::NOT_FOUND, Some("first;second;"))
    );
    assert_eq!(
        log.lock().unwrap()[..2],
        ["first /returned", "second /returned"]
    );
}

#[tokio::test]
async fn head_is_answered_by_get_rules_unless_qt_compatible() {
    let build = |mut s: HttpServer| {
        s.route_with_methods("/page", Method::Get, || "get body")
            .unwrap();
        s.route_with_methods("/explicit", Method::Get, || "get")
            .unwrap();
        s.route_with_methods("/explicit", Method::Head, || (StatusCode::ACCEPTED, "head"))
            .unwrap();
        s
    };
    let s = build(HttpServer::new());
    // The GET answer's headers and length, without its body.
    let head = call(&s, "HEAD", "/page").await;
    assert_eq!(
        (
            head.status,
            head.header("content-length"),
            head.body.as_str()
        ),
        (StatusCode::OK, Some("8"), "")
    );
    // A rule that lists HEAD wins over the GET fallback even when registered later.
    assert_eq!(
        call(&s, "HEAD", "/explicit").await.status,
        StatusCode::ACCEPTED
    );

    let qt = build(HttpServer::qt_compatible());
    assert_eq!(
        call(&qt, "HEAD", "/page").await.status,
        StatusCode::NOT_FOUND
    );
    let off = build(HttpServer::new().with_head_as_get(false));
    assert_eq!(
        call(&off, "HEAD", "/page").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn method_not_allowed_is_opt_in() {
    let build = |mut s: HttpServer| {
        s.route_with_methods("/item/", Method::Get, |id: u32| format!("item {id}"))
            .unwrap();
        s.route_with_methods("/item/", Method::Delete | Method::Put, |_: u32| {
            StatusCode::OK
        })
        .unwrap();
        s.route_with_methods("/item/", Method::Post, |_: String| StatusCode::OK)
            .unwrap();
        s.add_after_request_handler(|_: &Request, r: &mut Response| {
            r.headers_mut()
                .insert(SERVER, HeaderValue::from_static("t"));
        });
        s
    };
    let qt = build(HttpServer::new());
    assert_eq!(
        call(&qt, "PATCH", "/item/1").await.status,
        StatusCode::NOT_FOUND
    );

    let s = build(HttpServer::new().with_method_not_allowed(true));
    let answer = call(&s, "PATCH", "/item/1").await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.header("allow"), Some("GET, PUT, DELETE, POST, HEAD"));
    assert_eq!(answer.header("server"), Some("t"));
    // `x` does not convert to u32, so only the String rule's POST is allowed.
    let answer = call(&s, "GET", "/item/x").await;
    assert_eq!(answer.header("allow"), Some("POST"));
    // No rule's path matches: the missing handler answers.
    assert_eq!(
        call(&s, "PATCH", "/other").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(call(&s, "GET", "/item/1").await.body, "item 1");
}

/// Qt's test rule: matches only with a given query parameter.
struct RequireQuery(&'static str);

impl RuleCondition for RequireQuery {
    fn matches(&self, request: &Request) -> bool {
        request.query_value(self.0).is_some()
    }
}

#[tokio::test]
async fn conditions_make_custom_rules() {
    let mut s = HttpServer::new();
    let rule = s
        .route("/search", || "with key")
        .unwrap()
        .when(RequireQuery("key"));
    assert_eq!((rule.condition_count(), rule.pattern()), (1, "/search"));
    s.route("/search", || "without key").unwrap();
    s.route("/admin", || "admin")
        .unwrap()
        .when(|r: &Request| r.value("x-role").as_deref() == Some("admin"))
        .when(|r: &Request| r.method() == Method::Get);

    assert_eq!(call(&s, "GET", "/search?key=1").await.body, "with key");
    assert_eq!(call(&s, "GET", "/search?other=1").await.body, "without key");
    let admin = call_with(&s, "GET", "/admin", &[("x-role", "admin")], "").await;
    assert_eq!(admin.body, "admin");
    assert_eq!(
        call(&s, "GET", "/admin").await.status,
        StatusCode::NOT_FOUND
    );
    let post = call_with(&s, "POST", "/admin", &[("x-role", "admin")], "").await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn request_body_and_headers_reach_handlers() {
    let mut s = HttpServer::new();
    s.route_with_methods(
        "/echo/",
        Method::Post,
        |id: u32, request: Request| async move {
            let mut headers = HeaderMap::new();
            headers.insert("x-id", HeaderValue::from(id));
            let body = request.body().clone();
            let mut response = Response::bytes(body);
            response.headers_mut().extend(headers);
            response
        },
    )
    .unwrap();
    let answer = call_with(
        &s,
        "POST",
        "/echo/5",
        &[("content-type", "text/plain")],
        "hello",
    )
    .await;
    assert_eq!(
        (answer.body.as_str(), answer.header("x-id")),
        ("hello", Some("5"))
    );
}

#[tokio::test]
async fn a_panicking_or_silent_responder_handler_still_answers() {
    let mut s = HttpServer::new();
    s.route("/silent", |_responder: Responder| {}).unwrap();
    assert_eq!(
        call(&s, "GET", "/silent").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}
