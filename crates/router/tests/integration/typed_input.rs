//! Typed handler inputs (`Json`, `Query`, `Form`, `Result` of one, a custom `FromRequest`)
//! through the whole `HttpServer`: exact answers for each input and failure, the rejection
//! hook, after-request handlers on rejections, and which inputs make the body be read.

use bytes::Bytes;
use http::StatusCode;
use http_body_util::Empty;
use postern_core::{AbstractHttpServer, BodyPolicy, Method, Request, Response};
use postern_router::HttpServer;
use postern_router::input::{Form, FromRequest, InputRejection, Json, Query};
use serde::Deserialize;

use crate::common::call_with;

#[derive(Deserialize)]
struct Colour {
    name: String,
    hue: u16,
}

#[derive(Deserialize)]
struct Page {
    page: u32,
}

/// A custom input: the `x-tenant` header.
struct Tenant(String);

impl FromRequest for Tenant {
    const READS_BODY: bool = false;

    fn from_request(request: &Request) -> Result<Self, InputRejection> {
        request
            .value("x-tenant")
            .map(|tenant| Tenant(tenant.into_owned()))
            .ok_or_else(|| InputRejection::new(StatusCode::BAD_REQUEST, "name your tenant"))
    }
}

fn server() -> HttpServer {
    let mut server = HttpServer::new();
    server
        .route_with_methods("/colours", Method::Post, |Json(c): Json<Colour>| {
            format!("{} {}", c.name, c.hue)
        })
        .unwrap();
    server
        .route(
            "/colours/",
            |id: u32, Query(p): Query<Page>, request: &Request| {
                format!("{id} p{} {}", p.page, request.method().as_str())
            },
        )
        .unwrap();
    server
        .route_with_methods("/form", Method::Post, |Form(c): Form<Colour>| {
            format!("{} {}", c.name, c.hue)
        })
        .unwrap();
    server
        .route_with_methods(
            "/lenient",
            Method::Post,
            |input: Result<Json<Colour>, InputRejection>| match input {
                Ok(Json(c)) => c.name,
                Err(rejection) => {
                    format!("{} {:?}", rejection.status().as_u16(), rejection.field())
                }
            },
        )
        .unwrap();
    server
        .route("/pages", |Query(p): Query<Page>| p.page.to_string())
        .unwrap();
    server
        .route("/tenant", |Tenant(t): Tenant| async move { t })
        .unwrap();
    server.add_after_request_handler(|_: &Request, response: &mut Response| {
        response
            .headers_mut()
            .insert("x-after", http::HeaderValue::from_static("1"));
    });
    server
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";
const TEXT: &str = "text/plain; charset=utf-8";

/// Method, target, content type and body sent; status, content type and body answered.
type Row = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    u16,
    &'static str,
    &'static str,
);

#[tokio::test]
async fn each_input_and_each_refusal() {
    let server = server();
    let table: &[Row] = &[
        (
            "POST",
            "/colours",
            Some(JSON),
            r#"{"name":"teal","hue":180}"#,
            200,
            TEXT,
            "teal 180",
        ),
        (
            "POST",
            "/colours",
            Some("application/problem+json"),
            r#"{"name":"a","hue":1}"#,
            200,
            TEXT,
            "a 1",
        ),
        (
            "POST",
            "/colours",
            Some("text/plain"),
            "teal",
            415,
            TEXT,
            "expected a JSON body with `content-type: application/json`, got `text/plain`",
        ),
        (
            "POST",
            "/colours",
            None,
            "{}",
            415,
            TEXT,
            "expected a JSON body with `content-type: application/json`, got none",
        ),
        (
            "POST",
            "/colours",
            Some(JSON),
            "{\"name\":",
            400,
            TEXT,
            "malformed JSON body: EOF while parsing a value at line 1 column 8",
        ),
        (
            "POST",
            "/colours",
            Some(JSON),
            r#"{"name":"teal","hue":-1}"#,
            422,
            TEXT,
            "JSON body field `hue`: invalid value: integer `-1`, expected u16 at line 1 column 23",
        ),
        (
            "POST",
            "/colours",
            Some(JSON),
            r#"{"hue":1}"#,
            422,
            TEXT,
            "JSON body: missing field `name` at line 1 column 9",
        ),
        ("GET", "/colours/7?page=2", None, "", 200, TEXT, "7 p2 GET"),
        (
            "GET",
            "/colours/7?page=x",
            None,
            "",
            400,
            TEXT,
            "query parameter `page`: invalid digit found in string",
        ),
        (
            "GET",
            "/colours/7",
            None,
            "",
            400,
            TEXT,
            "query: missing field `page`",
        ),
        // A path argument that does not convert is no match (404); the input is not read.
        (
            "GET",
            "/colours/x?page=x",
            None,
            "",
            404,
            "application/x-empty",
            "",
        ),
        (
            "POST",
            "/form",
            Some(FORM),
            "name=sea+green&hue=150",
            200,
            TEXT,
            "sea green 150",
        ),
        (
            "POST",
            "/form",
            Some(JSON),
            r#"{"name":"a","hue":1}"#,
            415,
            TEXT,
            "expected a form body with `content-type: application/x-www-form-urlencoded`, got `application/json`",
        ),
        (
            "POST",
            "/form",
            Some(FORM),
            "name=x&hue=huge",
            422,
            TEXT,
            "form field `hue`: invalid digit found in string",
        ),
        ("POST", "/lenient", Some(TEXT), "x", 200, TEXT, "415 None"),
        (
            "POST",
            "/lenient",
            Some(JSON),
            r#"{"name":"a","hue":"b"}"#,
            200,
            TEXT,
            "422 Some(\"hue\")",
        ),
        ("GET", "/tenant", None, "", 400, TEXT, "name your tenant"),
    ];
    for (method, target, mime, body, status, content_type, text) in table {
        let headers: Vec<(&str, &str)> = mime.iter().map(|m| ("content-type", *m)).collect();
        let answer = call_with(&server, method, target, &headers, body).await;
        assert_eq!(
            (
                answer.status.as_u16(),
                answer.header("content-type"),
                answer.body.as_str()
            ),
            (*status, Some(*content_type), *text),
            "{method} {target} {mime:?} {body}"
        );
        // After-request handlers see rejections too, as every returned answer.
        assert_eq!(answer.header("x-after"), Some("1"), "{method} {target}");
    }
    let answer = call_with(&server, "GET", "/tenant", &[("x-tenant", "blue")], "").await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, "blue")
    );
}

#[tokio::test]
async fn a_rejection_handler_answers_every_refusal() {
    let mut server = server();
    server.set_rejection_handler(|request: &Request, rejection: InputRejection| {
        let body = serde_json::json!({
            "path": request.path(),
            "field": rejection.field(),
            "error": rejection.message(),
        });
        Response::json(&body).with_status(rejection.status())
    });
    let answer = call_with(
        &server,
        "POST",
        "/colours",
        &[("content-type", JSON)],
        r#"{"name":"teal","hue":true}"#,
    )
    .await;
    assert_eq!(
        (
            answer.status,
            answer.header("content-type"),
            answer.body.as_str()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("application/json"),
            r#"{"error":"JSON body field `hue`: invalid type: boolean `true`, expected u16 at line 1 column 25","field":"hue","path":"/colours"}"#
        )
    );
    assert_eq!(answer.header("x-after"), Some("1"));
    // The lenient handler still answers itself.
    let answer = call_with(&server, "POST", "/lenient", &[], "x").await;
    assert_eq!(answer.body, "415 None");
}

#[test]
fn inputs_that_read_the_body_have_it_buffered() {
    let server = server();
    let table = [
        ("POST", "/colours", BodyPolicy::Buffer),
        ("POST", "/form", BodyPolicy::Buffer),
        ("POST", "/lenient", BodyPolicy::Buffer),
        // It takes `&Request` too.
        ("POST", "/colours/7?page=1", BodyPolicy::Buffer),
        ("POST", "/pages?page=1", BodyPolicy::Discard),
        ("POST", "/tenant", BodyPolicy::Discard),
    ];
    for (method, target, policy) in table {
        let request = http::Request::builder()
            .method(method)
            .uri(target)
            .body(Empty::<Bytes>::new())
            .unwrap();
        let (head, _) = request.into_parts();
        let request = Request::from_parts(head, Bytes::new());
        assert_eq!(server.body_policy(&request), policy, "{method} {target}");
    }
}
