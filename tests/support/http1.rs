//! The one HTTP/1 response parser of the tests, and a raw HTTP/1 client
//! built on it: write exact bytes, read exact responses.
//!
//! [`RawResponse::parse`] takes everything a connection carried until the
//! server closed it; [`Raw::response`] reads one response from a connection
//! that stays open (pipelined responses stay buffered for the next call).
//! Both go through [`parse`]: the status line, header fields, and a body
//! framed by `content-length`, chunked coding (with trailers) or the close.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::within;

/// One HTTP/1 response as it came off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawResponse {
    /// `HTTP/1.1 200 OK`.
    pub(crate) status_line: String,
    /// The status code.
    pub(crate) status: u16,
    /// Header fields in order, names lower-cased.
    pub(crate) headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub(crate) body: Vec<u8>,
    /// The body bytes exactly as sent (chunk sizes and trailers included).
    pub(crate) raw_body: Vec<u8>,
    /// Trailer fields of a chunked body, names lower-cased.
    pub(crate) trailers: Vec<(String, String)>,
}

impl RawResponse {
    /// Parse `bytes`, all a connection carried before the server closed it,
    /// as exactly one response; fails the test on anything else (a
    /// malformed or cut response, bytes after it).
    pub(crate) fn parse(bytes: &[u8]) -> RawResponse {
        match parse(bytes, Framing::Full, true) {
            Ok(Some((response, used))) => {
                assert_eq!(
                    used,
                    bytes.len(),
                    "bytes after the response: {:?}",
                    String::from_utf8_lossy(&bytes[used..])
                );
                response
            }
            Ok(None) => unreachable!("a closed connection is never incomplete"),
            Err(error) => panic!("{error}: {:?}", String::from_utf8_lossy(bytes)),
        }
    }

    /// Parse only the status line and header fields at the start of
    /// `bytes` (as for a response that has no body); returns them and the
    /// bytes after the head, for a body the test checks byte for byte.
    pub(crate) fn parse_head(bytes: &[u8]) -> (RawResponse, &[u8]) {
        match parse(bytes, Framing::Head, true) {
            Ok(Some((response, used))) => (response, &bytes[used..]),
            Ok(None) => unreachable!("a closed connection is never incomplete"),
            Err(error) => panic!("{error}: {:?}", String::from_utf8_lossy(bytes)),
        }
    }

    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`.
    pub(crate) fn header_all(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The header names, sorted, for exact comparisons.
    pub(crate) fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        names
    }

    /// Every header field but hyper's `date`, sorted (hyper moves
    /// `content-length` to the end of the head; the order carries no
    /// meaning), for exact comparisons.
    pub(crate) fn headers_but_date(&self) -> Vec<(&str, &str)> {
        let mut headers: Vec<_> = self
            .headers
            .iter()
            .filter(|(n, _)| n != "date")
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        headers.sort_unstable();
        headers
    }

    /// The body as UTF-8.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }
}

/// How the body of the response being parsed is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// As its status and header fields say.
    Full,
    /// None at all: a response to HEAD (or only its head is wanted).
    Head,
}

/// The position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Header (or trailer) field lines, names lower-cased, values trimmed.
fn fields(block: &str) -> Result<Vec<(String, String)>, String> {
    block
        .split("\r\n")
        .filter(|line| !line.is_empty())
        .map(|line| {
            if line.contains(['\r', '\n']) {
                return Err(format!("a line not ended by CRLF: {line:?}"));
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("not a field line: {line:?}"))?;
            Ok((name.to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect()
}

fn utf8(bytes: &[u8], what: &str) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
}

/// The parser: one response at the start of `buf`, and how many bytes it
/// took. `Ok(None)` when `buf` ends inside the response and more bytes may
/// come; `closed` says none will (then a body with no length ends there, and
/// an incomplete response is an error).
fn parse(
    buf: &[u8],
    framing: Framing,
    closed: bool,
) -> Result<Option<(RawResponse, usize)>, String> {
    let incomplete = |where_: &str| {
        if closed {
            Err(format!("the connection closed {where_}"))
        } else {
            Ok(None)
        }
    };
    let Some(head_len) = find(buf, b"\r\n\r\n") else {
        return incomplete("inside the head");
    };
    let head = utf8(&buf[..head_len], "the head")?;
    let (status_line, field_lines) = head.split_once("\r\n").unwrap_or((&head, ""));
    if status_line.contains(['\r', '\n']) {
        return Err(format!("a status line not ended by CRLF: {status_line:?}"));
    }
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("a bad status line {status_line:?}"))?;
    let mut response = RawResponse {
        status_line: status_line.to_owned(),
        status,
        headers: fields(field_lines)?,
        body: Vec::new(),
        raw_body: Vec::new(),
        trailers: Vec::new(),
    };
    let body_start = head_len + 4;
    if framing == Framing::Head || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Some((response, body_start)));
    }
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"));
    if chunked {
        // Walk the chunks first; copy only once the body is complete.
        let mut chunks = Vec::new();
        let mut at = body_start;
        loop {
            let Some(line_len) = find(&buf[at..], b"\r\n") else {
                return incomplete("inside a chunk-size line");
            };
            let size_line = utf8(&buf[at..at + line_len], "a chunk-size line")?;
            let size_hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16)
                .map_err(|_| format!("a bad chunk-size line {size_line:?}"))?;
            at += line_len + 2;
            if size == 0 {
                let end = if buf[at..].starts_with(b"\r\n") {
                    at + 2
                } else {
                    let Some(trailers_len) = find(&buf[at..], b"\r\n\r\n") else {
                        return incomplete("inside the trailers");
                    };
                    response.trailers = fields(&utf8(&buf[at..at + trailers_len], "trailers")?)?;
                    at + trailers_len + 4
                };
                for (start, len) in chunks {
                    response.body.extend_from_slice(&buf[start..start + len]);
                }
                response.raw_body = buf[body_start..end].to_vec();
                return Ok(Some((response, end)));
            }
            if buf.len() < at + size + 2 {
                return incomplete("inside a chunk");
            }
            if &buf[at + size..at + size + 2] != b"\r\n" {
                return Err("chunk data not followed by CRLF".to_owned());
            }
            chunks.push((at, size));
            at += size + 2;
        }
    }
    if let Some(length) = response.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("a bad content-length {length:?}"))?;
        if buf.len() < body_start + length {
            return incomplete("inside the body");
        }
        let end = body_start + length;
        response.body = buf[body_start..end].to_vec();
        response.raw_body = response.body.clone();
        return Ok(Some((response, end)));
    }
    // Delimited by the end of the connection.
    if !closed {
        return Ok(None);
    }
    response.body = buf[body_start..].to_vec();
    response.raw_body = response.body.clone();
    Ok(Some((response, buf.len())))
}

/// A raw HTTP/1 connection: write exact bytes, parse responses exactly.
#[derive(Debug)]
pub(crate) struct Raw<S = TcpStream> {
    io: S,
    /// Bytes read but not yet parsed (the start of a pipelined response).
    buf: Vec<u8>,
}

impl Raw<TcpStream> {
    /// Connect over TCP.
    pub(crate) async fn connect(addr: SocketAddr) -> Raw<TcpStream> {
        let stream = within("connect", TcpStream::connect(addr))
            .await
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Raw::new(stream)
    }

    /// The client's own address.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.io.local_addr().expect("local addr")
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Raw<S> {
    /// Wrap a connected stream.
    pub(crate) fn new(stream: S) -> Raw<S> {
        Raw {
            io: stream,
            buf: Vec::new(),
        }
    }

    /// Write all of `bytes`.
    pub(crate) async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        let io = &mut self.io;
        within("write", async {
            io.write_all(bytes.as_ref()).await?;
            io.flush().await
        })
        .await
        .expect("write to the server");
    }

    /// Write `bytes`, then read one response.
    pub(crate) async fn roundtrip(&mut self, bytes: impl AsRef<[u8]>) -> RawResponse {
        self.send(bytes).await;
        self.response().await
    }

    /// Read one response with its body (none for 1xx, 204 and 304).
    pub(crate) async fn response(&mut self) -> RawResponse {
        within("response", self.read_response(Framing::Full))
            .await
            .unwrap_or_else(|error| panic!("a well-formed response: {error}"))
    }

    /// Read one response to a HEAD request: no body whatever the headers say.
    pub(crate) async fn head_response(&mut self) -> RawResponse {
        within("HEAD response", self.read_response(Framing::Head))
            .await
            .unwrap_or_else(|error| panic!("a well-formed response: {error}"))
    }

    /// Read until the server closes the connection cleanly (TCP FIN, or
    /// TLS `close_notify`); returns what arrived before that. A read error
    /// (a reset, a TLS close without `close_notify`) fails the test: see
    /// [`end`](Self::end) for those.
    pub(crate) async fn eof(&mut self) -> Vec<u8> {
        let (bytes, ended) = self.end().await;
        ended.unwrap_or_else(|error| {
            panic!(
                "the connection failed ({error}) instead of closing, after {:?}",
                String::from_utf8_lossy(&bytes)
            )
        });
        bytes
    }

    /// Read until the connection ends, cleanly or not: what arrived, and
    /// the read error that ended it, if any.
    pub(crate) async fn end(&mut self) -> (Vec<u8>, std::io::Result<()>) {
        within("the server closing the connection", self.read_to_end()).await
    }

    /// Read until the server closes the connection cleanly, as
    /// [`eof`](Self::eof) does; `None` if it is still open after `limit`.
    pub(crate) async fn closed_within(&mut self, limit: Duration) -> Option<Vec<u8>> {
        let (bytes, ended) = tokio::time::timeout(limit, self.read_to_end()).await.ok()?;
        ended.unwrap_or_else(|error| panic!("the connection failed ({error}) instead of closing"));
        Some(bytes)
    }

    /// How long the server takes to close the connection cleanly, measured
    /// from `since`, and what it sent before; fails the test if it is still
    /// open after [`LIMIT`](super::LIMIT).
    pub(crate) async fn time_to_close(&mut self, since: Instant) -> (Duration, Vec<u8>) {
        let rest = self.eof().await;
        (since.elapsed(), rest)
    }

    /// The stream, for what the helpers don't cover (bytes already read
    /// into the parser's buffer are not in it).
    pub(crate) fn stream(&mut self) -> &mut S {
        &mut self.io
    }

    async fn read_to_end(&mut self) -> (Vec<u8>, std::io::Result<()>) {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match self.io.read(&mut chunk).await {
                Ok(0) => return (std::mem::take(&mut self.buf), Ok(())),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(error) => return (std::mem::take(&mut self.buf), Err(error)),
            }
        }
    }

    async fn read_response(&mut self, framing: Framing) -> Result<RawResponse, String> {
        let mut chunk = vec![0u8; 64 * 1024];
        let mut closed = false;
        loop {
            if let Some((response, used)) = parse(&self.buf, framing, closed)? {
                self.buf.drain(..used);
                return Ok(response);
            }
            match self.io.read(&mut chunk).await {
                Ok(0) => closed = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(error) => return Err(format!("reading the response: {error}")),
            }
        }
    }
}
