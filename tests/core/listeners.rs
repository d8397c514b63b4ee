//! Several listeners on one server, mixed (TCP, TLS, Unix), all served, and
//! reported by `listeners()` / `ports()` in the order bound; listeners added
//! to a running server; bind errors.

use std::net::SocketAddr;

use http::Version;
use postern_core::{Configuration, HttpService, ListenAddr, Server};

use crate::support::{
    Raw, TestServer, reqwest_client, serve, server_tls, start, temp_dir, test_cert, within,
};

/// GET /info on a plain TCP listener; returns the facts.
async fn info_over_tcp(addr: SocketAddr) -> serde_json::Value {
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET /info HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(response.status, 200);
    serde_json::from_slice(&response.body).expect("JSON")
}

#[cfg(unix)]
#[tokio::test]
async fn tcp_tls_and_unix_listeners_on_one_server() {
    let cert = test_cert();
    let dir = temp_dir("listeners");
    let socket = dir.join("s.sock");
    let tls = server_tls(&cert);
    let server = serve(
        Configuration::default(),
        |b| {
            b.bind_tcp("127.0.0.1:0")
                .bind_tls("127.0.0.1:0", tls)
                .bind_unix(&socket)
        },
        HttpService::new(TestServer),
    )
    .await;

    let listeners = server.listeners();
    let [
        ListenAddr::Tcp(tcp),
        ListenAddr::Tls(tls),
        ListenAddr::Unix(unix),
    ] = &listeners[..]
    else {
        panic!("TCP, TLS, Unix in bind order: {listeners:?}");
    };
    let (tcp, tls) = (*tcp, *tls);
    assert_eq!(unix, &socket);
    assert_ne!(tcp.port(), tls.port());
    assert_eq!(server.ports(), [tcp.port(), tls.port()]);
    assert_eq!(listeners[0].to_string(), format!("http://{tcp}"));
    assert_eq!(listeners[1].to_string(), format!("https://{tls}"));
    assert!(tcp.ip().is_loopback() && tls.ip().is_loopback());

    let facts = info_over_tcp(tcp).await;
    assert_eq!(facts["transport"], "Tcp");
    assert_eq!(facts["local"], tcp.to_string());

    let client = reqwest_client(Some(&cert), &[b"h2"], |b| b.resolve("localhost", tls));
    let response = within(
        "TLS request",
        client
            .get(format!("https://localhost:{}/info", tls.port()))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    let facts: serde_json::Value = response.json().await.unwrap();
    assert_eq!(facts["transport"], "Tls");
    assert_eq!(facts["local"], tls.to_string());

    let stream = within("unix connect", tokio::net::UnixStream::connect(&socket))
        .await
        .unwrap();
    let mut raw = Raw::new(stream);
    let response = raw.roundtrip("GET /info HTTP/1.1\r\nHost: u\r\n\r\n").await;
    let facts: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(facts["transport"], "Unix");

    let report = within(
        "shutdown",
        server.shutdown(std::time::Duration::from_secs(5)),
    )
    .await;
    assert_eq!(report.cut, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn two_tcp_listeners_are_both_served() {
    let server = serve(
        Configuration::default(),
        |b| b.bind_tcp("127.0.0.1:0").bind_tcp("127.0.0.1:0"),
        HttpService::new(TestServer),
    )
    .await;
    let addrs: Vec<SocketAddr> = server
        .listeners()
        .iter()
        .map(|l| l.socket_addr().unwrap())
        .collect();
    assert_eq!(addrs.len(), 2);
    assert_ne!(addrs[0], addrs[1]);
    assert_eq!(server.ports(), [addrs[0].port(), addrs[1].port()]);
    for addr in addrs {
        let facts = info_over_tcp(addr).await;
        assert_eq!(facts["local"], addr.to_string());
    }
}

#[tokio::test]
async fn a_listener_added_to_a_running_server_is_served() {
    let (server, _) = start(TestServer).await;
    let first = server.listeners()[0].clone();
    let added = server
        .bind_tcp("127.0.0.1:0")
        .await
        .expect("bind another listener");
    let ListenAddr::Tcp(added_addr) = added else {
        panic!("a TCP listener: {added:?}");
    };
    assert_eq!(server.listeners(), [first.clone(), added.clone()]);
    assert_eq!(server.ports(), [first.port().unwrap(), added_addr.port()]);
    let facts = info_over_tcp(added_addr).await;
    assert_eq!(facts["local"], added_addr.to_string());
}

#[tokio::test]
async fn binding_a_taken_port_or_a_bad_address_fails() {
    let (_server, taken) = start(TestServer).await;
    let error = Server::builder()
        .bind_tcp(taken.to_string())
        .serve(HttpService::new(TestServer))
        .await
        .expect_err("the port is taken");
    assert!(
        error.to_string().contains(&taken.to_string()),
        "the error names the address: {error}"
    );
    let error = Server::builder()
        .bind_tcp("not an address")
        .serve(HttpService::new(TestServer))
        .await
        .expect_err("not an address");
    assert!(error.to_string().contains("not an address"), "{error}");
    // The running server is unaffected.
    let facts = info_over_tcp(taken).await;
    assert_eq!(facts["local"], taken.to_string());
}
