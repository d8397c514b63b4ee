//! [`Query<T>`] and [`Form<T>`]: `name=value&…` text read into a type.

use http::StatusCode;
use postern_core::Request;
use serde::de::DeserializeOwned;

use super::{FromRequest, InputRejection, described, media_type};

/// The query string read into `T` (`?page=2&tag=a`); no query reads as an empty one.
///
/// A parameter that is missing or does not fit its field's type gets 400 naming it
/// (`query parameter `page`: invalid digit found in string`). Names and values are
/// percent-decoded, `+` is a space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

/// The request body read as an HTML form (`application/x-www-form-urlencoded`) into `T`.
///
/// Any other `content-type` gets 415; a field that is missing or does not fit its type gets
/// 422 naming it. Only the body is read, whatever the method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Form<T>(pub T);

/// The media type an HTML form is sent with.
const FORM: &str = "application/x-www-form-urlencoded";

impl<T: DeserializeOwned + Send + 'static> FromRequest for Query<T> {
    const READS_BODY: bool = false;

    fn from_request(request: &Request) -> Result<Self, InputRejection> {
        let query = request.query().unwrap_or_default().as_bytes();
        parse(query, StatusCode::BAD_REQUEST, "query", "query parameter").map(Query)
    }
}

impl<T: DeserializeOwned + Send + 'static> FromRequest for Form<T> {
    const READS_BODY: bool = true;

    fn from_request(request: &Request) -> Result<Self, InputRejection> {
        let media = media_type(request);
        if media.as_deref() != Some(FORM) {
            return Err(InputRejection::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "expected a form body with `content-type: {FORM}`, got {}",
                    described(media.as_deref())
                ),
            ));
        }
        parse(
            request.body(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "form body",
            "form field",
        )
        .map(Form)
    }
}

/// Reads `text` into `T`; a failure is `status`, naming the field when there is one.
fn parse<T: DeserializeOwned>(
    text: &[u8],
    status: StatusCode,
    whole: &str,
    part: &str,
) -> Result<T, InputRejection> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(text));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let error = error.into_inner();
        // `.` is the path of the whole text: a missing field is named in the message.
        if path.is_empty() || path == "." {
            InputRejection::new(status, format!("{whole}: {error}"))
        } else {
            InputRejection::new(status, format!("{part} `{path}`: {error}")).with_field(path)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Search {
        q: String,
        page: Option<u32>,
        #[serde(default)]
        exact: bool,
    }

    fn request(uri: &str, mime: Option<&str>, body: &'static str) -> Request {
        let mut builder = http::Request::post(uri);
        if let Some(mime) = mime {
            builder = builder.header("content-type", mime);
        }
        Request::from_http(builder.body(Bytes::from_static(body.as_bytes())).unwrap())
    }

    /// A rejection's status, field and message.
    type Refusal = (u16, Option<&'static str>, &'static str);

    fn search(q: &str, page: Option<u32>, exact: bool) -> Search {
        Search {
            q: q.to_owned(),
            page,
            exact,
        }
    }

    #[test]
    fn query_table() {
        let table: &[(&str, Result<Search, Refusal>)] = &[
            ("/s?q=rust", Ok(search("rust", None, false))),
            ("/s?q=a+b%21&page=2", Ok(search("a b!", Some(2), false))),
            ("/s?page=2&q=x&exact=true", Ok(search("x", Some(2), true))),
            ("/s?q=x&unknown=1", Ok(search("x", None, false))),
            (
                "/s?q=x&page=two",
                Err((
                    400,
                    Some("page"),
                    "query parameter `page`: invalid digit found in string",
                )),
            ),
            (
                "/s?q=x&page=-1",
                Err((
                    400,
                    Some("page"),
                    "query parameter `page`: invalid digit found in string",
                )),
            ),
            (
                "/s?q=x&exact=yes",
                Err((
                    400,
                    Some("exact"),
                    "query parameter `exact`: provided string was not `true` or `false`",
                )),
            ),
            ("/s", Err((400, None, "query: missing field `q`"))),
            ("/s?page=1", Err((400, None, "query: missing field `q`"))),
        ];
        for (uri, expected) in table {
            let got = Query::<Search>::from_request(&request(uri, None, "")).map(|Query(s)| s);
            assert_eq!(outcome(got), owned(expected), "{uri}");
        }
    }

    /// What a client sees of an input: the value, or the status, field and
    /// message of its refusal.
    type Outcome = Result<Search, (u16, Option<String>, String)>;

    fn outcome(got: Result<Search, InputRejection>) -> Outcome {
        got.map_err(|r| {
            (
                r.status().as_u16(),
                r.field().map(str::to_owned),
                r.message().to_owned(),
            )
        })
    }

    /// A table row's expectation as an [`Outcome`].
    fn owned(expected: &Result<Search, Refusal>) -> Outcome {
        match expected {
            Ok(s) => Ok(search(&s.q, s.page, s.exact)),
            Err((status, field, message)) => {
                Err((*status, field.map(str::to_owned), (*message).to_owned()))
            }
        }
    }

    #[test]
    fn form_table() {
        let form = Some(FORM);
        let table: &[(Option<&str>, &'static str, Result<Search, Refusal>)] = &[
            (form, "q=rust&page=3", Ok(search("rust", Some(3), false))),
            (
                Some("Application/X-WWW-Form-Urlencoded; charset=utf-8"),
                "q=%C3%A9t%C3%A9",
                Ok(search("été", None, false)),
            ),
            (
                Some("application/json"),
                "q=rust",
                Err((
                    415,
                    None,
                    "expected a form body with `content-type: application/x-www-form-urlencoded`, got `application/json`",
                )),
            ),
            (
                None,
                "q=rust",
                Err((
                    415,
                    None,
                    "expected a form body with `content-type: application/x-www-form-urlencoded`, got none",
                )),
            ),
            (
                form,
                "q=x&page=9999999999",
                Err((
                    422,
                    Some("page"),
                    "form field `page`: number too large to fit in target type",
                )),
            ),
            (form, "", Err((422, None, "form body: missing field `q`"))),
        ];
        for (mime, body, expected) in table {
            let got = Form::<Search>::from_request(&request("/", *mime, body)).map(|Form(s)| s);
            assert_eq!(outcome(got), owned(expected), "{mime:?} {body}");
        }
    }
}
