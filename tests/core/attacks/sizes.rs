//! Heads and bodies at and one byte past each size limit of
//! `Limits::strict()` and of the default configuration, over HTTP/1 (raw
//! TCP) and HTTP/2 (raw frames). `limits.rs` tests the same checks with
//! small custom limits; these use the real values, where hyper's own
//! buffers and caps (derived from the same limits) meet the checks.

use postern_core::Configuration;
use postern_core::config::{Limits, SizeLimits};

use super::{Attacked, bounded};
use crate::support::Raw;
use crate::support::h2frames::H2Conn;

/// Which configuration.
#[derive(Debug, Clone, Copy)]
enum Set {
    /// `Configuration::default().with_limits(Limits::strict())`.
    Strict,
    /// `Configuration::default()` (Qt's sizes).
    Default,
}

impl Set {
    fn configuration(self) -> Configuration {
        match self {
            Set::Strict => Configuration::default().with_limits(Limits::strict()),
            Set::Default => Configuration::default(),
        }
    }

    fn sizes(self) -> SizeLimits {
        self.configuration().limits.sizes
    }
}

/// Which limit a request is sized against.
#[derive(Debug, Clone, Copy)]
enum Limit {
    /// The request target: `/len?` and letters.
    Url,
    /// One field `x-long: vvv…` (`name + 1 + value`).
    Field,
    /// Short fields `x-0: 0`, … (count).
    Fields,
    /// Four fields `t-0` … `t-3` (`name + value + 4` summed), each under
    /// the field limit.
    Total,
    /// A `POST /len` body with its `content-length`.
    Body,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Http1,
    Http2,
}

/// What the request comes to.
#[derive(Debug, Clone, Copy)]
enum Then {
    /// `200`, the handler told the body's length.
    Served,
    /// Refused by Postern's size check before any handler: this status,
    /// empty, `content-length: 0`, `content-type: application/x-empty`
    /// (and on HTTP/1 `connection: close`, then the close).
    Refused(u16),
    /// Refused by hyper's HTTP/1 parser before Postern sees it: this
    /// status with `connection: close` and `content-length: 0` only, then
    /// the close.
    HyperRefused(u16),
    /// The HTTP/2 stream reset by h2 with this error code before Postern
    /// sees the request, with no response.
    Reset(u32),
}

/// A request sized against `limit` of `set`, `past` bytes (or fields) past
/// it: target, fields, body length. On HTTP/1 the request carries `host:
/// a` too, one field of 9 bytes that counts, and the total counts the 2
/// bytes of the empty line ending the head.
fn request(
    set: Set,
    limit: Limit,
    past: i64,
    proto: Proto,
) -> (String, Vec<(String, String)>, u64) {
    let sizes = set.sizes();
    let (host_fields, host_bytes) = if proto == Proto::Http1 {
        (1, 9 + 2)
    } else {
        (0, 0)
    };
    // The limit moved by `past` (which may be negative).
    let at = |m: Option<u64>| (m.expect("a limit") as i64 + past) as usize;
    match limit {
        Limit::Url => {
            let len = at(sizes.max_url);
            (format!("/len?{}", "u".repeat(len - 5)), vec![], 0)
        }
        Limit::Field => {
            let len = at(sizes.max_header_field);
            let name = "x-long";
            (
                "/len".to_owned(),
                vec![(name.to_owned(), "v".repeat(len - name.len() - 1))],
                0,
            )
        }
        Limit::Fields => {
            let n = at(sizes.max_header_fields) - host_fields;
            let fields = (0..n).map(|i| (format!("x-{i}"), i.to_string())).collect();
            ("/len".to_owned(), fields, 0)
        }
        Limit::Total => {
            let total = at(sizes.max_total_header) - host_bytes;
            let each = total / 4;
            let fields = (0..4)
                .map(|i| {
                    let bytes = if i == 3 { total - 3 * each } else { each };
                    (format!("t-{i}"), "t".repeat(bytes - 3 - 4))
                })
                .collect();
            ("/len".to_owned(), fields, 0)
        }
        Limit::Body => ("/len".to_owned(), vec![], at(sizes.max_body) as u64),
    }
}

/// Send the request and assert `then`; a bystander is served meanwhile.
async fn sized(set: Set, limit: Limit, past: i64, proto: Proto, then: Then) {
    let attacked = Attacked::start(set.configuration()).await;
    let (target, fields, body_len) = request(set, limit, past, proto);
    let body = vec![b'b'; body_len as usize];
    // A refused body is never read: only its head is sent.
    let send_body = matches!(then, Then::Served);
    let (status, headers, answer): (u16, Vec<(String, String)>, Vec<u8>) = match proto {
        Proto::Http1 => {
            let mut raw = Raw::connect(attacked.addr).await;
            let mut head = if body_len > 0 {
                format!("POST {target} HTTP/1.1\r\nhost: a\r\ncontent-length: {body_len}\r\n")
            } else {
                format!("GET {target} HTTP/1.1\r\nhost: a\r\n")
            };
            for (name, value) in &fields {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            raw.send(head).await;
            attacked.assert_bystander_served().await;
            if send_body {
                raw.send(&body).await;
            }
            let response = raw.response().await;
            if response.status != 200 {
                assert_eq!(raw.eof().await, b"", "closed after the refusal");
            }
            let fields = response
                .headers_but_date()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            (response.status, fields, response.body)
        }
        Proto::Http2 => {
            let mut conn = H2Conn::connect(attacked.addr).await;
            conn.handshake(&[]).await;
            let length = body_len.to_string();
            let mut all: Vec<(&str, &str)> = fields
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let method = if body_len > 0 {
                all.push(("content-length", &length));
                "POST"
            } else {
                "GET"
            };
            let block = crate::support::h2frames::request_block(method, &target, &all);
            conn.send_headers(1, &block, body_len == 0).await;
            attacked.assert_bystander_served().await;
            if send_body && body_len > 0 {
                conn.send_body(1, &body).await;
            }
            let response = conn.response(1).await;
            if let Then::Reset(code) = then {
                assert_eq!(response.reset, Some(code), "{response:?}");
                assert_eq!(attacked.calls(), 0, "reset before the handler");
                return;
            }
            assert_eq!(response.reset, None, "the stream was reset: {response:?}");
            let fields = response
                .fields_but_date()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            (response.status(), fields, response.body.clone())
        }
    };
    let owned = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    };
    match then {
        Then::Served => {
            assert_eq!(status, 200, "{headers:?}");
            assert_eq!(answer, body_len.to_string().as_bytes());
            assert_eq!(attacked.calls(), 1);
        }
        Then::Refused(expected) => {
            assert_eq!(status, expected, "{headers:?}");
            let mut want = vec![
                ("content-length", "0"),
                ("content-type", "application/x-empty"),
            ];
            if proto == Proto::Http1 {
                want.insert(0, ("connection", "close"));
            }
            assert_eq!(headers, owned(&want));
            assert_eq!(answer, b"");
            assert_eq!(attacked.calls(), 0, "refused before the handler");
        }
        Then::Reset(_) => unreachable!("asserted with the HTTP/2 response"),
        Then::HyperRefused(expected) => {
            assert_eq!(
                proto,
                Proto::Http1,
                "hyper's parser refuses HTTP/1 heads only"
            );
            assert_eq!(status, expected, "{headers:?}");
            assert_eq!(
                headers,
                owned(&[("connection", "close"), ("content-length", "0")])
            );
            assert_eq!(answer, b"");
            assert_eq!(attacked.calls(), 0, "refused before the handler");
        }
    }
}

/// One test per row: `name: set limit +past protocol => outcome` (or `-past`).
macro_rules! sized {
    ($($(#[$meta:meta])* $name:ident: $set:ident $limit:ident $sign:tt $past:literal $proto:ident => $then:expr;)*) => {$(
        $(#[$meta])*
        #[tokio::test]
        async fn $name() {
            bounded(sized(Set::$set, Limit::$limit, 0 $sign $past, Proto::$proto, $then)).await;
        }
    )*};
}

// hyper's HTTP/1 parser counts fields itself (`max_headers`, set to the
// field limit when it is over hyper's 100 slots, else left at 100), so one
// field too many gets hyper's 431, not Postern's; likewise a target over
// hyper's 65,534 bytes gets hyper's 414.
sized! {
    strict_url_at_the_limit_over_http1: Strict Url +0 Http1 => Then::Served;
    strict_url_one_past_the_limit_over_http1: Strict Url +1 Http1 => Then::Refused(414);
    strict_url_at_the_limit_over_http2: Strict Url +0 Http2 => Then::Served;
    strict_url_one_past_the_limit_over_http2: Strict Url +1 Http2 => Then::Refused(414);
    strict_field_at_the_limit_over_http1: Strict Field +0 Http1 => Then::Served;
    strict_field_one_past_the_limit_over_http1: Strict Field +1 Http1 => Then::Refused(431);
    strict_field_at_the_limit_over_http2: Strict Field +0 Http2 => Then::Served;
    strict_field_one_past_the_limit_over_http2: Strict Field +1 Http2 => Then::Refused(431);
    strict_field_count_at_the_limit_over_http1: Strict Fields +0 Http1 => Then::Served;
    strict_field_count_one_past_the_limit_over_http1: Strict Fields +1 Http1 => Then::HyperRefused(431);
    strict_field_count_at_the_limit_over_http2: Strict Fields +0 Http2 => Then::Served;
    strict_field_count_one_past_the_limit_over_http2: Strict Fields +1 Http2 => Then::Refused(431);
    strict_total_header_at_the_limit_over_http1: Strict Total +0 Http1 => Then::Served;
    strict_total_header_one_past_the_limit_over_http1: Strict Total +1 Http1 => Then::Refused(431);
    strict_total_header_at_the_limit_over_http2: Strict Total +0 Http2 => Then::Served;
    strict_total_header_one_past_the_limit_over_http2: Strict Total +1 Http2 => Then::Refused(431);
    strict_body_at_the_limit_over_http1: Strict Body +0 Http1 => Then::Served;
    strict_body_one_past_the_limit_over_http1: Strict Body +1 Http1 => Then::Refused(413);
    strict_body_at_the_limit_over_http2: Strict Body +0 Http2 => Then::Served;
    strict_body_one_past_the_limit_over_http2: Strict Body +1 Http2 => Then::Refused(413);
    // Qt's default URL limit, 65,536 bytes, is past what the `http` crate
    // holds (65,534): hyper refuses such a target itself on HTTP/1 (414) and
    // h2 resets the stream on HTTP/2 (PROTOCOL_ERROR), before Postern sees
    // it. `SizeLimits::max_url` documents this; 65,534 is served.
    default_url_at_the_limit_over_http1: Default Url +0 Http1 => Then::HyperRefused(414);
    default_url_one_past_the_limit_over_http1: Default Url +1 Http1 => Then::HyperRefused(414);
    default_url_at_the_limit_over_http2: Default Url +0 Http2 => Then::Reset(1);
    default_url_one_past_the_limit_over_http2: Default Url +1 Http2 => Then::Reset(1);
    default_url_at_the_http_crates_limit_over_http1: Default Url -2 Http1 => Then::Served;
    default_url_at_the_http_crates_limit_over_http2: Default Url -2 Http2 => Then::Served;
    default_field_at_the_limit_over_http1: Default Field +0 Http1 => Then::Served;
    default_field_one_past_the_limit_over_http1: Default Field +1 Http1 => Then::Refused(431);
    default_field_at_the_limit_over_http2: Default Field +0 Http2 => Then::Served;
    default_field_one_past_the_limit_over_http2: Default Field +1 Http2 => Then::Refused(431);
    default_field_count_at_the_limit_over_http1: Default Fields +0 Http1 => Then::Served;
    default_field_count_one_past_the_limit_over_http1: Default Fields +1 Http1 => Then::HyperRefused(431);
    default_field_count_at_the_limit_over_http2: Default Fields +0 Http2 => Then::Served;
    default_field_count_one_past_the_limit_over_http2: Default Fields +1 Http2 => Then::Refused(431);
    default_total_header_at_the_limit_over_http1: Default Total +0 Http1 => Then::Served;
    default_total_header_one_past_the_limit_over_http1: Default Total +1 Http1 => Then::Refused(431);
    default_total_header_at_the_limit_over_http2: Default Total +0 Http2 => Then::Served;
    default_total_header_one_past_the_limit_over_http2: Default Total +1 Http2 => Then::Refused(431);
    default_body_at_the_limit_over_http1: Default Body +0 Http1 => Then::Served;
    default_body_one_past_the_limit_over_http1: Default Body +1 Http1 => Then::Refused(413);
    default_body_at_the_limit_over_http2: Default Body +0 Http2 => Then::Served;
    default_body_one_past_the_limit_over_http2: Default Body +1 Http2 => Then::Refused(413);
}
