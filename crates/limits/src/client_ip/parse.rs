//! Parsing one element of `X-Forwarded-For` or `Forwarded`.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// An address as proxies write it: `1.2.3.4`, `2001:db8::1`, `1.2.3.4:80`,
/// `[2001:db8::1]:80` or `[2001:db8::1]`. Anything else (`unknown`, an
/// obfuscated `_name`, a zone index) is `None`.
pub(super) fn parse_node(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    text.strip_prefix('[')?
        .strip_suffix(']')?
        .parse::<Ipv6Addr>()
        .ok()
        .map(IpAddr::V6)
}

/// One comma-separated `X-Forwarded-For` entry (already trimmed).
pub(super) fn parse_xff_element(element: &str) -> Option<IpAddr> {
    parse_node(element)
}

/// One comma-separated RFC 7239 `Forwarded` element (already trimmed), such as
/// `for=192.0.2.60;proto=http;by=203.0.113.43` or `For="[2001:db8::17]:4711"`.
/// Only `for` is read; an element without exactly one `for` is `None`.
pub(super) fn parse_forwarded_element(element: &str) -> Option<IpAddr> {
    let mut found = None;
    for pair in element.split(';') {
        let Some((name, value)) = pair.split_once('=') else {
            if pair.trim().is_empty() {
                continue;
            }
            return None;
        };
        if !name.trim().eq_ignore_ascii_case("for") {
            continue;
        }
        if found.is_some() {
            return None; // RFC 7239 §4: a parameter occurs at most once per element
        }
        found = Some(value.trim());
    }
    let value = found?;
    let value = match value.strip_prefix('"') {
        Some(rest) => {
            let inner = rest.strip_suffix('"')?;
            if inner.contains(['"', '\\']) {
                return None;
            }
            inner
        }
        None => value,
    };
    parse_node(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn nodes() {
        let table: &[(&str, Option<IpAddr>)] = &[
            ("192.0.2.1", ip("192.0.2.1")),
            ("192.0.2.1:8080", ip("192.0.2.1")),
            ("2001:db8::1", ip("2001:db8::1")),
            ("[2001:db8::1]", ip("2001:db8::1")),
            ("[2001:db8::1]:443", ip("2001:db8::1")),
            ("::ffff:192.0.2.1", ip("::ffff:192.0.2.1")),
            ("unknown", None),
            ("_hidden", None),
            ("", None),
            ("fe80::1%eth0", None),
            ("192.0.2.1.5", None),
            ("[192.0.2.1]", None),
            ("2001:db8::1:443x", None),
        ];
        for (input, expected) in table {
            assert_eq!(parse_node(input), *expected, "input {input:?}");
        }
    }

    #[test]
    fn forwarded_elements() {
        let table: &[(&str, Option<IpAddr>)] = &[
            ("for=192.0.2.60", ip("192.0.2.60")),
            ("For=192.0.2.60", ip("192.0.2.60")),
            (
                "for=192.0.2.60;proto=http;by=203.0.113.43",
                ip("192.0.2.60"),
            ),
            ("proto=https; for=\"192.0.2.60:1234\"", ip("192.0.2.60")),
            ("for=\"[2001:db8:cafe::17]:4711\"", ip("2001:db8:cafe::17")),
            ("for=\"[2001:db8:cafe::17]\"", ip("2001:db8:cafe::17")),
            ("for=unknown", None),
            ("for=\"_gazonk\"", None),
            ("for=\"192.0.2.60", None),
            ("for=\"192.0.2.60\\\"\"", None),
            ("proto=http", None),
            ("for=192.0.2.60;for=192.0.2.61", None),
            ("garbage", None),
            ("", None),
        ];
        for (input, expected) in table {
            assert_eq!(parse_forwarded_element(input), *expected, "input {input:?}");
        }
    }
}
