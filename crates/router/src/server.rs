//! [`HttpServer`]: Qt's `QHttpServer`, an [`AbstractHttpServer`] that dispatches to rules.

use std::fmt;

use bytes::Bytes;
use http::StatusCode;
use http::header::{ALLOW, CONTENT_LENGTH, HeaderValue};
use postern_core::{
    AbstractHttpServer, BodyPolicy, Handled, IntoResponse, Method, Methods, Request, Responder,
    Response,
};

use crate::convert::ConverterRegistry;
use crate::error::RouteError;
use crate::handler::{Handler, Reply};
use crate::inline::InlineVec;
use crate::input::InputRejection;
use crate::router::{Dispatch, Router};
use crate::rule::RuleHandle;

const TARGET: &str = "postern::router";

type MissingHandler = Box<dyn Fn(&Request, Responder) + Send + Sync>;
type AfterRequestHandler = Box<dyn Fn(&Request, &mut Response) + Send + Sync>;
type RejectionHandler = Box<dyn Fn(&Request, InputRejection) -> Response + Send + Sync>;

/// The routing server (Qt's `QHttpServer`): an ordered list of rules, a missing handler and
/// after-request handlers. Build it, then serve it with
/// [`postern_core::HttpService`] on a [`postern_core::Server`].
///
/// ```
/// use http::header::{HeaderValue, SERVER};
/// use postern_core::{Method, Request, Responder};
/// use postern_router::HttpServer;
///
/// let mut server = HttpServer::new();
/// server.route("/", || "Hello world")?;
/// server.route("/user/", |id: u32| format!("User {id}"))?;
/// server.route_with_methods("/user/", Method::Post | Method::Put, |id: u32, request: &Request| {
///     format!("stored {} bytes for {id}", request.body().len())
/// })?;
/// server.add_after_request_handler(|_request: &Request, response: &mut postern_core::Response| {
///     response.headers_mut().insert(SERVER, HeaderValue::from_static("Postern"));
/// });
/// server.set_missing_handler(|request: &Request, responder: Responder| {
///     responder.send(postern_core::Response::text(format!("no page at {}", request.path()))
///         .with_status(http::StatusCode::NOT_FOUND));
/// });
/// # Ok::<(), postern_router::RouteError>(())
/// ```
///
/// Rules are added before serving: once the server is shared with the connections it is
/// immutable (Qt forbids changing the router from its rules; Rust's ownership makes that a
/// compile error).
pub struct HttpServer {
    router: Router,
    missing: Option<MissingHandler>,
    after: Vec<AfterRequestHandler>,
    rejection: Option<RejectionHandler>,
    head_as_get: bool,
    method_not_allowed: bool,
    #[cfg(feature = "ws")]
    websockets: postern_core::websocket::WebSocketUpgrades,
}

impl Default for HttpServer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer")
            .field("router", &self.router)
            .field("missing_handler", &self.missing.is_some())
            .field("after_request_handlers", &self.after.len())
            .field("rejection_handler", &self.rejection.is_some())
            .field("head_as_get", &self.head_as_get)
            .field("method_not_allowed", &self.method_not_allowed)
            .finish()
    }
}

impl HttpServer {
    /// A server with no rules, the default converters, GET rules answering HEAD, and no 405.
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            missing: None,
            after: Vec::new(),
            rejection: None,
            head_as_get: true,
            method_not_allowed: false,
            #[cfg(feature = "ws")]
            websockets: postern_core::websocket::WebSocketUpgrades::new(),
        }
    }

    /// Qt's exact behaviour: HEAD is only answered by rules that list it, and a path that
    /// matches with the wrong method gets the missing handler (404), as Qt does.
    pub fn qt_compatible() -> Self {
        Self {
            head_as_get: false,
            ..Self::new()
        }
    }

    /// Registers `handler` for `pattern` and every known method (Qt's `route(path, handler)`).
    ///
    /// The pattern's `<arg>` placeholders take the handler's path arguments in order. When the
    /// handler takes more path arguments than the pattern has `<arg>`, the surplus is
    /// **appended at the end of the pattern**, with nothing in between (Qt's rule):
    /// `/user/` with `|id: u32|` is `/user/<arg>` and matches `/user/42`. Since nothing
    /// separates an appended argument from the text before it, Postern takes one surplus
    /// argument, after a final `/`: `/user` with `|id: u32|` (which would match `/user42`)
    /// and `/user/` with `|a: u32, b: u32|` (which would split `/user/123` into `12` and `3`)
    /// are refused; write an `<arg>` for each argument instead.
    ///
    /// Placeholders are written `<arg>` only: `{id}`, `:id` and an unclosed `<arg` are refused
    /// with a message showing the `<arg>` pattern to use, rather than registered as literal
    /// text that never matches. The decoded path must match whole; the query is ignored; a
    /// trailing slash counts.
    ///
    /// ```
    /// use postern_router::{HttpServer, RouteError};
    ///
    /// let mut server = HttpServer::new();
    /// server.route("/user/", |id: u32| format!("User {id}"))?;
    /// server.route("/user/<arg>/detail/", |id: u32, year: i32| format!("{id} {year}"))?;
    /// let refused = server.route("/items/{id}", |id: u32| format!("Item {id}")).unwrap_err();
    /// assert!(refused.to_string().ends_with(r#"use "/items/<arg>" instead of "/items/{id}""#));
    /// let glued = server.route("/api/items", |id: u32| format!("Item {id}")).unwrap_err();
    /// assert!(matches!(glued, RouteError::SurplusArguments { .. }));
    /// # Ok::<(), RouteError>(())
    /// ```
    ///
    /// # Errors
    /// See [`RouteError`]: empty method set, bad pattern or placeholder, more `<arg>` than path
    /// arguments, surplus arguments that would be glued, or an argument type without a
    /// converter.
    pub fn route<H, M>(&mut self, pattern: &str, handler: H) -> Result<RuleHandle<'_>, RouteError>
    where
        H: Handler<M>,
        M: 'static,
    {
        self.router.add(pattern, Methods::ANY_KNOWN, handler)
    }

    /// Registers `handler` for `pattern` and the given methods (`Method::Get`,
    /// `Method::Get | Method::Post`, or a [`Methods`] set).
    ///
    /// # Errors
    /// As [`route`](Self::route).
    pub fn route_with_methods<H, M>(
        &mut self,
        pattern: &str,
        methods: impl Into<Methods>,
        handler: H,
    ) -> Result<RuleHandle<'_>, RouteError>
    where
        H: Handler<M>,
        M: 'static,
    {
        self.router.add(pattern, methods, handler)
    }

    /// The router (Qt's `router()`).
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The router, mutably.
    pub fn router_mut(&mut self) -> &mut Router {
        &mut self.router
    }

    /// The converter registry.
    pub fn converters(&self) -> &ConverterRegistry {
        self.router.converters()
    }

    /// The converter registry, to add, replace, remove or clear converters before routes
    /// that use them are registered.
    pub fn converters_mut(&mut self) -> &mut ConverterRegistry {
        self.router.converters_mut()
    }

    /// Answers requests no rule takes (Qt's `setMissingHandler`). The handler writes through
    /// the responder; after-request handlers do **not** run on what it writes (as in Qt).
    pub fn set_missing_handler<F>(&mut self, handler: F)
    where
        F: Fn(&Request, Responder) + Send + Sync + 'static,
    {
        self.missing = Some(Box::new(handler));
    }

    /// Restores the default missing handler: 404 with an empty body
    /// (`content-type: application/x-empty`).
    pub fn clear_missing_handler(&mut self) {
        self.missing = None;
    }

    /// Adds a handler that may change every *returned* response before it is sent (Qt's
    /// `addAfterRequestHandler`). They run in registration order, on responses returned by
    /// handlers (at once or from a future), on the default 404 and on the opt-in 405; not on
    /// what handlers write through a [`Responder`], nor on a custom missing handler's answer.
    pub fn add_after_request_handler<F>(&mut self, handler: F)
    where
        F: Fn(&Request, &mut Response) + Send + Sync + 'static,
    {
        self.after.push(Box::new(handler));
    }

    /// Answers every typed input that does not read ([`input`](crate::input)), instead of the
    /// rejection's own answer (its status and message as `text/plain`). A handler that takes
    /// `Result<Json<T>, InputRejection>` answers its own. After-request handlers run on what
    /// it returns.
    ///
    /// ```
    /// use postern_core::{Request, Response};
    /// use postern_router::HttpServer;
    /// use postern_router::input::InputRejection;
    ///
    /// let mut server = HttpServer::new();
    /// server.set_rejection_handler(|_request: &Request, rejection: InputRejection| {
    ///     let body = serde_json::json!({ "error": rejection.message(), "field": rejection.field() });
    ///     Response::json(&body).with_status(rejection.status())
    /// });
    /// ```
    pub fn set_rejection_handler<F>(&mut self, handler: F)
    where
        F: Fn(&Request, InputRejection) -> Response + Send + Sync + 'static,
    {
        self.rejection = Some(Box::new(handler));
    }

    /// Whether a HEAD request that no rule lists is answered by the first GET rule (the
    /// body is dropped on the wire, the headers kept). Default `true`; Qt: `false`.
    pub fn set_head_as_get(&mut self, enabled: bool) {
        self.head_as_get = enabled;
    }

    /// Whether a path that some rule matches, but with other methods, gets
    /// **405 Method Not Allowed** with an `Allow` header instead of the missing handler.
    /// Default `false` (Qt sends 404).
    pub fn set_method_not_allowed(&mut self, enabled: bool) {
        self.method_not_allowed = enabled;
    }

    /// Builder form of [`set_method_not_allowed`](Self::set_method_not_allowed).
    pub fn with_method_not_allowed(mut self, enabled: bool) -> Self {
        self.method_not_allowed = enabled;
        self
    }

    /// Builder form of [`set_head_as_get`](Self::set_head_as_get).
    pub fn with_head_as_get(mut self, enabled: bool) -> Self {
        self.head_as_get = enabled;
        self
    }

    fn send(&self, request: &Request, mut response: Response, responder: Responder) {
        for handler in &self.after {
            handler(request, &mut response);
        }
        if request.method() == Method::Head {
            strip_body(&mut response);
        }
        responder.send(response);
    }

    fn method_not_allowed_response(&self, request: &Request, path: &str) -> Option<Response> {
        let mut allowed = self.router.allowed_methods(request, path);
        if allowed.is_empty() {
            return None;
        }
        if self.head_as_get && allowed.contains(Method::Get) {
            allowed |= Method::Head;
        }
        // "GET, PUT, …, TRACE" is 60 bytes with every known method: the text is built on the
        // stack, and the header value's copy is the only allocation.
        let mut list = InlineVec::<u8, 64>::new();
        for (index, method) in allowed.iter().enumerate() {
            if index > 0 {
                list.extend_from_slice(b", ");
            }
            list.extend_from_slice(method.as_str().as_bytes());
        }
        let value = HeaderValue::from_bytes(&list).ok()?;
        tracing::debug!(
            target: TARGET,
            path,
            allow = value.to_str().unwrap_or_default(),
            "method not allowed"
        );
        Some(Response::new(StatusCode::METHOD_NOT_ALLOWED).with_header(ALLOW, value))
    }
}

/// A HEAD answer keeps the GET answer's headers, with its length, but sends no body. (HTTP/1
/// connections drop a HEAD body on their own; HTTP/2 ones would send it, which clients reject.)
fn strip_body(response: &mut Response) {
    let length = response.body().len();
    if length > 0 {
        response
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(length));
        response.set_body(Bytes::new());
    }
}

#[cfg(feature = "ws")]
#[cfg_attr(docsrs, doc(cfg(feature = "ws")))]
/// WebSocket upgrades (see [`postern_core::websocket`]): Qt's verifier chain
/// and pending connections, and routes with a handler per path.
///
/// ```no_run
/// use postern_core::websocket::{Message, UpgradeResponse};
/// use postern_router::HttpServer;
///
/// let server = HttpServer::new();
/// server.websocket_route("/echo", |mut connection| async move {
///     let socket = connection.socket();
///     while let Some(Ok(message)) = socket.recv().await {
///         if message.is_data() && socket.send(message).await.is_err() {
///             break;
///         }
///     }
/// });
/// server.add_websocket_upgrade_verifier(|request| match request.path() {
///     "/private" => UpgradeResponse::deny(),
///     _ => UpgradeResponse::pass_to_next(),
/// });
/// ```
impl HttpServer {
    /// Add a verifier for upgrade requests (Qt's `addWebSocketUpgradeVerifier`):
    /// verifiers and WebSocket routes answer in registration order, the first
    /// answer other than pass-to-next wins; with none, the request takes the
    /// normal path (rules, then the missing handler). Accepted sockets wait
    /// for [`next_pending_websocket_connection`](Self::next_pending_websocket_connection).
    pub fn add_websocket_upgrade_verifier<F>(&self, verifier: F)
    where
        F: Fn(&Request) -> postern_core::websocket::UpgradeResponse + Send + Sync + 'static,
    {
        self.websockets.add_websocket_upgrade_verifier(verifier);
    }

    /// Accept WebSocket upgrades for exactly `path` and run `handler` with
    /// each socket in a task of its own.
    pub fn websocket_route<F, Fut>(&self, path: impl Into<String>, handler: F)
    where
        F: Fn(postern_core::websocket::WebSocketConnection) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.websockets.route(path, handler);
    }

    /// Whether accepted sockets wait to be taken (Qt's `hasPendingWebSocketConnections`).
    pub fn has_pending_websocket_connections(&self) -> bool {
        self.websockets.has_pending_websocket_connections()
    }

    /// The oldest accepted socket waiting to be taken (Qt's
    /// `nextPendingWebSocketConnection`), `None` when none waits.
    pub fn next_pending_websocket_connection(
        &self,
    ) -> Option<postern_core::websocket::WebSocketConnection> {
        self.websockets.next_pending_websocket_connection()
    }

    /// The server's WebSocket hub: keep a clone to take accepted sockets
    /// (as a `Stream`, or by awaiting the next) after the server is served.
    pub fn websocket_hub(&self) -> &postern_core::websocket::WebSocketUpgrades {
        &self.websockets
    }

    /// The limits of sockets accepted from now on (default:
    /// [`WebSocketConfig::default`](postern_core::websocket::WebSocketConfig)).
    pub fn set_websocket_config(&self, config: postern_core::websocket::WebSocketConfig) {
        self.websockets.set_config(config);
    }
}

impl AbstractHttpServer for HttpServer {
    #[cfg(feature = "ws")]
    fn websocket_upgrades(&self) -> Option<&postern_core::websocket::WebSocketUpgrades> {
        Some(&self.websockets)
    }

    /// Buffers the body only for a rule whose handler takes the request (as
    /// a stream for a rule marked [`stream_body`](crate::RuleHandle::stream_body)).
    /// For a handler without a `Request` argument it is read and dropped
    /// before the handler runs ([`BodyPolicy::Discard`]), so a malformed one
    /// still gets its error; a request that gets the missing handler or a 405
    /// has it left unread ([`BodyPolicy::Ignore`]). Rule conditions see the
    /// head only, and so does a custom missing handler.
    fn body_policy(&self, request: &Request) -> BodyPolicy {
        let path = request.decoded_path();
        self.router.body_policy(request, &path, self.head_as_get)
    }

    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        let mut slot = Some(responder);
        let dispatch = {
            let path = request.decoded_path();
            let dispatch = self
                .router
                .dispatch(request, &path, &mut slot, self.head_as_get);
            if matches!(dispatch, Dispatch::NoMatch)
                && self.method_not_allowed
                && let Some(response) = self.method_not_allowed_response(request, &path)
                && let Some(responder) = slot.take()
            {
                self.send(request, response, responder);
                return Handled::Yes;
            }
            dispatch
        };
        let response = match dispatch {
            Dispatch::NoMatch => {
                return match slot {
                    Some(responder) => Handled::No(responder),
                    None => Handled::Yes,
                };
            }
            Dispatch::Ran(Reply::Ready(response)) => response,
            Dispatch::Ran(Reply::Pending(future)) => future.await,
            Dispatch::Ran(Reply::Rejected(rejection)) => {
                tracing::debug!(
                    target: TARGET,
                    path = request.path(),
                    status = rejection.status().as_u16(),
                    reason = rejection.message(),
                    "typed input rejected"
                );
                Some(match &self.rejection {
                    Some(handler) => handler(request, rejection),
                    None => rejection.into_response(),
                })
            }
        };
        if let (Some(response), Some(responder)) = (response, slot) {
            self.send(request, response, responder);
        }
        Handled::Yes
    }

    async fn missing_handler(&self, request: &Request, responder: Responder) {
        match &self.missing {
            Some(handler) => handler(request, responder),
            None => {
                tracing::debug!(target: TARGET, path = request.path(), "missing handler");
                self.send(request, Response::new(StatusCode::NOT_FOUND), responder);
            }
        }
    }
}
