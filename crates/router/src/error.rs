//! Typed errors for route and converter registration.
//!
//! Registration never panics: every problem Qt reports with a warning and a null rule is an
//! error value here, with a `Display` text that names the pattern and the offending part.

use std::error::Error;
use std::fmt;

/// How many rules a router holds at most: rule ids are `u32`.
const MAX_RULES: u64 = 1 << 32;

/// The end of every placeholder mistake's message.
const PLACEHOLDERS_ARE: &str =
    "placeholders are written `<arg>` and typed by the handler's arguments";

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
    /// The handler takes more path arguments than the pattern has `<arg>` placeholders, and
    /// the surplus ones would be glued to the text before them. Surplus arguments are appended
    /// at the end of the pattern with nothing in between (Qt's rule), so Postern takes them
    /// only after a final `/`, and only one: `/user/` with `|id: u32|` is fine, `/user` (which
    /// would match `/user42`) and `/user/` with `|a: u32, b: u32|` (which would split `/user/123`
    /// into `12` and `3`) are refused.
    SurplusArguments {
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
    UnknownPlaceholder {
        /// The placeholder as written, `<id>`.
        found: String,
        /// The whole pattern with every placeholder written `<arg>`.
        suggestion: String,
    },
    /// The pattern holds a `{name}` placeholder, the syntax of most other routers
    /// (`/items/{id}`); an unclosed `{name` counts too.
    BracePlaceholder {
        /// The placeholder as written, `{id}`.
        found: String,
        /// The whole pattern with every placeholder written `<arg>`.
        suggestion: String,
    },
    /// A path segment starts with `:name` (`/items/:id`), other routers' placeholder syntax.
    ColonPlaceholder {
        /// The placeholder as written, `:id`.
        found: String,
        /// The whole pattern with every placeholder written `<arg>`.
        suggestion: String,
    },
    /// A `<` has no `>` before the end of its path segment (`/items/<arg`). A `<` always
    /// opens a placeholder, so a pattern cannot hold a literal `<`.
    UnclosedPlaceholder {
        /// The text from the `<` to the end of its segment, `<arg`.
        found: String,
        /// The whole pattern with every placeholder written `<arg>`.
        suggestion: String,
    },
}

impl PatternErrorKind {
    /// For a placeholder mistake, the pattern with every placeholder written `<arg>`: what
    /// the error message proposes instead.
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            Self::UnknownPlaceholder { suggestion, .. }
            | Self::BracePlaceholder { suggestion, .. }
            | Self::ColonPlaceholder { suggestion, .. }
            | Self::UnclosedPlaceholder { suggestion, .. } => Some(suggestion),
            Self::Empty | Self::NoLeadingSlash => None,
        }
    }
}

impl fmt::Display for PatternErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the pattern is empty"),
            Self::NoLeadingSlash => f.write_str("the pattern must start with `/`"),
            Self::UnknownPlaceholder { found, .. } => {
                write!(f, "unknown placeholder `{found}`: {PLACEHOLDERS_ARE}")
            }
            Self::BracePlaceholder { found, .. } => {
                write!(f, "`{found}` is not a placeholder: {PLACEHOLDERS_ARE}")
            }
            Self::ColonPlaceholder { found, .. } => {
                write!(f, "`{found}` is not a placeholder: {PLACEHOLDERS_ARE}")
            }
            Self::UnclosedPlaceholder { found, .. } => write!(
                f,
                "`{found}` is an unclosed placeholder (a `<` always opens one): {PLACEHOLDERS_ARE}"
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
            Self::Pattern { pattern, kind } => {
                write!(f, "route `{pattern}`: {kind}")?;
                match kind.suggestion() {
                    Some(suggestion) => {
                        write!(f, "; use \"{suggestion}\" instead of \"{pattern}\"")
                    }
                    None => Ok(()),
                }
            }
            Self::TooManyPlaceholders {
                pattern,
                placeholders,
                arguments,
            } => write!(
                f,
                "route `{pattern}`: not enough types: {placeholders} `<arg>` placeholder(s) but the handler takes {arguments} path argument(s)"
            ),
            Self::SurplusArguments {
                pattern,
                placeholders,
                arguments,
            } => {
                let surplus = arguments.saturating_sub(*placeholders);
                let slash = if pattern.ends_with('/') { "" } else { "/" };
                let written = vec!["<arg>"; surplus].join("/");
                write!(
                    f,
                    "route `{pattern}`: the handler takes {arguments} path argument(s) but the pattern has {placeholders} `<arg>` placeholder(s); surplus arguments are appended at the end of the pattern with nothing before or between them, which works only for one argument after a final `/`: use \"{pattern}{slash}{written}\""
                )?;
                if surplus == 1 && !slash.is_empty() {
                    write!(f, " or \"{pattern}/\"")?;
                }
                write!(f, " instead of \"{pattern}\"")
            }
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
