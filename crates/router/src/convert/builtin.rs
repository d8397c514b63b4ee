//! [`FromCapture`] for the standard types, and Qt's default regexes.

use super::FromCapture;
use bytes::Bytes;

/// Qt's regex for signed integers (`int`, `long`, `long long`, `short`): `[+-]?\d+`.
pub const SIGNED_REGEX: &str = r"[+-]?\d+";
/// Qt's regex for unsigned integers: `[+]?\d+`.
pub const UNSIGNED_REGEX: &str = r"[+]?\d+";
/// Qt's regex for `float` and `double`.
pub const FLOAT_REGEX: &str = r"[+-]?(?:[0-9]+(?:[.][0-9]*)?|[.][0-9]+)";
/// Qt's regex for `QString` and `QByteArray`: one non-empty path segment, `[^/]+`.
pub const SEGMENT_REGEX: &str = "[^/]+";
/// Qt's regex for `QUrl`: anything, `.*`.
pub const ANY_REGEX: &str = ".*";
/// Postern's regex for `bool` (Qt has no `bool` converter): `true|false|1|0`.
pub const BOOL_REGEX: &str = "true|false|1|0";

macro_rules! parse_impls {
    ($($ty:ty),* $(,)?) => {$(
        impl FromCapture for $ty {
            fn from_capture(capture: &str) -> Option<Self> {
                capture.parse().ok()
            }
        }
    )*};
}

parse_impls!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64
);

impl FromCapture for bool {
    fn from_capture(capture: &str) -> Option<Self> {
        match capture {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        }
    }
}

impl FromCapture for String {
    fn from_capture(capture: &str) -> Option<Self> {
        Some(capture.to_owned())
    }
}

/// The UTF-8 bytes of the decoded capture (Qt's `QByteArray` argument).
impl FromCapture for Bytes {
    fn from_capture(capture: &str) -> Option<Self> {
        Some(Bytes::copy_from_slice(capture.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_fail_on_overflow_instead_of_zero() {
        assert_eq!(i32::from_capture("+7"), Some(7));
        assert_eq!(i32::from_capture("-7"), Some(-7));
        assert_eq!(u32::from_capture("+7"), Some(7));
        assert_eq!(u8::from_capture("256"), None);
        assert_eq!(i64::from_capture("99999999999999999999"), None);
        assert_eq!(u32::from_capture("-1"), None);
    }

    #[test]
    fn floats_accept_qt_forms() {
        assert_eq!(f64::from_capture("5."), Some(5.0));
        assert_eq!(f64::from_capture(".5"), Some(0.5));
        assert_eq!(f32::from_capture("+1.25"), Some(1.25));
    }

    #[test]
    fn bools_and_text() {
        assert_eq!(bool::from_capture("1"), Some(true));
        assert_eq!(bool::from_capture("false"), Some(false));
        assert_eq!(bool::from_capture("yes"), None);
        assert_eq!(String::from_capture("a b"), Some("a b".to_owned()));
        assert_eq!(Bytes::from_capture("é"), Some(Bytes::from("é")));
    }
}
