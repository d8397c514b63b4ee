//! The response future of [`IpFilterService`](super::IpFilterService).

/// Response future of [`IpFilterService`](super::IpFilterService): the inner
/// service's future, or the 403 (500 without a peer address) decided in
/// `call`. The crate's one [`ResponseFuture`](crate::future::ResponseFuture),
/// with a [`ResponseBody`](super::ResponseBody).
pub type ResponseFuture<F> = crate::future::ResponseFuture<F, crate::future::WrapBody>;
