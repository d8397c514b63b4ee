//! [`AbstractHttpServer`]: the trait a custom server implements (Qt's
//! `QAbstractHttpServer`).

use std::future::Future;

use http::StatusCode;

use crate::{BodyPolicy, Request, Responder};

/// Whether [`AbstractHttpServer::handle_request`] answered the request.
#[derive(Debug)]
pub enum Handled {
    /// The request was answered (or will be, through the moved responder).
    Yes,
    /// Not handled: the responder is given back and
    /// [`AbstractHttpServer::missing_handler`] runs with it.
    No(Responder),
}

/// A server that answers requests, implemented by hand or by
/// `postern_router::HttpServer`.
///
/// Serve one with [`HttpService`](crate::HttpService) on a
/// [`Server`](crate::Server):
///
/// ```
/// use http::StatusCode;
/// use postern_core::{AbstractHttpServer, Handled, Request, Responder};
///
/// struct Hello;
///
/// impl AbstractHttpServer for Hello {
///     async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
///         if request.path() != "/hello" {
///             return Handled::No(responder);
///         }
///         responder.write_with_mime("hi", "text/plain", StatusCode::OK);
///         Handled::Yes
///     }
/// }
/// ```
pub trait AbstractHttpServer: Send + Sync + 'static {
    /// Answer `request` through `responder`, or give the responder back with
    /// [`Handled::No`]. The responder may be moved into a spawned task.
    fn handle_request(
        &self,
        request: &Request,
        responder: Responder,
    ) -> impl Future<Output = Handled> + Send;

    /// How to read the body of `request` (which has only its head: its
    /// [`body`](Request::body) is still empty) before
    /// [`handle_request`](Self::handle_request) runs. Asked only for requests
    /// that have a body. Default: [`BodyPolicy::Buffer`], read it whole, as
    /// Qt does. A server that answers some requests without their body
    /// (unknown paths, refusals) or streams large uploads says so here, so
    /// that no client can make it hold a body it does not want.
    fn body_policy(&self, request: &Request) -> BodyPolicy {
        let _ = request;
        BodyPolicy::Buffer
    }

    /// The server's WebSocket hub, if it takes WebSocket upgrades. Default:
    /// none, so upgrade requests take the normal request path. Return the
    /// same hub every time (keep it in a field); its verifiers decide on
    /// each upgrade request, see [`crate::websocket`].
    #[cfg(feature = "ws")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ws")))]
    fn websocket_upgrades(&self) -> Option<&crate::websocket::WebSocketUpgrades> {
        None
    }

    /// Answer a request nobody handled. Default: 404 with an empty body
    /// (`content-type: application/x-empty`, `content-length: 0`).
    fn missing_handler(
        &self,
        request: &Request,
        responder: Responder,
    ) -> impl Future<Output = ()> + Send {
        tracing::debug!(target: "postern::server", path = request.path(), "missing handler");
        responder.write_status(StatusCode::NOT_FOUND);
        std::future::ready(())
    }
}
