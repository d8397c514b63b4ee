/// Caps on open connections (Qt's `maximumConnections` and
/// `maximumConnectionsPerHost`). Connections are counted, not requests.
///
/// `0` means no limit, as in Qt. Default: both `0`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// Most connections open at once over all clients. Default `0` (off).
    pub max_connections: u32,
    /// Most connections open at once from one client IP. Default `0` (off).
    pub max_per_host: u32,
}

impl ConnectionLimits {
    /// No connection caps.
    pub const fn disabled() -> Self {
        ConnectionLimits {
            max_connections: 0,
            max_per_host: 0,
        }
    }

    /// Set the total cap (`0` = off).
    pub const fn with_max_connections(mut self, max: u32) -> Self {
        self.max_connections = max;
        self
    }

    /// Set the per-client-IP cap (`0` = off).
    pub const fn with_max_per_host(mut self, max: u32) -> Self {
        self.max_per_host = max;
        self
    }

    /// Whether either cap is on.
    pub const fn is_enabled(&self) -> bool {
        self.max_connections > 0 || self.max_per_host > 0
    }
}
