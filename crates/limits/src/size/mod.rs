//! Request size limits (Qt's `maximumUrlSize`, `maximumHeaderFieldCount`,
//! `maximumHeaderFieldSize`, `maximumTotalHeaderSize`, `maximumBodySize`),
//! checked in this order:
//!
//! | limit | measured | refusal |
//! |---|---|---|
//! | [`max_url`](SizeLimits::max_url) | the request target as sent: `uri.path_and_query()` (HTTP/2: `:path`), an HTTP/1 absolute-form target whole; CONNECT's authority | **414** |
//! | [`max_header_fields`](SizeLimits::max_header_fields) | header fields, duplicates counted | **431** |
//! | [`max_header_field`](SizeLimits::max_header_field) | each field's `name.len() + 1 + value.len()` | **431** |
//! | [`max_total_header`](SizeLimits::max_total_header) | the sum of `name + value + 4` over all fields, plus 2 on HTTP/1.x for the empty line ending the head | **431** |
//! | [`max_body`](SizeLimits::max_body) | `Content-Length` (or the body's size hint) before reading | **413** |
//! | [`max_body`](SizeLimits::max_body) | the bytes streamed, chunked and HTTP/2 bodies included | `http_body_util::LengthLimitError` from the body: map it to 413 |
//!
//! A size equal to its limit passes; `None` turns a limit off. Refusals have an
//! empty body, `content-type: application/x-empty` and `content-length: 0`, as
//! postern-core's own 413 for a streamed body has, so a 413 reads the same
//! whether the client declared its length or not; on HTTP/1.x they also carry
//! `connection: close` (the unread rest of the request cannot be trusted to be
//! skipped), which HTTP/2 forbids, so there the stream alone is answered.
//!
//! The body is never buffered: a declared length over the limit is refused
//! before a byte is read (so no `100 Continue` is sent), and a streamed body is
//! wrapped in [`RequestBody`], which fails as soon as the count passes the
//! limit. [`is_body_too_large`] recognises that error; axum's extractors map it
//! to 413 by themselves (with their own plain-text body).
//!
//! hyper refuses some oversized requests before any layer runs (a head larger
//! than its buffer, more fields than `max_headers`, a URL over 65,534 bytes).
//! [`HyperBounds`] derives hyper's settings from the same [`SizeLimits`] so hyper bounds memory
//! but never refuses what the layer would admit (targets over 65,534 bytes
//! aside, which the `http` crate cannot hold: see
//! [`SizeLimits::max_url`](crate::config::SizeLimits::max_url)).
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use postern_limits::size::SizeLimitLayer;
//! use postern_limits::config::SizeLimits;
//! use postern_limits::size::{RequestBody, is_body_too_large};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let limits = SizeLimits::default().with_max_url(Some(16)).with_max_body(Some(4));
//! let app = ServiceBuilder::new()
//!     .layer(SizeLimitLayer::new(limits))
//!     .service(service_fn(|req: Request<RequestBody<Full<Bytes>>>| async move {
//!         // Reading a streamed body past the limit fails: answer 413.
//!         let status = match req.into_body().collect().await {
//!             Ok(_) => StatusCode::OK,
//!             Err(e) if is_body_too_large(&*e) => StatusCode::PAYLOAD_TOO_LARGE,
//!             Err(_) => StatusCode::BAD_REQUEST,
//!         };
//!         let mut response = Response::new(Full::new(Bytes::new()));
//!         *response.status_mut() = status;
//!         Ok::<_, std::convert::Infallible>(response)
//!     }));
//!
//! let too_long = Request::get("/0123456789abcdef").body(Full::new(Bytes::new())).unwrap();
//! let response = app.clone().oneshot(too_long).await.unwrap();
//! assert_eq!(response.status(), StatusCode::URI_TOO_LONG);
//! assert_eq!(response.headers()["content-type"], "application/x-empty");
//! assert_eq!(response.headers()["connection"], "close");
//!
//! // Content-Length over the limit: refused before the body is read.
//! let declared = Request::post("/")
//!     .header("content-length", "5")
//!     .body(Full::new(Bytes::from("12345")))
//!     .unwrap();
//! let response = app.clone().oneshot(declared).await.unwrap();
//! assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
//!
//! // Exactly at the limit passes.
//! let at_limit = Request::post("/").body(Full::new(Bytes::from("1234"))).unwrap();
//! assert_eq!(app.oneshot(at_limit).await.unwrap().status(), StatusCode::OK);
//! # }
//! ```

mod body;
mod hyper_limits;
mod layer;
mod service;

pub use body::{RequestBody, is_body_too_large};
pub use hyper_limits::HyperBounds;
pub use layer::SizeLimitLayer;
pub use service::SizeLimitService;

use http::header::CONTENT_LENGTH;
use http::{Request, Uri, Version};
use http_body::Body;

use crate::config::SizeLimits;
use crate::rejection::{Rejection, may_close};

/// Which checks have anything to do, decided once per configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SizeCheck {
    pub(crate) limits: SizeLimits,
    scan_fields: bool,
    any_head: bool,
}

impl SizeCheck {
    pub(crate) fn new(limits: SizeLimits) -> Self {
        let scan_fields = limits.max_header_field.is_some() || limits.max_total_header.is_some();
        SizeCheck {
            limits,
            scan_fields,
            any_head: scan_fields
                || limits.max_url.is_some()
                || limits.max_header_fields.is_some()
                || limits.max_body.is_some(),
        }
    }

    /// Check the URL, the headers and the declared body length.
    #[inline]
    pub(crate) fn check<B: Body>(&self, req: &Request<B>) -> Result<(), Rejection> {
        if !self.any_head {
            return Ok(());
        }
        self.check_head(req)
    }

    fn check_head<B: Body>(&self, req: &Request<B>) -> Result<(), Rejection> {
        let limits = &self.limits;
        let close = may_close(req.version());
        let headers_too_large = |what| refused(Rejection::HeadersTooLarge { close }, what);
        if let Some(max) = limits.max_url
            && target_len(req.uri(), req.version()) > max
        {
            return Err(refused(Rejection::UriTooLong { close }, "URL"));
        }
        let headers = req.headers();
        if let Some(max) = limits.max_header_fields
            && headers.len() as u64 > max
        {
            return Err(headers_too_large("header field count"));
        }
        if self.scan_fields {
            let max_field = limits.max_header_field.unwrap_or(u64::MAX);
            // Qt counts an HTTP/1 head's bytes as they arrive: each
            // `name: value\r\n` and the `\r\n` that ends the head.
            let mut total: u64 = if req.version() <= Version::HTTP_11 {
                2
            } else {
                0
            };
            for (name, value) in headers {
                let name_len = name.as_str().len() as u64;
                let value_len = value.len() as u64;
                if name_len + 1 + value_len > max_field {
                    return Err(headers_too_large("header field size"));
                }
                total += name_len + value_len + 4;
            }
            if let Some(max) = limits.max_total_header
                && total > max
            {
                return Err(headers_too_large("total header size"));
            }
        }
        if let Some(max) = limits.max_body
            && declared_body_len(req) > max
        {
            return Err(refused(
                Rejection::BodyTooLarge { close },
                "declared body size",
            ));
        }
        Ok(())
    }
}

#[cold]
fn refused(rejection: Rejection, what: &'static str) -> Rejection {
    tracing::debug!(
        target: "postern::limits",
        limit = what,
        status = rejection.status().as_u16(),
        "refused by a size limit"
    );
    rejection
}

/// The request target's length as sent: path and query (HTTP/2 `:path`); a
/// whole absolute-form target on HTTP/1 (`http://host/path`, as Qt measures
/// it); the authority of a CONNECT request.
#[inline]
fn target_len(uri: &Uri, version: Version) -> u64 {
    let path = uri.path_and_query().map(|pq| pq.as_str().len() as u64);
    let authority = uri.authority().map_or(0, |a| a.as_str().len() as u64);
    match (uri.scheme_str(), path) {
        // HTTP/2 requests get their scheme and authority from pseudo-headers,
        // which are not part of `:path`.
        (Some(scheme), path) if version <= Version::HTTP_11 => {
            scheme.len() as u64 + "://".len() as u64 + authority + path.unwrap_or(0)
        }
        (_, Some(path)) => path,
        (_, None) => authority,
    }
}

/// The larger of `Content-Length` and the body's own lower size bound.
#[inline]
fn declared_body_len<B: Body>(req: &Request<B>) -> u64 {
    let header = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    header.max(req.body().size_hint().lower())
}

#[cfg(test)]
mod tests;
