//! HTTP/1 reason phrases: Qt HTTP Server's table, where it differs from
//! hyper's.
//!
//! hyper writes the `http` crate's canonical phrase, or `<none>` for a code
//! without one. Qt writes its own table (older wording for 203, 226, 413,
//! 414 and 416; a phrase for 599) and no phrase for a code outside it. Only
//! those codes get a [`ReasonPhrase`] here, so the common statuses cost one
//! integer match and nothing else.

use http::StatusCode;
use hyper::ext::ReasonPhrase;

/// The phrase Qt sends for `status` where hyper would send another one;
/// `None` where the two agree. A code outside Qt's table gets the empty
/// phrase: the status line keeps the space after the code that RFC 9112
/// requires (`HTTP/1.1 299 \r\n`; Qt leaves the space out too).
#[inline]
pub(crate) fn qt_reason(status: StatusCode) -> Option<&'static [u8]> {
    match status.as_u16() {
        // Qt's table where hyper writes the same phrase.
        100..=102
        | 200..=202
        | 204..=208
        | 300..=305
        | 307
        | 308
        | 400..=412
        | 415
        | 417
        | 418
        | 421..=424
        | 426
        | 428
        | 429
        | 431
        | 451
        | 500..=508
        | 510
        | 511 => None,
        203 => Some(b"Non-Authoritative Information"),
        226 => Some(b"I'm Used"),
        413 => Some(b"Request Entity Too Large"),
        414 => Some(b"Request-URI Too Long"),
        416 => Some(b"Requested Range Not Satisfiable"),
        599 => Some(b"Network Connect Timeout Error"),
        _ => Some(b""),
    }
}

/// Give `response` Qt's reason phrase when hyper's would differ, unless it
/// already carries one of its own (a WebSocket denial's message).
#[inline]
pub(crate) fn apply_qt_reason<B>(response: &mut http::Response<B>) {
    if let Some(phrase) = qt_reason(response.status())
        && response.extensions().get::<ReasonPhrase>().is_none()
    {
        response
            .extensions_mut()
            .insert(ReasonPhrase::from_static(phrase));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Qt HTTP Server's whole table of status lines.
    const QT_TABLE: &[(u16, &str)] = &[
        (100, "Continue"),
        (101, "Switching Protocols"),
        (102, "Processing"),
        (200, "OK"),
        (201, "Created"),
        (202, "Accepted"),
        (203, "Non-Authoritative Information"),
        (204, "No Content"),
        (205, "Reset Content"),
        (206, "Partial Content"),
        (207, "Multi-Status"),
        (208, "Already Reported"),
        (226, "I'm Used"),
        (300, "Multiple Choices"),
        (301, "Moved Permanently"),
        (302, "Found"),
        (303, "See Other"),
        (304, "Not Modified"),
        (305, "Use Proxy"),
        (307, "Temporary Redirect"),
        (308, "Permanent Redirect"),
        (400, "Bad Request"),
        (401, "Unauthorized"),
        (402, "Payment Required"),
        (403, "Forbidden"),
        (404, "Not Found"),
        (405, "Method Not Allowed"),
        (406, "Not Acceptable"),
        (407, "Proxy Authentication Required"),
        (408, "Request Timeout"),
        (409, "Conflict"),
        (410, "Gone"),
        (411, "Length Required"),
        (412, "Precondition Failed"),
        (413, "Request Entity Too Large"),
        (414, "Request-URI Too Long"),
        (415, "Unsupported Media Type"),
        (416, "Requested Range Not Satisfiable"),
        (417, "Expectation Failed"),
        (418, "I'm a teapot"),
        (421, "Misdirected Request"),
        (422, "Unprocessable Entity"),
        (423, "Locked"),
        (424, "Failed Dependency"),
        (426, "Upgrade Required"),
        (428, "Precondition Required"),
        (429, "Too Many Requests"),
        (431, "Request Header Fields Too Large"),
        (451, "Unavailable For Legal Reasons"),
        (500, "Internal Server Error"),
        (501, "Not Implemented"),
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
        (504, "Gateway Timeout"),
        (505, "HTTP Version Not Supported"),
        (506, "Variant Also Negotiates"),
        (507, "Insufficient Storage"),
        (508, "Loop Detected"),
        (510, "Not Extended"),
        (511, "Network Authentication Required"),
        (599, "Network Connect Timeout Error"),
    ];

    /// What hyper writes: the phrase set here, else the canonical one, else
    /// `<none>`.
    fn written(code: u16) -> String {
        let status = StatusCode::from_u16(code).expect("valid code");
        match qt_reason(status) {
            Some(phrase) => String::from_utf8(phrase.to_vec()).expect("ASCII"),
            None => status.canonical_reason().unwrap_or("<none>").to_owned(),
        }
    }

    #[test]
    fn every_code_in_qts_table_gets_qts_phrase() {
        for (code, phrase) in QT_TABLE {
            assert_eq!(written(*code), *phrase, "{code}");
        }
    }

    #[test]
    fn codes_outside_qts_table_get_no_phrase() {
        for code in (100..=999).filter(|c| QT_TABLE.iter().all(|(q, _)| q != c)) {
            assert_eq!(written(code), "", "{code}");
        }
    }

    #[test]
    fn a_phrase_already_set_is_kept() {
        let mut response = http::Response::new(());
        *response.status_mut() = StatusCode::URI_TOO_LONG;
        response
            .extensions_mut()
            .insert(ReasonPhrase::from_static(b"Go Away"));
        apply_qt_reason(&mut response);
        let kept = response
            .extensions()
            .get::<ReasonPhrase>()
            .map(|r| r.as_bytes());
        assert_eq!(kept, Some(&b"Go Away"[..]));

        let mut plain = http::Response::new(());
        *plain.status_mut() = StatusCode::OK;
        apply_qt_reason(&mut plain);
        assert!(plain.extensions().get::<ReasonPhrase>().is_none());
    }
}
