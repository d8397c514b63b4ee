//! Typed input: handler arguments that read and check the request.
//!
//! After its path arguments a handler may take **one** typed input, an argument whose type
//! implements [`FromRequest`]: [`Json<T>`](Json) (the body as JSON, `json` feature),
//! [`Query<T>`](Query) (the query string) or [`Form<T>`](Form) (an urlencoded body), both with
//! the `form` feature, or a type of your own. When the input does not read, the handler does
//! not run and the client gets the [`InputRejection`]'s answer:
//!
//! | input | wrong `content-type` | malformed | wrong type or missing field |
//! |---|---|---|---|
//! | `Json<T>` | 415 (`application/json` or `…+json` wanted) | 400 | 422, naming the field |
//! | `Form<T>` | 415 (`application/x-www-form-urlencoded` wanted) | — | 422, naming the field |
//! | `Query<T>` | — | — | 400, naming the parameter |
//!
//! The answer is `text/plain; charset=utf-8` with a message saying what to fix. To answer
//! yourself, take `Result<Json<T>, InputRejection>` (the handler then always runs), or set a
//! server-wide [`HttpServer::set_rejection_handler`](crate::HttpServer::set_rejection_handler).
//! A handler with an input that reads the body has its body buffered, as one taking `Request`.
//!
//! ```
//! # #[cfg(all(feature = "json", feature = "form"))] {
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use postern_core::respond;
//! use postern_router::HttpServer;
//! use postern_router::input::{InputRejection, Json, Query};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct NewColour { name: String, hue: u16 }
//! #[derive(Deserialize)]
//! struct Page { page: u32 }
//!
//! let mut server = HttpServer::new();
//! server.route("/colours", |Json(colour): Json<NewColour>| {
//!     format!("{} at {}°", colour.name, colour.hue)
//! })?;
//! server.route("/colours/", |id: u32, Query(page): Query<Page>| format!("{id} page {}", page.page))?;
//! server.route("/lenient", |input: Result<Json<NewColour>, InputRejection>| match input {
//!     Ok(Json(colour)) => colour.name,
//!     Err(rejection) => format!("no colour ({})", rejection.status().as_u16()),
//! })?;
//!
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let post = |path: &str, mime: &str, body: &'static str| {
//!     http::Request::post(path).header("content-type", mime).body(Full::new(Bytes::from(body)))
//! };
//! let ok = respond(&server, post("/colours", "application/json", r#"{"name":"teal","hue":180}"#)?).await;
//! assert_eq!(ok.into_body().collect().await?.to_bytes(), "teal at 180°");
//!
//! let wrong_type = respond(&server, post("/colours", "application/json", r#"{"name":"teal","hue":"x"}"#)?).await;
//! assert_eq!(wrong_type.status(), http::StatusCode::UNPROCESSABLE_ENTITY);
//! let text = wrong_type.into_body().collect().await?.to_bytes();
//! assert!(text.starts_with(b"JSON body field `hue`: invalid type: string \"x\", expected u16"));
//!
//! let not_json = respond(&server, post("/colours", "text/plain", "teal")?).await;
//! assert_eq!(not_json.status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
//!
//! let lenient = respond(&server, post("/lenient", "text/plain", "teal")?).await;
//! assert_eq!(lenient.into_body().collect().await?.to_bytes(), "no colour (415)");
//!
//! let page = http::Request::get("/colours/7?page=x").body(Full::new(Bytes::new()))?;
//! let bad_page = respond(&server, page).await;
//! assert_eq!(bad_page.status(), http::StatusCode::BAD_REQUEST);
//! assert_eq!(
//!     bad_page.into_body().collect().await?.to_bytes(),
//!     "query parameter `page`: invalid digit found in string"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "json")]
mod json;
mod rejection;
#[cfg(feature = "form")]
mod urlencoded;

#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub use json::Json;
pub use rejection::InputRejection;
#[cfg(feature = "form")]
#[cfg_attr(docsrs, doc(cfg(feature = "form")))]
pub use urlencoded::{Form, Query};

use postern_core::Request;

/// A typed handler input, read from the request before the handler runs; see the
/// [module docs](self).
///
/// Implement it for inputs of your own (an API key, a session): the handler then takes your
/// type after its path arguments. A type must not implement both this and
/// [`FromCapture`](crate::FromCapture), or its handlers cannot tell which it is.
///
/// ```
/// use http::StatusCode;
/// use postern_core::Request;
/// use postern_router::HttpServer;
/// use postern_router::input::{FromRequest, InputRejection};
///
/// /// The caller's API key, from `x-api-key`.
/// struct ApiKey(String);
///
/// impl FromRequest for ApiKey {
///     const READS_BODY: bool = false;
///
///     fn from_request(request: &Request) -> Result<Self, InputRejection> {
///         match request.value("x-api-key") {
///             Some(key) => Ok(ApiKey(key.into_owned())),
///             None => Err(InputRejection::new(StatusCode::UNAUTHORIZED, "send your key in `x-api-key`")),
///         }
///     }
/// }
///
/// let mut server = HttpServer::new();
/// server.route("/me", |ApiKey(key): ApiKey| format!("hello {key}"))?;
/// # Ok::<(), postern_router::RouteError>(())
/// ```
pub trait FromRequest: Sized + Send + 'static {
    /// Whether it reads the request body: the router then has the body read whole before the
    /// handler runs (see [`HttpServer`](crate::HttpServer)'s body policy).
    const READS_BODY: bool;

    /// Reads the input, or says why it cannot.
    ///
    /// # Errors
    /// The rejection the client is answered with (unless the handler takes
    /// `Result<Self, InputRejection>`).
    fn from_request(request: &Request) -> Result<Self, InputRejection>;
}

/// The handler answers a rejection itself: this input always reads.
impl<T: FromRequest> FromRequest for Result<T, InputRejection> {
    const READS_BODY: bool = T::READS_BODY;

    fn from_request(request: &Request) -> Result<Self, InputRejection> {
        Ok(T::from_request(request))
    }
}

/// The media type of `request`'s `content-type`, lowercased, without parameters; `None` when
/// there is none or it is not text.
#[cfg(any(feature = "json", feature = "form"))]
fn media_type(request: &Request) -> Option<String> {
    let value = request.headers().get(http::header::CONTENT_TYPE)?;
    let value = value.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    Some(essence.to_ascii_lowercase())
}

/// How a `content-type` is named in a 415's message.
#[cfg(any(feature = "json", feature = "form"))]
fn described(media: Option<&str>) -> String {
    match media {
        Some(media) => format!("`{media}`"),
        None => "none".to_owned(),
    }
}
