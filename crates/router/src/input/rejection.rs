//! [`InputRejection`]: why a typed input did not read, and the answer it makes.

use std::fmt;

use http::StatusCode;
use postern_core::{IntoResponse, Response};

/// Why a typed input ([`Json`](super::Json), [`Query`](super::Query),
/// [`Form`](super::Form) or your own [`FromRequest`](super::FromRequest)) did not read.
///
/// As a response (its [`IntoResponse`] impl, the default answer) it is its
/// [`status`](Self::status) with the [message](Self::message) as a
/// `text/plain; charset=utf-8` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRejection {
    status: StatusCode,
    field: Option<String>,
    message: String,
}

impl InputRejection {
    /// A rejection answered with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            field: None,
            message: message.into(),
        }
    }

    /// The same rejection, about `field` (a dotted path such as `user.address.city`).
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The status it answers with: 415 for a wrong `content-type`, 400 for malformed JSON or
    /// a bad query, 422 for a body whose fields do not fit the type.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The field or query parameter at fault, as a dotted path, when the input knows it
    /// (`hue`, `user.tags[2]`).
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// What is wrong, for the client: the answer's body.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for InputRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InputRejection {}

impl IntoResponse for InputRejection {
    fn into_response(self) -> Response {
        Response::text(self.message).with_status(self.status)
    }
}
