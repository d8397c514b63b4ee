//! What a PROXY header says, and turning its bytes into that with `ppp`.

use std::fmt;
use std::net::SocketAddr;

use ppp::PartialResult;
use ppp::v2;

/// The largest v2 address block plus TLVs accepted, in bytes: the 216-byte
/// Unix address block and 808 bytes of TLVs. The protocol allows 65,535;
/// load balancers send well under this (addresses, ALPN, authority, a unique
/// id of at most 128 bytes and the SSL facts), and a cap keeps a trusted but
/// broken peer from holding 64 KiB per connection.
pub(crate) const MAX_V2_PAYLOAD: usize = 1024;

/// The fixed part of a v2 header: the 12-byte signature, version and
/// command, family and protocol, and the 2-byte length.
const V2_FIXED: usize = 16;

/// The largest header accepted, v1 (107 bytes at most) or v2.
pub(crate) const MAX_HEADER: usize = V2_FIXED + MAX_V2_PAYLOAD;

/// Which version of the PROXY protocol a header used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyVersion {
    /// The text header: `PROXY TCP4 192.0.2.1 198.51.100.1 51000 443\r\n`.
    V1,
    /// The binary header, which may carry TLVs.
    V2,
}

/// The addresses a PROXY header gives for the client's own connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyAddresses {
    /// A TCP (or v2 stream/datagram) connection over IPv4 or IPv6.
    Inet {
        /// The client: this becomes the connection's remote address.
        source: SocketAddr,
        /// Where the client connected to (the proxy's public address).
        destination: SocketAddr,
    },
    /// A v2 header for a Unix socket connection: the paths' bytes up to
    /// their first NUL. The connection keeps its socket peer's address.
    Unix {
        /// The client's socket path.
        source: Vec<u8>,
        /// The path the client connected to.
        destination: Vec<u8>,
    },
    /// No address: v1 `UNKNOWN`, a v2 `UNSPEC` family, or a v2 `LOCAL`
    /// command (a health check from the proxy itself). The connection keeps
    /// its socket peer's address.
    Unknown,
}

/// The SSL facts of a v2 `PP2_TYPE_SSL` TLV: how the client reached the
/// proxy when the proxy terminated TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxySsl {
    /// The client flags (`PP2_CLIENT_SSL` 0x01, `PP2_CLIENT_CERT_CONN` 0x02,
    /// `PP2_CLIENT_CERT_SESS` 0x04).
    pub client: u8,
    /// Whether the client presented a certificate the proxy verified
    /// (the TLV's `verify` field was 0).
    pub verified: bool,
    /// The TLS version (`PP2_SUBTYPE_SSL_VERSION`), such as `"TLSv1.3"`.
    pub version: Option<String>,
    /// The client certificate's subject common name (`PP2_SUBTYPE_SSL_CN`).
    pub common_name: Option<String>,
    /// The cipher (`PP2_SUBTYPE_SSL_CIPHER`).
    pub cipher: Option<String>,
    /// The certificate's signature algorithm (`PP2_SUBTYPE_SSL_SIG_ALG`).
    pub signature_algorithm: Option<String>,
    /// The certificate's key algorithm (`PP2_SUBTYPE_SSL_KEY_ALG`).
    pub key_algorithm: Option<String>,
}

/// A PROXY protocol header, as a trusted proxy sent it in front of a
/// connection: [`ConnectionInfo::proxy`](crate::ConnectionInfo::proxy).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyHeader {
    /// v1 (text) or v2 (binary).
    pub version: ProxyVersion,
    /// Whether it was a v2 `LOCAL` command: the proxy's own connection (a
    /// health check), whose addresses are ignored.
    pub local: bool,
    /// The client's addresses.
    pub addresses: ProxyAddresses,
    /// The socket peer that sent the header: the proxy itself (`None` on a
    /// Unix socket).
    pub proxy_addr: Option<SocketAddr>,
    /// The ALPN protocol the client negotiated with the proxy
    /// (`PP2_TYPE_ALPN`).
    pub alpn: Option<Vec<u8>>,
    /// The host name the client asked the proxy for (`PP2_TYPE_AUTHORITY`,
    /// the TLS SNI).
    pub authority: Option<String>,
    /// The client's TLS facts (`PP2_TYPE_SSL`).
    pub ssl: Option<ProxySsl>,
    /// Every TLV as sent, type and value, in order (ALPN, authority and SSL
    /// included; a `PP2_TYPE_CRC32C` is not checked).
    pub tlvs: Vec<(u8, Vec<u8>)>,
}

impl ProxyHeader {
    /// The client address the header gives: the `Inet` source of a `PROXY`
    /// command; `None` for `LOCAL`, `UNKNOWN` and Unix addresses.
    pub fn source(&self) -> Option<SocketAddr> {
        match (&self.addresses, self.local) {
            (ProxyAddresses::Inet { source, .. }, false) => Some(*source),
            _ => None,
        }
    }
}

/// Why a PROXY header was refused (the connection is then closed).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyHeaderError {
    /// The peer closed the connection before the header was complete.
    Truncated,
    /// The bytes are not a PROXY header (or a malformed one).
    Malformed(String),
    /// Longer than the cap: a v1 line over 107 bytes, or a v2 address block
    /// and TLVs over 1024 bytes.
    TooLong,
    /// Not complete within the listener's header timeout.
    TimedOut,
    /// Reading failed.
    Io(std::io::ErrorKind),
}

impl fmt::Display for ProxyHeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyHeaderError::Truncated => f.write_str("the PROXY header ended early"),
            ProxyHeaderError::Malformed(why) => write!(f, "not a valid PROXY header: {why}"),
            ProxyHeaderError::TooLong => write!(
                f,
                "the PROXY header is longer than the cap (107 bytes for v1, {MAX_HEADER} for v2)"
            ),
            ProxyHeaderError::TimedOut => {
                f.write_str("the PROXY header was not complete within the header timeout")
            }
            ProxyHeaderError::Io(kind) => write!(f, "reading the PROXY header failed: {kind}"),
        }
    }
}

impl std::error::Error for ProxyHeaderError {}

/// What the bytes read so far amount to.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// A whole header, `len` bytes long; the bytes after it are the
    /// connection's own.
    Header(Box<ProxyHeader>, usize),
    /// More bytes could still make a header.
    Incomplete,
    /// They never will.
    Invalid(ProxyHeaderError),
}

/// Parse the start of a connection (`input` holds every byte read so far).
pub(crate) fn parse(input: &[u8], proxy_addr: Option<SocketAddr>) -> Parsed {
    // Look at the v2 length before `ppp` does, so that an oversize header is
    // refused at its 16th byte rather than read in full.
    if input.len() >= V2_FIXED && input.starts_with(v2::PROTOCOL_PREFIX) {
        let payload = usize::from(u16::from_be_bytes([input[14], input[15]]));
        if payload > MAX_V2_PAYLOAD {
            return Parsed::Invalid(ProxyHeaderError::TooLong);
        }
    }
    let v2_signature = v2::PROTOCOL_PREFIX;
    let is_v2 = input.len().min(v2_signature.len()) > 0
        && input[..input.len().min(v2_signature.len())]
            == v2_signature[..input.len().min(v2_signature.len())];
    if is_v2 {
        let result = v2::Header::try_from(input);
        if result.is_incomplete() {
            return Parsed::Incomplete;
        }
        return match result {
            Ok(header) => match from_v2(&header, proxy_addr) {
                Ok(parsed) => Parsed::Header(Box::new(parsed), header.len()),
                Err(error) => Parsed::Invalid(error),
            },
            Err(error) => Parsed::Invalid(ProxyHeaderError::Malformed(error.to_string())),
        };
    }
    parse_v1(input, proxy_addr)
}

/// The longest v1 line, CR LF included.
const V1_MAX: usize = 107;

/// A v1 line is parsed once its LF is in: `ppp` takes some prefixes of a
/// valid line (one ending in the space before a port) for invalid ones.
fn parse_v1(input: &[u8], proxy_addr: Option<SocketAddr>) -> Parsed {
    const START: &[u8] = b"PROXY ";
    let start = input.len().min(START.len());
    if input[..start] != START[..start] {
        return Parsed::Invalid(ProxyHeaderError::Malformed(
            "the connection does not start with a PROXY header".into(),
        ));
    }
    let window = &input[..input.len().min(V1_MAX)];
    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
        return if input.len() >= V1_MAX {
            Parsed::Invalid(ProxyHeaderError::TooLong)
        } else {
            Parsed::Incomplete
        };
    };
    let header = match ppp::v1::Header::try_from(&input[..=lf]) {
        Ok(header) => header,
        Err(error) => return Parsed::Invalid(ProxyHeaderError::Malformed(error.to_string())),
    };
    if header.header.len() != lf + 1 {
        return Parsed::Invalid(ProxyHeaderError::Malformed(
            "a lone CR in the PROXY line".into(),
        ));
    }
    let addresses = match header.addresses {
        ppp::v1::Addresses::Tcp4(a) => ProxyAddresses::Inet {
            source: SocketAddr::from((a.source_address, a.source_port)),
            destination: SocketAddr::from((a.destination_address, a.destination_port)),
        },
        ppp::v1::Addresses::Tcp6(a) => ProxyAddresses::Inet {
            source: SocketAddr::from((a.source_address, a.source_port)),
            destination: SocketAddr::from((a.destination_address, a.destination_port)),
        },
        ppp::v1::Addresses::Unknown => ProxyAddresses::Unknown,
    };
    let parsed = ProxyHeader {
        version: ProxyVersion::V1,
        local: false,
        addresses,
        proxy_addr,
        alpn: None,
        authority: None,
        ssl: None,
        tlvs: Vec::new(),
    };
    Parsed::Header(Box::new(parsed), lf + 1)
}

fn from_v2(
    header: &v2::Header<'_>,
    proxy_addr: Option<SocketAddr>,
) -> Result<ProxyHeader, ProxyHeaderError> {
    let local = header.command == v2::Command::Local;
    let addresses = match header.addresses {
        _ if local => ProxyAddresses::Unknown,
        v2::Addresses::IPv4(a) => ProxyAddresses::Inet {
            source: SocketAddr::from((a.source_address, a.source_port)),
            destination: SocketAddr::from((a.destination_address, a.destination_port)),
        },
        v2::Addresses::IPv6(a) => ProxyAddresses::Inet {
            source: SocketAddr::from((a.source_address, a.source_port)),
            destination: SocketAddr::from((a.destination_address, a.destination_port)),
        },
        v2::Addresses::Unix(a) => ProxyAddresses::Unix {
            source: until_nul(&a.source),
            destination: until_nul(&a.destination),
        },
        v2::Addresses::Unspecified => ProxyAddresses::Unknown,
    };
    let mut parsed = ProxyHeader {
        version: ProxyVersion::V2,
        local,
        addresses,
        proxy_addr,
        alpn: None,
        authority: None,
        ssl: None,
        tlvs: Vec::new(),
    };
    for tlv in header.tlvs() {
        let tlv = tlv.map_err(|e| ProxyHeaderError::Malformed(e.to_string()))?;
        let value = tlv.value.as_ref();
        match tlv.kind {
            kind if kind == v2::Type::ALPN as u8 => parsed.alpn = Some(value.to_vec()),
            kind if kind == v2::Type::Authority as u8 => {
                parsed.authority = Some(text(value, "authority")?);
            }
            kind if kind == v2::Type::SSL as u8 => parsed.ssl = Some(ssl(value)?),
            _ => {}
        }
        parsed.tlvs.push((tlv.kind, value.to_vec()));
    }
    Ok(parsed)
}

/// A `PP2_TYPE_SSL` value: client flags, a 32-bit verify result, sub-TLVs.
fn ssl(value: &[u8]) -> Result<ProxySsl, ProxyHeaderError> {
    let (Some(&client), Some(verify)) = (value.first(), value.get(1..5)) else {
        return Err(ProxyHeaderError::Malformed(
            "the SSL TLV is shorter than its 5 fixed bytes".into(),
        ));
    };
    let mut ssl = ProxySsl {
        client,
        verified: verify == [0, 0, 0, 0],
        ..ProxySsl::default()
    };
    for sub in v2::TypeLengthValues::from(&value[5..]) {
        let sub = sub.map_err(|e| ProxyHeaderError::Malformed(format!("in the SSL TLV: {e}")))?;
        let slot = match sub.kind {
            kind if kind == v2::Type::SSLVersion as u8 => &mut ssl.version,
            kind if kind == v2::Type::SSLCommonName as u8 => &mut ssl.common_name,
            kind if kind == v2::Type::SSLCipher as u8 => &mut ssl.cipher,
            kind if kind == v2::Type::SSLSignatureAlgorithm as u8 => &mut ssl.signature_algorithm,
            kind if kind == v2::Type::SSLKeyAlgorithm as u8 => &mut ssl.key_algorithm,
            _ => continue,
        };
        *slot = Some(text(&sub.value, "SSL sub-TLV")?);
    }
    Ok(ssl)
}

fn text(value: &[u8], what: &str) -> Result<String, ProxyHeaderError> {
    String::from_utf8(value.to_vec())
        .map_err(|_| ProxyHeaderError::Malformed(format!("the {what} TLV is not UTF-8")))
}

fn until_nul(path: &[u8]) -> Vec<u8> {
    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
    path[..end].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(command: u8, family: u8, payload: &[u8]) -> Vec<u8> {
        let mut bytes = v2::PROTOCOL_PREFIX.to_vec();
        bytes.push(0x20 | command);
        bytes.push(family);
        bytes.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        bytes.extend_from_slice(payload);
        bytes
    }

    fn header(input: &[u8]) -> (ProxyHeader, usize) {
        match parse(input, None) {
            Parsed::Header(parsed, len) => (*parsed, len),
            other => panic!("{input:?}: {other:?}"),
        }
    }

    #[test]
    fn v1_table() {
        let cases: &[(&[u8], Option<&str>, usize)] = &[
            (
                b"PROXY TCP4 192.0.2.1 198.51.100.2 5000 80\r\nGET",
                Some("192.0.2.1:5000"),
                43,
            ),
            (
                b"PROXY TCP6 2001:db8::1 2001:db8::2 5000 443\r\n",
                Some("[2001:db8::1]:5000"),
                45,
            ),
            (b"PROXY UNKNOWN\r\n", None, 15),
            (b"PROXY UNKNOWN 1.2.3.4 ignored\r\nrest", None, 31),
        ];
        for (input, source, len) in cases {
            let (parsed, used) = header(input);
            assert_eq!(parsed.version, ProxyVersion::V1);
            assert_eq!(parsed.source().map(|a| a.to_string()).as_deref(), *source);
            assert_eq!(used, *len, "{input:?}");
        }
    }

    #[test]
    fn incomplete_and_invalid_table() {
        let incomplete: &[&[u8]] = &[
            b"",
            b"P",
            b"PROXY",
            b"PROXY TCP",
            b"PROXY TCP4 192.0.2.1",
            b"PROXY TCP4 192.0.2.1 198.51.100.2 5000 80\r",
            b"\r\n\r\n\0\r\nQU",
            b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\xc0\x00",
        ];
        for input in incomplete {
            assert!(
                matches!(parse(input, None), Parsed::Incomplete),
                "{input:?}"
            );
        }
        let invalid: &[&[u8]] = &[
            b"GET / HTTP/1.1\r\n",
            b"PROXY TCP5 1 2 3 4\r\n",
            b"PROXY TCP4 192.0.2.1 198.51.100.2 5000 99999\r\n",
            b"PROXY TCP4 2001:db8::1 198.51.100.2 1 2\r\n",
            b"\x16\x03\x01\x02\x00",
            // v2 with version 3, then with command 2.
            b"\r\n\r\n\0\r\nQUIT\n\x31\x11\x00\x00",
            b"\r\n\r\n\0\r\nQUIT\n\x22\x11\x00\x00",
        ];
        for input in invalid {
            assert!(
                matches!(
                    parse(input, None),
                    Parsed::Invalid(ProxyHeaderError::Malformed(_))
                ),
                "{input:?}"
            );
        }
        // A v1 line with no LF within 107 bytes is too long; bytes that are
        // no PROXY header at all are malformed, however many.
        let long_line = [&b"PROXY TCP4 "[..], &[b'1'; 100]].concat();
        assert!(
            matches!(
                parse(&long_line, None),
                Parsed::Invalid(ProxyHeaderError::TooLong)
            ),
            "{long_line:?}"
        );
        assert!(matches!(
            parse(&[b'P'; 200], None),
            Parsed::Invalid(ProxyHeaderError::Malformed(_))
        ));
    }

    #[test]
    fn v2_addresses_and_tlvs() {
        let mut ipv4 = vec![192, 0, 2, 1, 198, 51, 100, 2, 0x13, 0x88, 0, 80];
        ipv4.extend_from_slice(&[0x01, 0, 2, b'h', b'2']);
        ipv4.extend_from_slice(&[0x02, 0, 11]);
        ipv4.extend_from_slice(b"example.com");
        let mut ssl = vec![0x01, 0, 0, 0, 0];
        ssl.extend_from_slice(&[0x21, 0, 7]);
        ssl.extend_from_slice(b"TLSv1.3");
        ssl.extend_from_slice(&[0x22, 0, 3]);
        ssl.extend_from_slice(b"bob");
        ipv4.extend_from_slice(&[0x20, 0, ssl.len() as u8]);
        ipv4.extend_from_slice(&ssl);
        let input = v2(1, 0x11, &ipv4);
        let (parsed, used) = header(&input);
        assert_eq!(used, input.len());
        assert_eq!(parsed.source(), Some("192.0.2.1:5000".parse().unwrap()));
        assert_eq!(parsed.alpn.as_deref(), Some(&b"h2"[..]));
        assert_eq!(parsed.authority.as_deref(), Some("example.com"));
        let ssl = parsed.ssl.expect("ssl");
        assert_eq!(ssl.client, 1);
        assert!(ssl.verified);
        assert_eq!(ssl.version.as_deref(), Some("TLSv1.3"));
        assert_eq!(ssl.common_name.as_deref(), Some("bob"));
        assert_eq!(parsed.tlvs.len(), 3);

        // LOCAL keeps no address even when one is sent.
        let (local, _) = header(&v2(0, 0x11, &[192, 0, 2, 1, 198, 51, 100, 2, 0, 1, 0, 2]));
        assert!(local.local);
        assert_eq!(local.source(), None);

        // Unix paths are cut at their NUL.
        let mut unix = vec![0u8; 216];
        unix[..4].copy_from_slice(b"/src");
        unix[108..112].copy_from_slice(b"/dst");
        let (parsed, _) = header(&v2(1, 0x31, &unix));
        assert_eq!(
            parsed.addresses,
            ProxyAddresses::Unix {
                source: b"/src".to_vec(),
                destination: b"/dst".to_vec()
            }
        );
        assert_eq!(parsed.source(), None);
    }

    #[test]
    fn v2_bad_tlvs_and_cap() {
        // A TLV claiming more bytes than there are.
        let payload = [192, 0, 2, 1, 198, 51, 100, 2, 0, 1, 0, 2, 0x01, 0, 9, b'h'];
        assert!(matches!(
            parse(&v2(1, 0x11, &payload), None),
            Parsed::Invalid(ProxyHeaderError::Malformed(_))
        ));
        // The cap, at the 16th byte.
        let mut at_cap = v2(1, 0x11, &[0; 12]);
        at_cap[14..16].copy_from_slice(&(MAX_V2_PAYLOAD as u16).to_be_bytes());
        assert!(matches!(parse(&at_cap, None), Parsed::Incomplete));
        at_cap[14..16].copy_from_slice(&(MAX_V2_PAYLOAD as u16 + 1).to_be_bytes());
        assert!(matches!(
            parse(&at_cap[..16], None),
            Parsed::Invalid(ProxyHeaderError::TooLong)
        ));
    }
}
