//! Qt's method set: [`Method`] and the bit set [`Methods`].

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// A request method, with Qt's `QHttpServerRequest::Method` values.
///
/// Methods outside Qt's set (including lowercase spellings) are `Unknown`;
/// the exact method is still available from [`Request::http_method`](crate::Request::http_method).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Method {
    /// Any method not listed below.
    Unknown = 0x0000,
    /// `GET`.
    Get = 0x0001,
    /// `PUT`.
    Put = 0x0002,
    /// `DELETE`.
    Delete = 0x0004,
    /// `POST`.
    Post = 0x0008,
    /// `HEAD`.
    Head = 0x0010,
    /// `OPTIONS`.
    Options = 0x0020,
    /// `PATCH`.
    Patch = 0x0040,
    /// `CONNECT`.
    Connect = 0x0080,
    /// `TRACE`.
    Trace = 0x0100,
}

impl Method {
    /// Every known method, in flag order.
    pub const ALL_KNOWN: [Method; 9] = [
        Method::Get,
        Method::Put,
        Method::Delete,
        Method::Post,
        Method::Head,
        Method::Options,
        Method::Patch,
        Method::Connect,
        Method::Trace,
    ];

    /// Map an `http::Method` (case-sensitive, as Qt does).
    pub fn from_http(method: &http::Method) -> Method {
        match *method {
            http::Method::GET => Method::Get,
            http::Method::PUT => Method::Put,
            http::Method::DELETE => Method::Delete,
            http::Method::POST => Method::Post,
            http::Method::HEAD => Method::Head,
            http::Method::OPTIONS => Method::Options,
            http::Method::PATCH => Method::Patch,
            http::Method::CONNECT => Method::Connect,
            http::Method::TRACE => Method::Trace,
            _ => Method::Unknown,
        }
    }

    /// The method's name on the wire (`"UNKNOWN"` for [`Method::Unknown`]).
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Unknown => "UNKNOWN",
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Post => "POST",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Patch => "PATCH",
            Method::Connect => "CONNECT",
            Method::Trace => "TRACE",
        }
    }

    /// The flag value (Qt's numeric value).
    pub const fn bits(self) -> u16 {
        self as u16
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of methods (Qt's `QHttpServerRequest::Methods`).
///
/// ```
/// use postern_core::{Method, Methods};
///
/// let set = Method::Get | Method::Post;
/// assert!(set.contains(Method::Post));
/// assert!(!set.contains(Method::Put));
/// assert!(Methods::ANY_KNOWN.contains(Method::Trace));
/// assert!(!Methods::ANY_KNOWN.contains(Method::Unknown));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Methods(u16);

impl Methods {
    /// No method.
    pub const EMPTY: Methods = Methods(0);
    /// Every known method (Qt's `AnyKnown`, `0x01FF`).
    pub const ANY_KNOWN: Methods = Methods(0x01FF);

    /// A set from Qt's flag bits; bits outside `ANY_KNOWN` are dropped.
    pub const fn from_bits(bits: u16) -> Methods {
        Methods(bits & 0x01FF)
    }

    /// The flag bits.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether `method` is in the set (never true for [`Method::Unknown`]).
    pub const fn contains(self, method: Method) -> bool {
        self.0 & method.bits() != 0
    }

    /// Whether the set holds no method.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The methods in the set, in flag order.
    pub fn iter(self) -> impl Iterator<Item = Method> {
        Method::ALL_KNOWN
            .into_iter()
            .filter(move |m| self.contains(*m))
    }
}

impl fmt::Debug for Methods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl From<Method> for Methods {
    fn from(method: Method) -> Methods {
        Methods(method.bits())
    }
}

impl BitOr for Method {
    type Output = Methods;
    fn bitor(self, rhs: Method) -> Methods {
        Methods(self.bits() | rhs.bits())
    }
}

impl BitOr<Method> for Methods {
    type Output = Methods;
    fn bitor(self, rhs: Method) -> Methods {
        Methods(self.0 | rhs.bits())
    }
}

impl BitOr for Methods {
    type Output = Methods;
    fn bitor(self, rhs: Methods) -> Methods {
        Methods(self.0 | rhs.0)
    }
}

impl BitOrAssign<Method> for Methods {
    fn bitor_assign(&mut self, rhs: Method) {
        self.0 |= rhs.bits();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_http_methods_case_sensitively() {
        let cases = [
            ("GET", Method::Get),
            ("PUT", Method::Put),
            ("DELETE", Method::Delete),
            ("POST", Method::Post),
            ("HEAD", Method::Head),
            ("OPTIONS", Method::Options),
            ("PATCH", Method::Patch),
            ("CONNECT", Method::Connect),
            ("TRACE", Method::Trace),
            ("get", Method::Unknown),
            ("PROPFIND", Method::Unknown),
        ];
        for (text, expected) in cases {
            let m = http::Method::from_bytes(text.as_bytes()).unwrap();
            assert_eq!(Method::from_http(&m), expected, "{text}");
        }
    }

    #[test]
    fn qt_flag_values() {
        assert_eq!(Methods::ANY_KNOWN.bits(), 0x01FF);
        assert_eq!(Method::Trace.bits(), 0x100);
        assert_eq!(Methods::ANY_KNOWN.iter().count(), 9);
        assert!((Method::Get | Method::Head).contains(Method::Head));
        assert!(Methods::EMPTY.is_empty());
    }
}
