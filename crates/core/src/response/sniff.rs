//! Content sniffing for bodies without a declared type (Qt's
//! `QMimeDatabase::mimeTypeForData`, reduced to the types a server meets).

/// The MIME type the bytes look like.
pub(crate) fn sniff_mime(data: &[u8]) -> &'static str {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xFF\xD8\xFF", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"%PDF-", "application/pdf"),
        (b"\x1F\x8B", "application/gzip"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x00asm", "application/wasm"),
    ];
    if data.is_empty() {
        return "application/x-zerosize";
    }
    for (magic, mime) in MAGIC {
        if data.starts_with(magic) {
            return mime;
        }
    }
    if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        return "image/webp";
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return "application/octet-stream";
    };
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0C'))
    {
        return "application/octet-stream";
    }
    let head = text.trim_start();
    let lower: String = head
        .chars()
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        "text/html"
    } else if lower.starts_with("<?xml") {
        "application/xml"
    } else if lower.starts_with("<svg") {
        "image/svg+xml"
    } else {
        "text/plain"
    }
}

#[cfg(test)]
mod tests {
    use super::sniff_mime;

    #[test]
    fn sniffing_table() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "application/x-zerosize"),
            (b"Hello world", "text/plain"),
            (b"  <!DOCTYPE HTML><p>x", "text/html"),
            (b"<html><body>", "text/html"),
            (b"<?xml version=\"1.0\"?>", "application/xml"),
            (b"\x89PNG\r\n\x1a\n....", "image/png"),
            (b"\xFF\xD8\xFF\xE0", "image/jpeg"),
            (b"GIF89a..", "image/gif"),
            (b"%PDF-1.7", "application/pdf"),
            (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
            (b"\x00\x01\x02binary", "application/octet-stream"),
            (b"\xC3\x28", "application/octet-stream"),
        ];
        for (data, expected) in cases {
            assert_eq!(sniff_mime(data), *expected, "{data:?}");
        }
    }
}
