//! [`AccessEntry`]: what the access log records of one request, written as
//! one event when the response ends (or is abandoned).

use std::net::IpAddr;

use http::uri::PathAndQuery;
use http::{Method, StatusCode, Version};
use postern_limits::RefusalReason;
use tokio::time::Instant;

use super::TARGET;

/// How `version` reads in the log.
pub(crate) fn protocol_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP",
    }
}

/// One request in the access log. Made only while the log is on (boxed, so
/// the futures and bodies that carry it grow by one pointer when it is off);
/// the event is written when it is dropped: when the response body ends,
/// or when the response is abandoned (the client went away).
#[derive(Debug)]
pub(crate) struct AccessEntry {
    start: Instant,
    method: Method,
    path: Option<PathAndQuery>,
    version: Version,
    client: Option<IpAddr>,
    status: Option<StatusCode>,
    reason: Option<RefusalReason>,
    bytes: u64,
    completed: bool,
}

impl AccessEntry {
    /// The entry of `request`, from `client`.
    pub(crate) fn start<B>(request: &http::Request<B>, client: Option<IpAddr>) -> Box<AccessEntry> {
        Box::new(AccessEntry {
            start: Instant::now(),
            method: request.method().clone(),
            path: request.uri().path_and_query().cloned(),
            version: request.version(),
            client,
            status: None,
            reason: None,
            bytes: 0,
            completed: false,
        })
    }

    /// The response head went out with `status`, refused for `reason` if
    /// any.
    pub(crate) fn answered(&mut self, status: StatusCode, reason: Option<RefusalReason>) {
        self.status = Some(status);
        self.reason = reason;
    }

    /// Whether the request is a HEAD: its response has no body to send.
    pub(crate) fn is_head(&self) -> bool {
        self.method == Method::HEAD
    }

    /// `bytes` body bytes went to hyper.
    #[inline]
    pub(crate) fn sent(&mut self, bytes: usize) {
        self.bytes += bytes as u64;
    }

    /// The body ended: everything went to hyper.
    pub(crate) fn complete(&mut self) {
        self.completed = true;
    }
}

impl Drop for AccessEntry {
    fn drop(&mut self) {
        let duration = self.start.elapsed();
        tracing::info!(
            target: TARGET,
            method = self.method.as_str(),
            path = self.path.as_ref().map(PathAndQuery::path),
            client = self.client.map(tracing::field::display),
            status = self.status.map(|status| status.as_u16()),
            bytes = self.bytes,
            duration_us = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX),
            protocol = protocol_name(self.version),
            reason = self.reason.map(RefusalReason::as_str),
            completed = self.completed,
            "request"
        );
    }
}

/// Log a refusal that has no request to go with: a head hyper refused
/// (`protocol` known, no method or path) or a connection over the caps
/// (`protocol` `None`: refused before its first byte was read).
pub(crate) fn refusal_event(
    client: Option<IpAddr>,
    status: StatusCode,
    reason: RefusalReason,
    protocol: Option<&'static str>,
) {
    tracing::info!(
        target: TARGET,
        client = client.map(tracing::field::display),
        status = status.as_u16(),
        bytes = 0u64,
        protocol,
        reason = reason.as_str(),
        completed = true,
        "request refused"
    );
}
