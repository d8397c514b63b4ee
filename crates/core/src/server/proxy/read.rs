//! Reading a PROXY header off the front of a stream, keeping whatever came
//! after it for the connection (TLS or HTTP) that follows.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use super::header::{MAX_HEADER, Parsed, ProxyHeader, ProxyHeaderError, parse};

/// Read a PROXY header (v1 or v2) from the start of `io` within `timeout`.
///
/// Returns the header and the stream, which replays first whatever bytes
/// came in the same reads after the header (the start of a TLS handshake or
/// of a request), so nothing is lost however the bytes were split or
/// coalesced. `proxy_addr` is the socket peer, recorded in
/// [`ProxyHeader::proxy_addr`]. Listeners with
/// [`Listen::proxy_protocol`](crate::Listen::proxy_protocol) call this for
/// every trusted peer; call it yourself for a stream accepted elsewhere.
///
/// ```
/// use std::time::Duration;
/// use postern_core::read_proxy_header;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (mut proxy, server_side) = tokio::io::duplex(1024);
/// proxy.write_all(b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 443\r\nGET / HTTP/1.1\r\n").await?;
/// let (header, mut stream) = read_proxy_header(server_side, None, Duration::from_secs(5)).await?;
/// assert_eq!(header.source(), Some("192.0.2.7:40000".parse()?));
/// let mut request = [0u8; 16];
/// stream.read_exact(&mut request).await?;
/// assert_eq!(&request, b"GET / HTTP/1.1\r\n");
/// # Ok(()) }
/// ```
pub async fn read_proxy_header<I>(
    io: I,
    proxy_addr: Option<SocketAddr>,
    timeout: Duration,
) -> Result<(ProxyHeader, ProxyStream<I>), ProxyHeaderError>
where
    I: AsyncRead + Unpin,
{
    match tokio::time::timeout(timeout, read(io, proxy_addr)).await {
        Ok(result) => result,
        Err(_) => Err(ProxyHeaderError::TimedOut),
    }
}

async fn read<I: AsyncRead + Unpin>(
    mut io: I,
    proxy_addr: Option<SocketAddr>,
) -> Result<(ProxyHeader, ProxyStream<I>), ProxyHeaderError> {
    // Room for the largest header; a read may bring bytes past the header,
    // which the stream replays.
    let mut buf = vec![0u8; MAX_HEADER];
    let mut len = 0;
    loop {
        let n = io
            .read(&mut buf[len..])
            .await
            .map_err(|e| ProxyHeaderError::Io(e.kind()))?;
        if n == 0 {
            return Err(ProxyHeaderError::Truncated);
        }
        len += n;
        match parse(&buf[..len], proxy_addr) {
            Parsed::Header(header, used) => {
                // Only the bytes past the header are kept (none allocated
                // when none came): the read buffer goes now rather than
                // living as long as the connection's first read.
                let rest = buf[used..len].to_vec();
                return Ok((*header, ProxyStream::new(io, rest)));
            }
            Parsed::Invalid(error) => return Err(error),
            Parsed::Incomplete if len == buf.len() => return Err(ProxyHeaderError::TooLong),
            Parsed::Incomplete => {}
        }
    }
}

pin_project! {
    /// A stream after its PROXY header: replays the bytes read past the
    /// header, then reads from the stream itself. Writes go straight through.
    #[derive(Debug)]
    pub struct ProxyStream<I> {
        rest: Vec<u8>,
        pos: usize,
        #[pin]
        inner: I,
    }
}

impl<I> ProxyStream<I> {
    fn new(inner: I, rest: Vec<u8>) -> Self {
        ProxyStream {
            rest,
            pos: 0,
            inner,
        }
    }

    /// The stream itself (bytes still to be replayed are lost with it).
    pub fn into_inner(self) -> I {
        self.inner
    }
}

impl<I: AsyncRead> AsyncRead for ProxyStream<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        if *this.pos < this.rest.len() {
            let n = (this.rest.len() - *this.pos).min(buf.remaining());
            buf.put_slice(&this.rest[*this.pos..*this.pos + n]);
            *this.pos += n;
            if *this.pos == this.rest.len() {
                // Give the buffer back: the connection may live for hours.
                *this.rest = Vec::new();
                *this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        this.inner.poll_read(cx, buf)
    }
}

impl<I: AsyncWrite> AsyncWrite for ProxyStream<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// Every split of a header and the request after it reads the same.
    #[tokio::test]
    async fn any_split_keeps_the_bytes_after_the_header() {
        let input = b"PROXY TCP4 192.0.2.1 198.51.100.2 5000 80\r\nGET / HTTP/1.1\r\n\r\n";
        for split in 1..input.len() {
            let (mut client, server) = tokio::io::duplex(256);
            client.write_all(&input[..split]).await.unwrap();
            let reading = tokio::spawn(read_proxy_header(server, None, Duration::from_secs(5)));
            tokio::task::yield_now().await;
            client.write_all(&input[split..]).await.unwrap();
            drop(client);
            let (header, mut stream) = reading.await.unwrap().unwrap();
            assert_eq!(header.source(), Some("192.0.2.1:5000".parse().unwrap()));
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"GET / HTTP/1.1\r\n\r\n", "split at {split}");
        }
    }

    #[tokio::test]
    async fn errors() {
        let (mut client, server) = tokio::io::duplex(256);
        client.write_all(b"PROXY TCP4 192.0.2.1").await.unwrap();
        drop(client);
        let error = read_proxy_header(server, None, Duration::from_secs(5)).await;
        assert_eq!(error.err(), Some(ProxyHeaderError::Truncated));

        tokio::time::pause();
        let (_client, server) = tokio::io::duplex(256);
        let error = read_proxy_header(server, None, Duration::from_millis(50)).await;
        assert_eq!(error.err(), Some(ProxyHeaderError::TimedOut));
    }
}
