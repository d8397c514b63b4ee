//! The one byte stream type every connection is served on.
//!
//! hyper's connection engine, the watchdog's IO wrapper and the connection
//! task are compiled once per stream type they run on. Served directly, TCP,
//! Unix, TLS and caller-given streams would each carry a copy of all of it
//! (tens of KB of code apiece); behind this enum there is one copy, for the
//! price of a branch per read and write. The common streams are not boxed:
//! a TCP connection costs no allocation for it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::listener::Io;

/// A connection's byte stream.
pub(crate) enum Stream {
    Tcp(tokio::net::TcpStream),
    #[cfg(all(unix, feature = "unix"))]
    Unix(tokio::net::UnixStream),
    /// Boxed: the TLS state is large, and plain connections should not
    /// carry its room.
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>),
    /// A stream given by the caller (`RunningServer::serve_io`), or one a
    /// PROXY header was read from.
    Other(Box<dyn Io>),
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stream::Tcp(_) => "Stream::Tcp",
            #[cfg(all(unix, feature = "unix"))]
            Stream::Unix(_) => "Stream::Unix",
            #[cfg(feature = "tls")]
            Stream::Tls(_) => "Stream::Tls",
            Stream::Other(_) => "Stream::Other",
        })
    }
}

/// Call `$method` on whichever stream `$self` holds.
macro_rules! each {
    ($self:expr, $s:ident => $call:expr) => {
        match $self.get_mut() {
            Stream::Tcp($s) => $call,
            #[cfg(all(unix, feature = "unix"))]
            Stream::Unix($s) => $call,
            #[cfg(feature = "tls")]
            Stream::Tls($s) => $call,
            Stream::Other($s) => $call,
        }
    };
}

impl AsyncRead for Stream {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => Pin::new(s).poll_write(cx, data))
    }

    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    #[inline]
    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.is_write_vectored(),
            #[cfg(all(unix, feature = "unix"))]
            Stream::Unix(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.is_write_vectored(),
            Stream::Other(s) => s.is_write_vectored(),
        }
    }

    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_flush(cx))
    }

    #[inline]
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}
