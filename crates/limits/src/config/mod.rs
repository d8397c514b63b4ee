//! Configuration types for every limit, usable without the layers or the server.
//!
//! [`Limits`] bundles one configuration per protection. Each has Qt's defaults
//! (`QHttpServerConfiguration`) as its `Default`, plus presets:
//!
//! ```
//! use postern_limits::config::{Limits, SizeLimits};
//!
//! let qt_defaults = Limits::default();
//! assert_eq!(qt_defaults.sizes.max_url, Some(65_536));
//! assert_eq!(qt_defaults.rate.per_second, 0); // off, as in Qt
//!
//! let internet = Limits::strict();
//! assert!(internet.rate.per_second > 0);
//!
//! let nothing = Limits::disabled();
//! assert_eq!(nothing.sizes, SizeLimits::disabled());
//! ```

mod client_ip;
mod connections;
mod error;
mod ip_filter;
mod limits;
mod rate;
mod rate_store;
mod sizes;

pub use client_ip::{ClientIpConfig, ForwardedHeader};
pub use connections::ConnectionLimits;
pub use error::ConfigError;
pub use ip_filter::{IpFilter, parse_subnet};
pub use limits::Limits;
pub use rate::RateLimit;
pub use rate_store::RateStore;
#[cfg(feature = "redis")]
pub use rate_store::{FailurePolicy, RedisStore};
pub use sizes::SizeLimits;
