//! `HttpServer`'s WebSocket side as the connection layer sees it (in-process,
//! no socket: an accepted upgrade needs one and is covered over the wire by
//! the root package's `websocket_echo` example tests): denials, the fall
//! through to the rules and the missing handler, verifier order against
//! WebSocket routes, and the scope of verifiers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::StatusCode;
use http::header::{HeaderValue, SERVER};
use postern_core::websocket::UpgradeResponse;
use postern_core::{AbstractHttpServer, Request, Response};
use postern_router::HttpServer;

use crate::common::{call, call_with};

const UPGRADE: &[(&str, &str)] = &[
    ("upgrade", "websocket"),
    ("connection", "Upgrade"),
    ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("sec-websocket-version", "13"),
];

async fn upgrade(server: &HttpServer, uri: &str) -> crate::common::Answer {
    call_with(server, "GET", uri, UPGRADE, "").await
}

fn server_with_page() -> HttpServer {
    let mut server = HttpServer::new();
    server.route("/", || "home").expect("route");
    server.add_after_request_handler(|_: &Request, response: &mut Response| {
        response
            .headers_mut()
            .insert(SERVER, HeaderValue::from_static("Postern"));
    });
    server
}

#[tokio::test]
async fn a_denial_is_the_verifiers_status_and_message_without_after_request_handlers() {
    let server = server_with_page();
    server.add_websocket_upgrade_verifier(|request| match request.path() {
        "/private" => UpgradeResponse::deny_with(StatusCode::UNAUTHORIZED, "Private area"),
        "/" => UpgradeResponse::deny(),
        _ => UpgradeResponse::pass_to_next(),
    });
    let private = upgrade(&server, "/private").await;
    assert_eq!(private.status, StatusCode::UNAUTHORIZED);
    assert_eq!(private.body, "Private area");
    assert_eq!(
        private.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    // Qt does not run after-request handlers on WebSocket denials.
    assert_eq!(private.header("server"), None);
    let home = upgrade(&server, "/").await;
    assert_eq!(home.status, StatusCode::FORBIDDEN);
    assert_eq!(home.body, "Forbidden");
}

#[tokio::test]
async fn an_upgrade_nobody_answers_takes_the_rules_then_the_missing_handler() {
    let server = server_with_page();
    server.add_websocket_upgrade_verifier(|_| UpgradeResponse::pass_to_next());
    let home = upgrade(&server, "/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert_eq!(home.body, "home");
    assert_eq!(home.header("server"), Some("Postern"));
    let missing = upgrade(&server, "/nowhere").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // A server without any verifier: the same.
    let plain = server_with_page();
    assert_eq!(upgrade(&plain, "/").await.body, "home");
    assert_eq!(
        upgrade(&plain, "/nowhere").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn verifiers_and_websocket_routes_answer_in_registration_order() {
    let server = server_with_page();
    server.add_websocket_upgrade_verifier(|request| match request.query() {
        Some("deny") => UpgradeResponse::deny_with(StatusCode::GONE, "first"),
        _ => UpgradeResponse::pass_to_next(),
    });
    server.websocket_route("/chat", |_connection| async {});
    server.add_websocket_upgrade_verifier(|_| {
        UpgradeResponse::deny_with(StatusCode::IM_A_TEAPOT, "last")
    });
    let first = upgrade(&server, "/chat?deny").await;
    assert_eq!(
        (first.status, first.body.as_str()),
        (StatusCode::GONE, "first")
    );
    // The route accepts `/chat`: without a connection to upgrade, the
    // in-process call can only answer 500, but the last verifier was not asked.
    assert_eq!(
        upgrade(&server, "/chat").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let other = upgrade(&server, "/other").await;
    assert_eq!(
        (other.status, other.body.as_str()),
        (StatusCode::IM_A_TEAPOT, "last")
    );
    assert!(!server.has_pending_websocket_connections());
    assert!(server.next_pending_websocket_connection().is_none());
}

#[tokio::test]
async fn verifiers_see_only_upgrade_requests_and_websocket_routes_only_upgrades() {
    let server = server_with_page();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    server.add_websocket_upgrade_verifier(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        UpgradeResponse::pass_to_next()
    });
    server.websocket_route("/chat", |_connection| async {});
    assert_eq!(call(&server, "GET", "/").await.body, "home");
    // A WebSocket route is not an HTTP route.
    assert_eq!(
        call(&server, "GET", "/chat").await.status,
        StatusCode::NOT_FOUND
    );
    let half = call_with(&server, "GET", "/", &[("upgrade", "websocket")], "").await;
    assert_eq!(half.body, "home");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    upgrade(&server, "/").await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(
        server
            .websocket_upgrades()
            .is_some_and(|hub| hub.is_active())
    );
}
