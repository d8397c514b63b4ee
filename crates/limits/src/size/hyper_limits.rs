//! hyper's own buffer and header limits derived from [`SizeLimits`], so memory
//! is bounded before a request reaches the layer, yet hyper never refuses a
//! request that the layer would admit (a value equal to a limit passes).

use crate::config::SizeLimits;

/// hyper's smallest allowed `http1::Builder::max_buf_size` (it panics below).
const HYPER_MIN_BUF_SIZE: usize = 8192;

/// hyper's default `max_headers`; up to it, header slots live on the stack.
const HYPER_DEFAULT_MAX_HEADERS: usize = 100;

/// Header fields hyper accepts when [`SizeLimits::max_header_fields`] is `None`.
const UNLIMITED_HEADER_FIELDS: usize = 1024;

/// Header bytes assumed when [`SizeLimits::max_total_header`] is `None`
/// (hyper's default buffer of about 400 KiB).
const UNLIMITED_HEADER_BYTES: usize = 8192 + 4096 * 100;

/// The longest URL hyper accepts (it answers 414 itself above 65,534 bytes).
const HYPER_MAX_URL: usize = 65_536;

/// Request line beyond the target (method, spaces, `HTTP/1.1`, CRLFs) and the
/// empty line closing the head, with room to spare.
const HEAD_SLACK: usize = 1024;

fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

fn url_bytes(limits: &SizeLimits) -> usize {
    limits
        .max_url
        .map_or(HYPER_MAX_URL, to_usize)
        .min(HYPER_MAX_URL)
}

fn header_bytes(limits: &SizeLimits) -> usize {
    limits
        .max_total_header
        .map_or(UNLIMITED_HEADER_BYTES, to_usize)
}

/// For `hyper::server::conn::http1::Builder::max_buf_size` (and hyper-util's
/// `auto::Builder::http1().max_buf_size`): room for the longest URL and the
/// most header bytes allowed, plus 1 KiB for the request line; at least 8192.
///
/// Qt's defaults give 132 KiB, [`SizeLimits::strict`] 41 KiB,
/// [`SizeLimits::disabled`] 465 KiB.
fn hyper_max_buf_size(limits: &SizeLimits) -> usize {
    url_bytes(limits)
        .saturating_add(header_bytes(limits))
        .saturating_add(HEAD_SLACK)
        .max(HYPER_MIN_BUF_SIZE)
}

/// For `http1::Builder::max_headers`: the field-count limit, but never below
/// hyper's default 100 (up to 100 hyper keeps header slots on the stack; above,
/// it allocates them per request). `None` gives 1024.
fn hyper_max_headers(limits: &SizeLimits) -> usize {
    limits
        .max_header_fields
        .map_or(UNLIMITED_HEADER_FIELDS, to_usize)
        .max(HYPER_DEFAULT_MAX_HEADERS)
}

/// For `http2::Builder::max_header_list_size` (SETTINGS_MAX_HEADER_LIST_SIZE):
/// HTTP/2 counts 32 bytes of overhead per field (RFC 9113 §6.5.2) where the
/// layer counts 4, and pseudo-headers (`:path` holds the URL) too, so this is
/// the header bytes + 28 per field + the URL + 1 KiB; saturates at `u32::MAX`.
///
/// Qt's defaults give about 135 KiB (h2's own default is 16 KiB).
fn h2_max_header_list_size(limits: &SizeLimits) -> u32 {
    let fields = limits
        .max_header_fields
        .map_or(UNLIMITED_HEADER_FIELDS, to_usize);
    let size = header_bytes(limits)
        .saturating_add(fields.saturating_mul(28))
        .saturating_add(url_bytes(limits))
        .saturating_add(HEAD_SLACK);
    u32::try_from(size).unwrap_or(u32::MAX)
}

/// hyper's own buffer and header bounds derived from [`SizeLimits`], for a
/// server built on hyper that puts the size layer in front: memory is
/// bounded before a request reaches the layer, yet hyper never refuses a
/// request the layer would admit.
///
/// ```
/// use postern_limits::config::SizeLimits;
/// use postern_limits::size::HyperBounds;
///
/// let bounds = HyperBounds::new(&SizeLimits::default());
/// let mut http1 = hyper::server::conn::http1::Builder::new();
/// http1.max_buf_size(bounds.max_buf_size).max_headers(bounds.max_headers);
/// assert_eq!(bounds.max_buf_size, 65_536 + 65_536 + 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HyperBounds {
    /// For `http1::Builder::max_buf_size` (and `max_header_size`, which
    /// bounds the same head): room for the longest URL and the most header
    /// bytes allowed, plus 1 KiB for the request line; at least 8192 (hyper
    /// panics below). Qt's defaults give 132 KiB, [`SizeLimits::strict`]
    /// 41 KiB, [`SizeLimits::disabled`] 465 KiB.
    pub max_buf_size: usize,
    /// For `http1::Builder::max_headers`: the field-count limit, never below
    /// hyper's default 100 (up to 100 hyper keeps header slots on the stack;
    /// above, it allocates them per request); 1024 when unlimited.
    pub max_headers: usize,
    /// For `http2::Builder::max_header_list_size`
    /// (SETTINGS_MAX_HEADER_LIST_SIZE): HTTP/2 counts 32 bytes per field
    /// (RFC 9113 §6.5.2) and the pseudo-headers, so this is the header bytes,
    /// 28 more per field, the URL and 1 KiB; at most `u32::MAX`. Qt's
    /// defaults give about 135 KiB (h2's own default is 16 KiB).
    pub h2_max_header_list_size: u32,
}

impl HyperBounds {
    /// The bounds for `limits`.
    pub fn new(limits: &SizeLimits) -> Self {
        HyperBounds {
            max_buf_size: hyper_max_buf_size(limits),
            max_headers: hyper_max_headers(limits),
            h2_max_header_list_size: h2_max_header_list_size(limits),
        }
    }

    /// Whether hyper needs its header-count bound set: up to its default 100
    /// fields it parses on the stack, and setting any value makes it
    /// allocate per request.
    pub fn needs_max_headers(&self) -> bool {
        self.max_headers > HYPER_DEFAULT_MAX_HEADERS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_numbers() {
        let qt = SizeLimits::default();
        assert_eq!(hyper_max_buf_size(&qt), 65_536 + 65_536 + 1024);
        assert_eq!(hyper_max_headers(&qt), 128);
        assert_eq!(
            h2_max_header_list_size(&qt),
            65_536 + 128 * 28 + 65_536 + 1024
        );

        let strict = SizeLimits::strict();
        assert_eq!(hyper_max_buf_size(&strict), 8192 + 32_768 + 1024);
        assert_eq!(hyper_max_headers(&strict), 100);

        let off = SizeLimits::disabled();
        assert_eq!(
            hyper_max_buf_size(&off),
            65_536 + UNLIMITED_HEADER_BYTES + 1024
        );
        assert_eq!(hyper_max_headers(&off), 1024);

        let tiny = SizeLimits::disabled()
            .with_max_url(Some(10))
            .with_max_total_header(Some(10))
            .with_max_header_fields(Some(3));
        assert_eq!(hyper_max_buf_size(&tiny), HYPER_MIN_BUF_SIZE);
        assert_eq!(hyper_max_headers(&tiny), 100);

        let huge = SizeLimits::disabled().with_max_total_header(Some(u64::MAX));
        assert_eq!(hyper_max_buf_size(&huge), usize::MAX);
        assert_eq!(h2_max_header_list_size(&huge), u32::MAX);
    }
}
