//! IP allow and deny lists of subnets (Qt's whitelist and blacklist), answered
//! with **403 Forbidden**, an empty body, `content-type: application/x-empty`
//! and `content-length: 0` (as Qt's responder sends it).
//!
//! Qt's precedence ([`IpFilter::allows`]): a non-empty allow list admits only
//! its subnets and the deny list is then ignored; otherwise a client inside a
//! deny subnet is refused. IPv4-mapped IPv6 clients are matched as IPv4. Unlike
//! Qt, the check applies to HTTP/2 and to WebSocket upgrades too: it runs for
//! every request that reaches the layer. The connection stays open after a 403.
//!
//! The client is found by a [`ClientIpResolver`](crate::client_ip::ClientIpResolver)
//! (default: the [`PeerAddr`](crate::client_ip::PeerAddr) or `SocketAddr` extension). With
//! no peer address the layer answers 500 and logs how to fix the setup. With
//! both lists empty (the default) the layer passes every request through
//! without looking at it.
//!
//! # Example
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use postern_limits::ip_filter::IpFilterLayer;
//! use postern_limits::client_ip::PeerAddr;
//! use postern_limits::config::{IpFilter, parse_subnet};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let filter = IpFilter::default().with_deny([parse_subnet("203.0.113.0/24").unwrap()]);
//! let app = ServiceBuilder::new()
//!     .layer(IpFilterLayer::new(filter))
//!     .service(service_fn(|_req: Request<()>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(String::from("hello")))
//!     }));
//!
//! let request = |peer: &str| {
//!     let mut req = Request::new(());
//!     req.extensions_mut().insert(PeerAddr(peer.parse().unwrap()));
//!     req
//! };
//!
//! let ok = app.clone().oneshot(request("198.51.100.1:4000")).await.unwrap();
//! assert_eq!(ok.status(), StatusCode::OK);
//!
//! let denied = app.clone().oneshot(request("203.0.113.9:4000")).await.unwrap();
//! assert_eq!(denied.status(), StatusCode::FORBIDDEN);
//! assert_eq!(denied.headers()["content-type"], "application/x-empty");
//! assert_eq!(denied.headers()["content-length"], "0");
//!
//! // IPv4-mapped IPv6 (a dual-stack listener) is matched as IPv4.
//! let mapped = app.oneshot(request("[::ffff:203.0.113.9]:4000")).await.unwrap();
//! assert_eq!(mapped.status(), StatusCode::FORBIDDEN);
//! # }
//! ```

mod layer;
mod service;

pub use layer::IpFilterLayer;
pub use service::IpFilterService;

use std::net::IpAddr;

use crate::config::IpFilter;
use crate::rejection::Rejection;

/// The filter's decision for a known client.
#[inline]
pub(crate) fn check(filter: &IpFilter, ip: IpAddr) -> Result<(), Rejection> {
    if filter.allows(ip) {
        Ok(())
    } else {
        tracing::debug!(target: "postern::limits", client = %ip, "refused by the IP filter (403)");
        Err(Rejection::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::{Request, Response, StatusCode};
    use tower::{Layer, ServiceExt, service_fn};

    use super::*;
    use crate::client_ip::{ClientIpResolver, PeerAddr};
    use crate::config::parse_subnet;

    async fn status(layer: &IpFilterLayer, peer: Option<&str>) -> StatusCode {
        let app = layer.layer(service_fn(|_req: Request<()>| async {
            Ok::<_, Infallible>(Response::new(()))
        }));
        let mut req = Request::new(());
        if let Some(peer) = peer {
            req.extensions_mut().insert(PeerAddr(peer.parse().unwrap()));
        }
        app.oneshot(req).await.unwrap().status()
    }

    fn nets(list: &[&str]) -> Vec<ipnet::IpNet> {
        list.iter().map(|s| parse_subnet(s).unwrap()).collect()
    }

    #[tokio::test]
    async fn qt_precedence() {
        let table: &[(&[&str], &[&str], &str, StatusCode)] = &[
            (&[], &[], "192.0.2.1:1", StatusCode::OK),
            (&[], &["192.0.2.0/24"], "192.0.2.1:1", StatusCode::FORBIDDEN),
            (&[], &["192.0.2.0/24"], "198.51.100.1:1", StatusCode::OK),
            (&["192.0.2.0/24"], &[], "192.0.2.1:1", StatusCode::OK),
            (
                &["192.0.2.0/24"],
                &[],
                "198.51.100.1:1",
                StatusCode::FORBIDDEN,
            ),
            // A non-empty allow list wins; the deny list is ignored.
            (
                &["192.0.2.0/24"],
                &["192.0.2.1/32"],
                "192.0.2.1:1",
                StatusCode::OK,
            ),
            (&["192.0.2.1"], &[], "[::ffff:192.0.2.1]:1", StatusCode::OK),
            (&["2001:db8::/32"], &[], "[2001:db8::1]:1", StatusCode::OK),
            (
                &["2001:db8::/32"],
                &[],
                "192.0.2.1:1",
                StatusCode::FORBIDDEN,
            ),
        ];
        for (allow, deny, peer, expected) in table {
            let filter = IpFilter::default()
                .with_allow(nets(allow))
                .with_deny(nets(deny));
            let layer = IpFilterLayer::new(filter);
            assert_eq!(
                status(&layer, Some(peer)).await,
                *expected,
                "allow {allow:?} deny {deny:?} peer {peer}"
            );
        }
    }

    #[tokio::test]
    async fn missing_peer() {
        let filter = IpFilter::default().with_deny(nets(&["192.0.2.0/24"]));
        let layer = IpFilterLayer::new(filter);
        assert_eq!(
            status(&layer, None).await,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        // Disabled: nothing to resolve, so no peer is needed.
        let layer = IpFilterLayer::new(IpFilter::default());
        assert_eq!(status(&layer, None).await, StatusCode::OK);
    }

    #[tokio::test]
    async fn trusted_proxy_resolver() {
        let config =
            crate::config::ClientIpConfig::default().with_trusted_proxies(nets(&["10.0.0.0/8"]));
        let filter = IpFilter::default().with_deny(nets(&["192.0.2.0/24"]));
        let layer = IpFilterLayer::new(filter).with_resolver(ClientIpResolver::new(&config));
        let app = layer.layer(service_fn(|_req: Request<()>| async {
            Ok::<_, Infallible>(Response::new(()))
        }));
        let mut req = Request::new(());
        req.extensions_mut()
            .insert(PeerAddr("10.0.0.1:1".parse().unwrap()));
        req.headers_mut().insert(
            "x-forwarded-for",
            "198.51.100.1, 192.0.2.7".parse().unwrap(),
        );
        let response = app.oneshot(req).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
}
