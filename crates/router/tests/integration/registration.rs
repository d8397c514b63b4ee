//! Registration errors (typed, with readable messages) and the converter registry as routes
//! see it.

use crate::common::call;
use http::StatusCode;
use postern_core::Methods;
use postern_router::{
    ConverterError, FromCapture, HttpServer, PatternErrorKind, RouteError, UrlPath,
};

/// A user type: a lowercase slug.
#[derive(Debug)]
struct Slug(String);

impl FromCapture for Slug {
    fn from_capture(capture: &str) -> Option<Self> {
        Some(Slug(capture.to_owned()))
    }
}

#[test]
fn errors_are_typed_and_readable() {
    let mut s = HttpServer::new();
    let table: Vec<(Result<(), RouteError>, RouteError, &str)> = vec![
        (
            s.route_with_methods("/x", Methods::EMPTY, || "x").map(drop),
            RouteError::EmptyMethods {
                pattern: "/x".into(),
            },
            "route `/x`: the method set holds no known method",
        ),
        (
            s.route("/a/<arg>/<arg>", |a: u32| a.to_string()).map(drop),
            RouteError::TooManyPlaceholders {
                pattern: "/a/<arg>/<arg>".into(),
                placeholders: 2,
                arguments: 1,
            },
            "route `/a/<arg>/<arg>`: not enough types: 2 `<arg>` placeholder(s) but the handler takes 1 path argument(s)",
        ),
        (
            s.route("/s/", |slug: Slug| slug.0).map(drop),
            RouteError::NoConverter {
                pattern: "/s/".into(),
                type_name: std::any::type_name::<Slug>(),
            },
            "route `/s/`: can not find converter for type: integration::registration::Slug (register one with `converters_mut().add::<integration::registration::Slug>(regex)`)",
        ),
        (
            s.route("", || "x").map(drop),
            RouteError::Pattern {
                pattern: "".into(),
                kind: PatternErrorKind::Empty,
            },
            "route ``: the pattern is empty",
        ),
        (
            s.route("user/<arg>", |a: u32| a.to_string()).map(drop),
            RouteError::Pattern {
                pattern: "user/<arg>".into(),
                kind: PatternErrorKind::NoLeadingSlash,
            },
            "route `user/<arg>`: the pattern must start with `/`",
        ),
        (
            s.route("/user/<id>", |a: u32| a.to_string()).map(drop),
            RouteError::Pattern {
                pattern: "/user/<id>".into(),
                kind: PatternErrorKind::UnknownPlaceholder("<id>".into()),
            },
            "route `/user/<id>`: unknown placeholder `<id>`: placeholders are written `<arg>` and typed by the handler's arguments",
        ),
    ];
    for (result, error, message) in table {
        assert_eq!(result, Err(error.clone()));
        assert_eq!(error.to_string(), message);
    }
    assert!(
        s.router().rules().is_empty(),
        "failed registrations add nothing"
    );
}

#[tokio::test]
async fn custom_converters_and_registry_changes() {
    let mut s = HttpServer::new();
    s.converters_mut()
        .add::<Slug>("[a-z]+(?:-[a-z]+)*")
        .unwrap();
    s.route("/post/", |slug: Slug| format!("post {}", slug.0))
        .unwrap();
    assert_eq!(
        call(&s, "GET", "/post/hello-world").await.body,
        "post hello-world"
    );
    assert_eq!(
        call(&s, "GET", "/post/Hello").await.status,
        StatusCode::NOT_FOUND
    );

    // Replacing a regex changes later rules only, as in Qt.
    s.converters_mut().replace::<u32>("[0-9]{1,2}").unwrap();
    s.route("/late/", |n: u32| format!("late {n}")).unwrap();
    s.route("/late/", |n: String| format!("fallback {n}"))
        .unwrap();
    assert_eq!(call(&s, "GET", "/late/99").await.body, "late 99");
    assert_eq!(call(&s, "GET", "/late/100").await.body, "fallback 100");

    // A converter regex may hold groups of its own, but not the router's group names.
    s.converters_mut().add::<Slug>("(?P<a0>[a-z]+)").unwrap();
    assert!(matches!(
        s.route("/clash/", |slug: Slug| slug.0),
        Err(RouteError::Regex { .. })
    ));
    s.converters_mut()
        .add::<Slug>("([a-z]+)(?:-([a-z]+))?")
        .unwrap();
    s.route("/grouped/<arg>/x", |slug: Slug| {
        format!("grouped {}", slug.0)
    })
    .unwrap();
    assert_eq!(
        call(&s, "GET", "/grouped/ab-cd/x").await.body,
        "grouped ab-cd"
    );

    let err = s.converters_mut().add::<Slug>("(").unwrap_err();
    assert!(matches!(err, ConverterError::InvalidRegex { .. }), "{err}");

    // After clear, every typed route fails until converters come back; literal ones work.
    s.converters_mut().clear();
    assert!(matches!(
        s.route("/n/", |n: i32| n.to_string()),
        Err(RouteError::NoConverter {
            type_name: "i32",
            ..
        })
    ));
    s.route("/literal", || "still fine").unwrap();
    s.converters_mut().reset();
    s.route("/n/", |n: i32| n.to_string()).unwrap();
    s.route("/rest/<arg>", |rest: UrlPath| rest.path().to_owned())
        .unwrap();
    assert_eq!(call(&s, "GET", "/n/-4").await.body, "-4");
    assert_eq!(call(&s, "GET", "/rest/a/b%3Fc=d").await.body, "a/b");
    assert_eq!(call(&s, "GET", "/literal").await.body, "still fine");
}

#[test]
fn converter_list_is_ordered_and_complete() {
    let s = HttpServer::new();
    let names: Vec<&str> = s.converters().iter().map(|c| c.type_name()).collect();
    assert_eq!(
        names,
        [
            "i8",
            "i16",
            "i32",
            "i64",
            "i128",
            "isize",
            "u8",
            "u16",
            "u32",
            "u64",
            "u128",
            "usize",
            "f32",
            "f64",
            "bool",
            "alloc::string::String",
            "bytes::bytes::Bytes",
            "postern_router::convert::url_path::UrlPath",
        ]
    );
}
