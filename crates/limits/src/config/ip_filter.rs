use std::net::IpAddr;

use ipnet::IpNet;

use super::ConfigError;

/// IP allow and deny lists of subnets (Qt's whitelist and blacklist), answered
/// with 403 Forbidden.
///
/// A non-empty `allow` list admits only its subnets and the `deny` list is then
/// ignored; otherwise a client inside a `deny` subnet is refused. IPv4-mapped
/// IPv6 clients (`::ffff:a.b.c.d`) are matched as IPv4. Default: both empty
/// (everyone admitted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IpFilter {
    /// Subnets admitted; when non-empty, everything else is refused.
    pub allow: Vec<IpNet>,
    /// Subnets refused; used only when `allow` is empty.
    pub deny: Vec<IpNet>,
}

impl IpFilter {
    /// Admit only these subnets.
    pub fn with_allow(mut self, subnets: impl IntoIterator<Item = IpNet>) -> Self {
        self.allow = subnets.into_iter().collect();
        self
    }

    /// Refuse these subnets (ignored while `allow` is non-empty).
    pub fn with_deny(mut self, subnets: impl IntoIterator<Item = IpNet>) -> Self {
        self.deny = subnets.into_iter().collect();
        self
    }

    /// Whether the filter refuses anyone.
    pub fn is_enabled(&self) -> bool {
        !self.allow.is_empty() || !self.deny.is_empty()
    }

    /// Whether `ip` is admitted, with Qt's precedence.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        if !self.allow.is_empty() {
            return self.allow.iter().any(|net| net.contains(&ip));
        }
        !self.deny.iter().any(|net| net.contains(&ip))
    }
}

/// Parse `"192.168.1.0/24"`, `"2001:db8::/32"` or a single address (`/32` or `/128`).
pub fn parse_subnet(input: &str) -> Result<IpNet, ConfigError> {
    let trimmed = input.trim();
    if let Ok(net) = trimmed.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    trimmed
        .parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| ConfigError::InvalidSubnet {
            input: input.to_owned(),
        })
}
