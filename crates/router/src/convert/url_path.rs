//! [`UrlPath`], the full-capture argument type (Qt's `QUrl` argument).

use super::FromCapture;
use std::fmt;

/// The rest of the path as one relative URL: Qt's `QUrl` path argument, regex `.*`.
///
/// Unlike `String` (one segment, `[^/]+`) it spans slashes, so `/assets/<arg>` with a
/// `UrlPath` argument captures `css/site.css` from `/assets/css/site.css`. The text is the
/// percent-decoded path; [`path`](Self::path) drops anything from a decoded `?` or `#` on, as
/// `QUrl::path()` does.
///
/// It is **not** sanitised: `..` segments pass through. Check it before touching the file
/// system (see [`segments`](Self::segments), and the `simple` example).
///
/// ```
/// use postern_router::{FromCapture, UrlPath};
///
/// let url = UrlPath::from_capture("img/logo.png").unwrap();
/// assert_eq!(url.path(), "img/logo.png");
/// assert_eq!(url.segments().collect::<Vec<_>>(), ["img", "logo.png"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct UrlPath(String);

impl UrlPath {
    /// The whole capture.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path part: the capture up to a `?` or `#`, if one was percent-encoded in the request.
    pub fn path(&self) -> &str {
        match self.0.find(['?', '#']) {
            Some(end) => &self.0[..end],
            None => &self.0,
        }
    }

    /// The non-empty `/`-separated segments of [`path`](Self::path).
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.path().split('/').filter(|segment| !segment.is_empty())
    }

    /// The capture as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl FromCapture for UrlPath {
    fn from_capture(capture: &str) -> Option<Self> {
        Some(Self(capture.to_owned()))
    }
}

impl AsRef<str> for UrlPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UrlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_stops_at_query_or_fragment() {
        assert_eq!(UrlPath("api/v0/cmds?val=1".into()).path(), "api/v0/cmds");
        assert_eq!(UrlPath("a#b".into()).path(), "a");
        assert_eq!(UrlPath("".into()).segments().count(), 0);
        assert_eq!(
            UrlPath("/a//b/".into()).segments().collect::<Vec<_>>(),
            ["a", "b"]
        );
    }
}
