//! [`IntoResponse`]: what handlers may return.

use bytes::Bytes;
use http::StatusCode;

use super::Response;

/// Turns a value into a [`Response`].
///
/// Implemented for [`Response`], [`StatusCode`] (empty body), `String` and
/// `&'static str` (`text/plain`), `Vec<u8>` and [`Bytes`] (sniffed MIME type),
/// `serde_json::Value` (compact JSON), `(StatusCode, T)`, `()` (200, empty)
/// and `Result<T, E>` where both sides convert.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be turned into a response",
    label = "this type does not implement `IntoResponse`",
    note = "return a `Response`, `String`, `&'static str`, `Vec<u8>`, `Bytes`, `serde_json::Value`, `StatusCode`, `(StatusCode, T)` or `Result<T, E>` of those"
)]
pub trait IntoResponse {
    /// Convert.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        Response::new(self)
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        Response::bytes(self)
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        Response::bytes(self)
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::new(StatusCode::OK)
    }
}

#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
impl IntoResponse for serde_json::Value {
    fn into_response(self) -> Response {
        Response::json(&self)
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        self.1.into_response().with_status(self.0)
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(value) => value.into_response(),
            Err(error) => error.into_response(),
        }
    }
}

macro_rules! from_via_into_response {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Response {
            fn from(value: $ty) -> Response {
                value.into_response()
            }
        }
    )*};
}

from_via_into_response!(StatusCode, String, &'static str, Vec<u8>, Bytes);

#[cfg(feature = "json")]
from_via_into_response!(serde_json::Value);
