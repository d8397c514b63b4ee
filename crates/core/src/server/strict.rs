//! Requests hyper lets through but which are ambiguous: answered 400 with
//! `connection: close` before any handler runs: request smuggling needs two parsers to disagree
//! about where a request ends, and these are the heads on which they can.

use http::header::{CONNECTION, HOST, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, Version};

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
}

impl Ambiguity {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Ambiguity::MissingHost => "HTTP/1.1 request without Host",
            Ambiguity::DuplicateHost => "more than one Host header",
            Ambiguity::InvalidHost => "Host is not host[:port]",
            Ambiguity::TransferCoding => "Transfer-Encoding other than chunked",
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

/// Check an HTTP/1 head for ambiguity (HTTP/2 heads pass unread), reading
/// its fields once: a pass over the few fields of a usual request costs
/// less than a hashed lookup for each name the connection asks about.
/// HTTP/2 requests are framed unambiguously.
///
/// `Content-Length` together with `Transfer-Encoding` is not visible here:
/// hyper drops the `Content-Length`, reads the body as chunked and closes the
/// connection after the response, so no smuggled request is ever parsed.
pub(crate) fn check(version: Version, headers: &HeaderMap) -> Result<Head, Ambiguity> {
    if version != Version::HTTP_11 && version != Version::HTTP_10 {
        return Ok(Head::default());
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
        let inside = &literal[..end];
        let inside_ok = inside.iter().enumerate().all(|(i, &b)| {
            b == b':' || is_reg_name_byte(b) || (b == b'%' && is_pct_encoded(&inside[i..]))
        });
        if inside.is_empty() || !inside_ok {
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
            assert_eq!(check(Version::HTTP_11, &map), Ok(*expected), "{headers:?}");
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
                check(version, &map).map(|_| ()),
                expected,
                "{version:?} {headers:?}"
            );
        }
    }
}
