/// Request size limits (Qt's `maximumUrlSize`, `maximumTotalHeaderSize`,
/// `maximumHeaderFieldSize`, `maximumHeaderFieldCount`, `maximumBodySize`).
///
/// `None` means unlimited (Qt's negative values). A size equal to the limit
/// passes; only a larger one is refused. Defaults are Qt's: URL 64 KiB → 414,
/// total header bytes 64 KiB → 431, one header field (name + 1 + value) 48 KiB
/// → 431, 128 header fields → 431, body 32 MiB → 413.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SizeLimits {
    /// Longest request target as sent, in bytes: path and query, or the whole
    /// `http://host/path` of an HTTP/1 absolute-form target. Default
    /// 65,536 (Qt's). The `http` crate holds targets up to 65,534 bytes, so
    /// on a hyper server longer ones are refused before this layer runs,
    /// whatever this says: 414 from hyper on HTTP/1, a stream reset
    /// (`PROTOCOL_ERROR`) from h2 on HTTP/2.
    pub max_url: Option<u64>,
    /// Most header bytes in all: each field's name + value + 4 (`name: value`
    /// and its CRLF), plus 2 on HTTP/1.x for the empty line ending the head,
    /// as Qt counts the head's bytes. Default 65,536.
    pub max_total_header: Option<u64>,
    /// Longest single header field, `name.len() + 1 + value.len()`. Default 49,152.
    pub max_header_field: Option<u64>,
    /// Most header fields. Default 128 (Qt's). Up to 100, hyper keeps its
    /// header slots on the stack; above, Postern's server has hyper allocate
    /// them per request (2 × 4 KiB at 128), which on a device also leaves
    /// about 4 KB more resident per idle connection (`bench/footprint.sh`).
    pub max_header_fields: Option<u64>,
    /// Largest request body in bytes. Default 33,554,432 (32 MiB).
    pub max_body: Option<u64>,
}

impl Default for SizeLimits {
    fn default() -> Self {
        SizeLimits {
            max_url: Some(64 * 1024),
            max_total_header: Some(64 * 1024),
            max_header_field: Some(48 * 1024),
            max_header_fields: Some(128),
            max_body: Some(32 * 1024 * 1024),
        }
    }
}

impl SizeLimits {
    /// No size limits (hyper's own hard caps still apply).
    pub const fn disabled() -> Self {
        SizeLimits {
            max_url: None,
            max_total_header: None,
            max_header_field: None,
            max_header_fields: None,
            max_body: None,
        }
    }

    /// Tighter limits for internet-facing servers: URL 8 KiB, headers 32 KiB in
    /// all, 8 KiB per field, 100 fields, body 1 MiB.
    pub const fn strict() -> Self {
        SizeLimits {
            max_url: Some(8 * 1024),
            max_total_header: Some(32 * 1024),
            max_header_field: Some(8 * 1024),
            max_header_fields: Some(100),
            max_body: Some(1024 * 1024),
        }
    }

    /// Set the URL limit (`None` = unlimited).
    pub const fn with_max_url(mut self, max: Option<u64>) -> Self {
        self.max_url = max;
        self
    }

    /// Set the total header bytes limit.
    pub const fn with_max_total_header(mut self, max: Option<u64>) -> Self {
        self.max_total_header = max;
        self
    }

    /// Set the single header field limit.
    pub const fn with_max_header_field(mut self, max: Option<u64>) -> Self {
        self.max_header_field = max;
        self
    }

    /// Set the header field count limit.
    pub const fn with_max_header_fields(mut self, max: Option<u64>) -> Self {
        self.max_header_fields = max;
        self
    }

    /// Set the body limit.
    pub const fn with_max_body(mut self, max: Option<u64>) -> Self {
        self.max_body = max;
        self
    }

    /// Qt's convention: a negative value means unlimited.
    pub const fn from_qt(value: i64) -> Option<u64> {
        if value < 0 { None } else { Some(value as u64) }
    }
}
