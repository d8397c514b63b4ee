//! A regex-free matcher for rules whose arguments all use default converter regexes.
//!
//! Most rules look like `/user/<arg>/detail` with integer or string arguments. When every
//! argument's regex is one of the defaults and each capture is followed by a literal that the
//! capture cannot contain (or by the end), the regex has exactly one way to match: the
//! longest run of the capture's class. This module scans for that directly, giving the same
//! answer as the regex (see the equivalence test) at a fraction of the cost.
//!
//! A user converter's regex is also allowed as the **last** capture, with nothing after it
//! (Qt appends surplus arguments at the end, so `/api/tags/` with `|id: u64, tag: Slug|` is
//! common): the pieces before it fix where it starts, so it takes the rest of the path, and a
//! search for `(?:regex)$` from there, with the path as context, decides it. That search needs
//! no capture groups, so it allocates nothing (`Regex::captures` allocates its groups each
//! call). Anything else, including user converters elsewhere, keeps using the rule's regex.

use crate::convert::{
    ANY_REGEX, BOOL_REGEX, FLOAT_REGEX, SEGMENT_REGEX, SIGNED_REGEX, UNSIGNED_REGEX,
};
use crate::inline::Captures;
use regex_lite::Regex;

/// The grammar of one default converter regex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// `[+-]?\d+`
    Signed,
    /// `[+]?\d+`
    Unsigned,
    /// `[+-]?(?:[0-9]+(?:[.][0-9]*)?|[.][0-9]+)`
    Float,
    /// `true|false|1|0`
    Bool,
    /// `[^/]+`
    Segment,
    /// `.*`
    Any,
}

impl Class {
    fn of(regex: &str) -> Option<Self> {
        Some(match regex {
            SIGNED_REGEX => Self::Signed,
            UNSIGNED_REGEX => Self::Unsigned,
            FLOAT_REGEX => Self::Float,
            BOOL_REGEX => Self::Bool,
            SEGMENT_REGEX => Self::Segment,
            ANY_REGEX => Self::Any,
            _ => return None,
        })
    }

    /// Whether a literal starting with `byte` can follow this capture without ambiguity.
    fn can_precede(self, byte: u8) -> bool {
        match self {
            Self::Signed | Self::Unsigned => !byte.is_ascii_digit(),
            Self::Float => !byte.is_ascii_digit() && byte != b'.',
            // `true|false|1|0`: no alternative is a prefix of another.
            Self::Bool => true,
            Self::Segment => byte == b'/',
            // Only as the last capture (checked by the caller).
            Self::Any => true,
        }
    }

    /// The length of the longest prefix of `text` this class matches, if any.
    fn scan(self, text: &str) -> Option<usize> {
        let bytes = text.as_bytes();
        let digits = |from: usize| {
            bytes[from.min(bytes.len())..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let signed = |signs: &[u8]| {
            let sign = usize::from(bytes.first().is_some_and(|b| signs.contains(b)));
            let count = digits(sign);
            (count > 0).then_some(sign + count)
        };
        match self {
            Self::Signed => signed(b"+-"),
            Self::Unsigned => signed(b"+"),
            Self::Float => {
                let sign = usize::from(bytes.first().is_some_and(|b| *b == b'+' || *b == b'-'));
                let whole = digits(sign);
                let after = sign + whole;
                let dot = bytes.get(after) == Some(&b'.');
                let fraction = if dot { digits(after + 1) } else { 0 };
                match (whole > 0, dot) {
                    (true, true) => Some(after + 1 + fraction),
                    (true, false) => Some(after),
                    (false, true) if fraction > 0 => Some(after + 1 + fraction),
                    _ => None,
                }
            }
            Self::Bool => ["true", "false", "1", "0"]
                .iter()
                .find(|word| text.starts_with(*word))
                .map(|word| word.len()),
            Self::Segment => {
                let count = text.find('/').unwrap_or(text.len());
                (count > 0).then_some(count)
            }
            Self::Any => Some(text.find('\n').unwrap_or(text.len())),
        }
    }
}

#[derive(Debug, Clone)]
enum Piece {
    Capture(Class),
    Literal(Box<str>),
    /// A last capture with a user regex: `(?:regex)$`, searched for where it must start.
    Tail(Regex),
}

/// Matches the part of a path after a rule's literal prefix.
#[derive(Debug, Clone)]
pub(crate) struct FastMatcher {
    pieces: Vec<Piece>,
}

impl FastMatcher {
    /// A matcher for captures with these regexes, separated by `literals` (the pattern's
    /// literal pieces after the prefix), or `None` when only the regex gives the right answer.
    pub(crate) fn new(captures: &[&str], literals: &[String]) -> Option<Self> {
        Self::build(captures, literals, None)
    }

    /// As [`new`](Self::new), for captures whose **last** regex is not a default one and has
    /// no literal after it: that capture is the rest of the path once the others matched.
    /// The caller has compiled the rule's whole regex already, so its errors stay the same.
    pub(crate) fn with_tail(captures: &[&str], literals: &[String]) -> Option<Self> {
        let (last, head) = captures.split_last()?;
        let followed = literals.get(head.len()).is_some_and(|l| !l.is_empty());
        if Class::of(last).is_some() || followed {
            return None;
        }
        // The group keeps the regex's own flags and alternatives inside, as the rule's named
        // group does; the converter registry refuses a regex that would not compile alone.
        let tail = Regex::new(&format!("(?:{last})$")).ok()?;
        Self::build(head, literals, Some(tail))
    }

    fn build(captures: &[&str], literals: &[String], tail: Option<Regex>) -> Option<Self> {
        let mut pieces = Vec::with_capacity(captures.len() * 2 + 1);
        for (index, regex) in captures.iter().enumerate() {
            pieces.push(Piece::Capture(Class::of(regex)?));
            if let Some(literal) = literals.get(index).filter(|l| !l.is_empty()) {
                pieces.push(Piece::Literal(literal.as_str().into()));
            }
        }
        pieces.extend(tail.map(Piece::Tail));
        for (index, piece) in pieces.iter().enumerate() {
            let Piece::Capture(class) = piece else {
                continue;
            };
            match pieces.get(index + 1) {
                None => {}
                // Two captures in a row: where one ends is a search.
                Some(Piece::Capture(_) | Piece::Tail(_)) => return None,
                Some(Piece::Literal(literal)) => {
                    let first = literal.as_bytes()[0];
                    let last = index + 2 == pieces.len();
                    if !class.can_precede(first) || (*class == Class::Any && !last) {
                        return None;
                    }
                }
            }
        }
        Some(Self { pieces })
    }

    /// Whether `whole` matches whole; the captures are appended to `captures`.
    pub(crate) fn matches<'t>(&self, whole: &'t str, captures: &mut Captures<'t>) -> bool {
        let mut text = whole;
        let mut pieces = self.pieces.iter().peekable();
        while let Some(piece) = pieces.next() {
            match piece {
                Piece::Tail(regex) => {
                    // The rule's regex matches iff its last group can span exactly the rest.
                    // The earliest match from `start` starts at `start` iff one does there,
                    // and `$` ends it at the end; searching `whole` from `start` gives `^`,
                    // `\b` and the like the context the rule's regex gives them.
                    let start = whole.len() - text.len();
                    let spans = regex
                        .find_at(whole, start)
                        .is_some_and(|found| found.start() == start && found.end() == whole.len());
                    if spans {
                        captures.push(text);
                    }
                    return spans;
                }
                Piece::Literal(literal) => match text.strip_prefix(&**literal) {
                    Some(rest) => text = rest,
                    None => return false,
                },
                Piece::Capture(Class::Any) => {
                    // Last capture: it takes everything before the final literal, if any.
                    let tail = match pieces.next() {
                        Some(Piece::Literal(literal)) => &**literal,
                        _ => "",
                    };
                    let Some(captured) = text.strip_suffix(tail) else {
                        return false;
                    };
                    if captured.contains('\n') {
                        return false;
                    }
                    captures.push(captured);
                    return true;
                }
                Piece::Capture(class) => {
                    let Some(length) = class.scan(text) else {
                        return false;
                    };
                    captures.push(&text[..length]);
                    text = &text[length..];
                }
            }
        }
        text.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::{Pattern, group_name};

    /// The fast matcher must agree with the regex on every path, or refuse the pattern.
    #[test]
    fn agrees_with_the_regex() {
        let cases: &[(&str, &[&str])] = &[
            ("/page/", &[SIGNED_REGEX]),
            ("/page/<arg>/detail", &[UNSIGNED_REGEX]),
            ("/q/<arg>/log/", &[SIGNED_REGEX, FLOAT_REGEX]),
            ("/u/<arg>/", &[SEGMENT_REGEX, SEGMENT_REGEX]),
            ("/img/<arg>-image.jpg", &[SIGNED_REGEX]),
            ("/v", &[FLOAT_REGEX]),
            ("/v<arg>x", &[FLOAT_REGEX]),
            ("/f/<arg>", &[ANY_REGEX]),
            ("/f/<arg>.txt", &[ANY_REGEX]),
            ("/b/<arg>/x", &[BOOL_REGEX]),
            ("/b/", &[BOOL_REGEX]),
            ("/n/<arg>.<arg>", &[UNSIGNED_REGEX, UNSIGNED_REGEX]),
            ("/s/<arg>-<arg>", &[SIGNED_REGEX, SIGNED_REGEX]),
        ];
        let paths = [
            "",
            "1",
            "+1",
            "-1",
            "1.",
            ".5",
            "5.5",
            "-",
            "+",
            "12/",
            "12/detail",
            "12/detail/",
            "-12/detail",
            "+12/detail",
            "1/log/2.5",
            "1/log/.",
            "1/log/",
            "a/b",
            "a/b/",
            "a/",
            "/b",
            "7-image.jpg",
            "-7-image.jpg",
            "x-image.jpg",
            "7-image.jpgx",
            "5.x",
            "5x",
            ".x",
            "1.2.3",
            "a.txt",
            "a/b.txt",
            ".txt",
            "a\nb",
            "a\n.txt",
            "true/x",
            "false",
            "1/x",
            "10/x",
            "true",
            "tru",
            "3.4",
            "3.",
            "1-2",
            "-1--2",
            "1-+2",
            "é",
            "é/x",
        ];
        for (pattern, captures) in cases {
            assert_agrees(pattern, captures, FastMatcher::new, &paths);
        }
    }

    /// Builds `pattern`'s matcher with `build` (which must accept it) and checks it against
    /// the rule's regex on every path.
    fn assert_agrees(
        pattern: &str,
        captures: &[&str],
        build: fn(&[&str], &[String]) -> Option<FastMatcher>,
        paths: &[&str],
    ) {
        let parsed = Pattern::parse(pattern).unwrap();
        let regex = regex_lite::Regex::new(&parsed.suffix_regex(captures)).unwrap();
        let fast = build(captures, parsed.literals_after_prefix())
            .unwrap_or_else(|| panic!("{pattern} {captures:?} has a fast matcher"));
        for path in paths {
            let expected = regex.captures(path).map(|found| {
                (0..captures.len())
                    .map(|i| found.name(&group_name(i)).map_or("", |m| m.as_str()))
                    .collect::<Vec<_>>()
            });
            let mut got = Captures::new();
            let got = fast.matches(path, &mut got).then(|| got.to_vec());
            assert_eq!(
                got, expected,
                "pattern {pattern} {captures:?} path {path:?}"
            );
        }
    }

    /// A user regex as the last capture: the tail search must agree with the rule's regex,
    /// anchors, word boundaries, flags, empty matches and alternatives included.
    #[test]
    fn tail_agrees_with_the_regex() {
        let cases: &[(&str, &[&str])] = &[
            ("/t/<arg>/tags/", &[UNSIGNED_REGEX, "[a-z]+"]),
            ("/t/", &["[a-z]+"]),
            ("/t/", &["^[a-z]+"]),
            ("/t/", &["[a-z]+$"]),
            ("/t/<arg>/", &[SIGNED_REGEX, "^x"]),
            ("/t/<arg>/", &[SIGNED_REGEX, r"\bx\b"]),
            ("/t/<arg>x", &[SIGNED_REGEX, r"\Bb"]),
            ("/t/<arg>/", &[SIGNED_REGEX, "(?m)x$"]),
            ("/t/<arg>/", &[SIGNED_REGEX, "(?m)^x"]),
            ("/t/<arg>/", &[SIGNED_REGEX, "(?s).+"]),
            ("/t/<arg>-", &[SIGNED_REGEX, "[a-z]*"]),
            ("/t/<arg>/", &[SEGMENT_REGEX, "a|ab"]),
            ("/t/<arg>/", &[SEGMENT_REGEX, "(a)(b)?"]),
            ("/t/<arg>/x", &[FLOAT_REGEX, "[a-z]+"]),
            (
                "/t/<arg>/<arg>/",
                &[BOOL_REGEX, SIGNED_REGEX, "(?i)[a-z]{2,3}"],
            ),
            ("/t/<arg>/", &[ANY_REGEX, "[a-z]+"]),
        ];
        let paths = [
            "",
            "x",
            "abc",
            "ABC",
            "a\nb",
            "12/abc",
            "12/tags/blue",
            "+12/tags/blue",
            "-12/tags/blue",
            "12/tags/",
            "12/tags/Blue",
            "12/tags/blue\n",
            "12/tags/blue/",
            "12/x",
            "12/xb",
            "12/x\n",
            "12/\nx",
            "12/\n",
            "12x",
            "12xb",
            "12xab",
            "12-",
            "12-abc",
            "12-AB",
            "a/a",
            "a/ab",
            "a/abb",
            "a/b",
            "1.5/xabc",
            ".5/x",
            "5./xy",
            "true/12/ab",
            "1/-3/ABC",
            "0/1/abcd",
            "x/12/ab",
            "é/abc",
            "12/é",
        ];
        let refused = [("/t/<arg>/", &[ANY_REGEX, "[a-z]+"][..])];
        for (pattern, captures) in cases {
            if refused.contains(&(pattern, captures)) {
                continue;
            }
            assert_agrees(pattern, captures, FastMatcher::with_tail, &paths);
        }
    }

    #[test]
    fn refuses_ambiguous_shapes() {
        let literals = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let refused: &[(&[&str], Vec<String>)] = &[
            (&[SEGMENT_REGEX], literals(&["-x"])),
            (&[FLOAT_REGEX], literals(&[".json"])),
            (&[SIGNED_REGEX], literals(&["1"])),
            (&[SIGNED_REGEX, SIGNED_REGEX], literals(&[""])),
            (&[ANY_REGEX, SIGNED_REGEX], literals(&["/"])),
            (&["[a-z]+"], literals(&[])),
        ];
        for (captures, literals) in refused {
            assert!(
                FastMatcher::new(captures, literals).is_none(),
                "{captures:?} {literals:?}"
            );
        }
        let refused_tails: &[(&[&str], Vec<String>)] = &[
            // Only default regexes: `new`'s case.
            (&[SIGNED_REGEX], literals(&[])),
            // A literal after the user regex: where it ends is a search.
            (&[SIGNED_REGEX, "[a-z]+"], literals(&["/", ".json"])),
            (&["[a-z]+"], literals(&["x"])),
            // A user regex before the last capture.
            (&["[a-z]+", "[0-9]+"], literals(&["/"])),
            // Two captures in a row.
            (&[SIGNED_REGEX, "[a-z]+"], literals(&[""])),
            // `.*` before the tail.
            (&[ANY_REGEX, "[a-z]+"], literals(&["/"])),
            // An ambiguous layout before the tail.
            (
                &[SEGMENT_REGEX, SEGMENT_REGEX, "[a-z]+"],
                literals(&["-", "/"]),
            ),
            (&[], literals(&[])),
        ];
        for (captures, literals) in refused_tails {
            assert!(
                FastMatcher::with_tail(captures, literals).is_none(),
                "{captures:?} {literals:?}"
            );
        }
    }
}
