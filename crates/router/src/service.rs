//! [`HttpServer::route_service`]: any tower service mounted under a path prefix.

use std::future::poll_fn;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;
use postern_core::{Request, Responder};
use tower_service::Service;

use crate::convert::UrlPath;
use crate::error::RouteError;
use crate::rule::RuleHandle;
use crate::server::HttpServer;

const TARGET: &str = "postern::router";

/// The boxed error a mounted service or its body may fail with.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl HttpServer {
    /// Mounts a tower service under `prefix` (which must end with `/`): every request whose
    /// decoded path starts with `prefix` is handed to `service`, with **the prefix stripped**
    /// from its path (`/assets/css/site.css` reaches the service as `/css/site.css`, the query
    /// kept), the way a file server such as tower-http's `ServeDir` expects a path relative to
    /// its folder.
    ///
    /// The service gets an `http::Request<Full<Bytes>>`: the method, version, headers and
    /// extensions of the request (with its [`ConnectionInfo`](postern_core::ConnectionInfo)),
    /// and the body read whole (as for a handler taking `Request`). Its answer is streamed
    /// to the client as it comes, with the service's own status, headers and body; a service
    /// error answers 500. Like a handler writing through a [`Responder`], its answers do not
    /// pass through the after-request handlers: add headers with a layer around the service.
    ///
    /// The rule is an ordinary one: it answers every method (the service decides), comes in
    /// registration order with the others, and takes [`when`](RuleHandle::when) conditions
    /// (a request that fails them gets the missing handler). `prefix` itself without its
    /// final `/` does not match.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::{BodyExt, Full};
    /// use postern_core::respond;
    /// use postern_router::HttpServer;
    ///
    /// // Any `tower::Service`: here one that echoes the path it sees.
    /// #[derive(Clone)]
    /// struct Echo;
    /// impl tower_service::Service<http::Request<Full<Bytes>>> for Echo {
    ///     type Response = http::Response<Full<Bytes>>;
    ///     type Error = std::convert::Infallible;
    ///     type Future = std::future::Ready<Result<Self::Response, Self::Error>>;
    ///     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
    ///         std::task::Poll::Ready(Ok(()))
    ///     }
    ///     fn call(&mut self, request: http::Request<Full<Bytes>>) -> Self::Future {
    ///         let seen = request.uri().to_string();
    ///         std::future::ready(Ok(http::Response::new(Full::new(Bytes::from(seen)))))
    ///     }
    /// }
    ///
    /// let mut server = HttpServer::new();
    /// server.route_service("/assets/", Echo)?;
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let request = http::Request::get("/assets/css/site.css?v=2").body(Full::new(Bytes::new()))?;
    /// let response = respond(&server, request).await;
    /// assert_eq!(response.into_body().collect().await?.to_bytes(), "/css/site.css?v=2");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// A prefix that is not a pattern without `<arg>` ending with `/`
    /// ([`RouteError::Pattern`], [`RouteError::TooManyPlaceholders`],
    /// [`RouteError::SurplusArguments`]).
    pub fn route_service<S, B>(
        &mut self,
        prefix: &str,
        service: S,
    ) -> Result<RuleHandle<'_>, RouteError>
    where
        S: Service<http::Request<Full<Bytes>>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        // Shared, not copied per request.
        let owned: std::sync::Arc<str> = prefix.into();
        // The rest of the path is taken by a `UrlPath` (`.*`) appended after the final `/`.
        self.route(
            prefix,
            move |_rest: UrlPath, request: Request, responder: Responder| {
                let service = service.clone();
                let prefix = std::sync::Arc::clone(&owned);
                async move { call(service, &prefix, request, responder).await }
            },
        )
    }
}

async fn call<S, B>(mut service: S, prefix: &str, request: Request, responder: Responder)
where
    S: Service<http::Request<Full<Bytes>>, Response = http::Response<B>>,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let Some(inner) = inner_request(prefix, &request) else {
        // The decoded path matched the prefix but its raw form could not be split there.
        responder.write_status(StatusCode::NOT_FOUND);
        return;
    };
    let ready: Result<(), BoxError> = poll_fn(|cx| service.poll_ready(cx))
        .await
        .map_err(Into::into);
    let answer = match ready {
        Ok(()) => service.call(inner).await.map_err(Into::into),
        Err(error) => Err(error),
    };
    match answer {
        Ok(response) => responder.send_http_body(response),
        Err(error) => {
            tracing::warn!(target: TARGET, prefix, %error, "mounted service failed: answering 500");
            responder.write_status(StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}

/// The request the mounted service sees: `request` with the prefix cut from its path.
/// The head is copied, not moved: the router keeps `request` for the
/// after-request handlers.
fn inner_request(prefix: &str, request: &Request) -> Option<http::Request<Full<Bytes>>> {
    let rest = strip_encoded_prefix(request.path(), prefix)?;
    let mut target = String::with_capacity(rest.len() + 1);
    target.push('/');
    target.push_str(rest);
    if let Some(query) = request.query() {
        target.push('?');
        target.push_str(query);
    }
    let mut inner = http::Request::new(Full::new(request.body().clone()));
    *inner.method_mut() = request.http_method().clone();
    *inner.uri_mut() = target.parse().ok()?;
    *inner.version_mut() = request.version();
    *inner.headers_mut() = request.headers().clone();
    *inner.extensions_mut() = request.extensions().clone();
    inner.extensions_mut().insert(request.connection().clone());
    Some(inner)
}

/// `raw` (a percent-encoded path) after `prefix` (decoded text): each byte of the prefix is
/// matched either as itself or as its `%XX` escape, since the router matched the decoded
/// path and the service must get the rest still encoded (decoding twice would turn `%252e`
/// into `.`).
fn strip_encoded_prefix<'a>(raw: &'a str, prefix: &str) -> Option<&'a str> {
    let mut rest = raw;
    for expected in prefix.bytes() {
        let (byte, length) = match rest.as_bytes().first()? {
            b'%' => (u8::from_str_radix(rest.get(1..3)?, 16).ok()?, 3),
            &byte => (byte, 1),
        };
        if byte != expected {
            return None;
        }
        rest = rest.get(length..)?;
    }
    Some(rest)
}

#[cfg(test)]
mod tests {
    use super::strip_encoded_prefix;

    #[test]
    fn strips_the_prefix_in_either_form() {
        let table: &[(&str, &str, Option<&str>)] = &[
            ("/assets/a.css", "/assets/", Some("a.css")),
            ("/assets/", "/assets/", Some("")),
            ("/assets/%2e%2e/x", "/assets/", Some("%2e%2e/x")),
            ("/%61ssets/a", "/assets/", Some("a")),
            ("/assets%2Fa", "/assets/", Some("a")),
            ("/caf%C3%A9/menu", "/café/", Some("menu")),
            ("/caf%C3/", "/café/", None),
            ("/assets", "/assets/", None),
            ("/other/a", "/assets/", None),
            ("/assets%2", "/assets/", None),
            ("/assets%zz", "/assets/", None),
        ];
        for (raw, prefix, expected) in table {
            assert_eq!(
                strip_encoded_prefix(raw, prefix),
                *expected,
                "{raw} {prefix}"
            );
        }
    }
}
