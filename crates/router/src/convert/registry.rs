//! The per-router converter registry (Qt's `QHttpServerRouter::converters()`).

use super::builtin::{
    ANY_REGEX, BOOL_REGEX, FLOAT_REGEX, SEGMENT_REGEX, SIGNED_REGEX, UNSIGNED_REGEX,
};
use super::{ArgType, FromCapture, UrlPath};
use crate::error::ConverterError;
use bytes::Bytes;
use std::any::TypeId;

/// One registered converter: a path-argument type and the regex its placeholders match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converter {
    ty: ArgType,
    regex: String,
}

impl Converter {
    /// The argument type's [`TypeId`].
    pub fn type_id(&self) -> TypeId {
        self.ty.id()
    }

    /// The argument type's name, as [`std::any::type_name`] gives it.
    pub fn type_name(&self) -> &'static str {
        self.ty.name()
    }

    /// The regex a placeholder of this type matches (without anchors or group).
    pub fn regex(&self) -> &str {
        &self.regex
    }
}

/// The converters a router knows: which regex each path-argument type matches.
///
/// [`Default`] holds Qt's defaults for the matching Rust types, plus `bool`, `i128`/`u128`,
/// `isize`/`usize` and `i8`/`u8`, listed in this order:
///
/// | types | regex |
/// |---|---|
/// | `i8`, `i16`, `i32`, `i64`, `i128`, `isize` | `[+-]?\d+` |
/// | `u8`, `u16`, `u32`, `u64`, `u128`, `usize` | `[+]?\d+` |
/// | `f32`, `f64` | `[+-]?(?:[0-9]+(?:[.][0-9]*)?\|[.][0-9]+)` |
/// | `bool` | `true\|false\|1\|0` |
/// | `String`, [`Bytes`] | `[^/]+` |
/// | [`UrlPath`] | `.*` |
///
/// A rule takes its regexes from the registry **when it is registered**; changing the registry
/// later does not change existing rules (as in Qt). [`clear`](Self::clear) leaves the registry
/// empty, without restoring the defaults; [`reset`](Self::reset) restores them.
///
/// ```
/// use postern_router::ConverterRegistry;
///
/// let mut converters = ConverterRegistry::default();
/// converters.replace::<u32>("[0-9]{1,4}")?;
/// assert_eq!(converters.remove::<bool>().map(|c| c.regex().to_owned()), Some("true|false|1|0".into()));
/// assert!(converters.get::<bool>().is_none());
/// let listed: Vec<_> = converters.iter().map(|c| c.type_name()).collect();
/// assert_eq!(listed[0], "i8");
/// # Ok::<(), postern_router::ConverterError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConverterRegistry {
    entries: Vec<Converter>,
}

impl Default for ConverterRegistry {
    fn default() -> Self {
        let mut registry = Self::empty();
        registry.reset();
        registry
    }
}

impl ConverterRegistry {
    /// A registry with no converter at all: every route with a path argument fails to
    /// register until converters are added.
    pub fn empty() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Adds the converter for `T`, or replaces its regex if `T` is already registered (Qt's
    /// `addConverter<T>(regexp)`). Returns the converter it replaced.
    ///
    /// # Errors
    /// [`ConverterError::InvalidRegex`] if `regex` does not compile.
    pub fn add<T: FromCapture>(
        &mut self,
        regex: &str,
    ) -> Result<Option<Converter>, ConverterError> {
        let ty = ArgType::of::<T>();
        validate(ty, regex)?;
        let converter = Converter {
            ty,
            regex: regex.to_owned(),
        };
        tracing::debug!(target: "postern::router", type_name = ty.name(), regex, "converter added");
        Ok(match self.position(ty.id()) {
            Some(index) => Some(std::mem::replace(&mut self.entries[index], converter)),
            None => {
                self.entries.push(converter);
                None
            }
        })
    }

    /// Replaces the regex of `T`'s converter and returns the old converter.
    ///
    /// # Errors
    /// [`ConverterError::NotRegistered`] if `T` has no converter;
    /// [`ConverterError::InvalidRegex`] if `regex` does not compile.
    pub fn replace<T: FromCapture>(&mut self, regex: &str) -> Result<Converter, ConverterError> {
        let ty = ArgType::of::<T>();
        if self.position(ty.id()).is_none() {
            return Err(ConverterError::NotRegistered {
                type_name: ty.name(),
            });
        }
        self.add::<T>(regex)?.ok_or(ConverterError::NotRegistered {
            type_name: ty.name(),
        })
    }

    /// Removes `T`'s converter (Qt's `removeConverter`) and returns it.
    pub fn remove<T: 'static>(&mut self) -> Option<Converter> {
        let index = self.position(TypeId::of::<T>())?;
        Some(self.entries.remove(index))
    }

    /// Removes every converter (Qt's `clearConverters`); the defaults are **not** restored.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Restores exactly the default converters.
    pub fn reset(&mut self) {
        self.entries.clear();
        self.insert_default::<i8>(SIGNED_REGEX);
        self.insert_default::<i16>(SIGNED_REGEX);
        self.insert_default::<i32>(SIGNED_REGEX);
        self.insert_default::<i64>(SIGNED_REGEX);
        self.insert_default::<i128>(SIGNED_REGEX);
        self.insert_default::<isize>(SIGNED_REGEX);
        self.insert_default::<u8>(UNSIGNED_REGEX);
        self.insert_default::<u16>(UNSIGNED_REGEX);
        self.insert_default::<u32>(UNSIGNED_REGEX);
        self.insert_default::<u64>(UNSIGNED_REGEX);
        self.insert_default::<u128>(UNSIGNED_REGEX);
        self.insert_default::<usize>(UNSIGNED_REGEX);
        self.insert_default::<f32>(FLOAT_REGEX);
        self.insert_default::<f64>(FLOAT_REGEX);
        self.insert_default::<bool>(BOOL_REGEX);
        self.insert_default::<String>(SEGMENT_REGEX);
        self.insert_default::<Bytes>(SEGMENT_REGEX);
        self.insert_default::<UrlPath>(ANY_REGEX);
    }

    /// `T`'s converter, if registered.
    pub fn get<T: 'static>(&self) -> Option<&Converter> {
        self.get_by_id(TypeId::of::<T>())
    }

    /// Whether `T` has a converter.
    pub fn contains<T: 'static>(&self) -> bool {
        self.position(TypeId::of::<T>()).is_some()
    }

    /// Every converter, in registration order (Qt's `converters()`).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Converter> {
        self.entries.iter()
    }

    /// How many converters are registered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no converter is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn get_by_id(&self, id: TypeId) -> Option<&Converter> {
        self.entries.iter().find(|entry| entry.ty.id() == id)
    }

    fn position(&self, id: TypeId) -> Option<usize> {
        self.entries.iter().position(|entry| entry.ty.id() == id)
    }

    fn insert_default<T: FromCapture>(&mut self, regex: &'static str) {
        self.entries.push(Converter {
            ty: ArgType::of::<T>(),
            regex: regex.to_owned(),
        });
    }
}

impl<'a> IntoIterator for &'a ConverterRegistry {
    type Item = &'a Converter;
    type IntoIter = std::slice::Iter<'a, Converter>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

fn validate(ty: ArgType, regex: &str) -> Result<(), ConverterError> {
    // Compiled on its own: a regex that compiles alone has balanced groups, so it cannot
    // escape the named group it is later wrapped in (`a)|(b` is refused here).
    regex_lite::Regex::new(regex)
        .map(drop)
        .map_err(|error| ConverterError::InvalidRegex {
            type_name: ty.name(),
            regex: regex.to_owned(),
            message: error.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_qts_regexes() {
        let registry = ConverterRegistry::default();
        let table: &[(TypeId, &str)] = &[
            (TypeId::of::<i32>(), r"[+-]?\d+"),
            (TypeId::of::<i64>(), r"[+-]?\d+"),
            (TypeId::of::<i16>(), r"[+-]?\d+"),
            (TypeId::of::<u32>(), r"[+]?\d+"),
            (TypeId::of::<u64>(), r"[+]?\d+"),
            (TypeId::of::<u16>(), r"[+]?\d+"),
            (
                TypeId::of::<f64>(),
                r"[+-]?(?:[0-9]+(?:[.][0-9]*)?|[.][0-9]+)",
            ),
            (
                TypeId::of::<f32>(),
                r"[+-]?(?:[0-9]+(?:[.][0-9]*)?|[.][0-9]+)",
            ),
            (TypeId::of::<String>(), "[^/]+"),
            (TypeId::of::<Bytes>(), "[^/]+"),
            (TypeId::of::<UrlPath>(), ".*"),
            (TypeId::of::<bool>(), "true|false|1|0"),
        ];
        for (id, regex) in table {
            assert_eq!(registry.get_by_id(*id).map(Converter::regex), Some(*regex));
        }
        assert_eq!(registry.len(), 18);
    }

    #[test]
    fn add_replace_remove_clear_reset() {
        #[derive(Debug)]
        struct Slug;
        impl FromCapture for Slug {
            fn from_capture(_: &str) -> Option<Self> {
                Some(Slug)
            }
        }

        let mut registry = ConverterRegistry::default();
        assert_eq!(
            registry.replace::<Slug>("[a-z-]+"),
            Err(ConverterError::NotRegistered {
                type_name: std::any::type_name::<Slug>()
            })
        );
        assert_eq!(registry.add::<Slug>("[a-z-]+").unwrap(), None);
        assert_eq!(
            registry.iter().last().map(Converter::regex),
            Some("[a-z-]+")
        );
        let old = registry.add::<Slug>("[a-z]+").unwrap().unwrap();
        assert_eq!(old.regex(), "[a-z-]+");
        assert_eq!(registry.replace::<Slug>("x").unwrap().regex(), "[a-z]+");
        assert!(matches!(
            registry.add::<Slug>("(unclosed"),
            Err(ConverterError::InvalidRegex { .. })
        ));
        assert!(matches!(
            registry.add::<Slug>("a)|(b"),
            Err(ConverterError::InvalidRegex { .. })
        ));
        assert_eq!(registry.get::<Slug>().map(Converter::regex), Some("x"));
        assert!(registry.remove::<Slug>().is_some());
        assert!(registry.remove::<Slug>().is_none());
        registry.clear();
        assert!(registry.is_empty() && registry.get::<i32>().is_none());
        registry.reset();
        assert_eq!(registry, ConverterRegistry::default());
    }
}
