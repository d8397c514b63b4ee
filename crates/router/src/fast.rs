//! A regex-free matcher for rules whose arguments all use default converter regexes.
//!
//! Most rules look like `/user/<arg>/detail` with integer or string arguments. When every
//! argument's regex is one of the defaults and each capture is followed by a literal that the
//! capture cannot contain (or by the end), the regex has exactly one way to match: the
//! longest run of the capture's class. This module scans for that directly, giving the same
//! answer as the regex (see the equivalence test) at a fraction of the cost. Anything else,
//! including replaced or user converters, keeps using the regex.

use crate::convert::{
    ANY_REGEX, BOOL_REGEX, FLOAT_REGEX, SEGMENT_REGEX, SIGNED_REGEX, UNSIGNED_REGEX,
};

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
        let mut pieces = Vec::with_capacity(captures.len() * 2);
        for (index, regex) in captures.iter().enumerate() {
            pieces.push(Piece::Capture(Class::of(regex)?));
            if let Some(literal) = literals.get(index).filter(|l| !l.is_empty()) {
                pieces.push(Piece::Literal(literal.as_str().into()));
            }
        }
        for (index, piece) in pieces.iter().enumerate() {
            let Piece::Capture(class) = piece else {
                continue;
            };
            match pieces.get(index + 1) {
                None => {}
                // Two captures in a row: where one ends is a search.
                Some(Piece::Capture(_)) => return None,
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

    /// Whether `text` matches whole; the captures are appended to `captures`.
    pub(crate) fn matches<'t>(&self, mut text: &'t str, captures: &mut Vec<&'t str>) -> bool {
        let mut pieces = self.pieces.iter().peekable();
        while let Some(piece) = pieces.next() {
            match piece {
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
        let mut fast_cases = 0;
        for (pattern, captures) in cases {
            let parsed = Pattern::parse(pattern).unwrap();
            let regex = regex_lite::Regex::new(&parsed.suffix_regex(captures)).unwrap();
            let fast = FastMatcher::new(captures, parsed.literals_after_prefix());
            let Some(fast) = fast else {
                continue;
            };
            fast_cases += 1;
            for path in paths {
                let expected = regex.captures(path).map(|found| {
                    (0..captures.len())
                        .map(|i| found.name(&group_name(i)).map_or("", |m| m.as_str()))
                        .collect::<Vec<_>>()
                });
                let mut got = Vec::new();
                let got = fast.matches(path, &mut got).then_some(got);
                assert_eq!(got, expected, "pattern {pattern} path {path:?}");
            }
        }
        assert_eq!(
            fast_cases,
            cases.len(),
            "every case above has a fast matcher"
        );
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
    }
}
