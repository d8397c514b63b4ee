//! The response future of [`SizeLimitService`](super::SizeLimitService).

/// Response future of [`SizeLimitService`](super::SizeLimitService): the inner
/// service's future, or the 414, 431 or 413 decided in `call`. The crate's one
/// [`ResponseFuture`](crate::future::ResponseFuture), with a
/// [`ResponseBody`](super::ResponseBody).
pub type ResponseFuture<F> = crate::future::ResponseFuture<F, crate::future::WrapBody>;
