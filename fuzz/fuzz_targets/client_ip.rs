//! `client_ip`: the forwarding-header walk of
//! `postern_limits::client_ip::ClientIpResolver::client_ip(peer, headers)`.
//!
//! Input, one item a line (so seeds and crash files read as text):
//!
//! ```text
//! peer 10.0.0.1              the connection's peer (default 10.0.0.1)
//! trust 10.0.0.0/8           a trusted-proxy subnet, through parse_subnet
//! forwarded                  believe `Forwarded` instead of `X-Forwarded-For`
//! x-forwarded-for: 6.6.6.6, 203.0.113.7
//! forwarded: for="[2001:db8::1]:4711";proto=https
//! ```
//!
//! Any other `name: value` line is a header too; lines `http` refuses as a
//! header name or value are skipped, as a server never sees them.
//!
//! Checks, for every input:
//! - nothing panics (`parse_subnet` on arbitrary text included);
//! - the answer is canonical (an IPv4-mapped IPv6 address comes back as IPv4);
//! - with no trusted proxy, or a peer that is not one, the answer is the peer;
//! - otherwise it is the peer or an address written in a line of the believed
//!   header (found by a tokenizer deliberately looser than the parser);
//! - lines of the other header alone never change the answer;
//! - `resolve_parts` (the peer read from the extensions) agrees.
#![no_main]

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use postern_limits::client_ip::{ClientIpResolver, PeerAddr};
use postern_limits::config::{ClientIpConfig, ForwardedHeader, parse_subnet};

const XFF: HeaderName = HeaderName::from_static("x-forwarded-for");

fuzz_target!(|data: &[u8]| {
    let mut peer: IpAddr = "10.0.0.1".parse().expect("peer");
    let mut trusted = Vec::new();
    let mut header = ForwardedHeader::XForwardedFor;
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n').take(64) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(text) = line.strip_prefix(b"peer ") {
            if let Some(ip) = std::str::from_utf8(text).ok().and_then(|t| t.parse().ok()) {
                peer = ip;
            }
        } else if let Some(text) = line.strip_prefix(b"trust ") {
            if let Ok(net) = parse_subnet(&String::from_utf8_lossy(text)) {
                trusted.push(net);
            }
        } else if line == b"forwarded" {
            header = ForwardedHeader::Forwarded;
        } else if let Some(colon) = line.iter().position(|&b| b == b':') {
            let value = &line[colon + 1..];
            let value = value.strip_prefix(b" ").unwrap_or(value);
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(&line[..colon]),
                HeaderValue::from_bytes(value),
            ) {
                headers.append(name, value);
            }
        }
    }
    let config = ClientIpConfig::default()
        .with_trusted_proxies(trusted.iter().copied())
        .with_header(header);
    let resolver = ClientIpResolver::new(&config);

    let answer = resolver.client_ip(peer, &headers);
    let canonical_peer = peer.to_canonical();
    assert_eq!(answer, answer.to_canonical(), "answer not canonical");
    if trusted.is_empty() || !resolver.is_trusted_proxy(peer) {
        assert_eq!(
            answer, canonical_peer,
            "an untrusted peer, yet the header was believed"
        );
    }
    let (believed, other) = match header {
        ForwardedHeader::Forwarded => (http::header::FORWARDED, XFF),
        _ => (XFF, http::header::FORWARDED),
    };
    if answer != canonical_peer {
        assert!(
            written_in(&headers, &believed, answer),
            "answer {answer} is neither the peer {peer} nor written in {believed}"
        );
    }

    let mut only_other = HeaderMap::new();
    for value in headers.get_all(&other) {
        only_other.append(other.clone(), value.clone());
    }
    assert_eq!(resolver.client_ip(peer, &only_other), canonical_peer);

    let mut extensions = http::Extensions::new();
    extensions.insert(PeerAddr(SocketAddr::new(peer, 4000)));
    assert_eq!(resolver.resolve_parts(&headers, &extensions), Ok(answer));
});

/// Whether `ip` is written in some line of `name`: every run of characters
/// that can appear in an address (split at everything else, a `:port` after an
/// IPv4 address dropped) is tried as an address.
fn written_in(headers: &HeaderMap, name: &HeaderName, ip: IpAddr) -> bool {
    headers.get_all(name).iter().any(|line| {
        let text = String::from_utf8_lossy(line.as_bytes());
        text.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
            .any(|token| {
                let candidates = [Some(token), token.rsplit_once(':').map(|(host, _)| host)];
                candidates.into_iter().flatten().any(|candidate| {
                    candidate
                        .parse::<IpAddr>()
                        .is_ok_and(|found| found.to_canonical() == ip)
                })
            })
    })
}
