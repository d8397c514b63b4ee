//! Requests hyper lets through but which are ambiguous: answered 400 with
//! `connection: close` before any handler runs: request smuggling needs two parsers to disagree
//! about where a request ends, and these are the heads on which they can.

use http::header::{HOST, TRANSFER_ENCODING};
use http::{HeaderMap, Version};

/// Why a request was refused as ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ambiguity {
    MissingHost,
    DuplicateHost,
    /// A transfer coding other than exactly `chunked` (hyper accepts
    /// `gzip, chunked` and hands the handler undecoded bytes).
    TransferCoding,
}

impl Ambiguity {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Ambiguity::MissingHost => "HTTP/1.1 request without Host",
            Ambiguity::DuplicateHost => "more than one Host header",
            Ambiguity::TransferCoding => "Transfer-Encoding other than chunked",
        }
    }
}

/// Check an HTTP/1 request head. HTTP/2 requests are framed unambiguously.
///
/// `Content-Length` together with `Transfer-Encoding` is not visible here:
/// hyper drops the `Content-Length`, reads the body as chunked and closes the
/// connection after the response, so no smuggled request is ever parsed.
pub(crate) fn check(version: Version, headers: &HeaderMap) -> Result<(), Ambiguity> {
    if version != Version::HTTP_11 && version != Version::HTTP_10 {
        return Ok(());
    }
    let mut hosts = headers.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if version == Version::HTTP_11 => return Err(Ambiguity::MissingHost),
        (Some(_), Some(_)) => return Err(Ambiguity::DuplicateHost),
        _ => {}
    }
    let mut codings = headers.get_all(TRANSFER_ENCODING).iter();
    if let Some(first) = codings.next() {
        let only_chunked = codings.next().is_none()
            && first
                .as_bytes()
                .trim_ascii()
                .eq_ignore_ascii_case(b"chunked");
        if !only_chunked {
            return Err(Ambiguity::TransferCoding);
        }
    }
    Ok(())
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
        ];
        for (version, headers, expected) in cases {
            let mut map = HeaderMap::new();
            for (k, v) in *headers {
                map.append(
                    http::HeaderName::from_static(k),
                    http::HeaderValue::from_static(v),
                );
            }
            assert_eq!(check(*version, &map), *expected, "{version:?} {headers:?}");
        }
    }
}
