//! Table-driven matching: patterns x paths x methods -> the rule that wins (or none) and its
//! captures, then the converted values the handlers see.

use bytes::Bytes;
use postern_core::{Method, Request};
use postern_router::{HttpServer, UrlPath};

/// The rule set, in registration order. Each handler echoes its converted arguments.
fn server() -> HttpServer {
    let mut s = HttpServer::new();
    s.route("/", || "root").unwrap(); // 0
    s.route("/page/", |p: i32| format!("page: {p}")).unwrap(); // 1
    s.route("/page/<arg>/detail", |p: u32| format!("detail {p}"))
        .unwrap(); // 2
    s.route("/user/", |name: String| format!("user {name}"))
        .unwrap(); // 3
    s.route("/user/<arg>/", |a: String, b: Bytes| {
        format!("{a}-{}", String::from_utf8_lossy(&b))
    })
    .unwrap(); // 4
    s.route("/api/v<arg>", |v: f32| format!("api {v}v"))
        .unwrap(); // 5
    s.route("/files/<arg>", |url: UrlPath| format!("file [{url}]"))
        .unwrap(); // 6
    s.route("/flag/<arg>", |on: bool| format!("flag {on}"))
        .unwrap(); // 7
    s.route("/img/faces/<arg>-image.jpg", |id: i64| format!("face {id}"))
        .unwrap(); // 8
    s.route("/small/", |n: u8| format!("u8 {n}")).unwrap(); // 9
    s.route("/small/", |n: String| format!("overflowed {n}"))
        .unwrap(); // 10
    s.route("/v1.0/x", || "escaped").unwrap(); // 11
    s.route_with_methods("/only-post", Method::Post, || "posted")
        .unwrap(); // 12
    s.route("/a+b>/c", || "regex syntax").unwrap(); // 13
    s.route("/user<arg>", |n: i32| format!("glued {n}"))
        .unwrap(); // 14
    s.route_with_methods("/m", Method::Get | Method::Put, || "get or put")
        .unwrap(); // 15
    s.route_with_methods("/m", Method::Delete, || "delete")
        .unwrap(); // 16
    s.route("/<arg>/<arg>/<arg>", |a: u8, b: u8, c: u8| {
        format!("{a}.{b}.{c}")
    })
    .unwrap(); // 17
    s
}

fn request(method: &str, uri: &str) -> Request {
    let request = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(Bytes::new())
        .unwrap();
    Request::from_http(request)
}

/// Method, target, and the rule that wins with its captures (or no rule).
type Row = (
    &'static str,
    &'static str,
    Option<(usize, &'static [&'static str])>,
);

#[test]
fn first_matching_rule_and_captures() {
    let server = server();
    let table: &[Row] = &[
        ("GET", "/", Some((0, &[]))),
        ("GET", "//", None),
        ("GET", "/page/-10", Some((1, &["-10"]))),
        ("GET", "/page/+7", Some((1, &["+7"]))),
        ("GET", "/page/1?x=y", Some((1, &["1"]))),
        ("GET", "/page/10/", None),
        ("GET", "/page/", None),
        ("GET", "/page/1.5", None),
        ("GET", "/page/10/detail", Some((2, &["10"]))),
        ("GET", "/page/-10/detail", None),
        (
            "GET",
            "/user/test%20test%20,!a+.",
            Some((3, &["test test ,!a+."])),
        ),
        ("GET", "/user/james/bond", Some((4, &["james", "bond"]))),
        ("GET", "/user/a%2Fb", Some((4, &["a", "b"]))),
        ("GET", "/user/", None),
        ("GET", "/api/v5.", Some((5, &["5."]))),
        ("GET", "/api/v.5", Some((5, &[".5"]))),
        ("GET", "/api/v-1.25", Some((5, &["-1.25"]))),
        ("GET", "/api/v", None),
        ("GET", "/api/v1e5", None),
        ("GET", "/files/css/site.css", Some((6, &["css/site.css"]))),
        ("GET", "/files/", Some((6, &[""]))),
        ("GET", "/flag/true", Some((7, &["true"]))),
        ("GET", "/flag/0", Some((7, &["0"]))),
        ("GET", "/flag/yes", None),
        ("GET", "/img/faces/3-image.jpg", Some((8, &["3"]))),
        ("GET", "/img/faces/x-image.jpg", None),
        ("GET", "/img/faces/3-image.png", None),
        ("GET", "/small/255", Some((9, &["255"]))),
        ("GET", "/small/256", Some((10, &["256"]))),
        ("GET", "/v1.0/x", Some((11, &[]))),
        ("GET", "/v1a0/x", None),
        ("GET", "/only-post", None),
        ("POST", "/only-post", Some((12, &[]))),
        ("GET", "/a+b%3E/c", Some((13, &[]))),
        ("GET", "/aab%3E/c", None),
        ("GET", "/ab%3E/c", None),
        ("GET", "/user5", Some((14, &["5"]))),
        ("GET", "/m", Some((15, &[]))),
        ("PUT", "/m", Some((15, &[]))),
        ("DELETE", "/m", Some((16, &[]))),
        ("POST", "/m", None),
        ("HEAD", "/m", None),
        ("FOO", "/", None),
        ("get", "/", None),
        ("GET", "/1/2/3", Some((17, &["1", "2", "3"]))),
        ("GET", "/1/2/300", None),
        ("GET", "/1/2/", None),
    ];
    for (method, uri, expected) in table {
        let found = server.router().find(&request(method, uri));
        let found = found.map(|m| (m.rule.index(), m.captures));
        let expected = expected.map(|(rule, captures)| {
            (
                rule,
                captures.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>(),
            )
        });
        assert_eq!(found, expected, "{method} {uri}");
    }
}

#[tokio::test]
async fn handlers_see_converted_values() {
    let server = server();
    let table: &[(&str, &str, u16, &str)] = &[
        ("GET", "/", 200, "root"),
        ("GET", "/page/+7", 200, "page: 7"),
        ("GET", "/page/-10", 200, "page: -10"),
        ("GET", "/page/99999999999", 404, ""),
        ("GET", "/page/10/detail", 200, "detail 10"),
        (
            "GET",
            "/user/test%20test%20,!a+.",
            200,
            "user test test ,!a+.",
        ),
        ("GET", "/user/james/bond", 200, "james-bond"),
        ("GET", "/api/v5.", 200, "api 5v"),
        ("GET", "/api/v.5", 200, "api 0.5v"),
        ("GET", "/files/a/b%20c.txt", 200, "file [a/b c.txt]"),
        ("GET", "/flag/1", 200, "flag true"),
        ("GET", "/img/faces/-3-image.jpg", 200, "face -3"),
        ("GET", "/small/255", 200, "u8 255"),
        ("GET", "/small/256", 200, "overflowed 256"),
        ("GET", "/user5", 200, "glued 5"),
        ("GET", "/1/22/255", 200, "1.22.255"),
        ("GET", "/1/22/256", 404, ""),
        ("GET", "/page/10/", 404, ""),
    ];
    for (method, uri, status, body) in table {
        let answer = crate::common::call(&server, method, uri).await;
        assert_eq!(
            (answer.status.as_u16(), answer.body.as_str()),
            (*status, *body),
            "{method} {uri}"
        );
    }
}

#[test]
fn lookup_order_holds_across_many_rules() {
    // 1,000 rules sharing prefixes: the first registered match must still win.
    let mut server = HttpServer::new();
    for i in 0..500 {
        server
            .route(&format!("/r/{i}/"), |n: u32| n.to_string())
            .unwrap();
        server.route(&format!("/r/{i}"), || "literal").unwrap();
    }
    let catch_all = server
        .route("/r/", |rest: UrlPath| rest.into_string())
        .unwrap()
        .id();
    let shadowed = server.route("/r/7/", |n: u32| n.to_string()).unwrap().id();
    let router = server.router();
    assert_eq!(
        router
            .find(&request("GET", "/r/7/1"))
            .map(|m| m.rule.index()),
        Some(14)
    );
    assert_eq!(
        router.find(&request("GET", "/r/7")).map(|m| m.rule.index()),
        Some(15)
    );
    assert_eq!(
        router.find(&request("GET", "/r/7/x")).map(|m| m.rule),
        Some(catch_all)
    );
    assert_eq!(
        router.find(&request("GET", "/r/999")).map(|m| m.rule),
        Some(catch_all)
    );
    assert!(router.rule(shadowed).is_some());
    assert_eq!(router.rules().len(), 1002);
}

/// More candidates for one path than a lookup keeps inline (it then spills to the heap):
/// registration order, HEAD-as-GET and 405 must not notice.
#[tokio::test]
async fn many_candidates_for_one_path_keep_registration_order() {
    let mut server = HttpServer::new().with_method_not_allowed(true);
    // 40 rules share the path: PUT-only ones, whose prefixes end at every byte of `/spill/`.
    for i in 0..40 {
        let prefix = &"/spill/"[..1 + i % 7];
        let pattern = format!("{prefix}<arg>");
        server
            .route_with_methods(&pattern, Method::Put, move |_: UrlPath| format!("put {i}"))
            .unwrap();
    }
    let small = server
        .route_with_methods("/spill/", Method::Get, |n: u8| format!("u8 {n}"))
        .unwrap()
        .id();
    let text = server
        .route_with_methods("/spill/", Method::Get, |n: String| format!("text {n}"))
        .unwrap()
        .id();
    let router = server.router();
    let found = |method: &str, uri: &str| router.find(&request(method, uri)).map(|m| m.rule);
    assert_eq!(found("GET", "/spill/7"), Some(small));
    assert_eq!(found("GET", "/spill/300"), Some(text));
    assert_eq!(found("PUT", "/spill/7").map(|r| r.index()), Some(0));
    assert_eq!(found("POST", "/spill/7"), None);

    let answer = crate::common::call(&server, "GET", "/spill/7").await;
    assert_eq!(
        (answer.status.as_u16(), answer.body.as_str()),
        (200, "u8 7")
    );
    let answer = crate::common::call(&server, "GET", "/spill/300").await;
    assert_eq!(
        (answer.status.as_u16(), answer.body.as_str()),
        (200, "text 300")
    );
    let answer = crate::common::call(&server, "PUT", "/spill/300").await;
    assert_eq!(
        (answer.status.as_u16(), answer.body.as_str()),
        (200, "put 0")
    );
    let answer = crate::common::call(&server, "HEAD", "/spill/7").await;
    assert_eq!(answer.status.as_u16(), 200);
    assert_eq!(answer.header("content-length"), Some("4"));
    let answer = crate::common::call(&server, "POST", "/spill/7").await;
    assert_eq!(answer.status.as_u16(), 405);
    assert_eq!(answer.header("allow"), Some("GET, PUT, HEAD"));
}

/// The longest `Allow` list: every known method but the one asked for.
#[tokio::test]
async fn method_not_allowed_lists_every_other_method() {
    let mut server = HttpServer::new().with_method_not_allowed(true);
    let others = Method::Get
        | Method::Put
        | Method::Delete
        | Method::Post
        | Method::Head
        | Method::Options
        | Method::Patch
        | Method::Connect;
    server.route_with_methods("/x", others, || "x").unwrap();
    let answer = crate::common::call(&server, "TRACE", "/x").await;
    assert_eq!(answer.status.as_u16(), 405);
    assert_eq!(
        answer.header("allow"),
        Some("GET, PUT, DELETE, POST, HEAD, OPTIONS, PATCH, CONNECT")
    );
}

#[test]
fn rules_expose_their_regex() {
    let server = server();
    let regexes: Vec<&str> = server
        .router()
        .rules()
        .iter()
        .map(|r| r.path_regex())
        .collect();
    assert_eq!(regexes[0], "^/$");
    assert_eq!(regexes[1], r"^/page/(?P<a0>[+-]?\d+)$");
    assert_eq!(regexes[2], r"^/page/(?P<a0>[+]?\d+)/detail$");
    assert_eq!(regexes[6], r"^/files/(?P<a0>.*)$");
    assert_eq!(regexes[11], r"^/v1\.0/x$");
    assert_eq!(server.router().rules()[4].arg_types().len(), 2);
}
