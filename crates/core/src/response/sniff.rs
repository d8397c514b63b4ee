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
    // A byte order mark is not whitespace, but editors write it before XML and HTML alike.
    let head = text.strip_prefix('\u{FEFF}').unwrap_or(text).trim_start();
    if starts_with_ignore_case(head, "<!doctype html") || starts_with_ignore_case(head, "<html") {
        "text/html"
    } else if is_svg_root(skip_prolog(head)) {
        "image/svg+xml"
    } else if starts_with_ignore_case(head, "<?xml") {
        "application/xml"
    } else {
        "text/plain"
    }
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Whether `text` starts with an `<svg` start tag (`<svg>`, `<svg xmlns=…`, `<svg/>`).
fn is_svg_root(text: &str) -> bool {
    text.strip_prefix("<svg").is_some_and(|rest| {
        rest.starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
    })
}

/// `text` after an XML prolog: the declaration, processing instructions, comments, a
/// DOCTYPE and the whitespace between them. An SVG file usually starts with one, so the root
/// element, which tells SVG from other XML, comes only after it. Unterminated markup stops
/// the skipping where it starts (the caller then sees no `<svg` there).
fn skip_prolog(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        let end = if text.starts_with("<?") {
            text.find("?>").map(|end| end + 2)
        } else if text.starts_with("<!--") {
            text.find("-->").map(|end| end + 3)
        } else if starts_with_ignore_case(text, "<!doctype") {
            doctype_end(text)
        } else {
            None
        };
        match end {
            Some(end) => text = &text[end..],
            None => return text,
        }
    }
}

/// The length of the `<!DOCTYPE …>` that starts `text`: up to the first `>` outside quotes
/// and outside the internal subset (`[…]`, whose declarations hold `>` of their own).
fn doctype_end(text: &str) -> Option<usize> {
    let mut quote = None;
    let mut subset = false;
    for (index, byte) in text.bytes().enumerate() {
        match (quote, byte) {
            (Some(open), _) if byte == open => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(byte),
            (None, b'[') => subset = true,
            (None, b']') => subset = false,
            (None, b'>') if !subset => return Some(index + 1),
            (None, _) => {}
        }
    }
    None
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
            (b"<?xml version=\"1.0\"?>\n<note><to>x</to></note>", "application/xml"),
            (b"<?XML version=\"1.0\"?><feed/>", "application/xml"),
            // The root element decides, and XML names are case-sensitive.
            (b"<?xml version=\"1.0\"?><svgx/>", "application/xml"),
            (b"<?xml version=\"1.0\"?><SVG/>", "application/xml"),
            // Unterminated prolog markup: no root element is reached.
            (b"<?xml version=\"1.0\"?><!-- <svg>", "application/xml"),
            (b"<?xml version=\"1.0\"?><!DOCTYPE svg [ <svg>", "application/xml"),
            (b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>", "image/svg+xml"),
            (b"<svg>", "image/svg+xml"),
            (b"<svg/>", "image/svg+xml"),
            (
                b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\">",
                "image/svg+xml",
            ),
            (b"<?xml version=\"1.0\"?><svg>", "image/svg+xml"),
            (
                b"<?xml version=\"1.0\"?>\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n<svg\tviewBox=\"0 0 1 1\">",
                "image/svg+xml",
            ),
            (
                b"<?xml version=\"1.0\"?>\r\n<!-- Generator: an editor -->\r\n<svg width=\"1\">",
                "image/svg+xml",
            ),
            (
                b"<?xml version=\"1.0\"?><!DOCTYPE svg [ <!ENTITY a \"x>y\"> ]><?style x?><!--c--><svg>",
                "image/svg+xml",
            ),
            (b"<!DOCTYPE svg \"a>b\"><svg>", "image/svg+xml"),
            (b"<!-- no declaration --><svg>", "image/svg+xml"),
            (b" \n\t<?xml version=\"1.0\"?> <svg>", "image/svg+xml"),
            (b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<svg>", "image/svg+xml"),
            (b"\xEF\xBB\xBF \n<svg>", "image/svg+xml"),
            (b"\xEF\xBB\xBF<?xml version=\"1.0\"?><a/>", "application/xml"),
            (b"\xEF\xBB\xBF<!DOCTYPE html>", "text/html"),
            (b"<html><body><svg>", "text/html"),
            (b"Some text about <svg>", "text/plain"),
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
