//! The response future of [`LimitsService`](super::LimitsService).

/// Response future of [`LimitsService`](super::LimitsService): the inner
/// service's future, or the first refusal (403, 429, 414, 431, 413; 500
/// without a peer address) decided in `call`. The crate's one
/// [`ResponseFuture`](crate::future::ResponseFuture), with a
/// [`ResponseBody`](super::ResponseBody).
pub type ResponseFuture<F> = crate::future::ResponseFuture<F, crate::future::WrapBody>;
