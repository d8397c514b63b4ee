//! [`BodyStream`]: a request body read as it arrives.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;

use crate::BoxError;

/// A request body read as it arrives, for handlers that take large uploads
/// ([`BodyPolicy::Stream`](crate::BodyPolicy::Stream),
/// [`Request::body_stream`](crate::Request::body_stream)): each
/// [`chunk`](Self::chunk) is read from the client only when asked for, so
/// nothing is buffered beyond the current chunk, and the body-size limit
/// and the minimum data rate still apply.
///
/// ```
/// use bytes::Bytes;
/// use http::StatusCode;
/// use http_body_util::Full;
/// use postern_core::{AbstractHttpServer, BodyPolicy, Handled, Request, Responder, respond};
///
/// struct Upload;
/// impl AbstractHttpServer for Upload {
///     fn body_policy(&self, _: &Request) -> BodyPolicy {
///         BodyPolicy::Stream
///     }
///     async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
///         let mut body = request.body_stream().expect("asked for a stream");
///         let mut total = 0;
///         while let Some(chunk) = body.chunk().await {
///             match chunk {
///                 Ok(bytes) => total += bytes.len(),
///                 Err(_) => return Handled::Yes, // the responder answers 500 when dropped
///             }
///         }
///         responder.write_with_mime(total.to_string(), "text/plain", StatusCode::OK);
///         Handled::Yes
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let request = http::Request::post("/").body(Full::new(Bytes::from("12345"))).unwrap();
/// let response = respond(&Upload, request).await;
/// assert_eq!(response.status(), StatusCode::OK);
/// # });
/// ```
pub struct BodyStream {
    inner: UnsyncBoxBody<Bytes, BoxError>,
}

impl fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyStream")
            .field("size_hint", &self.inner.size_hint())
            .finish()
    }
}

impl BodyStream {
    pub(crate) fn new<B>(body: B) -> BodyStream
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        BodyStream {
            inner: body.map_err(Into::into).boxed_unsync(),
        }
    }

    /// The next chunk of the body, `None` at its end. Trailers are skipped.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, BodyError>> {
        loop {
            match self.inner.frame().await? {
                Ok(frame) => match frame.into_data() {
                    Ok(data) => return Some(Ok(data)),
                    Err(_trailers) => continue,
                },
                Err(error) => return Some(Err(BodyError(error))),
            }
        }
    }
}

impl Body for BodyStream {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        Pin::new(&mut self.inner)
            .poll_frame(cx)
            .map(|frame| frame.map(|frame| frame.map_err(BodyError)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Why a request body could not be read to its end.
#[derive(Debug)]
pub struct BodyError(BoxError);

impl BodyError {
    /// The body passed the configured body-size limit (the server answers
    /// such a request with 413).
    pub fn is_too_large(&self) -> bool {
        postern_limits::size::is_body_too_large(&*self.0)
    }

    /// The body arrived too slowly: see
    /// [`BodyTimedOut`](crate::BodyTimedOut) (the server answers 408).
    pub fn is_timed_out(&self) -> bool {
        crate::server::is_body_timeout(&*self.0)
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request body failed: {}", self.0)
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}
