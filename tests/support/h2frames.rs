//! Raw HTTP/2 for tests that must send what no well-behaved client sends
//! and see exactly which frames come back: frame encoding and parsing, a
//! minimal HPACK encoder (literals, no Huffman), a complete HPACK decoder
//! (static and dynamic tables, Huffman), and [`H2Conn`], a raw connection
//! that can also act as a small client (windows honoured, header blocks
//! decoded in wire order, responses gathered per stream).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::within;

/// The client connection preface.
pub(crate) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame.
pub(crate) const EMPTY_SETTINGS: [u8; 9] = [0, 0, 0, 0x4, 0, 0, 0, 0, 0];

// Frame types (RFC 9113 §6).
pub(crate) const DATA: u8 = 0x0;
pub(crate) const HEADERS: u8 = 0x1;
pub(crate) const RST_STREAM: u8 = 0x3;
pub(crate) const SETTINGS: u8 = 0x4;
pub(crate) const PING: u8 = 0x6;
pub(crate) const GOAWAY: u8 = 0x7;
pub(crate) const WINDOW_UPDATE: u8 = 0x8;
pub(crate) const CONTINUATION: u8 = 0x9;

// Flags.
pub(crate) const END_STREAM: u8 = 0x1;
pub(crate) const ACK: u8 = 0x1;
pub(crate) const END_HEADERS: u8 = 0x4;

// Error codes (RFC 9113 §7).
pub(crate) const NO_ERROR: u32 = 0x0;
pub(crate) const PROTOCOL_ERROR: u32 = 0x1;
pub(crate) const REFUSED_STREAM: u32 = 0x7;
pub(crate) const CANCEL: u32 = 0x8;
pub(crate) const COMPRESSION_ERROR: u32 = 0x9;
pub(crate) const ENHANCE_YOUR_CALM: u32 = 0xb;

// Settings.
pub(crate) const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
pub(crate) const SETTINGS_ENABLE_PUSH: u16 = 0x2;
pub(crate) const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub(crate) const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
pub(crate) const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;
pub(crate) const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 0x6;

/// The largest frame payload a peer accepts before its SETTINGS say more.
pub(crate) const DEFAULT_MAX_FRAME: usize = 16_384;
/// Every window's size before SETTINGS or WINDOW_UPDATE change it.
pub(crate) const DEFAULT_WINDOW: i64 = 65_535;

/// One HTTP/2 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) kind: u8,
    pub(crate) flags: u8,
    pub(crate) stream: u32,
    pub(crate) payload: Vec<u8>,
}

impl Frame {
    pub(crate) fn new(kind: u8, flags: u8, stream: u32, payload: impl Into<Vec<u8>>) -> Frame {
        Frame {
            kind,
            flags,
            stream,
            payload: payload.into(),
        }
    }

    /// The frame on the wire.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let len = self.payload.len();
        assert!(len < 1 << 24, "frame payload too long");
        let mut out = Vec::with_capacity(9 + len);
        out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        out.push(self.kind);
        out.push(self.flags);
        out.extend_from_slice(&(self.stream & 0x7fff_ffff).to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    pub(crate) fn settings(values: &[(u16, u32)]) -> Frame {
        let mut payload = Vec::new();
        for (id, value) in values {
            payload.extend_from_slice(&id.to_be_bytes());
            payload.extend_from_slice(&value.to_be_bytes());
        }
        Frame::new(SETTINGS, 0, 0, payload)
    }

    pub(crate) fn settings_ack() -> Frame {
        Frame::new(SETTINGS, ACK, 0, [])
    }

    pub(crate) fn ping(data: [u8; 8]) -> Frame {
        Frame::new(PING, 0, 0, data)
    }

    pub(crate) fn rst_stream(stream: u32, code: u32) -> Frame {
        Frame::new(RST_STREAM, 0, stream, code.to_be_bytes())
    }

    pub(crate) fn window_update(stream: u32, increment: u32) -> Frame {
        Frame::new(WINDOW_UPDATE, 0, stream, increment.to_be_bytes())
    }

    pub(crate) fn data(stream: u32, data: &[u8], end_stream: bool) -> Frame {
        Frame::new(DATA, if end_stream { END_STREAM } else { 0 }, stream, data)
    }

    /// A GOAWAY frame's last stream id, error code and debug data.
    pub(crate) fn goaway(&self) -> (u32, u32, Vec<u8>) {
        assert_eq!(self.kind, GOAWAY, "not a GOAWAY: {self:?}");
        assert_eq!(self.stream, 0, "GOAWAY is a connection frame: {self:?}");
        assert!(self.payload.len() >= 8, "a short GOAWAY: {self:?}");
        let last = u32::from_be_bytes(self.payload[0..4].try_into().unwrap()) & 0x7fff_ffff;
        let code = u32::from_be_bytes(self.payload[4..8].try_into().unwrap());
        (last, code, self.payload[8..].to_vec())
    }

    /// An RST_STREAM frame's error code.
    pub(crate) fn rst_code(&self) -> u32 {
        assert_eq!(self.kind, RST_STREAM, "not an RST_STREAM: {self:?}");
        u32::from_be_bytes(self.payload[..4].try_into().expect("4-byte RST_STREAM"))
    }

    /// A SETTINGS frame's values.
    pub(crate) fn settings_values(&self) -> Vec<(u16, u32)> {
        assert_eq!(self.kind, SETTINGS, "not SETTINGS: {self:?}");
        self.payload
            .chunks(6)
            .map(|c| {
                (
                    u16::from_be_bytes([c[0], c[1]]),
                    u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
                )
            })
            .collect()
    }

    /// A WINDOW_UPDATE frame's increment.
    pub(crate) fn increment(&self) -> u32 {
        assert_eq!(self.kind, WINDOW_UPDATE, "not a WINDOW_UPDATE: {self:?}");
        u32::from_be_bytes(self.payload[..4].try_into().unwrap()) & 0x7fff_ffff
    }

    /// A short description for assertion messages: `GOAWAY(0)`,
    /// `DATA(3, 16384 bytes, END_STREAM)`.
    pub(crate) fn describe(&self) -> String {
        let name = match self.kind {
            DATA => "DATA",
            HEADERS => "HEADERS",
            0x2 => "PRIORITY",
            RST_STREAM => "RST_STREAM",
            SETTINGS => "SETTINGS",
            0x5 => "PUSH_PROMISE",
            PING => "PING",
            GOAWAY => "GOAWAY",
            WINDOW_UPDATE => "WINDOW_UPDATE",
            CONTINUATION => "CONTINUATION",
            _ => "UNKNOWN",
        };
        format!(
            "{name}(stream {}, flags {:#x}, {} bytes)",
            self.stream,
            self.flags,
            self.payload.len()
        )
    }
}

/// One frame at the start of `buf` and its length on the wire; `None` if
/// `buf` holds only part of it.
fn parse_frame(buf: &[u8]) -> Option<(Frame, usize)> {
    if buf.len() < 9 {
        return None;
    }
    let len = u32::from_be_bytes([0, buf[0], buf[1], buf[2]]) as usize;
    if buf.len() < 9 + len {
        return None;
    }
    let frame = Frame {
        kind: buf[3],
        flags: buf[4],
        stream: u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]) & 0x7fff_ffff,
        payload: buf[9..9 + len].to_vec(),
    };
    Some((frame, 9 + len))
}

/// Split raw bytes into HTTP/2 frames; fails on a truncated frame.
pub(crate) fn frames(mut bytes: &[u8]) -> Vec<Frame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let (frame, used) =
            parse_frame(bytes).unwrap_or_else(|| panic!("a truncated frame: {bytes:?}"));
        frames.push(frame);
        bytes = &bytes[used..];
    }
    frames
}

// ---------------------------------------------------------------------------
// HPACK (RFC 7541)

/// An HPACK integer with an `prefix`-bit prefix, the first byte's other bits
/// set to `flags`.
pub(crate) fn hpack_int(flags: u8, prefix: u8, mut value: usize) -> Vec<u8> {
    let max = (1usize << prefix) - 1;
    if value < max {
        return vec![flags | value as u8];
    }
    let mut out = vec![flags | max as u8];
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
    out
}

/// An HPACK string literal without Huffman coding.
pub(crate) fn hpack_str(s: &[u8]) -> Vec<u8> {
    let mut out = hpack_int(0, 7, s.len());
    out.extend_from_slice(s);
    out
}

/// A header field as a literal without indexing, with a literal name.
pub(crate) fn hpack_literal(name: &str, value: &[u8]) -> Vec<u8> {
    let mut out = vec![0x00];
    out.extend(hpack_str(name.as_bytes()));
    out.extend(hpack_str(value));
    out
}

/// A header field as a literal with incremental indexing (it enters the
/// dynamic table), with a literal name.
pub(crate) fn hpack_literal_indexed(name: &str, value: &[u8]) -> Vec<u8> {
    let mut out = vec![0x40];
    out.extend(hpack_str(name.as_bytes()));
    out.extend(hpack_str(value));
    out
}

/// An indexed header field: entry `index` of the static (1..=61) or dynamic
/// (62..) table.
pub(crate) fn hpack_indexed(index: usize) -> Vec<u8> {
    hpack_int(0x80, 7, index)
}

/// A header block of literal fields, in order (pseudo-fields first).
pub(crate) fn header_block(fields: &[(&str, &str)]) -> Vec<u8> {
    fields
        .iter()
        .flat_map(|(name, value)| hpack_literal(name, value.as_bytes()))
        .collect()
}

/// The request pseudo-fields of a request for `path` on `http://a`, then
/// `fields`.
pub(crate) fn request_block(method: &str, path: &str, fields: &[(&str, &str)]) -> Vec<u8> {
    let mut all = vec![
        (":method", method),
        (":scheme", "http"),
        (":authority", "a"),
        (":path", path),
    ];
    all.extend_from_slice(fields);
    header_block(&all)
}

const STATIC_TABLE: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// The Huffman code's lengths for bytes 0..=255 (RFC 7541 Appendix B); the
/// code is canonical, so the lengths define it. EOS (30 bits) is implied.
const HUFFMAN_LENGTHS: [u8; 256] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5,
    5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6,
    6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22,
    23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22,
    21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20,
    22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19,
    21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22,
    22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
];

/// Decode a Huffman-coded string (canonical decoding: for each length, the
/// codes are consecutive and ordered by symbol).
pub(crate) fn huffman_decode(bytes: &[u8]) -> Result<Vec<u8>, String> {
    // Symbols sorted by (length, symbol); the first code and count per length.
    let mut symbols: Vec<(u8, u16)> = (0..256u16)
        .map(|s| (HUFFMAN_LENGTHS[s as usize], s))
        .chain(std::iter::once((30, 256)))
        .collect();
    symbols.sort_unstable();
    let mut first_code = [0u32; 31];
    let mut first_index = [0usize; 31];
    let mut count = [0usize; 31];
    let mut code = 0u32;
    let mut len = symbols[0].0;
    for (i, &(l, _)) in symbols.iter().enumerate() {
        if l != len {
            code <<= l - len;
            len = l;
        }
        if count[l as usize] == 0 {
            first_code[l as usize] = code;
            first_index[l as usize] = i;
        }
        count[l as usize] += 1;
        code += 1;
    }
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0u8;
    for &byte in bytes {
        for shift in (0..8).rev() {
            acc = (acc << 1) | u32::from((byte >> shift) & 1);
            bits += 1;
            let l = bits as usize;
            if l <= 30 && count[l] > 0 && acc >= first_code[l] {
                let offset = (acc - first_code[l]) as usize;
                if offset < count[l] {
                    let symbol = symbols[first_index[l] + offset].1;
                    if symbol == 256 {
                        return Err("EOS in a Huffman string".to_owned());
                    }
                    out.push(symbol as u8);
                    acc = 0;
                    bits = 0;
                }
            }
            if bits > 30 {
                return Err("an invalid Huffman code".to_owned());
            }
        }
    }
    // What is left is padding: fewer than 8 bits, all ones.
    if bits >= 8 || acc != (1u32 << bits) - 1 {
        return Err("invalid Huffman padding".to_owned());
    }
    Ok(out)
}

/// An HPACK decoder: its dynamic table persists across header blocks, so
/// every block of a connection must go through it in wire order.
#[derive(Debug)]
pub(crate) struct Decoder {
    table: VecDeque<(String, String)>,
    size: usize,
    max_size: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            table: VecDeque::new(),
            size: 0,
            max_size: 4096,
        }
    }
}

impl Decoder {
    fn int(buf: &[u8], at: &mut usize, prefix: u8) -> Result<usize, String> {
        let max = (1usize << prefix) - 1;
        let first = *buf.get(*at).ok_or("a truncated integer")? as usize & max;
        *at += 1;
        if first < max {
            return Ok(first);
        }
        let mut value = max;
        let mut shift = 0;
        loop {
            let b = *buf.get(*at).ok_or("a truncated integer")?;
            *at += 1;
            value += ((b & 0x7f) as usize) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                return Ok(value);
            }
            if shift > 28 {
                return Err("an integer too large".to_owned());
            }
        }
    }

    fn string(buf: &[u8], at: &mut usize) -> Result<String, String> {
        let huffman = buf.get(*at).ok_or("a truncated string")? & 0x80 != 0;
        let len = Decoder::int(buf, at, 7)?;
        let raw = buf.get(*at..*at + len).ok_or("a truncated string")?;
        *at += len;
        let bytes = if huffman {
            huffman_decode(raw)?
        } else {
            raw.to_vec()
        };
        String::from_utf8(bytes).map_err(|_| "a string that is not UTF-8".to_owned())
    }

    fn entry(&self, index: usize) -> Result<(String, String), String> {
        match index {
            0 => Err("index 0".to_owned()),
            1..=61 => {
                let (n, v) = STATIC_TABLE[index - 1];
                Ok((n.to_owned(), v.to_owned()))
            }
            _ => self
                .table
                .get(index - 62)
                .cloned()
                .ok_or_else(|| format!("index {index} beyond the dynamic table")),
        }
    }

    fn insert(&mut self, name: String, value: String) {
        let size = name.len() + value.len() + 32;
        self.size += size;
        self.table.push_front((name, value));
        self.evict();
    }

    fn evict(&mut self) {
        while self.size > self.max_size {
            let (n, v) = self.table.pop_back().expect("entries to evict");
            self.size -= n.len() + v.len() + 32;
        }
    }

    /// Decode one complete header block.
    pub(crate) fn decode(&mut self, block: &[u8]) -> Result<Vec<(String, String)>, String> {
        let mut fields = Vec::new();
        let mut at = 0;
        while at < block.len() {
            let b = block[at];
            if b & 0x80 != 0 {
                let index = Decoder::int(block, &mut at, 7)?;
                fields.push(self.entry(index)?);
            } else if b & 0xe0 == 0x20 {
                self.max_size = Decoder::int(block, &mut at, 5)?;
                self.evict();
            } else {
                let (prefix, indexing) = if b & 0x40 != 0 { (6, true) } else { (4, false) };
                let index = Decoder::int(block, &mut at, prefix)?;
                let name = if index == 0 {
                    Decoder::string(block, &mut at)?
                } else {
                    self.entry(index)?.0
                };
                let value = Decoder::string(block, &mut at)?;
                if indexing {
                    self.insert(name.clone(), value.clone());
                }
                fields.push((name, value));
            }
        }
        Ok(fields)
    }
}

// ---------------------------------------------------------------------------
// A raw connection

/// A response on one stream, gathered from its frames.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct H2Response {
    /// The first header block, in order, pseudo-fields included.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// A second header block, if any.
    pub(crate) trailers: Vec<(String, String)>,
    /// The stream ended with END_STREAM.
    pub(crate) ended: bool,
    /// The RST_STREAM code, if the server reset the stream.
    pub(crate) reset: Option<u32>,
}

impl H2Response {
    /// The `:status`.
    pub(crate) fn status(&self) -> u16 {
        self.header(":status")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no :status in {self:?}"))
    }

    /// The first value of field `name`.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every field but `:status` and `date`, sorted, for exact comparisons.
    pub(crate) fn fields_but_date(&self) -> Vec<(&str, &str)> {
        let mut fields: Vec<_> = self
            .headers
            .iter()
            .filter(|(n, _)| n != "date" && n != ":status")
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        fields.sort_unstable();
        fields
    }
}

/// A raw HTTP/2 connection. [`next_frame`](Self::next_frame) reads frames
/// exactly as sent, keeping each in `seen` and tracking the server's
/// windows; the client helpers ([`handshake`](Self::handshake),
/// [`request`](Self::request), [`send_body`](Self::send_body),
/// [`response`](Self::response)) act as a client would, and gather each
/// stream's response from `seen`.
#[derive(Debug)]
pub(crate) struct H2Conn<S = TcpStream> {
    io: S,
    buf: Vec<u8>,
    /// What the server lets us send on the connection and per stream.
    conn_window: i64,
    initial_window: i64,
    stream_windows: HashMap<u32, i64>,
    /// The server's SETTINGS_MAX_FRAME_SIZE.
    max_frame: usize,
    /// Every frame read, in order.
    pub(crate) seen: Vec<Frame>,
    /// Send WINDOW_UPDATE for response DATA as it arrives (default on).
    pub(crate) refill_windows: bool,
    /// Answer the server's PINGs and SETTINGS while gathering (default on).
    pub(crate) auto_ack: bool,
}

impl H2Conn<TcpStream> {
    /// Connect over TCP (nothing sent yet).
    pub(crate) async fn connect(addr: SocketAddr) -> H2Conn<TcpStream> {
        let stream = within("connect", TcpStream::connect(addr))
            .await
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        H2Conn::new(stream)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> H2Conn<S> {
    pub(crate) fn new(io: S) -> H2Conn<S> {
        H2Conn {
            io,
            buf: Vec::new(),
            conn_window: DEFAULT_WINDOW,
            initial_window: DEFAULT_WINDOW,
            stream_windows: HashMap::new(),
            max_frame: DEFAULT_MAX_FRAME,
            seen: Vec::new(),
            refill_windows: true,
            auto_ack: true,
        }
    }

    /// The stream, for what the helpers don't cover.
    pub(crate) fn stream(&mut self) -> &mut S {
        &mut self.io
    }

    /// Write all of `bytes`.
    pub(crate) async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.try_send(bytes).await.expect("write to the server");
    }

    /// Write all of `bytes`; the error instead of a panic.
    pub(crate) async fn try_send(&mut self, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
        let io = &mut self.io;
        within("write", async {
            io.write_all(bytes.as_ref()).await?;
            io.flush().await
        })
        .await
    }

    pub(crate) async fn send_frame(&mut self, frame: &Frame) {
        self.send(frame.encode()).await;
    }

    /// The preface and a SETTINGS frame of `settings`, then frames until
    /// the server's SETTINGS, which is acknowledged. Returns the frames read.
    pub(crate) async fn handshake(&mut self, settings: &[(u16, u32)]) -> Vec<Frame> {
        let mut hello = PREFACE.to_vec();
        hello.extend(Frame::settings(settings).encode());
        self.send(hello).await;
        let mut read = Vec::new();
        loop {
            let frame = self
                .next_frame()
                .await
                .expect("the server's SETTINGS before the end");
            let done = frame.kind == SETTINGS && frame.flags & ACK == 0;
            read.push(frame);
            if done {
                self.send_frame(&Frame::settings_ack()).await;
                return read;
            }
        }
    }

    /// Read one frame off the wire: `Ok(None)` at a clean end. Waits as
    /// long as it takes (see [`next_frame`](Self::next_frame)).
    pub(crate) async fn read_frame(&mut self) -> std::io::Result<Option<Frame>> {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf) {
                self.buf.drain(..used);
                self.track(&frame);
                self.seen.push(frame.clone());
                return Ok(Some(frame));
            }
            let n = self.io.read(&mut chunk).await?;
            if n == 0 {
                assert!(
                    self.buf.is_empty(),
                    "the connection ended inside a frame: {:?}",
                    self.buf
                );
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The next frame, `None` at a clean end; fails the test on a read
    /// error or if nothing comes within [`LIMIT`](super::LIMIT).
    pub(crate) async fn next_frame(&mut self) -> Option<Frame> {
        within("a frame", self.read_frame())
            .await
            .unwrap_or_else(|error| panic!("reading a frame: {error}"))
    }

    /// Every frame until the connection ends, and how it ended (a clean
    /// end or the read error); bounded by [`LIMIT`](super::LIMIT).
    pub(crate) async fn frames_to_end(&mut self) -> (Vec<Frame>, std::io::Result<()>) {
        within("the connection to end", async {
            let mut frames = Vec::new();
            loop {
                match self.read_frame().await {
                    Ok(Some(frame)) => frames.push(frame),
                    Ok(None) => return (frames, Ok(())),
                    Err(error) => return (frames, Err(error)),
                }
            }
        })
        .await
    }

    /// [`frames_to_end`](Self::frames_to_end) for a connection that must end
    /// cleanly (TCP FIN, or TLS `close_notify`).
    pub(crate) async fn frames_to_eof(&mut self) -> Vec<Frame> {
        let (frames, ended) = self.frames_to_end().await;
        let descriptions: Vec<_> = frames.iter().map(Frame::describe).collect();
        ended.unwrap_or_else(|error| {
            panic!("the connection failed ({error}) instead of closing, after {descriptions:?}")
        });
        frames
    }

    /// Keep the send windows as the server's frames change them.
    fn track(&mut self, frame: &Frame) {
        match frame.kind {
            WINDOW_UPDATE if frame.stream == 0 => self.conn_window += i64::from(frame.increment()),
            WINDOW_UPDATE => {
                let initial = self.initial_window;
                *self.stream_windows.entry(frame.stream).or_insert(initial) +=
                    i64::from(frame.increment());
            }
            SETTINGS if frame.flags & ACK == 0 => {
                for (id, value) in frame.settings_values() {
                    match id {
                        SETTINGS_INITIAL_WINDOW_SIZE => {
                            let delta = i64::from(value) - self.initial_window;
                            self.initial_window = i64::from(value);
                            for window in self.stream_windows.values_mut() {
                                *window += delta;
                            }
                        }
                        SETTINGS_MAX_FRAME_SIZE => self.max_frame = value as usize,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// Send a header block on `stream`: HEADERS, then CONTINUATION frames
    /// if it is longer than a frame.
    pub(crate) async fn send_headers(&mut self, stream: u32, block: &[u8], end_stream: bool) {
        self.stream_windows
            .entry(stream)
            .or_insert(self.initial_window);
        let mut chunks: Vec<&[u8]> = block.chunks(self.max_frame).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        let last = chunks.len() - 1;
        let mut out = Vec::new();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut flags = if i == last { END_HEADERS } else { 0 };
            let kind = if i == 0 {
                if end_stream {
                    flags |= END_STREAM;
                }
                HEADERS
            } else {
                CONTINUATION
            };
            out.extend(Frame::new(kind, flags, stream, chunk).encode());
        }
        self.send(out).await;
    }

    /// Send `bodies` (stream, bytes) as DATA frames, round robin, each
    /// ending its stream, never past the server's windows: while they are
    /// shut, gather what the server sends.
    pub(crate) async fn send_bodies(&mut self, bodies: &[(u32, &[u8])]) {
        let mut sent = vec![0usize; bodies.len()];
        let mut ended = vec![false; bodies.len()];
        while ended.iter().any(|e| !e) {
            let mut progressed = false;
            for (i, &(stream, body)) in bodies.iter().enumerate() {
                if ended[i] {
                    continue;
                }
                let window = self
                    .stream_windows
                    .get(&stream)
                    .copied()
                    .unwrap_or(self.initial_window);
                let room = window.min(self.conn_window).max(0) as usize;
                let left = body.len() - sent[i];
                let n = left.min(room).min(self.max_frame);
                if n == 0 && left > 0 {
                    continue;
                }
                let end = n == left;
                let frame = Frame::data(stream, &body[sent[i]..sent[i] + n], end);
                self.send_frame(&frame).await;
                sent[i] += n;
                ended[i] = end;
                self.conn_window -= n as i64;
                *self.stream_windows.entry(stream).or_insert(0) -= n as i64;
                progressed = true;
            }
            if !progressed {
                // Every window is shut: wait for the server to open one.
                self.gather_one().await;
            }
        }
    }

    /// [`send_bodies`](Self::send_bodies) for one stream.
    pub(crate) async fn send_body(&mut self, stream: u32, body: &[u8]) {
        self.send_bodies(&[(stream, body)]).await;
    }

    /// Read one frame, and answer it as a client would: WINDOW_UPDATE for
    /// response DATA if `refill_windows`, acknowledgements of PINGs and
    /// SETTINGS if `auto_ack`. A GOAWAY fails the test.
    async fn gather_one(&mut self) {
        let frame = self
            .next_frame()
            .await
            .expect("the connection ended while a response was awaited");
        match frame.kind {
            DATA => {
                let len = frame.payload.len() as u32;
                if self.refill_windows && len > 0 {
                    let mut out = Frame::window_update(0, len).encode();
                    if frame.flags & END_STREAM == 0 {
                        out.extend(Frame::window_update(frame.stream, len).encode());
                    }
                    self.send(out).await;
                }
            }
            PING if frame.flags & ACK == 0 && self.auto_ack => {
                let ack = Frame::new(PING, ACK, 0, frame.payload.clone());
                self.send_frame(&ack).await;
            }
            SETTINGS if frame.flags & ACK == 0 && self.auto_ack => {
                self.send_frame(&Frame::settings_ack()).await;
            }
            GOAWAY => {
                let (last, code, debug) = frame.goaway();
                panic!(
                    "GOAWAY(last stream {last}, code {code:#x}, {:?}) while a response was awaited",
                    String::from_utf8_lossy(&debug)
                );
            }
            _ => {}
        }
    }

    /// The responses of every stream so far (see [`gather`]).
    pub(crate) fn responses(&self) -> HashMap<u32, H2Response> {
        gather(&self.seen)
    }

    /// The response on `stream` once it has ended (END_STREAM or
    /// RST_STREAM), reading frames as they come.
    pub(crate) async fn response(&mut self, stream: u32) -> H2Response {
        loop {
            if let Some(response) = self.responses().remove(&stream)
                && (response.ended || response.reset.is_some())
            {
                return response;
            }
            self.gather_one().await;
        }
    }

    /// Send a request on `stream` (`body` as DATA if not empty), and read
    /// its response.
    pub(crate) async fn request(
        &mut self,
        stream: u32,
        method: &str,
        path: &str,
        fields: &[(&str, &str)],
        body: &[u8],
    ) -> H2Response {
        let block = request_block(method, path, fields);
        self.send_headers(stream, &block, body.is_empty()).await;
        if !body.is_empty() {
            self.send_body(stream, body).await;
        }
        self.response(stream).await
    }

    /// The next frame if one comes within `limit`: `Some(None)` at a clean
    /// end, `None` if nothing came. Fails the test on a read error.
    pub(crate) async fn frame_within(&mut self, limit: Duration) -> Option<Option<Frame>> {
        let read = tokio::time::timeout(limit, self.read_frame()).await.ok()?;
        Some(read.unwrap_or_else(|error| panic!("reading a frame: {error}")))
    }
}

/// The responses `frames` (every frame a connection carried, in order)
/// make up, by stream; header blocks decoded in order with a fresh decoder.
pub(crate) fn gather(frames: &[Frame]) -> HashMap<u32, H2Response> {
    let mut decoder = Decoder::default();
    let mut responses: HashMap<u32, H2Response> = HashMap::new();
    let mut partial: Option<(u32, u8, Vec<u8>)> = None;
    for frame in frames {
        match frame.kind {
            HEADERS | CONTINUATION => {
                let (stream, flags, mut block) = match partial.take() {
                    Some(partial) if frame.kind == CONTINUATION => partial,
                    None if frame.kind == HEADERS => (frame.stream, frame.flags, Vec::new()),
                    other => panic!("an unexpected {} after {other:?}", frame.describe()),
                };
                block.extend_from_slice(header_fragment(frame));
                if frame.flags & END_HEADERS == 0 {
                    partial = Some((stream, flags, block));
                    continue;
                }
                let fields = decoder
                    .decode(&block)
                    .unwrap_or_else(|error| panic!("HPACK: {error}"));
                let response = responses.entry(stream).or_default();
                if response.headers.is_empty() {
                    response.headers = fields;
                } else {
                    response.trailers = fields;
                }
                response.ended |= flags & END_STREAM != 0;
            }
            DATA => {
                let response = responses.entry(frame.stream).or_default();
                response.body.extend_from_slice(data_payload(frame));
                response.ended |= frame.flags & END_STREAM != 0;
            }
            RST_STREAM => responses.entry(frame.stream).or_default().reset = Some(frame.rst_code()),
            _ => {}
        }
    }
    responses
}

/// A second handle on the same socket (a duplicated descriptor), so that
/// one task can write while another reads.
pub(crate) fn duplicate(stream: TcpStream) -> (TcpStream, TcpStream) {
    let std = stream.into_std().expect("a std socket");
    let clone = std.try_clone().expect("a duplicated socket");
    (
        TcpStream::from_std(std).expect("a tokio socket"),
        TcpStream::from_std(clone).expect("a tokio socket"),
    )
}

/// A HEADERS or CONTINUATION frame's header block fragment (padding and
/// priority removed).
pub(crate) fn header_fragment(frame: &Frame) -> &[u8] {
    let mut payload = &frame.payload[..];
    if frame.kind != HEADERS {
        return payload;
    }
    let mut pad = 0;
    if frame.flags & 0x8 != 0 {
        pad = payload[0] as usize;
        payload = &payload[1..];
    }
    if frame.flags & 0x20 != 0 {
        payload = &payload[5..];
    }
    &payload[..payload.len() - pad]
}

/// A DATA frame's data (padding removed).
pub(crate) fn data_payload(frame: &Frame) -> &[u8] {
    if frame.flags & 0x8 == 0 {
        return &frame.payload;
    }
    let pad = frame.payload[0] as usize;
    &frame.payload[1..frame.payload.len() - pad]
}
