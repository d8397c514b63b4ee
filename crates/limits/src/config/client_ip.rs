use ipnet::IpNet;

/// How the client's IP address is found, shared by the rate limit and the IP
/// allow/deny lists. Not by the connection caps: they count the connection's
/// peer address at accept time, before any forwarding header exists (see
/// [`ConnectionLimits::max_per_host`](super::ConnectionLimits::max_per_host)).
///
/// By default (`trusted_proxies` empty) only the connection's peer address is
/// used, and `Forwarded` / `X-Forwarded-For` headers are ignored. When the peer
/// is inside one of `trusted_proxies`, the header chosen by `header` is read
/// right to left, skipping trusted hops; the first untrusted address is the
/// client. A forged left-most value never wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientIpConfig {
    /// Subnets of reverse proxies whose forwarding headers are believed.
    /// Default: empty (headers are never believed).
    pub trusted_proxies: Vec<IpNet>,
    /// Which forwarding header the trusted proxies write. Default:
    /// [`ForwardedHeader::XForwardedFor`].
    pub header: ForwardedHeader,
}

/// The forwarding header read from trusted proxies.
///
/// Only one is read: a proxy that appends to one header passes the other
/// through untouched, so the other is entirely client-written and must not be
/// believed. Pick the one your proxy writes (nginx's
/// `$proxy_add_x_forwarded_for`, HAProxy's `option forwardfor` and most cloud
/// load balancers write `X-Forwarded-For`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`. The default.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"`; only the
    /// `for` parameter is used.
    Forwarded,
}

impl ClientIpConfig {
    /// Trust forwarding headers from peers inside these subnets.
    pub fn with_trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// Read this forwarding header from trusted proxies.
    pub const fn with_header(mut self, header: ForwardedHeader) -> Self {
        self.header = header;
        self
    }
}
