//! Protocol detection with a deadline, and the IO wrapper that replays the
//! sniffed bytes and reports reads to the connection's [`Activity`].
//!
//! hyper-util's auto builder reads the HTTP/2 preface without any timeout
//! (hyper#3962), and it always compiles in both protocols; so the sniffing is
//! done here, and the connection is handed to hyper's own `http1` or `http2`
//! builder.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use super::activity::Activity;

const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Http1,
    Http2,
}

/// Read until the bytes can only be HTTP/2's preface or can't be it. Returns
/// the bytes read; `None` if the peer closed first.
pub(crate) async fn sniff<I: AsyncRead + Unpin>(
    io: &mut I,
) -> io::Result<Option<(Protocol, [u8; 24], usize)>> {
    let mut buf = [0u8; 24];
    let mut len = 0;
    while len < H2_PREFACE.len() {
        let n = io.read(&mut buf[len..]).await?;
        if n == 0 {
            return Ok(None);
        }
        len += n;
        if buf[..len] != H2_PREFACE[..len] {
            return Ok(Some((Protocol::Http1, buf, len)));
        }
    }
    Ok(Some((Protocol::Http2, buf, len)))
}

pin_project! {
    /// Replays a sniffed prefix, then reads from `inner`; tells the
    /// connection's activity about every read.
    #[derive(Debug)]
    pub(crate) struct Rewind<I> {
        prefix: [u8; 24],
        pos: usize,
        len: usize,
        activity: Arc<Activity>,
        #[pin]
        inner: I,
    }
}

impl<I> Rewind<I> {
    pub(crate) fn new(inner: I, prefix: [u8; 24], len: usize, activity: Arc<Activity>) -> Self {
        Rewind {
            prefix,
            pos: 0,
            len,
            activity,
            inner,
        }
    }
}

impl<I: AsyncRead> AsyncRead for Rewind<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        if *this.pos < *this.len {
            let n = (*this.len - *this.pos).min(buf.remaining());
            buf.put_slice(&this.prefix[*this.pos..*this.pos + n]);
            *this.pos += n;
            if *this.pos < *this.len || buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            // Read what follows the prefix into the same buffer: a head read
            // in one piece is parsed in hyper's first 8 KiB read buffer, where
            // the prefix alone would make it reserve a second 8 KiB on top of
            // the prefix's bytes (16 KiB kept for the connection's life).
            let before = buf.filled().len();
            if let Poll::Ready(Ok(())) = this.inner.poll_read(cx, buf)
                && buf.filled().len() > before
            {
                this.activity.on_read();
            }
            // Not ready or failed: the prefix is this read; an error shows
            // again at the next one.
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let result = this.inner.poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.on_read();
        }
        result
    }
}

/// The bytes a write took, or `None` when the client's side was full.
#[inline]
fn written(polled: &Poll<io::Result<usize>>) -> Option<usize> {
    match polled {
        Poll::Ready(Ok(n)) => Some(*n),
        Poll::Ready(Err(_)) => Some(0),
        Poll::Pending => None,
    }
}

impl<I: AsyncWrite> AsyncWrite for Rewind<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let polled = this.inner.poll_write(cx, data);
        this.activity.write_polled(written(&polled));
        polled
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
        let this = self.project();
        let polled = this.inner.poll_write_vectored(cx, bufs);
        this.activity.write_polled(written(&polled));
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sniffing_table() {
        let cases: &[(&[u8], Option<Protocol>)] = &[
            (b"GET / HTTP/1.1\r\n\r\n", Some(Protocol::Http1)),
            (b"POST /x HTTP/1.0\r\n", Some(Protocol::Http1)),
            (
                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0",
                Some(Protocol::Http2),
            ),
            (b"PRI * HTTP/1.1\r\n", Some(Protocol::Http1)),
            (b"PR", None),
            (b"", None),
        ];
        for (input, expected) in cases {
            let mut reader = &input[..];
            let got = sniff(&mut reader).await.unwrap().map(|(p, _, _)| p);
            assert_eq!(got, *expected, "{input:?}");
        }
    }

    #[tokio::test]
    async fn rewind_replays_prefix() {
        let mut reader = &b"GET / HTTP/1.1\r\n\r\nrest"[..];
        let (_, prefix, len) = sniff(&mut reader).await.unwrap().unwrap();
        let mut io = Rewind::new(reader, prefix, len, Activity::new(true));
        let mut all = Vec::new();
        io.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"GET / HTTP/1.1\r\n\r\nrest");
    }

    #[tokio::test]
    async fn the_first_read_takes_the_prefix_and_what_follows() {
        let mut reader = &b"GET /a/long/path HTTP/1.1\r\nHost: x\r\n\r\n"[..];
        let (_, prefix, len) = sniff(&mut reader).await.unwrap().unwrap();
        assert_eq!(len, 24);
        let mut io = Rewind::new(reader, prefix, len, Activity::new(true));
        let mut buf = [0u8; 64];
        let n = io.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"GET /a/long/path HTTP/1.1\r\nHost: x\r\n\r\n");
        // A buffer smaller than the prefix gets it in pieces.
        let mut reader = &b"GET /a/long/path HTTP/1.1\r\n"[..];
        let (_, prefix, len) = sniff(&mut reader).await.unwrap().unwrap();
        let mut io = Rewind::new(reader, prefix, len, Activity::new(true));
        let mut small = [0u8; 10];
        assert_eq!(io.read(&mut small).await.unwrap(), 10);
        assert_eq!(&small, b"GET /a/lon");
    }
}
