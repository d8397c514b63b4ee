//! The response future of [`RateLimitService`](super::RateLimitService).

/// Response future of [`RateLimitService`](super::RateLimitService): the inner
/// service's future, or the 429 (500 without a peer address) decided in
/// `call`. The crate's one [`ResponseFuture`](crate::future::ResponseFuture),
/// with a [`ResponseBody`](super::ResponseBody).
pub type ResponseFuture<F> = crate::future::ResponseFuture<F, crate::future::WrapBody>;
