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

/// Placeholder syntax other than `<arg>` would register as literal text and never match the
/// paths it was meant for: each form is refused, and the message shows the `<arg>` pattern.
#[test]
fn foreign_placeholders_are_refused_with_the_arg_form() {
    type Make = fn(String, String) -> PatternErrorKind;
    let unknown: Make =
        |found, suggestion| PatternErrorKind::UnknownPlaceholder { found, suggestion };
    let brace: Make = |found, suggestion| PatternErrorKind::BracePlaceholder { found, suggestion };
    let colon: Make = |found, suggestion| PatternErrorKind::ColonPlaceholder { found, suggestion };
    let unclosed: Make =
        |found, suggestion| PatternErrorKind::UnclosedPlaceholder { found, suggestion };
    // Pattern, the kind's constructor with what it found and the suggested pattern, message.
    let table: &[(&str, Make, &str, &str, &str)] = &[
        (
            "/items/{id}",
            brace,
            "{id}",
            "/items/<arg>",
            "route `/items/{id}`: `{id}` is not a placeholder: placeholders are written `<arg>` and typed by the handler's arguments; use \"/items/<arg>\" instead of \"/items/{id}\"",
        ),
        (
            "/items/{id}/tags",
            brace,
            "{id}",
            "/items/<arg>/tags",
            "route `/items/{id}/tags`: `{id}` is not a placeholder: placeholders are written `<arg>` and typed by the handler's arguments; use \"/items/<arg>/tags\" instead of \"/items/{id}/tags\"",
        ),
        (
            "/items/{id",
            brace,
            "{id",
            "/items/<arg>",
            "route `/items/{id`: `{id` is not a placeholder: placeholders are written `<arg>` and typed by the handler's arguments; use \"/items/<arg>\" instead of \"/items/{id\"",
        ),
        (
            "/items/:id",
            colon,
            ":id",
            "/items/<arg>",
            "route `/items/:id`: `:id` is not a placeholder: placeholders are written `<arg>` and typed by the handler's arguments; use \"/items/<arg>\" instead of \"/items/:id\"",
        ),
        (
            "/items/:id.json",
            colon,
            ":id",
            "/items/<arg>.json",
            "route `/items/:id.json`: `:id` is not a placeholder: placeholders are written `<arg>` and typed by the handler's arguments; use \"/items/<arg>.json\" instead of \"/items/:id.json\"",
        ),
        (
            "/items/<arg",
            unclosed,
            "<arg",
            "/items/<arg>",
            "route `/items/<arg`: `<arg` is an unclosed placeholder (a `<` always opens one): placeholders are written `<arg>` and typed by the handler's arguments; use \"/items/<arg>\" instead of \"/items/<arg\"",
        ),
        (
            "/items/<arg/x",
            unclosed,
            "<arg",
            "/items/<arg>/x",
            "route `/items/<arg/x`: `<arg` is an unclosed placeholder (a `<` always opens one): placeholders are written `<arg>` and typed by the handler's arguments; use \"/items/<arg>/x\" instead of \"/items/<arg/x\"",
        ),
        (
            "/user/<id>",
            unknown,
            "<id>",
            "/user/<arg>",
            "route `/user/<id>`: unknown placeholder `<id>`: placeholders are written `<arg>` and typed by the handler's arguments; use \"/user/<arg>\" instead of \"/user/<id>\"",
        ),
    ];
    let mut s = HttpServer::new();
    for (pattern, make, found, suggestion, message) in table {
        let expected = RouteError::Pattern {
            pattern: (*pattern).to_owned(),
            kind: make((*found).to_owned(), (*suggestion).to_owned()),
        };
        let result = s.route(pattern, |id: u32| id.to_string()).map(drop);
        assert_eq!(result, Err(expected.clone()), "{pattern}");
        assert_eq!(expected.to_string(), *message, "{pattern}");
    }
    assert!(s.router().rules().is_empty());
}

/// More path arguments than `<arg>`: the surplus is appended at the end of the pattern, so it
/// must come after a final `/`, and only one can (two would be glued to each other).
#[test]
fn surplus_arguments_need_a_final_slash_and_are_at_most_one() {
    let mut s = HttpServer::new();
    let surplus = |pattern: &str, placeholders, arguments| RouteError::SurplusArguments {
        pattern: pattern.to_owned(),
        placeholders,
        arguments,
    };
    let table: Vec<(Result<(), RouteError>, RouteError, &str)> = vec![
        (
            s.route("/api/items", |id: u32| id.to_string()).map(drop),
            surplus("/api/items", 0, 1),
            "route `/api/items`: the handler takes 1 path argument(s) but the pattern has 0 `<arg>` placeholder(s); surplus arguments are appended at the end of the pattern with nothing before or between them, which works only for one argument after a final `/`: use \"/api/items/<arg>\" or \"/api/items/\" instead of \"/api/items\"",
        ),
        (
            s.route("/img/<arg>-image.jpg", |a: u32, b: u32| format!("{a}{b}"))
                .map(drop),
            surplus("/img/<arg>-image.jpg", 1, 2),
            "route `/img/<arg>-image.jpg`: the handler takes 2 path argument(s) but the pattern has 1 `<arg>` placeholder(s); surplus arguments are appended at the end of the pattern with nothing before or between them, which works only for one argument after a final `/`: use \"/img/<arg>-image.jpg/<arg>\" or \"/img/<arg>-image.jpg/\" instead of \"/img/<arg>-image.jpg\"",
        ),
        (
            s.route("/page/<arg>", |a: u32, b: u32| format!("{a}{b}"))
                .map(drop),
            surplus("/page/<arg>", 1, 2),
            "route `/page/<arg>`: the handler takes 2 path argument(s) but the pattern has 1 `<arg>` placeholder(s); surplus arguments are appended at the end of the pattern with nothing before or between them, which works only for one argument after a final `/`: use \"/page/<arg>/<arg>\" or \"/page/<arg>/\" instead of \"/page/<arg>\"",
        ),
        (
            s.route("/user/", |a: u32, b: u32| format!("{a}{b}"))
                .map(drop),
            surplus("/user/", 0, 2),
            "route `/user/`: the handler takes 2 path argument(s) but the pattern has 0 `<arg>` placeholder(s); surplus arguments are appended at the end of the pattern with nothing before or between them, which works only for one argument after a final `/`: use \"/user/<arg>/<arg>\" instead of \"/user/\"",
        ),
        (
            s.route("/api", |a: u32, b: String, c: bool| format!("{a}{b}{c}"))
                .map(drop),
            surplus("/api", 0, 3),
            "route `/api`: the handler takes 3 path argument(s) but the pattern has 0 `<arg>` placeholder(s); surplus arguments are appended at the end of the pattern with nothing before or between them, which works only for one argument after a final `/`: use \"/api/<arg>/<arg>/<arg>\" instead of \"/api\"",
        ),
    ];
    for (result, error, message) in table {
        assert_eq!(result, Err(error.clone()));
        assert_eq!(error.to_string(), message);
    }
    assert!(s.router().rules().is_empty());
}

/// The shapes that stay valid register, and each answers the path it was written for.
#[tokio::test]
async fn accepted_shapes_register_and_match() {
    let mut s = HttpServer::new();
    // A surplus argument after a final `/` (Qt's `/user/` + `|id|`).
    s.route("/user/", |id: u32| format!("user {id}")).unwrap();
    s.route("/", |id: u32| format!("root {id}")).unwrap();
    s.route("/q/<arg>/log/", |id: i32, level: u8| {
        format!("q {id} {level}")
    })
    .unwrap();
    // As many arguments as `<arg>`, wherever they are, glued or not: the author wrote them.
    s.route("/items/<arg>", |id: u32| format!("item {id}"))
        .unwrap();
    s.route("/v<arg>", |v: f32| format!("v {v}")).unwrap();
    s.route("/p/<arg><arg>", |n: u32, unit: String| {
        format!("p {n} {unit}")
    })
    .unwrap();
    // Text that only looks like placeholder syntax is literal.
    s.route("/v1:batch", || "colon inside").unwrap();
    s.route("/port/:8080", || "colon before a digit").unwrap();
    s.route("/a>b}", || "closers alone").unwrap();
    let table: &[(&str, &str)] = &[
        ("/user/42", "user 42"),
        ("/7", "root 7"),
        ("/q/-3/log/9", "q -3 9"),
        ("/items/5", "item 5"),
        ("/v2.5", "v 2.5"),
        ("/p/12px", "p 12 px"),
        ("/v1:batch", "colon inside"),
        ("/port/:8080", "colon before a digit"),
        ("/a%3Eb%7D", "closers alone"),
    ];
    for (path, body) in table {
        let answer = call(&s, "GET", path).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (StatusCode::OK, *body),
            "{path}"
        );
    }
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
