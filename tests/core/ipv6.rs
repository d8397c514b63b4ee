//! Tests that need an IPv6 loopback (`::1`), which not every CI machine has.
//! They are `#[ignore]`d rather than skipped quietly; where IPv6 exists, run
//! them with `cargo test --test core -- --ignored ipv6::`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use postern_core::{Configuration, HttpService};

use super::limits::{
    GET, Limited, Mode, allow, assert_h1_refused, assert_h1_refused_at_accept, assert_served,
    bounded, deny, h1_once_open, start_on, tcp,
};
use crate::support::{Raw, TestServer, serve, wait_live};

/// A [`limits`](super::limits) counter on a dual-stack `[::]:0` listener.
async fn dual_stack(configuration: Configuration) -> Limited {
    start_on(Mode::Service, configuration, |b| b.bind_tcp("[::]:0")).await
}

#[tokio::test]
#[ignore = "needs IPv6 loopback (::1): run with --ignored where it exists"]
async fn an_ipv6_loopback_listener_is_served_when_available() {
    let server = serve(
        Configuration::default(),
        |b| b.bind_tcp("[::1]:0"),
        HttpService::new(TestServer),
    )
    .await;
    let addr = server.addr();
    assert!(addr.is_ipv6());
    assert_eq!(server.listeners()[0].to_string(), format!("http://{addr}"));
    let mut raw = Raw::connect(addr).await;
    let client = raw.local_addr();
    let response = raw
        .roundtrip("GET /info HTTP/1.1\r\nHost: [::1]\r\n\r\n")
        .await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    let facts: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(facts["remote"], client.to_string());
    assert_eq!(facts["url"], "http://[::1]/info");
}

/// IPv4 clients reach a `[::]` listener as `::ffff:127.0.0.1`; the lists and
/// the per-host cap must treat them as 127.0.0.1.
#[tokio::test]
#[ignore = "needs IPv6 loopback (::1): run with --ignored where it exists"]
async fn ipv4_mapped_clients_are_matched_as_ipv4() {
    bounded(async {
        let v6 = |port| SocketAddr::from((Ipv6Addr::LOCALHOST, port));
        let v4 = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));

        let limited = dual_stack(deny(&["127.0.0.0/8"])).await;
        let port = limited.addr(0).port();
        let response = h1_once_open(v4(port), GET).await;
        assert_h1_refused(&response, "HTTP/1.1 403 Forbidden");
        let response = h1_once_open(v6(port), GET).await;
        assert_eq!(response.status_line, "HTTP/1.1 200 OK");
        assert_eq!(
            response.header("x-remote").map(|r| r.starts_with("[::1]:")),
            Some(true)
        );

        let limited = dual_stack(allow(&["127.0.0.1/32"])).await;
        let port = limited.addr(0).port();
        assert_eq!(h1_once_open(v4(port), GET).await.status, 200);
        let response = h1_once_open(v6(port), GET).await;
        assert_h1_refused(&response, "HTTP/1.1 403 Forbidden");

        let config = Configuration::default().with_max_connections_per_host(1);
        let limited = dual_stack(config).await;
        let port = limited.addr(0).port();
        let _held = assert_served(tcp(v4(port)).await).await;
        wait_live(&limited.server, 1).await;
        assert_h1_refused_at_accept(tcp(v4(port)).await).await;
        let _other = assert_served(tcp(v6(port)).await).await;
    })
    .await;
}
