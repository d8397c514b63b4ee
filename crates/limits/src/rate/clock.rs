//! A governor clock over `tokio::time::Instant`, so `tokio::time::pause` and
//! `advance` drive the rate limiter in tests.

use governor::clock::Clock;
use governor::nanos::Nanos;
use tokio::time::Instant;

/// Nanoseconds since the limiter was built, read from tokio's clock.
///
/// Outside a paused tokio runtime (or without tokio's `test-util` feature)
/// `tokio::time::Instant::now()` is `std::time::Instant::now()`.
#[derive(Debug, Clone, Copy)]
pub(super) struct TokioClock {
    base: Instant,
}

impl TokioClock {
    pub(super) fn new() -> Self {
        TokioClock {
            base: Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    type Instant = Nanos;

    #[inline]
    fn now(&self) -> Nanos {
        Nanos::from(Instant::now().saturating_duration_since(self.base))
    }
}
