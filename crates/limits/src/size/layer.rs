use tower_layer::Layer;

use super::{SizeCheck, SizeLimitService};
use crate::config::SizeLimits;

/// Applies [`SizeLimits`] to every request: 414, 431 or 413, and a body that
/// fails past the body limit.
///
/// `Copy`-cheap (the limits are held inline). See the
/// [module docs](crate::size).
#[derive(Debug, Clone, Copy)]
pub struct SizeLimitLayer {
    pub(super) check: SizeCheck,
}

impl SizeLimitLayer {
    /// Limit request sizes to `limits`.
    pub fn new(limits: SizeLimits) -> Self {
        SizeLimitLayer {
            check: SizeCheck::new(limits),
        }
    }

    /// The limits applied.
    pub fn limits(&self) -> &SizeLimits {
        &self.check.limits
    }
}

impl<S> Layer<S> for SizeLimitLayer {
    type Service = SizeLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SizeLimitService {
            inner,
            check: self.check,
        }
    }
}
