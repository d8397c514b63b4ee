//! Path patterns: literal text with Qt's `<arg>` placeholders.
//!
//! A pattern is split into literal pieces around its placeholders. The literal text before the
//! first placeholder (the *prefix*) feeds the lookup index; the rest becomes an anchored regex
//! built from the argument types' converter regexes.

use crate::error::PatternErrorKind;

/// The text Qt replaces with a typed capture group.
const PLACEHOLDER: &str = "arg";

/// A parsed path pattern: `literals.len() == placeholders + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    literals: Vec<String>,
}

impl Pattern {
    /// Splits `pattern` at its `<arg>` placeholders.
    pub(crate) fn parse(pattern: &str) -> Result<Self, PatternErrorKind> {
        if pattern.is_empty() {
            return Err(PatternErrorKind::Empty);
        }
        if !pattern.starts_with('/') {
            return Err(PatternErrorKind::NoLeadingSlash);
        }
        let mut literals = Vec::new();
        let mut current = String::new();
        let mut rest = pattern;
        while let Some(open) = rest.find('<') {
            current.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match placeholder_name(after) {
                Some(name) if name == PLACEHOLDER => {
                    literals.push(std::mem::take(&mut current));
                    rest = &after[name.len() + 1..];
                }
                Some(name) => {
                    return Err(PatternErrorKind::UnknownPlaceholder(format!("<{name}>")));
                }
                None => {
                    current.push('<');
                    rest = after;
                }
            }
        }
        current.push_str(rest);
        literals.push(current);
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

/// If `text` (what follows a `<`) starts with `name>` where `name` is a plain identifier,
/// returns `name`.
fn placeholder_name(text: &str) -> Option<&str> {
    let close = text.find('>')?;
    let name = &text[..close];
    let plain = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    plain.then_some(name)
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
            ("/a<b/c", &["/a<b/c"]),
            ("/x<a-b>", &["/x<a-b>"]),
        ];
        for (pattern, literals) in table {
            let parsed = Pattern::parse(pattern).unwrap();
            assert_eq!(parsed.literals, *literals, "pattern {pattern}");
            assert_eq!(parsed.placeholders(), literals.len() - 1);
        }
    }

    #[test]
    fn rejects_bad_patterns() {
        let table = [
            ("", PatternErrorKind::Empty),
            ("user/<arg>", PatternErrorKind::NoLeadingSlash),
            (
                "/user/<id>",
                PatternErrorKind::UnknownPlaceholder("<id>".into()),
            ),
            ("/a<b>c", PatternErrorKind::UnknownPlaceholder("<b>".into())),
        ];
        for (pattern, kind) in table {
            assert_eq!(Pattern::parse(pattern), Err(kind), "pattern {pattern:?}");
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
