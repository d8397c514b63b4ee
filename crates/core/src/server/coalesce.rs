//! [`Coalesce`]: an HTTP/2 connection's IO, making each write wait one turn
//! of the scheduler so that the responses of all the streams ready by then
//! leave in one write instead of one write each.
//!
//! hyper runs each HTTP/2 stream on a task of its own. A stream that answers
//! wakes the connection's task, which the runtime then runs at once (a woken
//! task goes first), so the connection writes that one response, and the
//! next stream's response goes in a write of its own. Here the first write
//! attempt of a round is put off: the task wakes itself and yields, which
//! puts it behind the tasks already queued (the other streams). When it runs
//! again, every response that became ready meanwhile is in h2's buffer and
//! goes out in one write. The delay is one pass of the run queue, never a
//! timer: a response is never held back waiting for more.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pin_project! {
    /// Writes after one yield to the scheduler; reads pass through.
    #[derive(Debug)]
    pub(crate) struct Coalesce<I> {
        // Whether this round has yielded already: writes go out until the
        // next flush ends the round (h2 flushes once its buffer is written,
        // so a write split by a full socket does not yield again).
        yielded: bool,
        #[pin]
        inner: I,
    }
}

impl<I> Coalesce<I> {
    pub(crate) fn new(inner: I) -> Self {
        Coalesce {
            yielded: false,
            inner,
        }
    }
}

impl<I: AsyncRead> AsyncRead for Coalesce<I> {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<I: AsyncWrite> Coalesce<I> {
    /// Whether this write goes out now; otherwise the task yields once first.
    #[inline]
    fn turn(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        let this = self.project();
        if *this.yielded {
            return true;
        }
        *this.yielded = true;
        cx.waker().wake_by_ref();
        false
    }
}

impl<I: AsyncWrite> AsyncWrite for Coalesce<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if !self.as_mut().turn(cx) {
            return Poll::Pending;
        }
        self.project().inner.poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if !self.as_mut().turn(cx) {
            return Poll::Pending;
        }
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let flushed = this.inner.poll_flush(cx);
        if flushed.is_ready() {
            *this.yielded = false;
        }
        flushed
    }

    #[inline]
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn writes_arrive_whole_and_in_order() {
        let (client, server) = tokio::io::duplex(64);
        let mut server = Coalesce::new(server);
        let mut client = client;
        server.write_all(b"first ").await.unwrap();
        server.write_all(b"second").await.unwrap();
        server.shutdown().await.unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"first second");
    }

    #[test]
    fn the_first_write_of_a_round_yields_once() {
        let (_client, server) = tokio::io::duplex(64);
        let mut server = std::pin::pin!(Coalesce::new(server));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(server.as_mut().poll_write(&mut cx, b"a").is_pending());
        assert!(matches!(
            server.as_mut().poll_write(&mut cx, b"a"),
            Poll::Ready(Ok(1))
        ));
        // Until the flush, writes go out at once.
        assert!(matches!(
            server.as_mut().poll_write(&mut cx, b"b"),
            Poll::Ready(Ok(1))
        ));
        assert!(server.as_mut().poll_flush(&mut cx).is_ready());
        // The next round yields again.
        assert!(server.as_mut().poll_write(&mut cx, b"c").is_pending());
    }
}
