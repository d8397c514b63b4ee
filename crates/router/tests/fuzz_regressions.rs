//! What the `route_patterns` fuzz target (fuzz/) found, as tests.

use bytes::Bytes;
use postern_core::Request;
use postern_router::{FromCapture, HttpServer};
use regex_lite::Regex;

/// An argument type for a converter regex of the test's choosing.
#[derive(Debug)]
struct Word;

impl FromCapture for Word {
    fn from_capture(_: &str) -> Option<Self> {
        Some(Word)
    }
}

fn get(path: &str) -> Request {
    Request::from_http(http::Request::get(path).body(Bytes::new()).unwrap())
}

/// A rule matches a path exactly when its published `path_regex()` ("the anchored regex
/// the whole decoded path must match") does, as Qt matches its `pathRegexp`.
///
/// Found by the fuzz oracle: both matchers of a rule ran on the path *after* the rule's
/// literal prefix, so an assertion at the start of a converter regex saw the prefix's end
/// as the start of the text (`^xx` after `/a` matched `/axx`, `\Bxx` did not). A rule
/// whose converter regex asserts such context now matches its whole-path regex on the
/// whole path.
#[test]
fn converter_assertions_see_the_whole_path() {
    let cases = [
        // (converter regex, pattern, path): path_regex says no match; the router matched.
        ("^xx", "/a<arg>", "/axx"),     // FastMatcher tail
        ("^xx", "/a<arg>/b", "/axx/b"), // the rule's regex
        (r"\bxx", "/a<arg>", "/axx"),
        // path_regex says match; the router did not.
        (r"\Bxx", "/a<arg>", "/axx"),
    ];
    for (converter, pattern, path) in cases {
        let mut server = HttpServer::new();
        server.converters_mut().add::<Word>(converter).unwrap();
        server.route(pattern, |_: Word| "ok").unwrap();
        let rule = &server.router().rules()[0];
        let whole = Regex::new(rule.path_regex()).unwrap().is_match(path);
        let found = server.router().find(&get(path)).is_some();
        assert_eq!(
            found,
            whole,
            "converter {converter:?}, pattern {pattern:?}, path {path:?}: the router says {found}, {:?} says {whole}",
            rule.path_regex()
        );
    }
}
