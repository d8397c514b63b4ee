//! `limits_stack`: arbitrary requests through `postern_limits::stack::LimitsLayer`.
//!
//! Input: text, so seeds and crash files read as requests. Lines starting
//! with `@` set the limits (the rest is off: `Limits::disabled()`), then come
//! up to 4 requests separated by `====` lines, sharing one layer (so the rate
//! limit counts). Each is a request line (`METHOD TARGET [VERSION] [exact]`,
//! `exact` giving the body an exact size hint as hyper does for a
//! `Content-Length` body), header lines, a blank line and the body, whose
//! chunks are separated by `----` lines:
//!
//! ```text
//! @url 40            @header-fields 4    @total-header 200   @header-field 64
//! @body 10           @allow 10.0.0.0/8   @deny 203.0.113.0/24
//! @rate 2            @rate-v6-prefix 48  @tracked 1
//! @trust 10.0.0.0/8  @forwarded          @peer 10.0.0.1
//! POST /upload HTTP/1.1 exact
//! x-forwarded-for: 203.0.113.7
//! content-length: 5
//!
//! hello
//! ```
//!
//! Whatever `http` refuses (a method, a target, a header) is skipped. The
//! layer is built with `layer_for_peer` over a service that reads the whole
//! body and answers 200, or 413 when the body limit fails it.
//!
//! Checks:
//! - nothing panics; `try_new` fails exactly when `Limits::validate` does;
//! - the status is 200, 403, 413, 414, 429 or 431, and it is the documented
//!   one: 403 exactly when the IP filter refuses the resolved client (before
//!   anything else), 429 only with a rate limit, then 414/431/413 exactly as
//!   the size table of `postern_limits::size` says (a streamed body over the
//!   limit is 413 from the inner service), else 200;
//! - a body the inner service read in full is within the body limit;
//! - every refusal is empty with `content-type: application/x-empty`,
//!   `content-length: 0`, `retry-after` on 429 and `connection: close` on an
//!   HTTP/1.x 413/414/431 (never on HTTP/2).
#![no_main]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, Version};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Empty};
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;
use postern_limits::config::{ForwardedHeader, IpFilter, Limits, SizeLimits, parse_subnet};
use postern_limits::size::{RequestBody, is_body_too_large};
use postern_limits::stack::LimitsLayer;
use tower_service::Service;

/// What the input's `@` lines set.
struct Config {
    limits: Limits,
    allow: Vec<IpNet>,
    deny: Vec<IpNet>,
    trusted: Vec<IpNet>,
    peer: IpAddr,
}

impl Config {
    fn new() -> Self {
        Config {
            limits: Limits::disabled(),
            allow: Vec::new(),
            deny: Vec::new(),
            trusted: Vec::new(),
            peer: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)),
        }
    }

    /// One `@name value` line; values that do not parse are ignored.
    fn set(&mut self, line: &str) {
        let (name, value) = line.split_once(' ').unwrap_or((line, ""));
        let number = value.trim().parse::<u64>().ok();
        let subnet = parse_subnet(value).ok();
        let sizes = &mut self.limits.sizes;
        let rate = &mut self.limits.rate;
        match name {
            "url" => sizes.max_url = number,
            "total-header" => sizes.max_total_header = number,
            "header-field" => sizes.max_header_field = number,
            "header-fields" => sizes.max_header_fields = number,
            "body" => sizes.max_body = number,
            "allow" => self.allow.extend(subnet),
            "deny" => self.deny.extend(subnet),
            "trust" => self.trusted.extend(subnet),
            "rate" => *rate = rate.with_per_second(number.map_or(0, |n| n.min(1000) as u32)),
            "rate-v6-prefix" => {
                if let Some(n) = number.and_then(|n| u8::try_from(n).ok()) {
                    *rate = rate.with_ipv6_prefix(n);
                }
            }
            "tracked" => {
                *rate = rate.with_max_tracked_clients(number.map_or(0, |n| n.min(1000) as usize))
            }
            "forwarded" => {
                self.limits.client_ip = self
                    .limits
                    .client_ip
                    .clone()
                    .with_header(ForwardedHeader::Forwarded)
            }
            "peer" => {
                if let Ok(ip) = value.trim().parse() {
                    self.peer = ip;
                }
            }
            _ => {}
        }
    }

    fn finish(mut self) -> (Limits, IpAddr) {
        self.limits.ip_filter = IpFilter::default()
            .with_allow(self.allow)
            .with_deny(self.deny);
        self.limits.client_ip = self
            .limits
            .client_ip
            .clone()
            .with_trusted_proxies(self.trusted);
        (self.limits, self.peer)
    }
}

/// One request as written in the input.
struct Req<'a> {
    line: &'a [u8],
    headers: Vec<&'a [u8]>,
    chunks: Vec<&'a [u8]>,
}

/// `data` split at each occurrence of `separator`.
fn split<'a>(data: &'a [u8], separator: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let current = rest?;
        match current
            .windows(separator.len())
            .position(|w| w == separator)
        {
            Some(at) => {
                rest = Some(&current[at + separator.len()..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

fn parse(data: &[u8]) -> (Config, Vec<Req<'_>>) {
    let mut config = Config::new();
    let mut requests = Vec::new();
    for segment in split(data, b"\n====\n").take(4) {
        let (head, body) = match segment.windows(2).position(|w| w == b"\n\n") {
            Some(at) => (&segment[..at], Some(&segment[at + 2..])),
            None => (segment, None),
        };
        let mut lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .peekable();
        while let Some(line) = lines.next_if(|l| l.first() == Some(&b'@')) {
            config.set(&String::from_utf8_lossy(&line[1..]));
        }
        let Some(line) = lines.next() else { continue };
        requests.push(Req {
            line,
            headers: lines.take(32).collect(),
            chunks: body.map_or_else(Vec::new, |b| split(b, b"\n----\n").take(8).collect()),
        });
    }
    (config, requests)
}

/// A body of chunks; an exact size hint when asked, as hyper gives for a
/// `Content-Length` body.
struct Chunks {
    chunks: VecDeque<Bytes>,
    exact: bool,
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.chunks.pop_front().map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        if self.exact {
            SizeHint::with_exact(self.chunks.iter().map(|c| c.len() as u64).sum())
        } else {
            SizeHint::default()
        }
    }
}

/// Reads the whole body; 200, or 413 when the body limit fails it. Records
/// how many bytes it read.
#[derive(Clone)]
struct Reader(std::rc::Rc<std::cell::Cell<Option<u64>>>);

impl Service<Request<RequestBody<Chunks>>> for Reader {
    type Response = Response<Empty<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<RequestBody<Chunks>>) -> Self::Future {
        let read = self.0.clone();
        Box::pin(async move {
            let status = match req.into_body().collect().await {
                Ok(collected) => {
                    read.set(Some(collected.to_bytes().len() as u64));
                    StatusCode::OK
                }
                Err(error) => {
                    assert!(is_body_too_large(&*error), "unexpected body error: {error}");
                    StatusCode::PAYLOAD_TOO_LARGE
                }
            };
            let mut response = Response::new(Empty::new());
            *response.status_mut() = status;
            Ok(response)
        })
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let (config, requests) = parse(data);
    let (limits, peer) = config.finish();
    let layer = match LimitsLayer::try_new(&limits) {
        Ok(layer) => {
            assert!(limits.validate().is_ok());
            layer
        }
        Err(error) => {
            assert!(limits.validate().is_err());
            assert!(!error.to_string().is_empty());
            return;
        }
    };
    let peer = SocketAddr::new(peer, 4000);

    for req in &requests {
        let Some(request) = build(req) else { continue };
        let read = std::rc::Rc::new(std::cell::Cell::new(None));
        let mut service = layer.layer_for_peer(Reader(read.clone()), peer);
        let expected = expected_size_status(&limits.sizes, &request);
        let client = layer.resolver().client_ip(peer.ip(), request.headers());
        let version = request.version();

        let (head, body) = runtime().block_on(async {
            std::future::poll_fn(|cx| service.poll_ready(cx))
                .await
                .expect("ready");
            let response = service.call(request).await.expect("infallible");
            let (head, body) = response.into_parts();
            (
                head,
                body.collect().await.expect("response body").to_bytes(),
            )
        });
        let status = head.status;
        if debug() {
            eprintln!("{version:?} client {client} -> {status} (sizes alone: {expected})");
        }

        // The documented order: IP filter, then rate, then sizes.
        let filter_refuses = limits.ip_filter.is_enabled() && !limits.ip_filter.allows(client);
        if filter_refuses {
            assert_eq!(status, StatusCode::FORBIDDEN, "client {client} is filtered");
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(limits.rate.is_enabled(), "429 without a rate limit");
            assert!(head.headers.contains_key(http::header::RETRY_AFTER));
        } else {
            assert_eq!(status, expected, "size checks of {:?}", limits.sizes);
        }

        match status {
            StatusCode::OK => {
                let read = read.get().expect("200 without a body read");
                if let Some(max) = limits.sizes.max_body {
                    assert!(read <= max, "read {read} bytes past the {max}-byte limit");
                }
            }
            // The inner service's own 413: the streamed body passed the limit.
            StatusCode::PAYLOAD_TOO_LARGE if !head.headers.contains_key("content-type") => {
                assert!(body.is_empty());
            }
            // Every refusal of the layer is the same empty answer.
            _ => {
                assert!(body.is_empty(), "{status} with a body");
                refusal_headers(&head, version);
            }
        }
    }
});

fn refusal_headers(head: &http::response::Parts, version: Version) {
    let status = head.status;
    assert_eq!(
        head.headers["content-type"], "application/x-empty",
        "{status}"
    );
    assert_eq!(head.headers["content-length"], "0", "{status}");
    let closes = head.headers.get("connection").is_some_and(|v| v == "close");
    let http1 = matches!(
        version,
        Version::HTTP_09 | Version::HTTP_10 | Version::HTTP_11
    );
    let sizes = matches!(status.as_u16(), 413 | 414 | 431);
    assert_eq!(
        closes,
        sizes && http1,
        "{status} on {version:?}: connection: close"
    );
}

fn build(req: &Req<'_>) -> Option<Request<Chunks>> {
    let mut words = req.line.split(|&b| b == b' ');
    let method = http::Method::from_bytes(words.next()?).ok()?;
    let uri = http::Uri::try_from(words.next()?).ok()?;
    let mut version = Version::HTTP_11;
    let mut exact = false;
    for word in words {
        match word {
            b"HTTP/0.9" => version = Version::HTTP_09,
            b"HTTP/1.0" => version = Version::HTTP_10,
            b"HTTP/1.1" => version = Version::HTTP_11,
            b"HTTP/2" => version = Version::HTTP_2,
            b"HTTP/3" => version = Version::HTTP_3,
            b"exact" => exact = true,
            _ => {}
        }
    }
    let chunks = req
        .chunks
        .iter()
        .map(|c| Bytes::copy_from_slice(c))
        .collect();
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .version(version)
        .body(Chunks { chunks, exact })
        .ok()?;
    for line in &req.headers {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = &line[colon + 1..];
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(value),
        ) {
            request.headers_mut().append(name, value);
        }
    }
    Some(request)
}

/// What the size checks alone answer, from the table in `postern_limits::size`.
fn expected_size_status(sizes: &SizeLimits, request: &Request<Chunks>) -> StatusCode {
    let over = |limit: Option<u64>, value: u64| limit.is_some_and(|max| value > max);
    let uri = request.uri();
    let http1 = request.version() <= http::Version::HTTP_11;
    let authority = uri.authority().map_or(0, |a| a.as_str().len());
    // An HTTP/1 absolute-form target counts whole, as Qt reads it.
    let target = match (uri.scheme_str(), uri.path_and_query()) {
        (Some(scheme), pq) if http1 => {
            scheme.len() + "://".len() + authority + pq.map_or(0, |pq| pq.as_str().len())
        }
        (_, Some(pq)) => pq.as_str().len(),
        (_, None) => authority,
    } as u64;
    if over(sizes.max_url, target) {
        return StatusCode::URI_TOO_LONG;
    }
    let headers = request.headers();
    if over(sizes.max_header_fields, headers.len() as u64) {
        return StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
    }
    // HTTP/1 heads count the empty line that ends them.
    let mut total = if http1 { 2u64 } else { 0 };
    for (name, value) in headers {
        let field = (name.as_str().len() + 1 + value.len()) as u64;
        if over(sizes.max_header_field, field) {
            return StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
        }
        total += field + 3;
    }
    if over(sizes.max_total_header, total) {
        return StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
    }
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0)
        .max(request.body().size_hint().lower());
    let streamed: u64 = request.body().chunks.iter().map(|c| c.len() as u64).sum();
    if over(sizes.max_body, declared) || over(sizes.max_body, streamed) {
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    StatusCode::OK
}

/// `POSTERN_FUZZ_DEBUG=1`: print what each input did (for reading seeds and
/// crash files with `cargo fuzz run TARGET FILE`).
fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("POSTERN_FUZZ_DEBUG").is_some())
}
