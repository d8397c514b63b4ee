//! Black-box tests of every route of `examples/colorpalette.rs` over a real socket, with every
//! status it documents (200, 201, 204, 208, 400, 401, 404, 415, 422) and exact JSON bodies.

#[path = "../../examples/colorpalette.rs"]
#[allow(dead_code, unreachable_pub)]
mod example;

use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::{Value, json};

use crate::support::Running;

struct Fixture {
    running: Running,
    base: String,
    port: u16,
    client: reqwest::Client,
}

async fn start() -> Fixture {
    // reqwest is built without a default TLS provider; it needs one even for plain HTTP.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = example::build_server(&example::default_assets_dir()).expect("routes");
    let running = Running::new(
        example::start(server, "127.0.0.1:0")
            .await
            .expect("listening"),
    );
    let port = running.ports()[0];
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    Fixture {
        running,
        base: format!("http://127.0.0.1:{port}"),
        port,
        client,
    }
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

impl Fixture {
    /// Sends `body`, if any, as `application/json`.
    async fn send(
        &self,
        method: http::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        self.send_as(
            method,
            path,
            token,
            body.map(|body| ("application/json", body)),
        )
        .await
    }

    /// Sends `body`, if any, with its content type.
    async fn send_as(
        &self,
        method: http::Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, &str)>,
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("token", token);
        }
        if let Some((content_type, body)) = body {
            request = request
                .header("content-type", content_type)
                .body(body.to_owned());
        }
        let response = request.send().await.expect("response");
        Answer {
            status: response.status(),
            content_type: response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: response.bytes().await.expect("body").to_vec(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(http::Method::GET, path, None, None).await
    }

    async fn login(&self) -> String {
        let body = r#"{"email":"ada.lindqvist@palette.example","password":"swatch-1"}"#;
        let answer = self
            .send(http::Method::POST, "/api/login", None, Some(body))
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        let json = answer.json();
        assert_eq!(json["id"], 1);
        json["token"].as_str().expect("token").to_owned()
    }
}

/// A body the router's `Json` input refused: the status and message, as plain text.
fn rejected(answer: &Answer, status: StatusCode, message: &str) {
    assert_eq!(
        (
            answer.status,
            answer.content_type.as_deref(),
            std::str::from_utf8(&answer.body).expect("UTF-8")
        ),
        (status, Some("text/plain; charset=utf-8"), message)
    );
}

fn empty(answer: &Answer, status: StatusCode, context: &str) {
    assert_eq!(answer.status, status, "{context}");
    if status != StatusCode::NO_CONTENT {
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/x-empty"),
            "{context}"
        );
    }
    assert!(answer.body.is_empty(), "{context}");
}

#[tokio::test]
async fn welcome_on_every_method() {
    let f = start().await;
    for method in [http::Method::GET, http::Method::POST, http::Method::DELETE] {
        let answer = f.send(method.clone(), "/", None, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{method}");
        assert_eq!(
            answer.content_type.as_deref(),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(answer.body, example::WELCOME.as_bytes());
    }
    f.running.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn pagination() {
    let f = start().await;
    let ids = |answer: &Answer| -> Vec<i64> {
        answer.json()["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|item| item["id"].as_i64().expect("id"))
            .collect()
    };
    for resource in ["/api/unknown", "/api/users"] {
        let first = f.get(resource).await;
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.content_type.as_deref(), Some("application/json"));
        let json = first.json();
        assert_eq!(
            (
                &json["page"],
                &json["per_page"],
                &json["total"],
                &json["total_pages"]
            ),
            (&json!(1), &json!(6), &json!(12), &json!(2))
        );
        assert_eq!(ids(&first), [1, 2, 3, 4, 5, 6]);

        let table: &[(&str, u16, &[i64])] = &[
            ("?page=2", 200, &[7, 8, 9, 10, 11, 12]),
            ("?page=2&per_page=5", 200, &[6, 7, 8, 9, 10]),
            ("?page=3&per_page=5", 200, &[11, 12]),
            (
                "?per_page=12",
                200,
                &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            ),
            (
                "?per_page=100",
                200,
                &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            ),
            ("?page=3", 204, &[]),
            ("?page=4&per_page=5", 204, &[]),
            ("?page=0", 400, &[]),
            ("?per_page=0", 400, &[]),
            ("?page=-1", 400, &[]),
            ("?page=two", 400, &[]),
            ("?delay=11", 400, &[]),
            ("?delay=soon", 400, &[]),
        ];
        for (query, status, expected) in table {
            let answer = f.get(&format!("{resource}{query}")).await;
            assert_eq!(answer.status.as_u16(), *status, "{resource}{query}");
            if *status == 200 {
                assert_eq!(ids(&answer), *expected, "{resource}{query}");
            } else {
                assert!(answer.body.is_empty(), "{resource}{query}");
            }
        }
    }
    let last = f.get("/api/unknown?page=3&per_page=5").await.json();
    assert_eq!(
        (&last["page"], &last["total_pages"]),
        (&json!(3), &json!(3))
    );
    f.running.shutdown(Duration::from_secs(1)).await;
}

/// Over HTTP/1.1 the quick requests use other connections from the pool; over HTTP/2 (prior
/// knowledge) they share the delayed request's connection as separate streams.
#[tokio::test]
async fn a_delayed_page_does_not_hold_up_other_requests() {
    let mut f = start().await;
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    for (client, version) in [
        (f.client.clone(), http::Version::HTTP_11),
        (h2, http::Version::HTTP_2),
    ] {
        f.client = client;
        let started = Instant::now();
        let slow = {
            let client = f.client.clone();
            let url = format!("{}/api/unknown?delay=1", f.base);
            tokio::spawn(async move {
                let response = client.get(url).send().await.expect("slow response");
                (response.status(), response.version(), Instant::now())
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        for _ in 0..5 {
            assert_eq!(f.get("/api/unknown/1").await.status, StatusCode::OK);
        }
        let fast_done = Instant::now();
        let (status, slow_version, slow_done) = slow.await.expect("task");
        assert_eq!((status, slow_version), (StatusCode::OK, version));
        assert!(
            fast_done < slow_done,
            "{version:?}: the quick requests finished first"
        );
        assert!(
            slow_done - started >= Duration::from_secs(1),
            "{version:?}: delay honoured"
        );
    }
    f.running.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn items_and_avatars() {
    let f = start().await;
    let colour = f.get("/api/unknown/3").await;
    assert_eq!(colour.status, StatusCode::OK);
    assert_eq!(colour.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        String::from_utf8_lossy(&colour.body),
        r##"{"color":"#bf1932","createdAt":"2026-01-03T09:00:00.000Z","id":3,"name":"true red","pantone_value":"19-1664","updatedAt":"2026-01-03T09:00:00.000Z"}"##
    );
    let user = f.get("/api/users/2").await.json();
    assert_eq!(
        user,
        json!({
            "id": 2,
            "email": "bruno.okafor@palette.example",
            "first_name": "Bruno",
            "last_name": "Okafor",
            "avatar": format!("http://127.0.0.1:{}/img/faces/2-image.jpg", f.port),
            "createdAt": "2026-02-02T10:30:00.000Z",
            "updatedAt": "2026-02-02T10:30:00.000Z",
        })
    );
    for path in [
        "/api/unknown/99",
        "/api/users/0",
        "/api/unknown/abc",
        "/api/unknown/",
    ] {
        empty(&f.get(path).await, StatusCode::NOT_FOUND, path);
    }

    let avatar = f.get("/img/faces/2-image.jpg").await;
    assert_eq!(avatar.status, StatusCode::OK);
    assert_eq!(avatar.content_type.as_deref(), Some("image/jpeg"));
    let file = example::default_assets_dir().join("img/2-image.jpg");
    assert_eq!(avatar.body, std::fs::read(file).expect("avatar file"));
    for path in [
        "/img/faces/99-image.jpg",
        "/img/faces/x-image.jpg",
        "/img/faces/2-image.png",
    ] {
        empty(&f.get(path).await, StatusCode::NOT_FOUND, path);
    }
    f.running.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn crud_with_token() {
    use http::Method;
    let f = start().await;
    let new = r##"{"id":13,"name":"peach fuzz","color":"#ffbe98","pantone_value":"13-1023"}"##;

    // Writes need a token from an open session.
    for (method, path) in [
        (Method::POST, "/api/unknown"),
        (Method::PUT, "/api/unknown/1"),
        (Method::PATCH, "/api/unknown/1"),
        (Method::DELETE, "/api/unknown/1"),
    ] {
        let answer = f.send(method.clone(), path, None, Some(new)).await;
        empty(
            &answer,
            StatusCode::UNAUTHORIZED,
            &format!("{method} {path}"),
        );
        let answer = f
            .send(method.clone(), path, Some("made-up"), Some(new))
            .await;
        empty(
            &answer,
            StatusCode::UNAUTHORIZED,
            &format!("{method} {path} bad token"),
        );
    }
    let token = f.login().await;
    let token = Some(token.as_str());

    // POST: 415 for a body that is not JSON, 400 for malformed JSON, 422 for JSON that is not
    // an object (all three from the router's `Json` input, with a message), 400 for missing or
    // mistyped fields, 208 for an existing id, 201 with the item.
    let answer = f
        .send_as(
            Method::POST,
            "/api/unknown",
            token,
            Some(("text/plain", new)),
        )
        .await;
    rejected(
        &answer,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "expected a JSON body with `content-type: application/json`, got `text/plain`",
    );
    let answer = f.send(Method::POST, "/api/unknown", token, Some("{")).await;
    rejected(
        &answer,
        StatusCode::BAD_REQUEST,
        "malformed JSON body: EOF while parsing an object at line 1 column 1",
    );
    let answer = f
        .send(Method::POST, "/api/unknown", token, Some("[1]"))
        .await;
    rejected(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "JSON body: invalid type: sequence, expected a map at line 1 column 0",
    );
    for body in [
        r#"{"id":14,"name":"x"}"#,
        r##"{"name":"x","color":"#000000","pantone_value":"1"}"##,
    ] {
        let answer = f
            .send(Method::POST, "/api/unknown", token, Some(body))
            .await;
        empty(&answer, StatusCode::BAD_REQUEST, body);
    }
    let existing = r##"{"id":1,"name":"again","color":"#000000","pantone_value":"0"}"##;
    let answer = f
        .send(Method::POST, "/api/unknown", token, Some(existing))
        .await;
    empty(&answer, StatusCode::ALREADY_REPORTED, "existing id");
    let created = f.send(Method::POST, "/api/unknown", token, Some(new)).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.content_type.as_deref(), Some("application/json"));
    let json = created.json();
    assert_eq!(
        (&json["id"], &json["name"]),
        (&json!(13), &json!("peach fuzz"))
    );
    assert_eq!(json["createdAt"], json["updatedAt"]);
    assert_eq!(f.get("/api/unknown/13").await.json(), json);
    assert_eq!(f.get("/api/unknown").await.json()["total"], 13);

    // PUT: every field needed.
    let full = r##"{"name":"peach","color":"#ffbe99","pantone_value":"13-1024"}"##;
    let answer = f
        .send(Method::PUT, "/api/unknown/13", token, Some("nope"))
        .await;
    rejected(
        &answer,
        StatusCode::BAD_REQUEST,
        "malformed JSON body: expected ident at line 1 column 2",
    );
    for (path, body, status) in [
        (
            "/api/unknown/13",
            r#"{"name":"only"}"#,
            StatusCode::BAD_REQUEST,
        ),
        ("/api/unknown/99", full, StatusCode::NO_CONTENT),
    ] {
        let answer = f.send(Method::PUT, path, token, Some(body)).await;
        empty(&answer, status, &format!("PUT {path} {body}"));
    }
    let put = f
        .send(Method::PUT, "/api/unknown/13", token, Some(full))
        .await;
    assert_eq!(put.status, StatusCode::OK);
    let json = put.json();
    assert_eq!(
        (&json["name"], &json["color"], &json["pantone_value"]),
        (&json!("peach"), &json!("#ffbe99"), &json!("13-1024"))
    );

    // PATCH: some fields.
    let answer = f
        .send(Method::PATCH, "/api/unknown/13", token, Some("{"))
        .await;
    rejected(
        &answer,
        StatusCode::BAD_REQUEST,
        "malformed JSON body: EOF while parsing an object at line 1 column 1",
    );
    let answer = f
        .send(Method::PATCH, "/api/unknown/99", token, Some("{}"))
        .await;
    empty(&answer, StatusCode::NO_CONTENT, "PATCH unknown");
    let patched = f
        .send(
            Method::PATCH,
            "/api/unknown/13",
            token,
            Some(r#"{"name":"apricot"}"#),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(
        (&patched.json()["name"], &patched.json()["color"]),
        (&json!("apricot"), &json!("#ffbe99"))
    );

    // DELETE: 200 once, then 204.
    let answer = f.send(Method::DELETE, "/api/unknown/13", token, None).await;
    empty(&answer, StatusCode::OK, "DELETE");
    let answer = f.send(Method::DELETE, "/api/unknown/13", token, None).await;
    empty(&answer, StatusCode::NO_CONTENT, "DELETE again");
    empty(
        &f.get("/api/unknown/13").await,
        StatusCode::NOT_FOUND,
        "deleted",
    );

    // Users have the same routes.
    let user = r#"{"id":20,"email":"new@palette.example","first_name":"New","last_name":"Person","avatar":"/img/faces/1-image.jpg"}"#;
    let created = f.send(Method::POST, "/api/users", token, Some(user)).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        created.json()["avatar"],
        format!("http://127.0.0.1:{}/img/faces/1-image.jpg", f.port)
    );
    let answer = f.send(Method::DELETE, "/api/users/20", token, None).await;
    empty(&answer, StatusCode::OK, "DELETE user");
    f.running.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn sessions() {
    use http::Method;
    let f = start().await;
    for (body, status) in [
        (
            r#"{"email":"ada.lindqvist@palette.example","password":"wrong"}"#,
            StatusCode::NOT_FOUND,
        ),
        (
            r#"{"email":"nobody@palette.example","password":"swatch-1"}"#,
            StatusCode::NOT_FOUND,
        ),
    ] {
        let answer = f.send(Method::POST, "/api/login", None, Some(body)).await;
        empty(&answer, status, body);
    }
    // What the router's `Json<Credentials>` input refuses before the handler runs.
    let ada = r#"{"email":"ada.lindqvist@palette.example","password":"swatch-1"}"#;
    for (content_type, body, status, message) in [
        (
            "text/plain",
            ada,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected a JSON body with `content-type: application/json`, got `text/plain`",
        ),
        (
            "application/json",
            r#"{"email":"ada.lindqvist@palette.example"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "JSON body: missing field `password` at line 1 column 41",
        ),
        (
            "application/json",
            r#"{"email":"ada.lindqvist@palette.example","password":1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "JSON body field `password`: invalid type: integer `1`, expected a string at line 1 column 53",
        ),
        (
            "application/json",
            "not json",
            StatusCode::BAD_REQUEST,
            "malformed JSON body: expected ident at line 1 column 2",
        ),
    ] {
        let answer = f
            .send_as(Method::POST, "/api/login", None, Some((content_type, body)))
            .await;
        rejected(&answer, status, message);
    }
    let token = f.login().await;
    assert_eq!(token.len(), 36, "UUID-shaped: {token}");
    assert_eq!(token.as_bytes()[14], b'4');

    // Register: a new account with the next id and an open session.
    let answer = f
        .send(Method::POST, "/api/register", None, Some("{}"))
        .await;
    rejected(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "JSON body: missing field `email` at line 1 column 2",
    );
    let body = r#"{"email":"mara@palette.example","password":"pink"}"#;
    let registered = f
        .send(Method::POST, "/api/register", None, Some(body))
        .await;
    assert_eq!(registered.status, StatusCode::OK);
    assert_eq!(registered.content_type.as_deref(), Some("application/json"));
    let json = registered.json();
    assert_eq!(json["id"], 13);
    let new_token = json["token"].as_str().expect("token").to_owned();
    assert_ne!(new_token, token);
    let login = f.send(Method::POST, "/api/login", None, Some(body)).await;
    assert_eq!(login.json()["id"], 13);
    let new_token = login.json()["token"].as_str().expect("token").to_owned();

    // Logout: 400 without a token, 200 otherwise, and the token stops working.
    empty(
        &f.send(Method::POST, "/api/logout", None, None).await,
        StatusCode::BAD_REQUEST,
        "no token",
    );
    empty(
        &f.send(Method::POST, "/api/logout", Some("unknown"), None)
            .await,
        StatusCode::OK,
        "unknown token",
    );
    let delete = |token: String| {
        let f = &f;
        async move {
            f.send(Method::DELETE, "/api/unknown/99", Some(&token), None)
                .await
        }
    };
    empty(
        &delete(new_token.clone()).await,
        StatusCode::NO_CONTENT,
        "open session",
    );
    let answer = f
        .send(Method::POST, "/api/logout", Some(&new_token), None)
        .await;
    empty(&answer, StatusCode::OK, "logout");
    empty(
        &delete(new_token).await,
        StatusCode::UNAUTHORIZED,
        "closed session",
    );
    empty(
        &delete(token).await,
        StatusCode::NO_CONTENT,
        "other sessions stay open",
    );
    f.running.shutdown(Duration::from_secs(1)).await;
}
