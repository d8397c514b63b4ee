//! Path-argument converters: how a captured piece of the path becomes a typed handler argument.
//!
//! Two halves, as in Qt:
//! * the **regex** that a placeholder of that type matches lives in the router's
//!   [`ConverterRegistry`], so it can be added, replaced, removed or cleared per router;
//! * the **conversion** from the captured text is the type's [`FromCapture`] impl.
//!
//! ```
//! use postern_router::{ConverterRegistry, FromCapture};
//!
//! /// A hex colour like `ff8800`.
//! #[derive(Debug, PartialEq)]
//! struct Rgb(u32);
//!
//! impl FromCapture for Rgb {
//!     fn from_capture(capture: &str) -> Option<Self> {
//!         u32::from_str_radix(capture, 16).ok().map(Rgb)
//!     }
//! }
//!
//! let mut converters = ConverterRegistry::default();
//! converters.add::<Rgb>("[0-9a-fA-F]{6}")?;
//! assert_eq!(converters.get::<Rgb>().map(|c| c.regex()), Some("[0-9a-fA-F]{6}"));
//! assert_eq!(Rgb::from_capture("ff8800"), Some(Rgb(0xff8800)));
//! // Qt's exact default regexes:
//! assert_eq!(converters.get::<i32>().map(|c| c.regex()), Some(r"[+-]?\d+"));
//! # Ok::<(), postern_router::ConverterError>(())
//! ```

mod builtin;
mod registry;
mod url_path;

pub use builtin::{
    ANY_REGEX, BOOL_REGEX, FLOAT_REGEX, SEGMENT_REGEX, SIGNED_REGEX, UNSIGNED_REGEX,
};
pub use registry::{Converter, ConverterRegistry};
pub use url_path::UrlPath;

use std::any::TypeId;

/// A type that a path placeholder can be converted to.
///
/// Implement it for your own types, then register the regex their placeholders match with
/// [`ConverterRegistry::add`] (Qt's `addConverter<T>(regexp)`). Built-in impls cover every
/// integer type, `f32`/`f64`, `bool`, `String`, [`bytes::Bytes`] and [`UrlPath`].
///
/// Returning `None` (for example on integer overflow) makes the rule **not match**, so the
/// request goes on to later rules and, failing those, to the missing handler (404). Qt instead
/// passes a default-constructed value (`0`); see the crate docs on deviations.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be converted from a path capture",
    label = "not a path argument type",
    note = "path arguments implement `postern_router::FromCapture`; implement it for your type and register its regex with `server.converters_mut().add::<{Self}>(regex)`"
)]
pub trait FromCapture: Sized + Send + 'static {
    /// Converts the (percent-decoded) captured text, or `None` if it does not fit.
    fn from_capture(capture: &str) -> Option<Self>;
}

/// One path-argument type of a handler or converter: its [`TypeId`] and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArgType {
    id: TypeId,
    name: &'static str,
}

impl ArgType {
    /// The argument type `T`.
    pub fn of<T: FromCapture>() -> Self {
        Self {
            id: TypeId::of::<T>(),
            name: std::any::type_name::<T>(),
        }
    }

    /// The type's [`TypeId`].
    pub fn id(&self) -> TypeId {
        self.id
    }

    /// The type's name, as [`std::any::type_name`] gives it.
    pub fn name(&self) -> &'static str {
        self.name
    }
}
