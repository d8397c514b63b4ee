//! Requests hyper lets through but which are ambiguous: answered 400 with
//! `connection: close` before any handler runs: request smuggling needs two parsers to disagree
//! about where a request ends, and these are the heads on which they can.

use http::header::{CONNECTION, HOST, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, Method, Uri, Version};

/// Why a request was refused as ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ambiguity {
    MissingHost,
    DuplicateHost,
    /// A `Host` value that is not `host[:port]` (RFC 9112 §3.2): spaces,
    /// control bytes, a path, a user part, a port that is not digits.
    InvalidHost,
    /// A transfer coding other than exactly `chunked` (hyper accepts
    /// `gzip, chunked` and hands the handler undecoded bytes).
    TransferCoding,
    /// A request target in a form its method cannot have (RFC 9112 §3.2):
    /// `*` but for `OPTIONS`, an authority alone but for `CONNECT` (and
    /// anything else for an HTTP/1 `CONNECT`), a target that is none of
    /// the four forms (`GET abc`). Routers would otherwise see an empty or
    /// `*` path and each guess differently.
    TargetForm,
    /// A target authority with a user part (`http://user@host/`, or an
    /// HTTP/2 `:authority` of `user@host`): RFC 9110 §4.2.4 says to treat it
    /// as an error, and it is a classic way to disguise a host.
    UserInfo,
    /// An HTTP/2 `Host` field that is not the `:authority` (RFC 9113
    /// §8.3.1): two names for the host, which a proxy and the server may
    /// each pick differently.
    HostMismatch,
}

impl Ambiguity {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Ambiguity::MissingHost => "HTTP/1.1 request without Host",
            Ambiguity::DuplicateHost => "more than one Host header",
            Ambiguity::InvalidHost => "Host is not host[:port]",
            Ambiguity::TransferCoding => "Transfer-Encoding other than chunked",
            Ambiguity::TargetForm => "request target in a form its method cannot have",
            Ambiguity::UserInfo => "user part in the target's authority",
            Ambiguity::HostMismatch => "HTTP/2 Host differs from :authority",
        }
    }
}

/// What the connection needs to know of an HTTP/1 head besides its
/// strictness, found in the same pass over its fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Head {
    /// A `Connection` field holds the `close` option.
    pub(crate) close: bool,
    /// The request has a `Transfer-Encoding` field.
    pub(crate) chunked: bool,
    /// The request has an `Upgrade` field (a possible WebSocket handshake).
    #[cfg_attr(not(feature = "ws"), allow(dead_code))]
    pub(crate) upgrade: bool,
}

/// Check a head for ambiguity, reading an HTTP/1 head's fields once: a pass
/// over the few fields of a usual request costs less than a hashed lookup
/// for each name the connection asks about. HTTP/2 requests are framed
/// unambiguously, and h2 has checked their pseudo-fields; what is left is
/// the target's form and the host's names, one hashed lookup.
///
/// `Content-Length` together with `Transfer-Encoding` is not visible here:
/// hyper drops the `Content-Length`, reads the body as chunked and closes the
/// connection after the response, so no smuggled request is ever parsed.
pub(crate) fn check(
    method: &Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
) -> Result<Head, Ambiguity> {
    check_target(method, uri, version)?;
    if version != Version::HTTP_11 && version != Version::HTTP_10 {
        return check_http2_host(uri, headers).map(|()| Head::default());
    }
    let mut head = Head::default();
    let (mut hosts, mut host) = (0u32, None);
    let (mut codings, mut coding) = (0u32, None);
    for (name, value) in headers {
        if *name == HOST {
            hosts += 1;
            host = Some(value);
        } else if *name == TRANSFER_ENCODING {
            codings += 1;
            coding = Some(value);
        } else if *name == CONNECTION && !head.close {
            head.close = has_close_option(value.as_bytes());
        } else if *name == UPGRADE {
            head.upgrade = true;
        }
    }
    match (hosts, host) {
        (0, _) if version == Version::HTTP_11 => return Err(Ambiguity::MissingHost),
        (2.., _) => return Err(Ambiguity::DuplicateHost),
        (1, Some(host)) if !is_valid_host(host.as_bytes()) => {
            return Err(Ambiguity::InvalidHost);
        }
        _ => {}
    }
    if let Some(first) = coding {
        let only_chunked = codings == 1
            && first
                .as_bytes()
                .trim_ascii()
                .eq_ignore_ascii_case(b"chunked");
        if !only_chunked {
            return Err(Ambiguity::TransferCoding);
        }
        head.chunked = true;
    }
    Ok(head)
}

/// The target's form against its method (RFC 9112 §3.2, RFC 9113 §8.3.1),
/// and no user part in its authority. The usual origin-form target costs one
/// byte compare.
fn check_target(method: &Method, uri: &Uri, version: Version) -> Result<(), Ambiguity> {
    let path = uri.path().as_bytes();
    let form_ok = if *method == Method::CONNECT {
        // HTTP/1: authority-form only. HTTP/2: h2 has checked the
        // pseudo-fields (`:authority` alone, or a path for the extended
        // CONNECT of WebSockets).
        version == Version::HTTP_2
            || (uri.scheme().is_none() && uri.authority().is_some() && path.is_empty())
    } else {
        match path.first() {
            Some(b'/') => true,
            Some(b'*') => path.len() == 1 && *method == Method::OPTIONS,
            _ => false,
        }
    };
    if !form_ok {
        return Err(Ambiguity::TargetForm);
    }
    match uri.authority() {
        Some(authority) if authority.as_str().contains('@') => Err(Ambiguity::UserInfo),
        _ => Ok(()),
    }
}

/// An HTTP/2 `Host` field, if any: exactly one, and the same name as the
/// `:authority` when there is one (compared without regard to case), or a
/// valid `host[:port]` when there is not.
fn check_http2_host(uri: &Uri, headers: &HeaderMap) -> Result<(), Ambiguity> {
    let mut hosts = headers.get_all(HOST).iter();
    let Some(host) = hosts.next() else {
        return Ok(());
    };
    if hosts.next().is_some() {
        return Err(Ambiguity::DuplicateHost);
    }
    match uri.authority() {
        Some(authority)
            if !authority
                .as_str()
                .as_bytes()
                .eq_ignore_ascii_case(host.as_bytes()) =>
        {
            Err(Ambiguity::HostMismatch)
        }
        Some(_) => Ok(()),
        None if is_valid_host(host.as_bytes()) => Ok(()),
        None => Err(Ambiguity::InvalidHost),
    }
}

/// Whether a `Connection` field value lists the `close` option.
pub(crate) fn has_close_option(value: &[u8]) -> bool {
    has_option(value, b"close")
}

/// Whether a comma-separated field value (`Connection`'s options) lists
/// `option`, compared without regard to case.
pub(crate) fn has_option(value: &[u8], option: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|listed| listed.trim_ascii().eq_ignore_ascii_case(option))
}

/// `uri-host [ ":" port ]` of RFC 3986 (empty allowed, as for an empty
/// authority): an IP literal in brackets, or a reg-name / IPv4 address of
/// unreserved, percent-encoded and sub-delimiter characters; the port digits.
fn is_valid_host(host: &[u8]) -> bool {
    let (name, port) = if let Some(literal) = host.strip_prefix(b"[") {
        let Some(end) = literal.iter().position(|&b| b == b']') else {
            return false;
        };
        if !is_ip_literal(&literal[..end]) {
            return false;
        }
        match &literal[end + 1..] {
            [] => return true,
            [b':', port @ ..] => (&[][..], port),
            _ => return false,
        }
    } else {
        match host.iter().rposition(|&b| b == b':') {
            Some(colon) => (&host[..colon], &host[colon + 1..]),
            None => (host, &[][..]),
        }
    };
    // Nearly every name has no percent-encoding: one table load per byte.
    let name_ok = name.iter().all(|&b| is_reg_name_byte(b))
        || name
            .iter()
            .enumerate()
            .all(|(i, &b)| is_reg_name_byte(b) || (b == b'%' && is_pct_encoded(&name[i..])));
    name_ok && port.iter().all(u8::is_ascii_digit)
}

/// What is between the brackets of an IP-literal (RFC 3986 §3.2.2, RFC
/// 6874): an IPv6 address with an optional `%25` zone of unreserved and
/// percent-encoded bytes, or `v` hex `.` and unreserved / sub-delims / `:`.
/// Anything else (`[zz]`) is a name in disguise.
fn is_ip_literal(inside: &[u8]) -> bool {
    if let [b'v' | b'V', rest @ ..] = inside {
        let Some(dot) = rest.iter().position(|&b| b == b'.') else {
            return false;
        };
        let (version, tail) = (&rest[..dot], &rest[dot + 1..]);
        return !version.is_empty()
            && version.iter().all(u8::is_ascii_hexdigit)
            && !tail.is_empty()
            && tail.iter().all(|&b| b == b':' || is_reg_name_byte(b));
    }
    let (address, zone) = match inside.windows(3).position(|w| w == b"%25") {
        Some(at) => (&inside[..at], Some(&inside[at + 3..])),
        None => (inside, None),
    };
    let zone_ok = zone.is_none_or(|zone| {
        !zone.is_empty()
            && zone.iter().enumerate().all(|(i, &b)| {
                (b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
                    || (b == b'%' && is_pct_encoded(&zone[i..]))
            })
    });
    zone_ok
        && std::str::from_utf8(address)
            .ok()
            .and_then(|address| address.parse::<std::net::Ipv6Addr>().ok())
            .is_some()
}

/// unreserved / sub-delims (`%` is checked apart, by [`is_pct_encoded`]).
#[inline]
fn is_reg_name_byte(b: u8) -> bool {
    REG_NAME[usize::from(b)]
}

/// [`is_reg_name_byte`] as a table, built at compile time: every request's
/// `Host` is checked byte by byte, and a search of the sub-delims for each
/// byte cost more than the rest of the head check.
const REG_NAME: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        b += 1;
    }
    table
};

fn is_pct_encoded(at: &[u8]) -> bool {
    matches!(at, [b'%', a, b, ..] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Case = (
        Version,
        &'static [(&'static str, &'static str)],
        Result<(), Ambiguity>,
    );

    #[test]
    fn strictness_table() {
        let cases: &[Case] = &[
            (Version::HTTP_11, &[("host", "a")], Ok(())),
            (Version::HTTP_11, &[], Err(Ambiguity::MissingHost)),
            (Version::HTTP_10, &[], Ok(())),
            (
                Version::HTTP_11,
                &[("host", "a"), ("host", "b")],
                Err(Ambiguity::DuplicateHost),
            ),
            (
                Version::HTTP_10,
                &[("host", "a"), ("host", "a")],
                Err(Ambiguity::DuplicateHost),
            ),
            (
                Version::HTTP_11,
                &[("host", "a"), ("transfer-encoding", "chunked")],
                Ok(()),
            ),
            (
                Version::HTTP_11,
                &[("host", "a"), ("transfer-encoding", "Chunked ")],
                Ok(()),
            ),
            (
                Version::HTTP_11,
                &[("host", "a"), ("transfer-encoding", "gzip, chunked")],
                Err(Ambiguity::TransferCoding),
            ),
            (
                Version::HTTP_11,
                &[
                    ("host", "a"),
                    ("transfer-encoding", "chunked"),
                    ("transfer-encoding", "chunked"),
                ],
                Err(Ambiguity::TransferCoding),
            ),
            (Version::HTTP_2, &[], Ok(())),
            (
                Version::HTTP_2,
                &[("host", "a"), ("host", "a")],
                Err(Ambiguity::DuplicateHost),
            ),
            (
                Version::HTTP_11,
                &[("host", "a b")],
                Err(Ambiguity::InvalidHost),
            ),
            (
                Version::HTTP_10,
                &[("host", "a b")],
                Err(Ambiguity::InvalidHost),
            ),
        ];
        for (version, headers, expected) in cases {
            check_case(*version, headers, *expected);
        }
    }

    #[test]
    fn head_facts_table() {
        let cases: &[(&[(&str, &str)], Head)] = &[
            (&[("host", "a")], Head::default()),
            (
                &[("host", "a"), ("connection", "close")],
                Head {
                    close: true,
                    ..Head::default()
                },
            ),
            (
                &[
                    ("host", "a"),
                    ("connection", "keep-alive"),
                    ("Connection", "Close"),
                ],
                Head {
                    close: true,
                    ..Head::default()
                },
            ),
            (
                &[("host", "a"), ("connection", "upgrade,CLOSE ")],
                Head {
                    close: true,
                    ..Head::default()
                },
            ),
            (
                &[
                    ("host", "a"),
                    ("connection", "Upgrade"),
                    ("Upgrade", "websocket"),
                ],
                Head {
                    upgrade: true,
                    ..Head::default()
                },
            ),
            (
                &[("host", "a"), ("connection", "closed, x-close")],
                Head::default(),
            ),
            (
                &[("host", "a"), ("transfer-encoding", "chunked")],
                Head {
                    chunked: true,
                    ..Head::default()
                },
            ),
        ];
        for (headers, expected) in cases {
            let mut map = HeaderMap::new();
            for (k, v) in *headers {
                map.append(
                    http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                    http::HeaderValue::from_bytes(v.as_bytes()).expect("value"),
                );
            }
            assert_eq!(
                check(&Method::GET, &origin(), Version::HTTP_11, &map),
                Ok(*expected),
                "{headers:?}"
            );
        }
    }

    #[test]
    fn reg_name_table_holds_exactly_unreserved_and_sub_delims() {
        let allowed: Vec<u8> = (0..=255u8).filter(|&b| is_reg_name_byte(b)).collect();
        let mut expected: Vec<u8> = (b'0'..=b'9')
            .chain(b'A'..=b'Z')
            .chain(b'a'..=b'z')
            .chain(*b"-._~!$&'()*+,;=")
            .collect();
        expected.sort_unstable();
        assert_eq!(allowed, expected);
    }

    #[test]
    fn host_syntax_table() {
        let valid = [
            "",
            "a",
            "example.com",
            "example.com:8080",
            "EXAMPLE.com:",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8443",
            "[fe80::1%25eth0]",
            "[::ffff:1.2.3.4]",
            "[v1.x:y]",
            "xn--bcher-kva.example",
            "a_b~c",
            "a%20b",
            "sub.delims!$&'()*+,;=",
        ];
        let invalid = [
            "a b",
            " a",
            "a\t",
            "a/b",
            "a?b",
            "a#b",
            "user@host",
            "a:b",
            "a:80:90",
            "a:-1",
            "[::1",
            "[]",
            "[::1]x",
            "[::1]:x",
            "[::1]:80:",
            "[zz]",
            "[a.b]",
            "[::1%25]",
            "[1:2:3:4:5:6:7:8:9]",
            "[v.x]",
            "[v1.]",
            "%zz",
            "a%2",
            "é.com",
            "a\"b",
            "<a>",
            "a\\b",
            "a|b",
        ];
        for host in valid {
            check_case(Version::HTTP_11, &[("host", host)], Ok(()));
        }
        for host in invalid {
            check_case(
                Version::HTTP_11,
                &[("host", host)],
                Err(Ambiguity::InvalidHost),
            );
        }
    }

    fn check_case(version: Version, headers: &[(&str, &str)], expected: Result<(), Ambiguity>) {
        {
            let mut map = HeaderMap::new();
            for (k, v) in headers {
                map.append(
                    http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                    http::HeaderValue::from_bytes(v.as_bytes()).expect("value"),
                );
            }
            assert_eq!(
                check(&Method::GET, &origin(), version, &map).map(|_| ()),
                expected,
                "{version:?} {headers:?}"
            );
        }
    }

    fn origin() -> Uri {
        Uri::from_static("/")
    }

    #[test]
    fn target_form_table() {
        const HTTP_10: Version = Version::HTTP_10;
        const HTTP_11: Version = Version::HTTP_11;
        const HTTP_2: Version = Version::HTTP_2;
        let host = [("host", "a:80")];
        let cases: &[(Method, &str, Version, Result<(), Ambiguity>)] = &[
            (Method::GET, "/", HTTP_11, Ok(())),
            (Method::GET, "/a?b", HTTP_10, Ok(())),
            (Method::GET, "http://a:80/x", HTTP_11, Ok(())),
            (Method::GET, "http://a:80", HTTP_11, Ok(())),
            (Method::OPTIONS, "*", HTTP_11, Ok(())),
            (Method::CONNECT, "a:80", HTTP_11, Ok(())),
            (Method::GET, "*", HTTP_11, Err(Ambiguity::TargetForm)),
            (Method::POST, "*", HTTP_2, Err(Ambiguity::TargetForm)),
            (Method::GET, "a:80", HTTP_11, Err(Ambiguity::TargetForm)),
            (Method::GET, "abc", HTTP_11, Err(Ambiguity::TargetForm)),
            (Method::CONNECT, "/", HTTP_11, Err(Ambiguity::TargetForm)),
            (
                Method::CONNECT,
                "http://a:80/",
                HTTP_11,
                Err(Ambiguity::TargetForm),
            ),
            (Method::CONNECT, "*", HTTP_11, Err(Ambiguity::TargetForm)),
            (Method::CONNECT, "http://a:80/chat", HTTP_2, Ok(())),
            (Method::CONNECT, "a:80", HTTP_2, Ok(())),
            (
                Method::GET,
                "http://u@a:80/",
                HTTP_11,
                Err(Ambiguity::UserInfo),
            ),
            (
                Method::GET,
                "http://u:p@a:80/",
                HTTP_11,
                Err(Ambiguity::UserInfo),
            ),
            (Method::CONNECT, "u@a:80", HTTP_11, Err(Ambiguity::UserInfo)),
        ];
        for (method, target, version, expected) in cases {
            let uri: Uri = target.parse().expect("a target");
            let mut map = HeaderMap::new();
            if *version != HTTP_2 {
                for (k, v) in host {
                    map.append(k, http::HeaderValue::from_static(v));
                }
            }
            assert_eq!(
                check(method, &uri, *version, &map).map(|_| ()),
                *expected,
                "{method} {target} {version:?}"
            );
        }
    }

    #[test]
    fn http2_host_table() {
        let cases: &[(&str, &[&str], Result<(), Ambiguity>)] = &[
            ("http://a:80/", &[], Ok(())),
            ("http://a:80/", &["a:80"], Ok(())),
            ("http://a:80/", &["A:80"], Ok(())),
            ("http://a:80/", &["b:80"], Err(Ambiguity::HostMismatch)),
            ("http://a:80/", &["a"], Err(Ambiguity::HostMismatch)),
            (
                "http://a:80/",
                &["a:80", "a:80"],
                Err(Ambiguity::DuplicateHost),
            ),
            ("/", &["a"], Ok(())),
            ("/", &["a", "b"], Err(Ambiguity::DuplicateHost)),
            ("/", &["a b"], Err(Ambiguity::InvalidHost)),
            ("/", &[], Ok(())),
        ];
        for (target, hosts, expected) in cases {
            let uri: Uri = target.parse().expect("a target");
            let mut map = HeaderMap::new();
            for host in *hosts {
                map.append(HOST, http::HeaderValue::from_static(host));
            }
            assert_eq!(
                check(&Method::GET, &uri, Version::HTTP_2, &map).map(|_| ()),
                *expected,
                "{target} {hosts:?}"
            );
        }
    }
}
