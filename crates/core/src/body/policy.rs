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
    /// Do not keep it: [`Request::body`](crate::Request::body) is empty. A
    /// body without a `Content-Length` (HTTP/1 chunked, or an HTTP/2 stream
    /// that declared none) is read through, unkept, before the handler runs,
    /// so that a malformed one gets 400 (or 408/413, or its HTTP/2 stream
    /// reset) and no handler; a body with a `Content-Length` is skipped so
    /// an HTTP/1 connection can carry on (or the connection closes), and an
    /// HTTP/2 stream's is reset.
    Discard,
}
