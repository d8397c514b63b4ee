//! Path patterns: literal text with Qt's `<arg>` placeholders.
//!
//! `<` and `{` are reserved for placeholders, and so is `:` before a name at the start of a
//! segment: anything but `<arg>` there is refused with the `<arg>` pattern to write instead,
//! since other routers' syntax (`{id}`, `:id`) or a typo (`<arg`) would otherwise register as
//! literal text that never matches.
//!
//! A pattern is split into literal pieces around its placeholders. The literal text before the
//! first placeholder (the *prefix*) feeds the lookup index; the rest becomes an anchored regex
//! built from the argument types' converter regexes.

use crate::error::PatternErrorKind;

/// The text Qt replaces with a typed capture group.
const PLACEHOLDER: &str = "<arg>";

/// A parsed path pattern: `literals.len() == placeholders + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    literals: Vec<String>,
}

impl Pattern {
    /// Splits `pattern` at its `<arg>` placeholders, refusing placeholder syntax that would
    /// otherwise be taken as literal text and never match (see [`next_mistake`]).
    pub(crate) fn parse(pattern: &str) -> Result<Self, PatternErrorKind> {
        if pattern.is_empty() {
            return Err(PatternErrorKind::Empty);
        }
        if !pattern.starts_with('/') {
            return Err(PatternErrorKind::NoLeadingSlash);
        }
        if let Some(mistake) = first_mistake(pattern) {
            return Err(mistake);
        }
        // Every `<` now opens an `<arg>`: the checks above refused any other.
        let mut literals = Vec::new();
        let mut rest = pattern;
        while let Some((literal, after)) = rest.split_once(PLACEHOLDER) {
            literals.push(literal.to_owned());
            rest = after;
        }
        literals.push(rest.to_owned());
        Ok(Self { literals })
    }

    /// How many `<arg>` placeholders the pattern holds.
    pub(crate) fn placeholders(&self) -> usize {
        self.literals.len() - 1
    }

    /// The literal text before the first placeholder (the whole pattern when it has none).
    pub(crate) fn prefix(&self) -> &str {
        &self.literals[0]
    }

    /// The literal pieces after each placeholder (empty when two placeholders touch).
    pub(crate) fn literals_after_prefix(&self) -> &[String] {
        &self.literals[1..]
    }

    /// The regex that matches the path *after* [`prefix`](Self::prefix), given one converter
    /// regex per handler argument (`captures.len() >= self.placeholders()`, checked by the
    /// caller). Surplus captures are appended at the end, Qt's trailing-slash convention.
    ///
    /// Group `i` is named `a{i}` so converter regexes may hold groups of their own.
    pub(crate) fn suffix_regex(&self, captures: &[&str]) -> String {
        let mut source = String::from("^");
        for (index, capture) in captures.iter().enumerate() {
            source.push_str("(?P<");
            source.push_str(&group_name(index));
            source.push('>');
            source.push_str(capture);
            source.push(')');
            if let Some(literal) = self.literals.get(index + 1) {
                source.push_str(&regex_lite::escape(literal));
            }
        }
        source.push('$');
        source
    }

    /// The whole-path regex as Qt would log it (`url pathRegexp: …`), for diagnostics only.
    pub(crate) fn full_regex(&self, captures: &[&str]) -> String {
        let suffix = self.suffix_regex(captures);
        if captures.is_empty() {
            format!("^{}$", regex_lite::escape(self.prefix()))
        } else {
            format!("^{}{}", regex_lite::escape(self.prefix()), &suffix[1..])
        }
    }
}

/// The name of capture group `index`.
pub(crate) fn group_name(index: usize) -> String {
    format!("a{index}")
}

/// A placeholder written in a syntax other than `<arg>`, at `start..end` of its path segment.
///
/// Placeholders never span a `/`, so each segment is checked on its own, and the suggestion
/// is built segment by segment too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mistake {
    kind: MistakeKind,
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MistakeKind {
    /// `<name>` with a name other than `arg`.
    Unknown,
    /// `{name}` (or an unclosed `{name`), the syntax of most other routers.
    Brace,
    /// A segment starting `:name`, other routers' syntax.
    Colon,
    /// A `<` with no `>` before the end of its segment.
    Unclosed,
}

impl Mistake {
    fn into_error(self, segment: &str, suggestion: String) -> PatternErrorKind {
        let found = segment[self.start..self.end].to_owned();
        match self.kind {
            MistakeKind::Unknown => PatternErrorKind::UnknownPlaceholder { found, suggestion },
            MistakeKind::Brace => PatternErrorKind::BracePlaceholder { found, suggestion },
            MistakeKind::Colon => PatternErrorKind::ColonPlaceholder { found, suggestion },
            MistakeKind::Unclosed => PatternErrorKind::UnclosedPlaceholder { found, suggestion },
        }
    }
}

/// The first placeholder mistake in `segment` (text between two `/`) at or after byte `from`.
///
/// `<` and `{` always open a placeholder: a pattern is matched against the decoded path, and
/// text such as `{id}` or `<id` left literal would register fine yet never match what its
/// author meant. A `:` only counts at the start of a segment and before a name (`/v1:batch`
/// and `/:8080` stay literal).
fn next_mistake(segment: &str, from: usize) -> Option<Mistake> {
    if from == 0
        && let Some(name) = segment.strip_prefix(':')
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
    {
        let end = 1 + name.find(|c: char| !is_name_char(c)).unwrap_or(name.len());
        return Some(Mistake {
            kind: MistakeKind::Colon,
            start: 0,
            end,
        });
    }
    let mut at = from;
    while let Some(offset) = segment[at..].find(['<', '{']) {
        let start = at + offset;
        let brace = segment[start..].starts_with('{');
        let (close, unclosed) = if brace {
            ('}', MistakeKind::Brace)
        } else {
            ('>', MistakeKind::Unclosed)
        };
        let Some(length) = segment[start..].find(close) else {
            return Some(Mistake {
                kind: unclosed,
                start,
                end: segment.len(),
            });
        };
        let end = start + length + 1;
        if brace {
            return Some(Mistake {
                kind: MistakeKind::Brace,
                start,
                end,
            });
        }
        if &segment[start..end] != PLACEHOLDER {
            return Some(Mistake {
                kind: MistakeKind::Unknown,
                start,
                end,
            });
        }
        at = end;
    }
    None
}

/// The first placeholder mistake in `pattern`, as the error to report.
fn first_mistake(pattern: &str) -> Option<PatternErrorKind> {
    pattern.split('/').find_map(|segment| {
        next_mistake(segment, 0).map(|mistake| mistake.into_error(segment, suggest(pattern)))
    })
}

/// `pattern` with every placeholder mistake replaced by `<arg>`, for the error message.
fn suggest(pattern: &str) -> String {
    let mut fixed = String::with_capacity(pattern.len());
    for (index, segment) in pattern.split('/').enumerate() {
        if index > 0 {
            fixed.push('/');
        }
        let mut copied = 0;
        while let Some(mistake) = next_mistake(segment, copied) {
            fixed.push_str(&segment[copied..mistake.start]);
            fixed.push_str(PLACEHOLDER);
            copied = mistake.end;
        }
        fixed.push_str(&segment[copied..]);
    }
    fixed
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_placeholders() {
        let table: &[(&str, &[&str])] = &[
            ("/", &["/"]),
            ("/user/", &["/user/"]),
            ("/user/<arg>/detail", &["/user/", "/detail"]),
            ("/user/<arg>/detail/", &["/user/", "/detail/"]),
            ("/<arg><arg>", &["/", "", ""]),
            ("/img/faces/<arg>-image.jpg", &["/img/faces/", "-image.jpg"]),
            // A lone `>` or `}` opens nothing; `:` counts only before a name at a segment start.
            ("/a>b/c}", &["/a>b/c}"]),
            ("/v1:batch/:8080/:", &["/v1:batch/:8080/:"]),
        ];
        for (pattern, literals) in table {
            let parsed = Pattern::parse(pattern).unwrap();
            assert_eq!(parsed.literals, *literals, "pattern {pattern}");
            assert_eq!(parsed.placeholders(), literals.len() - 1);
        }
    }

    #[test]
    fn rejects_bad_patterns() {
        type Make = fn(String, String) -> PatternErrorKind;
        let unknown: Make =
            |found, suggestion| PatternErrorKind::UnknownPlaceholder { found, suggestion };
        let brace: Make =
            |found, suggestion| PatternErrorKind::BracePlaceholder { found, suggestion };
        let colon: Make =
            |found, suggestion| PatternErrorKind::ColonPlaceholder { found, suggestion };
        let unclosed: Make =
            |found, suggestion| PatternErrorKind::UnclosedPlaceholder { found, suggestion };
        assert_eq!(Pattern::parse(""), Err(PatternErrorKind::Empty));
        assert_eq!(
            Pattern::parse("user/<arg>"),
            Err(PatternErrorKind::NoLeadingSlash)
        );
        // Pattern, the error's constructor, what it found, and the suggested pattern: the
        // first mistake is reported, and the suggestion fixes every one.
        let table: &[(&str, Make, &str, &str)] = &[
            ("/user/<id>", unknown, "<id>", "/user/<arg>"),
            ("/a<b>c", unknown, "<b>", "/a<arg>c"),
            ("/x<a-b>", unknown, "<a-b>", "/x<arg>"),
            ("/x/<>", unknown, "<>", "/x/<arg>"),
            ("/items/{id}", brace, "{id}", "/items/<arg>"),
            ("/items/{id}/tags", brace, "{id}", "/items/<arg>/tags"),
            ("/f/{id}.json", brace, "{id}", "/f/<arg>.json"),
            ("/items/{id", brace, "{id", "/items/<arg>"),
            ("/{*rest}", brace, "{*rest}", "/<arg>"),
            ("/<arg>-{v}", brace, "{v}", "/<arg>-<arg>"),
            ("/items/:id", colon, ":id", "/items/<arg>"),
            ("/:id.json", colon, ":id", "/<arg>.json"),
            ("/:_a1/x", colon, ":_a1", "/<arg>/x"),
            ("/items/<arg", unclosed, "<arg", "/items/<arg>"),
            ("/a<b/c", unclosed, "<b", "/a<arg>/c"),
            ("/x/<", unclosed, "<", "/x/<arg>"),
            (
                "/u/:user/{post}/<id>/<arg",
                colon,
                ":user",
                "/u/<arg>/<arg>/<arg>/<arg>",
            ),
            (
                "/u/<arg>/{a}{b}<c>",
                brace,
                "{a}",
                "/u/<arg>/<arg><arg><arg>",
            ),
        ];
        for (pattern, make, found, suggestion) in table {
            let expected = make((*found).to_owned(), (*suggestion).to_owned());
            assert_eq!(
                Pattern::parse(pattern),
                Err(expected),
                "pattern {pattern:?}"
            );
        }
    }

    #[test]
    fn builds_anchored_regexes() {
        let table: &[(&str, &[&str], &str, &str)] = &[
            ("/", &[], r"^/$", "^$"),
            (
                "/user/",
                &[r"[+-]?\d+"],
                r"^/user/(?P<a0>[+-]?\d+)$",
                r"^(?P<a0>[+-]?\d+)$",
            ),
            (
                "/q/<arg>/log/",
                &["A", "B"],
                r"^/q/(?P<a0>A)/log/(?P<a1>B)$",
                r"^(?P<a0>A)/log/(?P<a1>B)$",
            ),
            (
                "/v1.0/<arg>.x",
                &["A"],
                r"^/v1\.0/(?P<a0>A)\.x$",
                r"^(?P<a0>A)\.x$",
            ),
        ];
        for (pattern, captures, full, suffix) in table {
            let parsed = Pattern::parse(pattern).unwrap();
            assert_eq!(parsed.full_regex(captures), *full, "pattern {pattern}");
            assert_eq!(parsed.suffix_regex(captures), *suffix, "pattern {pattern}");
        }
    }
}
