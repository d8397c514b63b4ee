//! `route_patterns`: route registration and matching in `postern_router::HttpServer`.
//!
//! Input, one item a line (so seeds and crash files read as text):
//!
//! ```text
//! head-as-get                       HttpServer::set_head_as_get(true)
//! 405                               HttpServer::set_method_not_allowed(true)
//! converter [0-9]{2}                the regex of the input's own argument type
//! route GET|POST u32,str /user/<arg>/
//! route * - /                       `*`: every method; `-`: no path argument
//! GET /user/7/abc                   any other line: a request (method, target)
//! ```
//!
//! Up to 8 routes with 0–2 path arguments among `u8`, `u32`, `i64`, `f64`,
//! `bool`, `str` (`String`), `url` (`UrlPath`) and `custom` (the converter
//! line's type, which refuses captures of odd length), and up to 8 requests;
//! what `http` refuses as a method or target is skipped. For each route that
//! registered, one more request: its pattern with a sample value in each
//! `<arg>`, with the route's first method.
//!
//! Checks:
//! - registering never panics: `Ok`, or a `RouteError` whose message is not
//!   empty; a pattern that does not start with `/` is refused;
//! - a reference matcher (every rule in order, its published `path_regex()`
//!   compiled with `regex-lite`, the captures converted as the handler's types
//!   do) picks the same rule and captures as `Router::find`, so the radix
//!   index and the regex-free fast matchers agree with the regex;
//! - `respond(&server, request)` never panics, and its status is exactly what
//!   the reference predicts: 200 (every handler answers 200), 405 with an
//!   `Allow` header (only when enabled), or 404; a HEAD answer has no body;
//! - a route's own sample path (a value in each `<arg>`; no `%`, `?` or `#`,
//!   and kept as is by `http`) with one of its methods answers 200.
#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use libfuzzer_sys::fuzz_target;
use postern_core::{Method, Methods, Request, respond};
use postern_router::{FromCapture, HttpServer, UrlPath};
use regex_lite::Regex;

/// A path-argument type of the input's choosing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    U8,
    U32,
    I64,
    F64,
    Bool,
    Str,
    Url,
    Custom,
}

/// A type whose converter regex comes from the input; its conversion refuses
/// captures of odd length, so a rule can match its regex and still be skipped.
#[derive(Debug)]
struct Custom;

impl FromCapture for Custom {
    fn from_capture(capture: &str) -> Option<Self> {
        capture.len().is_multiple_of(2).then_some(Custom)
    }
}

impl Arg {
    fn parse(name: &str) -> Option<Arg> {
        Some(match name {
            "u8" => Arg::U8,
            "u32" => Arg::U32,
            "i64" => Arg::I64,
            "f64" => Arg::F64,
            "bool" => Arg::Bool,
            "str" => Arg::Str,
            "url" => Arg::Url,
            "custom" => Arg::Custom,
            _ => return None,
        })
    }

    /// Whether a capture converts, as the handler's argument type decides.
    fn converts(self, capture: &str) -> bool {
        match self {
            Arg::U8 => u8::from_capture(capture).is_some(),
            Arg::U32 => u32::from_capture(capture).is_some(),
            Arg::I64 => i64::from_capture(capture).is_some(),
            Arg::F64 => f64::from_capture(capture).is_some(),
            Arg::Bool => bool::from_capture(capture).is_some(),
            Arg::Str => String::from_capture(capture).is_some(),
            Arg::Url => UrlPath::from_capture(capture).is_some(),
            Arg::Custom => Custom::from_capture(capture).is_some(),
        }
    }

    /// A value the default converter's regex matches and the type converts.
    fn sample(self) -> Option<&'static str> {
        Some(match self {
            Arg::U8 => "7",
            Arg::U32 => "42",
            Arg::I64 => "-3",
            Arg::F64 => "1.5",
            Arg::Bool => "true",
            Arg::Str => "abc",
            Arg::Url => "x/y",
            Arg::Custom => return None,
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Args {
    Zero,
    One(Arg),
    Two(Arg, Arg),
}

impl Args {
    fn list(&self) -> Vec<Arg> {
        match *self {
            Args::Zero => vec![],
            Args::One(a) => vec![a],
            Args::Two(a, b) => vec![a, b],
        }
    }

    /// `-`, or one or two comma-separated type names; `None` for anything else.
    fn parse(text: &str) -> Option<Args> {
        if text == "-" {
            return Some(Args::Zero);
        }
        let mut names = text.split(',').map(Arg::parse);
        let args = match (names.next(), names.next(), names.next()) {
            (Some(a), None, None) => Args::One(a?),
            (Some(a), Some(b), None) => Args::Two(a?, b?),
            _ => return None,
        };
        Some(args)
    }
}

struct Route<'a> {
    pattern: &'a str,
    methods: Methods,
    args: Args,
}

/// `GET|POST`, `*` for every known method; unknown names add nothing (so a
/// set can be empty, which registration must refuse).
fn parse_methods(text: &str) -> Methods {
    if text == "*" {
        return Methods::ANY_KNOWN;
    }
    text.split('|')
        .filter_map(|name| name.parse::<http::Method>().ok())
        .map(|method| Method::from_http(&method))
        .filter(|m| *m != Method::Unknown)
        .fold(Methods::EMPTY, |set, m| set | m)
}

macro_rules! with_type {
    ($arg:expr, $T:ident => $body:expr) => {
        match $arg {
            Arg::U8 => {
                type $T = u8;
                $body
            }
            Arg::U32 => {
                type $T = u32;
                $body
            }
            Arg::I64 => {
                type $T = i64;
                $body
            }
            Arg::F64 => {
                type $T = f64;
                $body
            }
            Arg::Bool => {
                type $T = bool;
                $body
            }
            Arg::Str => {
                type $T = String;
                $body
            }
            Arg::Url => {
                type $T = UrlPath;
                $body
            }
            Arg::Custom => {
                type $T = Custom;
                $body
            }
        }
    };
}

/// Registers `route`, every handler answering 200 with its rule number.
fn register(server: &mut HttpServer, route: &Route<'_>) -> Result<(), postern_router::RouteError> {
    let methods = route.methods;
    let n = server.router().rules().len();
    let p = route.pattern;
    match route.args {
        Args::Zero => server
            .route_with_methods(p, methods, move || format!("rule {n}"))
            .map(drop),
        Args::One(a) => with_type!(a, A => server
            .route_with_methods(p, methods, move |_: A| format!("rule {n}"))
            .map(drop)),
        Args::Two(a, b) => with_type!(a, A => with_type!(b, B => server
            .route_with_methods(p, methods, move |_: A, _: B| format!("rule {n}"))
            .map(drop))),
    }
}

struct Registered {
    methods: Methods,
    args: Vec<Arg>,
    regex: Regex,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut switches = Switches {
        head_as_get: false,
        method_not_allowed: false,
    };
    let mut converter = None;
    let mut routes = Vec::new();
    let mut raw_requests = Vec::new();
    for line in text.lines().take(64) {
        if line == "head-as-get" {
            switches.head_as_get = true;
        } else if line == "405" {
            switches.method_not_allowed = true;
        } else if let Some(regex) = line.strip_prefix("converter ") {
            converter = Some(regex);
        } else if let Some(rest) = line.strip_prefix("route ") {
            let mut parts = rest.splitn(3, ' ');
            let (Some(methods), Some(args), Some(pattern)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let Some(args) = Args::parse(args) else {
                continue;
            };
            if routes.len() < 8 {
                routes.push(Route {
                    pattern,
                    methods: parse_methods(methods),
                    args,
                });
            }
        } else if let Some((method, target)) = line.split_once(' ')
            && raw_requests.len() < 8
        {
            raw_requests.push((method, target));
        }
    }

    let mut server = HttpServer::new()
        .with_head_as_get(switches.head_as_get)
        .with_method_not_allowed(switches.method_not_allowed);
    if let Some(regex) = converter
        && let Err(error) = server.converters_mut().add::<Custom>(regex)
    {
        assert!(!error.to_string().is_empty());
    }

    let mut rules: Vec<Registered> = Vec::new();
    let mut targets: Vec<(Method, String)> = Vec::new();
    for route in &routes {
        match register(&mut server, route) {
            Ok(()) => {
                assert!(
                    route.pattern.starts_with('/'),
                    "{:?} registered without a leading /",
                    route.pattern
                );
                let rule = server.router().rules().last().expect("the rule just added");
                assert_eq!(rule.pattern(), route.pattern);
                let regex = Regex::new(rule.path_regex()).unwrap_or_else(|e| {
                    panic!("path_regex {:?} does not compile: {e}", rule.path_regex())
                });
                let args = route.args.list();
                if let Some(method) = route.methods.iter().next()
                    && let Some(path) = sample_path(route.pattern, &args)
                {
                    targets.push((method, path));
                }
                rules.push(Registered {
                    methods: route.methods,
                    args,
                    regex,
                });
            }
            Err(error) => {
                let text = error.to_string();
                assert!(!text.is_empty());
                if debug() {
                    eprintln!("refused: {text}");
                }
            }
        }
    }
    assert_eq!(server.router().rules().len(), rules.len());

    let mut requests: Vec<(http::Method, Vec<u8>, bool)> = Vec::new();
    for (method, target) in raw_requests {
        let Ok(method) = http::Method::from_bytes(method.as_bytes()) else {
            continue;
        };
        requests.push((method, target.as_bytes().to_vec(), false));
    }
    for (method, path) in targets {
        let plain = !path.contains(['%', '?', '#']);
        requests.push((
            method.as_str().parse().expect("method"),
            path.into_bytes(),
            plain,
        ));
    }

    for (method, target, plain) in requests {
        let Ok(uri) = http::Uri::try_from(target.as_slice()) else {
            continue;
        };
        // A built path must match only if `http` kept it as it was.
        let must_match = plain && uri.path().as_bytes() == target.as_slice();
        let Ok(request) = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(Empty::<Bytes>::new())
        else {
            continue;
        };
        check_request(&server, switches, &rules, request, must_match);
    }
});

/// The pattern with a sample value in each `<arg>` and a surplus argument
/// after the final `/`; `None` when a type has no sample.
fn sample_path(pattern: &str, args: &[Arg]) -> Option<String> {
    let mut values = args.iter().map(|a| a.sample());
    let mut path = String::new();
    let mut rest = pattern;
    while let Some(at) = rest.find("<arg>") {
        path.push_str(&rest[..at]);
        path.push_str(values.next()??);
        rest = &rest[at + "<arg>".len()..];
    }
    path.push_str(rest);
    for value in values {
        path.push_str(value?);
    }
    Some(path)
}

/// The first rule whose methods hold `method` (and, for the HEAD-as-GET retry,
/// not `skip`), whose regex matches `path` and whose captures all convert.
fn reference(
    rules: &[Registered],
    method: Method,
    skip: Option<Method>,
    path: &str,
) -> Option<(usize, Vec<String>)> {
    rules.iter().enumerate().find_map(|(index, rule)| {
        if !rule.methods.contains(method) || skip.is_some_and(|m| rule.methods.contains(m)) {
            return None;
        }
        let captures = rule_captures(rule, path)?;
        Some((index, captures))
    })
}

fn rule_captures(rule: &Registered, path: &str) -> Option<Vec<String>> {
    let found = rule.regex.captures(path)?;
    let captures: Vec<String> = (0..rule.args.len())
        .map(|i| {
            found
                .name(&format!("a{i}"))
                .map_or(String::new(), |m| m.as_str().to_owned())
        })
        .collect();
    rule.args
        .iter()
        .zip(&captures)
        .all(|(arg, capture)| arg.converts(capture))
        .then_some(captures)
}

/// The server's switches, which `HttpServer` only sets.
#[derive(Clone, Copy)]
struct Switches {
    head_as_get: bool,
    method_not_allowed: bool,
}

fn check_request(
    server: &HttpServer,
    switches: Switches,
    rules: &[Registered],
    request: http::Request<Empty<Bytes>>,
    must_match: bool,
) {
    let (parts, _) = request.into_parts();
    let core_request = Request::from_http(http::Request::from_parts(parts.clone(), Bytes::new()));
    let method = core_request.method();
    let path = core_request.decoded_path().into_owned();

    // `Router::find` against the reference (no HEAD-as-GET there).
    let expected = reference(rules, method, None, &path);
    let found = server
        .router()
        .find(&core_request)
        .map(|m| (m.rule.index(), m.captures));
    assert_eq!(
        found, expected,
        "Router::find disagrees with the rules' path_regex for {method:?} {path:?}"
    );

    // A rule for the method, else (HEAD as GET) a GET rule that does not list HEAD.
    let head_as_get = method == Method::Head
        && switches.head_as_get
        && reference(rules, Method::Get, Some(Method::Head), &path).is_some();
    let mut expected_status = if expected.is_some() || head_as_get {
        200
    } else {
        404
    };
    let mut allowed = Methods::EMPTY;
    if expected_status == 404 && switches.method_not_allowed {
        for rule in rules {
            if rule_captures(rule, &path).is_some() {
                allowed = allowed | rule.methods;
            }
        }
        if !allowed.is_empty() {
            expected_status = 405;
        }
    }
    if must_match {
        assert_eq!(
            expected_status, 200,
            "a route's own sample path {path:?} did not match"
        );
    }

    let is_head = parts.method == http::Method::HEAD;
    let response = runtime().block_on(async {
        let response = respond(
            server,
            http::Request::from_parts(parts, Empty::<Bytes>::new()),
        )
        .await;
        let (head, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        (head, body)
    });
    let (head, body) = response;
    if debug() {
        eprintln!(
            "{method:?} {path:?} -> {} (expected {expected_status}) {body:?}",
            head.status
        );
    }
    assert_eq!(
        head.status.as_u16(),
        expected_status,
        "status for {method:?} {path:?}"
    );
    if expected_status == 405 {
        assert!(head.headers.contains_key(http::header::ALLOW));
    }
    if is_head {
        assert!(body.is_empty(), "a HEAD answer with a body");
    } else if expected_status == 200 {
        let rule = found.map(|(index, _)| index);
        if let Some(index) = rule {
            assert_eq!(
                body,
                format!("rule {index}").as_bytes(),
                "another rule answered"
            );
        }
    }
}

/// `POSTERN_FUZZ_DEBUG=1`: print what each input did (for reading seeds and
/// crash files with `cargo fuzz run TARGET FILE`).
fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("POSTERN_FUZZ_DEBUG").is_some())
}
