use ipnet::IpNet;

/// How the client's IP address is found, shared by the rate limit, the per-host
/// connection limit and the IP allow/deny lists.
///
/// By default (`trusted_proxies` empty) only the connection's peer address is
/// used, and `Forwarded` / `X-Forwarded-For` headers are ignored. When the peer
/// is inside one of `trusted_proxies`, those headers are read right to left,
/// skipping trusted hops; the first untrusted address is the client. A forged
/// left-most value never wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientIpConfig {
    /// Subnets of reverse proxies whose forwarding headers are believed.
    /// Default: empty (headers are never believed).
    pub trusted_proxies: Vec<IpNet>,
}

impl ClientIpConfig {
    /// Trust forwarding headers from peers inside these subnets.
    pub fn with_trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
        self
    }
}
