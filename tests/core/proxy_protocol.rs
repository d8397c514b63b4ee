//! The PROXY protocol over real sockets: v1 TCP4/TCP6/UNKNOWN, v2 over
//! IPv4/IPv6/Unix families and `LOCAL`, TLVs, headers split across reads,
//! oversize, truncated, slow and missing headers, untrusted peers (served
//! directly, or refused by a proxy-only listener), TLS after the header, a
//! Unix socket listener, and the limits keyed by the proxied address.

use std::net::SocketAddr;
use std::time::Duration;

use http::StatusCode;
use postern_core::{
    AbstractHttpServer, Configuration, Handled, Listen, ProxyAddresses, ProxyProtocol, Request,
    Responder, RunningServer, Server,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::{Raw, client_tls, server_tls, test_cert, try_tls_handshake, within};

/// Answers what the server made of the connection: the remote address,
/// and the PROXY header's facts when there was one.
struct WhoAmI;

impl AbstractHttpServer for WhoAmI {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        let connection = request.connection();
        let remote = connection
            .remote_addr()
            .map_or_else(|| "none".to_owned(), |a| a.to_string());
        let mut body = format!("remote={remote}");
        if let Some(header) = connection.proxy() {
            body.push_str(&format!(" {:?} local={}", header.version, header.local));
            if let ProxyAddresses::Unix { source, .. } = &header.addresses {
                body.push_str(&format!(" unix={}", String::from_utf8_lossy(source)));
            }
            if let Some(alpn) = &header.alpn {
                body.push_str(&format!(" alpn={}", String::from_utf8_lossy(alpn)));
            }
            if let Some(authority) = &header.authority {
                body.push_str(&format!(" authority={authority}"));
            }
            if let Some(ssl) = &header.ssl {
                body.push_str(&format!(
                    " ssl_cn={}",
                    ssl.common_name.as_deref().unwrap_or("")
                ));
            }
            if let Some(proxy) = header.proxy_addr {
                body.push_str(&format!(" via={}", proxy.ip()));
            }
        }
        if let Some(tls) = connection.tls() {
            body.push_str(&format!(" tls_sni={}", tls.sni.as_deref().unwrap_or("")));
        }
        responder.write_with_mime(body, "text/plain", StatusCode::OK);
        Handled::Yes
    }
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

async fn serve(configuration: Configuration, listen: Listen) -> (RunningServer, SocketAddr) {
    let running = Server::builder()
        .configuration(configuration)
        .bind(listen)
        .serve_abstract(WhoAmI)
        .await
        .expect("the server starts");
    let addr = running.listeners()[0]
        .socket_addr()
        .expect("a TCP listener");
    (running, addr)
}

/// A listener on 127.0.0.1 trusting the loopback.
async fn trusting_loopback(
    proxy: impl FnOnce(ProxyProtocol) -> ProxyProtocol,
) -> (RunningServer, SocketAddr) {
    let proxy = proxy(ProxyProtocol::from(vec![
        "127.0.0.0/8".parse().expect("net"),
    ]));
    serve(
        Configuration::default(),
        Listen::tcp("127.0.0.1:0").proxy_protocol(proxy),
    )
    .await
}

/// Send `bytes` as one write, then read the whole answer.
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> (Vec<u8>, SocketAddr) {
    let mut raw = Raw::connect(addr).await;
    let local = raw.local_addr();
    raw.send(bytes).await;
    (raw.eof().await, local)
}

/// The body of a 200 answer, asserting the status and type exactly.
fn body_of(answer: &[u8]) -> String {
    let response = crate::support::RawResponse::parse(answer);
    assert_eq!(
        response.status_line,
        "HTTP/1.1 200 OK",
        "{}",
        String::from_utf8_lossy(answer)
    );
    assert_eq!(response.header("content-type"), Some("text/plain"));
    response.text()
}

fn v2(command: u8, family: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    bytes.push(0x20 | command);
    bytes.push(family);
    bytes.extend_from_slice(&u16::try_from(payload.len()).expect("short").to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

fn with(header: &[u8], request: &[u8]) -> Vec<u8> {
    [header, request].concat()
}

#[tokio::test]
async fn v1_tcp4_tcp6_and_unknown() {
    let (_server, addr) = trusting_loopback(|p| p).await;
    let cases: &[(&[u8], &str)] = &[
        (
            b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 80\r\n",
            "remote=192.0.2.7:40000 V1 local=false via=127.0.0.1",
        ),
        (
            b"PROXY TCP6 2001:db8::7 2001:db8::1 40001 443\r\n",
            "remote=[2001:db8::7]:40001 V1 local=false via=127.0.0.1",
        ),
    ];
    for (header, expected) in cases {
        let (answer, _) = exchange(addr, &with(header, GET)).await;
        assert_eq!(body_of(&answer), *expected);
    }
    // UNKNOWN: the connection keeps its peer's address.
    let (answer, local) = exchange(addr, &with(b"PROXY UNKNOWN\r\n", GET)).await;
    assert_eq!(
        body_of(&answer),
        format!("remote={local} V1 local=false via=127.0.0.1")
    );
}

#[tokio::test]
async fn v2_families_local_and_tlvs() {
    let (_server, addr) = trusting_loopback(|p| p).await;
    // IPv4 with ALPN, authority and SSL (a client certificate's CN) TLVs.
    let mut ipv4 = vec![192, 0, 2, 8, 198, 51, 100, 1, 0x9c, 0x41, 0, 80];
    ipv4.extend_from_slice(&[0x01, 0, 2]);
    ipv4.extend_from_slice(b"h2");
    ipv4.extend_from_slice(&[0x02, 0, 11]);
    ipv4.extend_from_slice(b"example.com");
    let mut ssl = vec![0x03, 0, 0, 0, 0, 0x22, 0, 5];
    ssl.extend_from_slice(b"alice");
    ipv4.extend_from_slice(&[0x20, 0, u8::try_from(ssl.len()).expect("short")]);
    ipv4.extend_from_slice(&ssl);
    let (answer, _) = exchange(addr, &with(&v2(1, 0x11, &ipv4), GET)).await;
    assert_eq!(
        body_of(&answer),
        "remote=192.0.2.8:40001 V2 local=false alpn=h2 authority=example.com ssl_cn=alice via=127.0.0.1"
    );

    let mut ipv6 = Vec::new();
    ipv6.extend_from_slice(
        &"2001:db8::8"
            .parse::<std::net::Ipv6Addr>()
            .expect("ip")
            .octets(),
    );
    ipv6.extend_from_slice(
        &"2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .expect("ip")
            .octets(),
    );
    ipv6.extend_from_slice(&[0x9c, 0x42, 1, 0xbb]);
    let (answer, _) = exchange(addr, &with(&v2(1, 0x21, &ipv6), GET)).await;
    assert_eq!(
        body_of(&answer),
        "remote=[2001:db8::8]:40002 V2 local=false via=127.0.0.1"
    );

    // A Unix family header: no IP to take, the peer's address stays.
    let mut unix = vec![0u8; 216];
    unix[..9].copy_from_slice(b"/run/a.sk");
    unix[108..117].copy_from_slice(b"/run/b.sk");
    let (answer, local) = exchange(addr, &with(&v2(1, 0x31, &unix), GET)).await;
    assert_eq!(
        body_of(&answer),
        format!("remote={local} V2 local=false unix=/run/a.sk via=127.0.0.1")
    );

    // LOCAL (a health check): the addresses sent are ignored.
    let local_cmd = v2(0, 0x11, &[192, 0, 2, 9, 198, 51, 100, 1, 0, 1, 0, 80]);
    let (answer, local) = exchange(addr, &with(&local_cmd, GET)).await;
    assert_eq!(
        body_of(&answer),
        format!("remote={local} V2 local=true via=127.0.0.1")
    );
}

/// The header and the request split at every kind of boundary, each part
/// a TCP segment of its own, give the same answer.
#[tokio::test]
async fn split_across_reads() {
    let (_server, addr) = trusting_loopback(|p| p).await;
    let v1 = with(b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 80\r\n", GET);
    let v2 = with(
        &v2(1, 0x11, &[192, 0, 2, 7, 198, 51, 100, 1, 0x9c, 0x40, 0, 80]),
        GET,
    );
    for (input, expected) in [
        (&v1, "remote=192.0.2.7:40000 V1 local=false via=127.0.0.1"),
        (&v2, "remote=192.0.2.7:40000 V2 local=false via=127.0.0.1"),
    ] {
        for cuts in [&[1usize, 5][..], &[13, 14], &[15, 16, 17], &[27, 43, 44]] {
            let mut raw = Raw::connect(addr).await;
            let mut start = 0;
            for &cut in cuts.iter().chain([&input.len()]) {
                raw.send(&input[start..cut]).await;
                start = cut;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(body_of(&raw.eof().await), expected, "cut at {cuts:?}");
        }
    }
}

/// A trusted peer's bad header closes the connection unanswered.
#[tokio::test]
async fn bad_headers_close_the_connection() {
    // A header timeout far past the tests' 10 s read limit: each case must be
    // refused on its bytes, not by waiting the header out.
    let (_server, addr) = trusting_loopback(|p| p.header_timeout(Duration::from_secs(60))).await;
    let mut oversize = v2(1, 0x11, &[0; 12]);
    oversize[14..16].copy_from_slice(&1025u16.to_be_bytes());
    let long_v1 = [&b"PROXY TCP4 "[..], &[b'1'; 120]].concat();
    let cases: &[(&str, Vec<u8>)] = &[
        ("no header", GET.to_vec()),
        ("v2 over the 1024-byte cap", oversize),
        ("v1 over 107 bytes", long_v1),
        (
            "bad v1 address",
            with(b"PROXY TCP4 192.0.2.300 198.51.100.1 1 2\r\n", GET),
        ),
        (
            "v1 family mismatch",
            with(b"PROXY TCP4 2001:db8::1 198.51.100.1 1 2\r\n", GET),
        ),
        (
            "v2 version 3",
            with(b"\r\n\r\n\0\r\nQUIT\n\x31\x11\x00\x00", GET),
        ),
        ("v2 short address block", v2(1, 0x11, &[192, 0, 2, 1])),
        (
            "v2 TLV past the end",
            v2(
                1,
                0x11,
                &[192, 0, 2, 1, 198, 51, 100, 1, 0, 1, 0, 2, 1, 0, 9],
            ),
        ),
    ];
    for (what, input) in cases {
        let (answer, _) = exchange(addr, input).await;
        assert_eq!(answer, b"", "{what}");
    }
    // Truncated: the peer stops halfway and closes its side.
    let mut raw = Raw::connect(addr).await;
    raw.send(b"PROXY TCP4 192.0.2.7 198.51").await;
    raw.stream().shutdown().await.expect("half-close");
    assert_eq!(raw.eof().await, b"", "truncated");
}

/// A header not complete within the header timeout closes the connection
/// (the other timeouts are at their defaults, 10 s and more).
#[tokio::test]
async fn slow_header_times_out() {
    let (_server, addr) = trusting_loopback(|p| p.header_timeout(Duration::from_millis(200))).await;
    let mut raw = Raw::connect(addr).await;
    raw.send(b"PROXY TCP4 192.0.2.7").await;
    let closed = raw.closed_within(Duration::from_secs(3)).await;
    assert_eq!(closed.as_deref(), Some(&b""[..]));
    // Nothing at all is the same.
    let mut raw = Raw::connect(addr).await;
    let closed = raw.closed_within(Duration::from_secs(3)).await;
    assert_eq!(closed.as_deref(), Some(&b""[..]));
}

/// Peers outside the trusted networks are direct clients: their bytes are
/// HTTP, a PROXY line included; or they are refused on a proxy-only
/// listener.
#[tokio::test]
async fn untrusted_peers() {
    let elsewhere = || ProxyProtocol::from(vec!["10.0.0.0/8".parse().expect("net")]);
    let (_server, addr) = serve(
        Configuration::default(),
        Listen::tcp("127.0.0.1:0").proxy_protocol(elsewhere()),
    )
    .await;
    let (answer, local) = exchange(addr, GET).await;
    assert_eq!(body_of(&answer), format!("remote={local}"));
    let (answer, _) = exchange(
        addr,
        &with(b"PROXY TCP4 192.0.2.7 198.51.100.1 1 2\r\n", GET),
    )
    .await;
    let response = crate::support::RawResponse::parse(&answer);
    assert_eq!(response.status_line, "HTTP/1.1 400 Bad Request");

    let (_server, addr) = serve(
        Configuration::default(),
        Listen::tcp("127.0.0.1:0").proxy_protocol(elsewhere().proxy_only()),
    )
    .await;
    // Closed at accept, before a byte is read.
    let mut raw = Raw::connect(addr).await;
    assert_eq!(raw.eof().await, b"", "refused");
    // Bytes already sent make the close a reset; no answer either way.
    let mut raw = Raw::connect(addr).await;
    raw.send(with(b"PROXY TCP4 192.0.2.7 198.51.100.1 1 2\r\n", GET))
        .await;
    assert_eq!(raw.end().await.0, b"", "refused even with a header");
}

/// The header comes first, then the TLS handshake on the same stream; the
/// bytes of the ClientHello that arrive with the header are not lost.
#[tokio::test]
async fn tls_after_the_header() {
    let cert = test_cert();
    let proxy = ProxyProtocol::from(vec!["127.0.0.1/32".parse().expect("net")]);
    let (_server, addr) = serve(
        Configuration::default(),
        Listen::tls("127.0.0.1:0", server_tls(&cert)).proxy_protocol(proxy),
    )
    .await;
    for (header, version) in [
        (
            b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 443\r\n".to_vec(),
            "V1",
        ),
        (
            v2(
                1,
                0x11,
                &[192, 0, 2, 7, 198, 51, 100, 1, 0x9c, 0x40, 1, 0xbb],
            ),
            "V2",
        ),
    ] {
        let mut tcp = within("connect", TcpStream::connect(addr))
            .await
            .expect("connect");
        tcp.write_all(&header).await.expect("header");
        let tls = try_tls_handshake(tcp, client_tls(&cert, &[b"http/1.1"]), "localhost")
            .await
            .expect("handshake after the header");
        let mut raw = Raw::new(tls);
        raw.send(GET).await;
        let body = body_of(&raw.eof().await);
        assert_eq!(
            body,
            format!("remote=192.0.2.7:40000 {version} local=false via=127.0.0.1 tls_sni=localhost")
        );
    }
}

/// On a Unix socket every peer must send a header, and its address is the
/// client's.
#[cfg(unix)]
#[tokio::test]
async fn unix_listener() {
    let dir = crate::support::temp_dir("proxy-unix");
    let path = dir.join("s.sock");
    let running = Server::builder()
        .bind(Listen::unix(&path).proxy_protocol(ProxyProtocol::trusting([])))
        .serve_abstract(WhoAmI)
        .await
        .expect("serve");
    let mut stream = within("connect", tokio::net::UnixStream::connect(&path))
        .await
        .expect("connect");
    stream
        .write_all(&with(
            b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 80\r\n",
            GET,
        ))
        .await
        .expect("write");
    let answer = Raw::new(stream).eof().await;
    assert_eq!(body_of(&answer), "remote=192.0.2.7:40000 V1 local=false");
    let mut stream = within("connect", tokio::net::UnixStream::connect(&path))
        .await
        .expect("connect");
    stream.write_all(GET).await.expect("write");
    assert_eq!(
        Raw::new(stream).eof().await,
        b"",
        "no header on a Unix socket"
    );
    running.shutdown(Duration::from_secs(1)).await;
}

/// The IP filter, the rate limit and the per-host connection cap key by
/// the address in the header, not by the proxy's.
#[tokio::test]
async fn limits_see_the_proxied_address() {
    let proxy = ProxyProtocol::from(vec!["127.0.0.0/8".parse().expect("net")]);
    let configuration = Configuration::default()
        .with_deny_list(["192.0.2.66/32".parse().expect("net")])
        .with_rate_limit_per_second(1)
        .with_max_connections_per_host(1);
    let (_server, addr) = serve(
        configuration,
        Listen::tcp("127.0.0.1:0").proxy_protocol(proxy),
    )
    .await;
    let from = |ip: &str| format!("PROXY TCP4 {ip} 198.51.100.1 40000 80\r\n").into_bytes();

    let (answer, _) = exchange(addr, &with(&from("192.0.2.66"), GET)).await;
    let response = crate::support::RawResponse::parse(&answer);
    assert_eq!(response.status_line, "HTTP/1.1 403 Forbidden");

    let (answer, _) = exchange(addr, &with(&from("192.0.2.1"), GET)).await;
    assert_eq!(
        body_of(&answer),
        "remote=192.0.2.1:40000 V1 local=false via=127.0.0.1"
    );
    let (answer, _) = exchange(addr, &with(&from("192.0.2.1"), GET)).await;
    let response = crate::support::RawResponse::parse(&answer);
    assert_eq!(response.status_line, "HTTP/1.1 429 Too Many Requests");
    // Another client behind the same proxy has its own budget.
    let (answer, _) = exchange(addr, &with(&from("192.0.2.2"), GET)).await;
    assert_eq!(
        body_of(&answer),
        "remote=192.0.2.2:40000 V1 local=false via=127.0.0.1"
    );

    // One connection per host: a second from 192.0.2.3 is refused while
    // the first is open, one from 192.0.2.4 is not.
    let mut first = Raw::connect(addr).await;
    first.send(from("192.0.2.3")).await;
    first.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let response = first.response().await;
    assert_eq!(response.status, 200);
    let (answer, _) = exchange(addr, &with(&from("192.0.2.3"), GET)).await;
    let response = crate::support::RawResponse::parse(&answer);
    assert_eq!(response.status_line, "HTTP/1.1 429 Too Many Requests");
    let (answer, _) = exchange(addr, &with(&from("192.0.2.4"), GET)).await;
    assert_eq!(
        body_of(&answer),
        "remote=192.0.2.4:40000 V1 local=false via=127.0.0.1"
    );
}

/// The PROXY protocol is per listener: one added to a running server reads
/// headers while the plain listener next to it takes the same bytes as HTTP.
#[tokio::test]
async fn per_listener_on_a_running_server() {
    let running = Server::builder()
        .bind_tcp("127.0.0.1:0")
        .serve_abstract(WhoAmI)
        .await
        .expect("serve");
    let plain = running.listeners()[0].socket_addr().expect("TCP");
    let proxied = running
        .bind(
            Listen::tcp("127.0.0.1:0")
                .proxy_protocol(ProxyProtocol::from(["127.0.0.1/32".parse().expect("net")])),
        )
        .await
        .expect("bind")
        .socket_addr()
        .expect("TCP");
    let input = with(b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 80\r\n", GET);
    let (answer, _) = exchange(proxied, &input).await;
    assert_eq!(
        body_of(&answer),
        "remote=192.0.2.7:40000 V1 local=false via=127.0.0.1"
    );
    let (answer, _) = exchange(plain, &input).await;
    let response = crate::support::RawResponse::parse(&answer);
    assert_eq!(response.status_line, "HTTP/1.1 400 Bad Request");
}

/// The connection caps count a proxied TLS client by the address its header
/// names, and refuse one over them before its handshake (as without a
/// header): the handshake fails, another client's succeeds.
#[tokio::test]
async fn caps_refuse_a_proxied_tls_client_before_its_handshake() {
    let cert = test_cert();
    let proxy = ProxyProtocol::from(vec!["127.0.0.1/32".parse().expect("net")]);
    let (_server, addr) = serve(
        Configuration::default().with_max_connections_per_host(1),
        Listen::tls("127.0.0.1:0", server_tls(&cert)).proxy_protocol(proxy),
    )
    .await;
    let open = |ip: &'static str| {
        let cert = &cert;
        async move {
            let mut tcp = within("connect", TcpStream::connect(addr))
                .await
                .expect("connect");
            let header = format!("PROXY TCP4 {ip} 198.51.100.1 40000 443\r\n");
            tcp.write_all(header.as_bytes()).await.expect("header");
            try_tls_handshake(tcp, client_tls(cert, &[b"http/1.1"]), "localhost").await
        }
    };
    let first = open("192.0.2.3")
        .await
        .expect("the first connection's handshake");
    let mut first = Raw::new(first);
    first.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(first.response().await.status, 200);
    assert!(
        open("192.0.2.3").await.is_err(),
        "a second connection from the same proxied client is refused before its handshake"
    );
    let other = open("192.0.2.4").await.expect("another client's handshake");
    let mut other = Raw::new(other);
    other.send(GET).await;
    assert_eq!(
        body_of(&other.eof().await),
        "remote=192.0.2.4:40000 V1 local=false via=127.0.0.1 tls_sni=localhost"
    );
}

/// A shutdown does not wait for a PROXY header still being awaited: the
/// connection is closed unanswered at once and nothing counts as cut.
#[tokio::test]
async fn shutdown_closes_a_connection_still_awaiting_its_header() {
    let (server, addr) = trusting_loopback(|p| p.header_timeout(Duration::from_secs(60))).await;
    let mut silent = Raw::connect(addr).await;
    within("the connection to be live", async {
        while server.stats().live_connections != 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let report = within("shutdown", server.shutdown(Duration::from_secs(30))).await;
    assert!(report.drained);
    assert_eq!(report.cut, 0);
    let closed = silent.closed_within(Duration::from_secs(3)).await;
    assert_eq!(closed.as_deref(), Some(&b""[..]));
}
