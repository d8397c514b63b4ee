//! [`Json<T>`]: the request body as JSON, and a JSON answer.

use http::StatusCode;
use postern_core::{IntoResponse, Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use super::{FromRequest, InputRejection, described, media_type};

/// The request body read as JSON into `T`, or a JSON answer made from `T`.
///
/// As an input the `content-type` must be `application/json` or a `…+json` type (415
/// otherwise, before any parsing); malformed JSON (including an empty body) gets 400, and JSON
/// that does not fit `T` gets 422 with the path of the field at fault
/// (`JSON body field `user.age`: invalid type: …`). As a return value it answers 200 with
/// compact JSON ([`Response::json`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Send + 'static> FromRequest for Json<T> {
    const READS_BODY: bool = true;

    fn from_request(request: &Request) -> Result<Self, InputRejection> {
        let media = media_type(request);
        if !media.as_deref().is_some_and(is_json) {
            return Err(InputRejection::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "expected a JSON body with `content-type: application/json`, got {}",
                    described(media.as_deref())
                ),
            ));
        }
        parse(request.body()).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        Response::json(&self.0)
    }
}

/// `application/json`, or any `application/…+json` type (`application/merge-patch+json`).
fn is_json(media: &str) -> bool {
    media == "application/json"
        || media
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

/// Reads `body` into `T`, tracking the path of the value being read so a type error names its
/// field.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, InputRejection> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        rejection(error.into_inner(), path)
    })?;
    // Trailing characters after the value are malformed JSON too.
    deserializer
        .end()
        .map_err(|error| rejection(error, String::new()))?;
    Ok(value)
}

fn rejection(error: serde_json::Error, path: String) -> InputRejection {
    match error.classify() {
        Category::Data => {
            // `.` is the path of the root value: no field to name.
            if path.is_empty() || path == "." {
                InputRejection::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("JSON body: {error}"),
                )
            } else {
                InputRejection::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("JSON body field `{path}`: {error}"),
                )
                .with_field(path)
            }
        }
        Category::Syntax | Category::Eof | Category::Io => InputRejection::new(
            StatusCode::BAD_REQUEST,
            format!("malformed JSON body: {error}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Person {
        name: String,
        age: u8,
        #[serde(default)]
        tags: Vec<String>,
        address: Option<Address>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Address {
        city: String,
    }

    fn request(mime: Option<&str>, body: &'static str) -> Request {
        let mut builder = http::Request::post("/");
        if let Some(mime) = mime {
            builder = builder.header("content-type", mime);
        }
        Request::from_http(builder.body(Bytes::from_static(body.as_bytes())).unwrap())
    }

    /// A rejection's status, field and message.
    type Refusal = (u16, Option<&'static str>, &'static str);

    #[test]
    fn reads_or_rejects() {
        const OK: &str = r#"{"name":"Ada","age":36}"#;
        // content-type, body → status, field, message (None: it reads).
        let table: &[(Option<&str>, &str, Option<Refusal>)] = &[
            (Some("application/json"), OK, None),
            (Some("Application/JSON; charset=utf-8"), OK, None),
            (Some("application/merge-patch+json"), OK, None),
            (Some("application/vnd.api+json ; x=1"), OK, None),
            (
                Some("text/plain"),
                OK,
                Some((
                    415,
                    None,
                    "expected a JSON body with `content-type: application/json`, got `text/plain`",
                )),
            ),
            (
                None,
                OK,
                Some((
                    415,
                    None,
                    "expected a JSON body with `content-type: application/json`, got none",
                )),
            ),
            (
                Some("application/jsonx"),
                OK,
                Some((
                    415,
                    None,
                    "expected a JSON body with `content-type: application/json`, got `application/jsonx`",
                )),
            ),
            (
                Some("text/x+json"),
                OK,
                Some((
                    415,
                    None,
                    "expected a JSON body with `content-type: application/json`, got `text/x+json`",
                )),
            ),
            (
                Some("application/json"),
                "",
                Some((
                    400,
                    None,
                    "malformed JSON body: EOF while parsing a value at line 1 column 0",
                )),
            ),
            (
                Some("application/json"),
                r#"{"name":"Ada","age":36"#,
                Some((
                    400,
                    None,
                    "malformed JSON body: EOF while parsing an object at line 1 column 22",
                )),
            ),
            (
                Some("application/json"),
                r#"{"name":"Ada","age":36} x"#,
                Some((
                    400,
                    None,
                    "malformed JSON body: trailing characters at line 1 column 25",
                )),
            ),
            (
                Some("application/json"),
                r#"{"name":"Ada","age":"old"}"#,
                Some((
                    422,
                    Some("age"),
                    "JSON body field `age`: invalid type: string \"old\", expected u8 at line 1 column 25",
                )),
            ),
            (
                Some("application/json"),
                r#"{"name":"Ada","age":300}"#,
                Some((
                    422,
                    Some("age"),
                    "JSON body field `age`: invalid value: integer `300`, expected u8 at line 1 column 23",
                )),
            ),
            (
                Some("application/json"),
                r#"{"name":"Ada"}"#,
                Some((
                    422,
                    None,
                    "JSON body: missing field `age` at line 1 column 14",
                )),
            ),
            (
                Some("application/json"),
                r#"{"name":"Ada","age":3,"tags":["a",2]}"#,
                Some((
                    422,
                    Some("tags[1]"),
                    "JSON body field `tags[1]`: invalid type: integer `2`, expected a string at line 1 column 35",
                )),
            ),
            (
                Some("application/json"),
                r#"{"name":"Ada","age":3,"address":{"city":1}}"#,
                Some((
                    422,
                    Some("address.city"),
                    "JSON body field `address.city`: invalid type: integer `1`, expected a string at line 1 column 41",
                )),
            ),
            (
                Some("application/json"),
                "true",
                Some((
                    422,
                    None,
                    "JSON body: invalid type: boolean `true`, expected struct Person at line 1 column 4",
                )),
            ),
        ];
        for (mime, body, expected) in table {
            let got = Json::<Person>::from_request(&request(*mime, body));
            match expected {
                None => assert_eq!(
                    got.map(|Json(p)| p.name),
                    Ok("Ada".to_owned()),
                    "{mime:?} {body}"
                ),
                Some((status, field, message)) => {
                    let rejection = got.err().unwrap_or_else(|| panic!("{mime:?} {body} read"));
                    assert_eq!(
                        (
                            rejection.status().as_u16(),
                            rejection.field(),
                            rejection.message()
                        ),
                        (*status, *field, *message),
                        "{mime:?} {body}"
                    );
                }
            }
        }
    }

    #[test]
    fn answers_json() {
        let response = Json(serde_json::json!({"a": [1, 2]})).into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.mime_type(), "application/json");
        assert_eq!(&response.body()[..], br#"{"a":[1,2]}"#);
    }
}
