//! Typed errors for route and converter registration.
//!
//! Registration never panics: every problem Qt reports with a warning and a null rule is an
//! error value here, with a `Display` text that names the pattern and the offending part.

use std::error::Error;
use std::fmt;

/// How many rules a router holds at most: rule ids are `u32`.
const MAX_RULES: u64 = 1 << 32;

/// Why [`HttpServer::route`](crate::HttpServer::route) (or any other rule registration)
/// refused a rule.
///
/// Qt answers these cases with a `nullptr` rule and a warning on `qt.httpserver.router.rule`;
/// Postern returns this error and logs the same text on `postern::router::rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteError {
    /// The method set holds no known method (Qt: `methods & AnyKnown == 0`).
    EmptyMethods {
        /// The rule's path pattern.
        pattern: String,
    },
    /// The path pattern itself is malformed.
    Pattern {
        /// The rule's path pattern.
        pattern: String,
        /// What is wrong with it.
        kind: PatternErrorKind,
    },
    /// The pattern has more `<arg>` placeholders than the handler has path arguments
    /// (Qt: "not enough types or one of the types is not supported").
    TooManyPlaceholders {
        /// The rule's path pattern.
        pattern: String,
        /// `<arg>` placeholders in the pattern.
        placeholders: usize,
        /// Path arguments the handler takes.
        arguments: usize,
    },
    /// A handler argument type has no converter in the router's registry
    /// (Qt: "Can not find converter for type").
    NoConverter {
        /// The rule's path pattern.
        pattern: String,
        /// The Rust type name of the argument.
        type_name: &'static str,
    },
    /// The router already holds as many rules as rule ids can number (2^32).
    TooManyRules {
        /// The rule's path pattern.
        pattern: String,
    },
    /// The path regex built from the pattern and the converters did not compile
    /// (for example it grew past the regex size limit).
    Regex {
        /// The rule's path pattern.
        pattern: String,
        /// The regex engine's message.
        message: String,
    },
}

/// What is wrong with a path pattern; see [`RouteError::Pattern`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternErrorKind {
    /// The pattern is empty.
    Empty,
    /// The pattern does not start with `/`, so it could never match a request path.
    NoLeadingSlash,
    /// The pattern holds a `<name>` placeholder other than Qt's `<arg>` (for example `<id>`).
    UnknownPlaceholder(String),
}

impl fmt::Display for PatternErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the pattern is empty"),
            Self::NoLeadingSlash => f.write_str("the pattern must start with `/`"),
            Self::UnknownPlaceholder(name) => write!(
                f,
                "unknown placeholder `{name}`: placeholders are written `<arg>` and typed by the handler's arguments"
            ),
        }
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyMethods { pattern } => {
                write!(f, "route `{pattern}`: the method set holds no known method")
            }
            Self::Pattern { pattern, kind } => write!(f, "route `{pattern}`: {kind}"),
            Self::TooManyPlaceholders {
                pattern,
                placeholders,
                arguments,
            } => write!(
                f,
                "route `{pattern}`: not enough types: {placeholders} `<arg>` placeholder(s) but the handler takes {arguments} path argument(s)"
            ),
            Self::NoConverter { pattern, type_name } => write!(
                f,
                "route `{pattern}`: can not find converter for type: {type_name} (register one with `converters_mut().add::<{type_name}>(regex)`)"
            ),
            Self::TooManyRules { pattern } => write!(
                f,
                "route `{pattern}`: the router already holds {MAX_RULES} rules, the most it can number; route several paths with one rule and an `<arg>` instead"
            ),
            Self::Regex { pattern, message } => {
                write!(
                    f,
                    "route `{pattern}`: the path regex does not compile: {message}"
                )
            }
        }
    }
}

impl Error for RouteError {}

/// Why a converter registry operation failed; see
/// [`ConverterRegistry`](crate::ConverterRegistry).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConverterError {
    /// The regex does not compile.
    InvalidRegex {
        /// The Rust type name the converter was for.
        type_name: &'static str,
        /// The regex as given.
        regex: String,
        /// The regex engine's message.
        message: String,
    },
    /// [`ConverterRegistry::replace`](crate::ConverterRegistry::replace) was asked to replace a
    /// converter that is not registered.
    NotRegistered {
        /// The Rust type name.
        type_name: &'static str,
    },
}

impl fmt::Display for ConverterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRegex {
                type_name,
                regex,
                message,
            } => write!(
                f,
                "converter for {type_name}: invalid regex `{regex}`: {message}"
            ),
            Self::NotRegistered { type_name } => {
                write!(f, "no converter is registered for type {type_name}")
            }
        }
    }
}

impl Error for ConverterError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages of errors the public tests cannot provoke (a router would need 2^32 rules).
    #[test]
    fn unreachable_in_tests_but_readable() {
        let table = [(
            RouteError::TooManyRules {
                pattern: "/x".into(),
            },
            "route `/x`: the router already holds 4294967296 rules, the most it can number; route several paths with one rule and an `<arg>` instead",
        )];
        for (error, message) in table {
            assert_eq!(error.to_string(), message);
        }
    }
}
