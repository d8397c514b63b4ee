//! [`RateDecision`]: the rate limit's answer for one request, ready at once
//! from the in-memory store, after one Redis round trip from the shared one.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::RateLimited;

/// The answer of [`ClientRateLimiter::decide`](super::ClientRateLimiter::decide):
/// a future of `Ok(())` (admitted) or the refusal.
///
/// From the in-memory store it is ready at once and holds no allocation; from
/// the Redis store it is one boxed round trip, bounded by the store's timeout.
#[must_use = "a decision does nothing unless awaited"]
pub struct RateDecision {
    state: State,
}

enum State {
    Ready(Result<(), RateLimited>),
    #[cfg(feature = "redis")]
    Waiting(Pin<Box<dyn Future<Output = Result<(), RateLimited>> + Send>>),
}

impl std::fmt::Debug for RateDecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.state {
            State::Ready(result) => f.debug_tuple("RateDecision::Ready").field(result).finish(),
            #[cfg(feature = "redis")]
            State::Waiting(_) => f.write_str("RateDecision::Waiting"),
        }
    }
}

impl RateDecision {
    #[inline]
    pub(super) fn ready(result: Result<(), RateLimited>) -> Self {
        RateDecision {
            state: State::Ready(result),
        }
    }

    #[cfg(feature = "redis")]
    pub(super) fn waiting(
        future: impl Future<Output = Result<(), RateLimited>> + Send + 'static,
    ) -> Self {
        RateDecision {
            state: State::Waiting(Box::pin(future)),
        }
    }

    /// The answer, when it is known without waiting (always, from the
    /// in-memory store).
    #[inline]
    pub fn now(&self) -> Option<Result<(), RateLimited>> {
        match &self.state {
            State::Ready(result) => Some(*result),
            #[cfg(feature = "redis")]
            State::Waiting(_) => None,
        }
    }
}

impl Future for RateDecision {
    type Output = Result<(), RateLimited>;

    #[inline]
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            State::Ready(result) => Poll::Ready(*result),
            #[cfg(feature = "redis")]
            State::Waiting(future) => future.as_mut().poll(_cx),
        }
    }
}
