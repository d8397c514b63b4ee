use std::error::Error;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use http_body_util::{LengthLimitError, Limited};
use pin_project_lite::pin_project;

/// The error type of [`RequestBody`]: boxed, as in tower-http and
/// `http_body_util::Limited`. Only errors allocate; data frames never do.
pub(crate) type BoxError = Box<dyn Error + Send + Sync>;

pin_project! {
    /// The request body the size-limit layers hand to the inner service.
    ///
    /// With a body limit, it counts the bytes of every data frame as they
    /// stream in (chunked HTTP/1 and HTTP/2 bodies included) and fails with
    /// [`LengthLimitError`] as soon as the total would pass the limit, so
    /// nothing past the limit is ever buffered; the frame that crosses it is
    /// dropped. Test errors with [`is_body_too_large`] and answer 413.
    /// axum's body extractors (`Bytes`, `String`, `Json`, `Form`) already map
    /// this error to 413 on their own.
    ///
    /// Without a limit it passes frames through untouched (errors are boxed).
    #[derive(Debug)]
    pub struct RequestBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Unlimited { #[pin] body: B },
        Limited { #[pin] body: Limited<B> },
    }
}

impl<B> RequestBody<B> {
    /// Wrap `body`, failing once it yields more than `limit` bytes
    /// (`None` = unlimited). A body of exactly `limit` bytes passes.
    pub fn new(body: B, limit: Option<u64>) -> Self {
        let kind = match limit {
            None => Kind::Unlimited { body },
            Some(limit) => Kind::Limited {
                body: Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX)),
            },
        };
        RequestBody { kind }
    }
}

impl<B> Body for RequestBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Unlimited { body } => body
                .poll_frame(cx)
                .map(|frame| frame.map(|result| result.map_err(Into::into))),
            KindProj::Limited { body } => body.poll_frame(cx),
        }
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Unlimited { body } => body.is_end_stream(),
            Kind::Limited { body } => body.is_end_stream(),
        }
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Unlimited { body } => body.size_hint(),
            Kind::Limited { body } => body.size_hint(),
        }
    }
}

/// Whether `error`, or any error in its `source()` chain, is the body limit's
/// [`LengthLimitError`]: answer **413** for it (400 for other body errors).
///
/// ```
/// use http_body_util::BodyExt;
/// use postern_limits::size::{RequestBody, is_body_too_large};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let body = RequestBody::new(http_body_util::Full::new(bytes::Bytes::from("too long")), Some(3));
/// let error = body.collect().await.unwrap_err();
/// assert!(is_body_too_large(&*error));
/// # }
/// ```
pub fn is_body_too_large(error: &(dyn Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error.is::<LengthLimitError>() {
            return true;
        }
        next = error.source();
    }
    false
}
