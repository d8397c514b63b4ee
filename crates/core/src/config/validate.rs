//! [`Configuration::validate`]: the settings a server would reject, panic on deep in hyper or
//! h2, or accept and then never serve a request with.
//!
//! The size floors are those of the smallest request every server must take: an HTTP/1.1
//! `GET /` with its `Host` field (RFC 9112 §3.2 requires it, and Postern answers 400 without
//! it), whose value may be empty. Limits below them refuse every such request, so they are
//! mistakes, not strict settings. A body limit of 0 is not one: requests without a body
//! (`GET`, `Content-Length: 0`) pass it, so it means "no request body allowed".

use ipnet::IpNet;

use super::{ConnectionLimits, Http2Settings, IpFilter, SizeLimits, Timeouts};
use crate::Configuration;
use crate::Error;

/// The shortest request target: `/` (or `*`, for `OPTIONS *`).
const MIN_URL: u64 = 1;

/// The field every HTTP/1.1 request carries.
const HOST: &str = "host";

/// `Host` with an empty value as [`SizeLimits::max_header_field`] counts it: name, 1, value.
const MIN_HEADER_FIELD: u64 = HOST.len() as u64 + 1;

/// An HTTP/1.1 head holding only `Host` with an empty value, as
/// [`SizeLimits::max_total_header`] counts it: name, value, 4, and 2 for the empty line
/// ending the head.
const MIN_TOTAL_HEADER: u64 = HOST.len() as u64 + 4 + 2;

/// The largest flow-control window (RFC 9113 §6.9.1).
const MAX_WINDOW: u32 = (1 << 31) - 1;

impl Configuration {
    /// Check every value a server would otherwise reject or panic on deep in hyper or h2,
    /// and every one that would leave it unable to serve any request (an HTTP/2 stream limit
    /// of 0, a URL limit of 0, a header limit too small for a `Host` field, a deny list
    /// refusing everyone, …); the error says which field to fix and how.
    ///
    /// `limits.sizes.max_body = Some(0)` is accepted: it refuses request bodies but not
    /// requests (a `GET` has none).
    ///
    /// # Errors
    /// A [configuration error](Error::is_config) naming the first field at fault.
    pub fn validate(&self) -> Result<(), Error> {
        self.limits
            .validate()
            .map_err(|e| Error::config("invalid limits", Some(Box::new(e))))?;
        check_sizes(&self.limits.sizes)?;
        check_connections(&self.limits.connections)?;
        check_ip_filter(&self.limits.ip_filter)?;
        check_http2(&self.http2)?;
        check_timeouts(&self.timeouts)?;
        at_most_max("buffered_body_wait", self.buffered_body_wait)
    }
}

fn invalid(message: String) -> Result<(), Error> {
    Err(Error::config(message, None))
}

/// Refuse a duration over [`Timeouts::MAX`]: tokio panics on deadlines it
/// cannot represent.
fn at_most_max(name: &str, value: std::time::Duration) -> Result<(), Error> {
    if value > Timeouts::MAX {
        return invalid(format!("{name} is {value:?}: at most 7 days"));
    }
    Ok(())
}

fn check_sizes(sizes: &SizeLimits) -> Result<(), Error> {
    if let Some(max) = sizes.max_url
        && max < MIN_URL
    {
        return invalid(format!(
            "limits.sizes.max_url is {max}: every request target is at least {MIN_URL} byte (`/`), so every request would get 414; set at least {MIN_URL}, or None for no limit"
        ));
    }
    if sizes.max_header_fields == Some(0) {
        return invalid(
            "limits.sizes.max_header_fields is 0: every HTTP/1.1 request carries a Host field, so every one would get 431; set at least 1, or None for no limit"
                .to_owned(),
        );
    }
    if let Some(max) = sizes.max_header_field
        && max < MIN_HEADER_FIELD
    {
        return invalid(format!(
            "limits.sizes.max_header_field is {max}: every HTTP/1.1 request carries a Host field counting at least {MIN_HEADER_FIELD} bytes (name + 1 + value), so every one would get 431; set at least {MIN_HEADER_FIELD}, or None for no limit"
        ));
    }
    if let Some(max) = sizes.max_total_header
        && max < MIN_TOTAL_HEADER
    {
        return invalid(format!(
            "limits.sizes.max_total_header is {max}: every HTTP/1.1 request carries a Host field counting at least {MIN_TOTAL_HEADER} bytes (name + value + 4, and 2 for the empty line ending the head), so every one would get 431; set at least {MIN_TOTAL_HEADER}, or None for no limit"
        ));
    }
    Ok(())
}

fn check_connections(connections: &ConnectionLimits) -> Result<(), Error> {
    let (total, per_host) = (connections.max_connections, connections.max_per_host);
    if total > 0 && per_host > total {
        return invalid(format!(
            "limits.connections.max_per_host {per_host} is above limits.connections.max_connections {total}, so it can never be reached; set it to at most {total}, or 0 to turn it off"
        ));
    }
    Ok(())
}

/// A deny list takes effect only while the allow list is empty; holding both `/0` subnets,
/// it then refuses every client, IPv4-mapped IPv6 ones included (they are matched as IPv4).
fn check_ip_filter(filter: &IpFilter) -> Result<(), Error> {
    let denies_all = |v4: bool| {
        filter
            .deny
            .iter()
            .any(|net| net.prefix_len() == 0 && matches!(net, IpNet::V4(_)) == v4)
    };
    if filter.allow.is_empty() && denies_all(true) && denies_all(false) {
        return invalid(
            "limits.ip_filter.deny holds 0.0.0.0/0 and ::/0 while limits.ip_filter.allow is empty, so every client would get 403; remove them from deny, or list the clients to admit in allow"
                .to_owned(),
        );
    }
    Ok(())
}

fn check_http2(h2: &Http2Settings) -> Result<(), Error> {
    if !(16_384..=16_777_215).contains(&h2.max_frame_size) {
        return invalid(format!(
            "http2.max_frame_size {} is outside 16384..=16777215 (RFC 9113)",
            h2.max_frame_size
        ));
    }
    if h2.max_concurrent_streams == 0 {
        return invalid(
            "http2.max_concurrent_streams is 0: clients could open no stream, so no HTTP/2 request would be served; set at least 1 (default 100)"
                .to_owned(),
        );
    }
    for (name, value, default, zero) in [
        (
            "initial_stream_window_size",
            h2.initial_stream_window_size,
            Http2Settings::default().initial_stream_window_size,
            // h2 only reopens a stream's window up to this size, so it never would.
            "clients could send no request body byte over HTTP/2",
        ),
        (
            "initial_connection_window_size",
            h2.initial_connection_window_size,
            Http2Settings::default().initial_connection_window_size,
            // The protocol's first 65,535 bytes are granted before any setting applies.
            "the server would never reopen a connection's window, so request bodies would stall once a connection has received 65,535 body bytes",
        ),
    ] {
        if value == 0 {
            return invalid(format!(
                "http2.{name} is 0: {zero}; set at least 1 (default {default})"
            ));
        }
        if value > MAX_WINDOW {
            return invalid(format!(
                "http2.{name} {value} is above {MAX_WINDOW} (RFC 9113 §6.9.1)"
            ));
        }
    }
    if h2.max_send_buf_size == 0 {
        return invalid(format!(
            "http2.max_send_buf_size is 0: h2 would never take a response body byte to send, so every HTTP/2 response with a body would hang; set at least 1 (default {})",
            Http2Settings::default().max_send_buf_size
        ));
    }
    if u32::try_from(h2.max_send_buf_size).is_err() {
        return invalid(format!(
            "http2.max_send_buf_size {} is above 4294967295",
            h2.max_send_buf_size
        ));
    }
    Ok(())
}

fn check_timeouts(t: &Timeouts) -> Result<(), Error> {
    for (name, value) in [
        ("keep_alive", t.keep_alive),
        ("first_byte", t.first_byte),
        ("request_head", t.request_head),
        ("tls_handshake", t.tls_handshake),
        ("body_idle", t.body_idle),
        ("write_stall", t.write_stall),
    ] {
        if value.is_zero() {
            return invalid(format!(
                "timeouts.{name} is zero: give it a positive duration"
            ));
        }
        at_most_max(&format!("timeouts.{name}"), value)?;
    }
    for (name, rate) in [
        ("min_request_body_rate", t.min_request_body_rate),
        ("min_response_rate", t.min_response_rate),
    ] {
        let Some(rate) = rate else { continue };
        if rate.bytes_per_second == 0 {
            return invalid(format!(
                "timeouts.{name}.bytes_per_second is zero: give a positive rate, or None to turn the check off"
            ));
        }
        at_most_max(&format!("timeouts.{name}.grace"), rate.grace)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use http::{Request, Response, StatusCode};
    use http_body_util::Empty;
    use postern_limits::config::{Limits, parse_subnet};
    use postern_limits::size::SizeLimitLayer;
    use tower::{ServiceBuilder, ServiceExt, service_fn};

    use super::*;
    use crate::config::MinDataRate;

    type Change = fn(&mut Configuration);

    fn net(text: &str) -> IpNet {
        parse_subnet(text).unwrap()
    }

    /// Each refused setting, changed alone from the defaults, and the whole message.
    #[test]
    fn refused_settings() {
        let table: &[(Change, &str)] = &[
            (
                |c| c.limits.rate.ipv6_prefix = 129,
                "invalid limits: invalid IPv6 client prefix /129: use a length from 0 to 128 (default 64)",
            ),
            (
                |c| c.limits.sizes.max_url = Some(0),
                "limits.sizes.max_url is 0: every request target is at least 1 byte (`/`), so every request would get 414; set at least 1, or None for no limit",
            ),
            (
                |c| c.limits.sizes.max_header_fields = Some(0),
                "limits.sizes.max_header_fields is 0: every HTTP/1.1 request carries a Host field, so every one would get 431; set at least 1, or None for no limit",
            ),
            (
                |c| c.limits.sizes.max_header_field = Some(4),
                "limits.sizes.max_header_field is 4: every HTTP/1.1 request carries a Host field counting at least 5 bytes (name + 1 + value), so every one would get 431; set at least 5, or None for no limit",
            ),
            (
                |c| c.limits.sizes.max_total_header = Some(0),
                "limits.sizes.max_total_header is 0: every HTTP/1.1 request carries a Host field counting at least 10 bytes (name + value + 4, and 2 for the empty line ending the head), so every one would get 431; set at least 10, or None for no limit",
            ),
            (
                |c| c.limits.sizes.max_total_header = Some(9),
                "limits.sizes.max_total_header is 9: every HTTP/1.1 request carries a Host field counting at least 10 bytes (name + value + 4, and 2 for the empty line ending the head), so every one would get 431; set at least 10, or None for no limit",
            ),
            (
                |c| {
                    c.limits.connections.max_connections = 10;
                    c.limits.connections.max_per_host = 11;
                },
                "limits.connections.max_per_host 11 is above limits.connections.max_connections 10, so it can never be reached; set it to at most 10, or 0 to turn it off",
            ),
            (
                |c| {
                    c.limits.ip_filter.deny = vec![net("10.0.0.0/8"), net("::/0"), net("0.0.0.0/0")]
                },
                "limits.ip_filter.deny holds 0.0.0.0/0 and ::/0 while limits.ip_filter.allow is empty, so every client would get 403; remove them from deny, or list the clients to admit in allow",
            ),
            (
                |c| c.http2.max_frame_size = 1024,
                "http2.max_frame_size 1024 is outside 16384..=16777215 (RFC 9113)",
            ),
            (
                |c| c.http2.max_concurrent_streams = 0,
                "http2.max_concurrent_streams is 0: clients could open no stream, so no HTTP/2 request would be served; set at least 1 (default 100)",
            ),
            (
                |c| c.http2.initial_stream_window_size = 0,
                "http2.initial_stream_window_size is 0: clients could send no request body byte over HTTP/2; set at least 1 (default 262144)",
            ),
            (
                |c| c.http2.initial_stream_window_size = 1 << 31,
                "http2.initial_stream_window_size 2147483648 is above 2147483647 (RFC 9113 §6.9.1)",
            ),
            (
                |c| c.http2.initial_connection_window_size = 0,
                "http2.initial_connection_window_size is 0: the server would never reopen a connection's window, so request bodies would stall once a connection has received 65,535 body bytes; set at least 1 (default 1048576)",
            ),
            (
                |c| c.http2.initial_connection_window_size = u32::MAX,
                "http2.initial_connection_window_size 4294967295 is above 2147483647 (RFC 9113 §6.9.1)",
            ),
            (
                |c| c.http2.max_send_buf_size = 0,
                "http2.max_send_buf_size is 0: h2 would never take a response body byte to send, so every HTTP/2 response with a body would hang; set at least 1 (default 262144)",
            ),
            (
                |c| c.http2.max_send_buf_size = usize::MAX,
                "http2.max_send_buf_size 18446744073709551615 is above 4294967295",
            ),
            (
                |c| c.timeouts.keep_alive = Duration::ZERO,
                "timeouts.keep_alive is zero: give it a positive duration",
            ),
            (
                |c| c.timeouts.request_head = Duration::MAX,
                "timeouts.request_head is 18446744073709551615.999999999s: at most 7 days",
            ),
            (
                |c| c.timeouts.write_stall = Timeouts::MAX + Duration::from_secs(1),
                "timeouts.write_stall is 604801s: at most 7 days",
            ),
            (
                |c| {
                    c.timeouts.min_request_body_rate =
                        Some(MinDataRate::new(0, Duration::from_secs(5)))
                },
                "timeouts.min_request_body_rate.bytes_per_second is zero: give a positive rate, or None to turn the check off",
            ),
            (
                |c| {
                    c.timeouts.min_response_rate =
                        Some(MinDataRate::new(1, Timeouts::MAX + Duration::from_secs(1)))
                },
                "timeouts.min_response_rate.grace is 604801s: at most 7 days",
            ),
            (
                |c| c.buffered_body_wait = Timeouts::MAX + Duration::from_secs(1),
                "buffered_body_wait is 604801s: at most 7 days",
            ),
        ];
        for (change, message) in table {
            let mut config = Configuration::default();
            change(&mut config);
            let error = config.validate().expect_err(message);
            assert!(error.is_config(), "{error}");
            assert_eq!(error.to_string(), *message);
        }
    }

    /// The presets, and each rule's boundary on its valid side.
    #[test]
    fn accepted_settings() {
        let table: &[(&str, Change)] = &[
            ("default", |_| {}),
            ("strict", |c| *c = Configuration::strict()),
            ("disabled", |c| *c = Configuration::disabled()),
            ("strict limits", |c| c.limits = Limits::strict()),
            ("size floors", |c| {
                c.limits.sizes = SizeLimits::disabled()
                    .with_max_url(Some(MIN_URL))
                    .with_max_header_fields(Some(1))
                    .with_max_header_field(Some(MIN_HEADER_FIELD))
                    .with_max_total_header(Some(MIN_TOTAL_HEADER));
            }),
            ("no request body", |c| c.limits.sizes.max_body = Some(0)),
            ("timeouts disabled", |c| c.timeouts = Timeouts::disabled()),
            ("slowest rates", |c| {
                c.timeouts.min_request_body_rate = Some(MinDataRate::new(1, Duration::ZERO));
                c.timeouts.min_response_rate = Some(MinDataRate::new(1, Timeouts::MAX));
            }),
            ("per-host cap equal to the total", |c| {
                c.limits.connections.max_connections = 10;
                c.limits.connections.max_per_host = 10;
            }),
            ("per-host cap without a total", |c| {
                c.limits.connections.max_per_host = 5;
            }),
            ("IPv4 denied, IPv6 admitted", |c| {
                c.limits.ip_filter.deny = vec![net("0.0.0.0/0")];
            }),
            ("deny all, ignored beside an allow list", |c| {
                c.limits.ip_filter.deny = vec![net("0.0.0.0/0"), net("::/0")];
                c.limits.ip_filter.allow = vec![net("10.0.0.0/8")];
            }),
            ("smallest HTTP/2 values", |c| {
                c.http2.max_concurrent_streams = 1;
                c.http2.initial_stream_window_size = 1;
                c.http2.initial_connection_window_size = 1;
                c.http2.max_send_buf_size = 1;
                c.http2.max_header_list_size = 0;
            }),
            ("largest HTTP/2 windows", |c| {
                c.http2.initial_stream_window_size = MAX_WINDOW;
                c.http2.initial_connection_window_size = MAX_WINDOW;
            }),
        ];
        for (what, change) in table {
            let mut config = Configuration::default();
            change(&mut config);
            if let Err(error) = config.validate() {
                panic!("{what}: {error}");
            }
        }
    }

    /// The size floors are exact: at each, the size layer admits a `GET /` whose only field is
    /// an empty `Host`; one below, it refuses that request.
    #[tokio::test]
    async fn size_floors_admit_the_smallest_request() {
        let floors = SizeLimits::disabled()
            .with_max_url(Some(MIN_URL))
            .with_max_header_fields(Some(1))
            .with_max_header_field(Some(MIN_HEADER_FIELD))
            .with_max_total_header(Some(MIN_TOTAL_HEADER));
        let table = [
            (floors, StatusCode::OK),
            (
                floors.with_max_url(Some(MIN_URL - 1)),
                StatusCode::URI_TOO_LONG,
            ),
            (
                floors.with_max_header_fields(Some(0)),
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ),
            (
                floors.with_max_header_field(Some(MIN_HEADER_FIELD - 1)),
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ),
            (
                floors.with_max_total_header(Some(MIN_TOTAL_HEADER - 1)),
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ),
        ];
        for (sizes, expected) in table {
            let service = ServiceBuilder::new()
                .layer(SizeLimitLayer::new(sizes))
                .service(service_fn(|_request| async {
                    Ok::<_, std::convert::Infallible>(Response::new(Empty::<Bytes>::new()))
                }));
            let request = Request::get("/")
                .header(HOST, "")
                .body(Empty::<Bytes>::new())
                .unwrap();
            let response = service.oneshot(request).await.unwrap();
            assert_eq!(response.status(), expected, "{sizes:?}");
        }
    }
}
