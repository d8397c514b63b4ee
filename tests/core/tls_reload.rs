//! TLS certificates replaced while the server runs: a listener's whole
//! config (`RunningServer::set_tls_config`), a pair reloaded from its files
//! (`ReloadingCert::reload` and `watch`), bad pairs refused with the old one
//! still served, and the certificate chosen by SNI (`SniCerts`). Which
//! certificate a handshake got is read from the client's side, byte for
//! byte.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use postern_core::{
    AbstractHttpServer, CertError, Handled, ListenAddr, PemFile, ReloadingCert, Request, Responder,
    RunningServer, Server, SniCerts, TlsConfig,
};
use rustls_pki_types::CertificateDer;
use tokio::net::TcpStream;

use crate::support::{Raw, temp_dir, try_tls_handshake, within};

struct Hello;

impl AbstractHttpServer for Hello {
    async fn handle_request(&self, _: &Request, responder: Responder) -> Handled {
        responder.write_with_mime("hi", "text/plain", StatusCode::OK);
        Handled::Yes
    }
}

/// A self-signed certificate for `names`, PEM and DER.
struct Pair {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

fn pair(names: &[&str]) -> Pair {
    let made = rcgen::generate_simple_self_signed(
        names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
    )
    .expect("rcgen");
    Pair {
        cert_pem: made.cert.pem(),
        key_pem: made.signing_key.serialize_pem(),
        der: made.cert.der().clone(),
    }
}

fn config(pair: &Pair) -> TlsConfig {
    TlsConfig::from_pem(pair.cert_pem.as_bytes(), pair.key_pem.as_bytes()).expect("TlsConfig")
}

/// A client trusting exactly `pairs`.
fn client(pairs: &[&Pair]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for pair in pairs {
        roots.add(pair.der.clone()).expect("trust");
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

async fn serve(tls: TlsConfig) -> (RunningServer, SocketAddr) {
    let running = Server::builder()
        .bind_tls("127.0.0.1:0", tls)
        .serve_abstract(Hello)
        .await
        .expect("serve");
    let addr = running.listeners()[0].socket_addr().expect("TCP");
    (running, addr)
}

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

async fn connect(addr: SocketAddr, trust: &[&Pair], name: &str) -> Tls {
    let tcp = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    try_tls_handshake(tcp, client(trust), name)
        .await
        .expect("handshake")
}

/// The leaf certificate the server showed.
fn shown(tls: &Tls) -> CertificateDer<'static> {
    tls.get_ref().1.peer_certificates().expect("certificates")[0].clone()
}

/// The leaf a fresh handshake for `name` gets.
async fn served(addr: SocketAddr, trust: &[&Pair], name: &str) -> CertificateDer<'static> {
    shown(&connect(addr, trust, name).await)
}

async fn ok(raw: &mut Raw<Tls>) {
    let response = raw.roundtrip(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.text(), "hi");
}

#[tokio::test]
async fn set_tls_config_applies_to_new_handshakes_only() {
    let (a, b) = (pair(&["localhost"]), pair(&["localhost"]));
    let (running, addr) = serve(config(&a)).await;
    let trust = [&a, &b];
    let mut open = Raw::new(connect(addr, &trust, "localhost").await);
    ok(&mut open).await;

    running
        .set_tls_config(&running.listeners()[0], config(&b))
        .expect("swap");
    assert_eq!(served(addr, &trust, "localhost").await, b.der);
    // The connection opened before the swap goes on, with its certificate.
    ok(&mut open).await;
    assert_eq!(shown(open.stream()), a.der);

    let error = running
        .set_tls_config(&ListenAddr::Tcp(addr), config(&a))
        .expect_err("not a TLS listener address");
    assert!(error.is_config());
    assert_eq!(
        error.to_string(),
        format!("no TLS listener at http://{addr}: pass an address from listeners()")
    );
}

/// Whether an error is the expected variant.
type Is = fn(&CertError) -> bool;

fn write(dir: &Path, cert: &str, key: &str) {
    std::fs::write(dir.join("cert.pem"), cert).expect("write cert");
    std::fs::write(dir.join("key.pem"), key).expect("write key");
}

#[tokio::test]
async fn reloading_cert_swaps_and_refuses_bad_pairs() {
    let (a, b, c) = (
        pair(&["localhost"]),
        pair(&["localhost"]),
        pair(&["localhost"]),
    );
    let trust = [&a, &b, &c];
    let dir = temp_dir("tls-reload");
    write(&dir, &a.cert_pem, &a.key_pem);
    let cert = ReloadingCert::from_files(dir.join("cert.pem"), dir.join("key.pem")).expect("load");
    let (_running, addr) = serve(TlsConfig::from_resolver(cert.clone()).expect("config")).await;
    assert_eq!(served(addr, &trust, "localhost").await, a.der);

    write(&dir, &b.cert_pem, &b.key_pem);
    cert.reload().expect("a good pair");
    assert_eq!(served(addr, &trust, "localhost").await, b.der);

    let half = &c.cert_pem[..c.cert_pem.len() / 2];
    let bad: [(&str, &str, &str, Is); 4] = [
        (
            half,
            &c.key_pem,
            "truncated PEM in the certificate: a block has no -----END line (was the file still being written?)",
            |e| matches!(e, CertError::TruncatedPem(PemFile::Certificate)),
        ),
        (
            &c.cert_pem,
            &a.key_pem,
            "the private key does not belong to the certificate: pair each certificate with its own key",
            |e| matches!(e, CertError::KeyMismatch),
        ),
        (
            &c.key_pem,
            &c.cert_pem,
            "the certificate PEM holds a private key, not a certificate: are the certificate and key swapped?",
            |e| matches!(e, CertError::NoCertificate { holds_key: true }),
        ),
        (
            &c.cert_pem,
            &c.cert_pem,
            "the private key PEM holds a certificate, not a key: are the certificate and key swapped?",
            |e| {
                matches!(
                    e,
                    CertError::NoPrivateKey {
                        holds_certificate: true
                    }
                )
            },
        ),
    ];
    for (cert_pem, key_pem, message, is) in bad {
        write(&dir, cert_pem, key_pem);
        let error = cert.reload().expect_err("a bad pair");
        assert_eq!(error.to_string(), message);
        assert!(is(&error), "{error:?}");
        assert_eq!(served(addr, &trust, "localhost").await, b.der, "{message}");
    }
    std::fs::remove_file(dir.join("key.pem")).expect("remove");
    let error = cert.reload().expect_err("no key file");
    assert!(
        matches!(&error, CertError::Unreadable { file: PemFile::PrivateKey, path, .. } if path == &dir.join("key.pem")),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(&format!(
            "cannot read the private key file {}: ",
            dir.join("key.pem").display()
        )),
        "{error}"
    );
    assert_eq!(served(addr, &trust, "localhost").await, b.der);
}

#[tokio::test]
async fn watch_reloads_when_the_files_change() {
    let (a, b) = (pair(&["localhost"]), pair(&["localhost"]));
    let trust = [&a, &b];
    let dir = temp_dir("tls-watch");
    write(&dir, &a.cert_pem, &a.key_pem);
    let cert = ReloadingCert::from_files(dir.join("cert.pem"), dir.join("key.pem")).expect("load");
    let watching = cert.watch(Duration::from_millis(20));
    let (_running, addr) = serve(TlsConfig::from_resolver(cert.clone()).expect("config")).await;
    assert_eq!(served(addr, &trust, "localhost").await, a.der);

    // Files with a later modification time, set outright: a file system
    // whose timestamps are coarse would otherwise show no change.
    write(&dir, &b.cert_pem, &b.key_pem);
    let later = std::time::SystemTime::now() + Duration::from_secs(2);
    for name in ["cert.pem", "key.pem"] {
        std::fs::File::options()
            .write(true)
            .open(dir.join(name))
            .and_then(|file| file.set_modified(later))
            .expect("set the modification time");
    }
    within("the watcher picking up the new pair", async {
        while served(addr, &trust, "localhost").await != b.der {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    watching.abort();
}

#[tokio::test]
async fn sni_picks_the_certificate() {
    let a = pair(&["a.test"]);
    let b = pair(&["b.test"]);
    let wild = pair(&["*.w.test"]);
    let fallback = pair(&["other.test"]);
    let dir = temp_dir("tls-sni");
    write(&dir, &a.cert_pem, &a.key_pem);
    let reloading_a =
        ReloadingCert::from_files(dir.join("cert.pem"), dir.join("key.pem")).expect("load");
    let fixed = |pair: &Pair| {
        let dir = temp_dir("tls-sni-fixed");
        write(&dir, &pair.cert_pem, &pair.key_pem);
        ReloadingCert::from_files(dir.join("cert.pem"), dir.join("key.pem")).expect("load")
    };
    let sni = SniCerts::new()
        .with("a.test", reloading_a)
        .with("B.test", fixed(&b))
        .with("*.w.test", fixed(&wild))
        .with_default(fixed(&fallback));
    let (_running, addr) = serve(TlsConfig::from_resolver(Arc::new(sni)).expect("config")).await;
    let trust = [&a, &b, &wild, &fallback];
    let cases = [
        ("a.test", &a),
        ("b.test", &b),
        ("x.w.test", &wild),
        ("other.test", &fallback),
    ];
    for (name, expected) in cases {
        assert_eq!(served(addr, &trust, name).await, expected.der, "{name}");
    }
}
