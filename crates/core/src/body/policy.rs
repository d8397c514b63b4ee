//! [`BodyPolicy`]: what a server wants of a request's body.

/// How [`HttpService`](crate::HttpService) reads a request's body before
/// [`AbstractHttpServer::handle_request`](crate::AbstractHttpServer::handle_request)
/// runs, as [`AbstractHttpServer::body_policy`](crate::AbstractHttpServer::body_policy)
/// decides from the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyPolicy {
    /// Read it whole into memory first (Qt's way): [`Request::body`](crate::Request::body).
    /// The bytes count against the server's budget for buffered bodies
    /// ([`Configuration::max_buffered_body_bytes`](crate::Configuration::max_buffered_body_bytes)).
    Buffer,
    /// Hand it over unread: the handler takes it with
    /// [`Request::body_stream`](crate::Request::body_stream) and reads it
    /// chunk by chunk, with back-pressure; nothing is buffered beyond the
    /// current chunk.
    Stream,
    /// Keep none of it: [`Request::body`](crate::Request::body) is empty. The
    /// body is still read to its end and thrown away before the handler
    /// runs (Qt's order: a request is handled once it is whole), so a
    /// malformed body, one over
    /// [`max_body`](crate::config::SizeLimits::max_body) or one
    /// too slow for the body timeouts gets its 400, 413 or 408 instead of
    /// the handler's answer; nothing is buffered, and `Expect: 100-continue`
    /// is answered with `100 Continue` as for the other policies.
    Discard,
    /// Do not read it at all, for an answer that comes from the head alone
    /// (the router's 404 and 405): the response is not held up by an upload
    /// nobody wants. Hyper skips the unread bytes after the response so an
    /// HTTP/1 connection can carry on (or closes it), and HTTP/2 resets the
    /// stream's body; a malformed body is then never judged, so use it only
    /// where no handler of the application runs.
    Ignore,
}
