//! `proxy_header`: bytes at the start of a connection from a trusted
//! proxy, through `postern_core::read_proxy_header` (what a listener with
//! `Listen::proxy_protocol` runs before TLS or HTTP).
//!
//! Input: the first byte picks how the rest is written to a
//! `tokio::io::duplex`: `0` all at once, `n > 0` in chunks of `n` bytes with
//! a yield to the reader after each (so the parser sees every split point);
//! then the write side is shut down.
//!
//! Checks:
//! - no panic;
//! - the result does not depend on the split: the same header, or the same
//!   kind of error, as when the bytes arrive all at once;
//! - on success the header took at most 1040 bytes (107 for v1), and the
//!   stream returned replays exactly the input after the header, nothing
//!   lost, nothing twice;
//! - the header's bytes alone parse to the same header;
//! - a header whose source is an address keeps `source()` equal to it, and
//!   `LOCAL`/`UNKNOWN` headers have no source.
#![no_main]

use std::mem::discriminant;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use postern_core::{
    ProxyAddresses, ProxyHeader, ProxyHeaderError, ProxyVersion, read_proxy_header,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// What reading a header from `input`, written in chunks of `chunk` bytes
/// (0: at once), gave: the header, how many input bytes it took, and what
/// the stream replayed after it; or the error.
async fn read(
    input: &[u8],
    chunk: usize,
) -> Result<(ProxyHeader, usize, Vec<u8>), ProxyHeaderError> {
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let size = if chunk == 0 {
        input.len().max(1)
    } else {
        chunk
    };
    let writer = async move {
        for piece in input.chunks(size) {
            if client.write_all(piece).await.is_err() {
                return; // the reader gave up first
            }
            tokio::task::yield_now().await;
        }
        let _ = client.shutdown().await;
    };
    let reader = async move {
        let (header, mut stream) = read_proxy_header(server, None, Duration::from_secs(5)).await?;
        let mut rest = Vec::new();
        stream
            .read_to_end(&mut rest)
            .await
            .map_err(|e| ProxyHeaderError::Io(e.kind()))?;
        Ok((header, rest))
    };
    let ((), result) = tokio::join!(writer, reader);
    let (header, rest) = result?;
    assert!(rest.len() <= input.len(), "more bytes replayed than sent");
    Ok((header, input.len() - rest.len(), rest))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let runtime = runtime();
    let split = runtime.block_on(read(input, usize::from(mode)));
    let whole = runtime.block_on(read(input, 0));
    match (&split, &whole) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the split changed the header"),
        (Err(a), Err(b)) => assert_eq!(
            discriminant(a),
            discriminant(b),
            "the split changed the error: {a} / {b}"
        ),
        _ => panic!("the split changed the outcome: {split:?} / {whole:?}"),
    }
    assert_ne!(
        split.as_ref().err(),
        Some(&ProxyHeaderError::TimedOut),
        "a closed stream must not time out"
    );
    let Ok((header, used, rest)) = split else {
        return;
    };
    assert!(used <= 1040, "a {used}-byte header");
    if header.version == ProxyVersion::V1 {
        assert!(used <= 107, "a {used}-byte v1 header");
    }
    assert_eq!(rest, &input[used..], "the bytes after the header");
    let alone = runtime
        .block_on(read(&input[..used], 0))
        .expect("the header's bytes alone");
    assert_eq!(alone.0, header);
    assert_eq!(alone.1, used);
    match (&header.addresses, header.local) {
        (ProxyAddresses::Inet { source, .. }, false) => assert_eq!(header.source(), Some(*source)),
        _ => assert_eq!(header.source(), None),
    }
});
