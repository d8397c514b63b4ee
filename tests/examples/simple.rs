//! Black-box tests of every route of `examples/simple.rs`, over real sockets: HTTP/1.1 on the
//! plain listener, HTTP/1.1 and HTTP/2 (ALPN) on the TLS one.

#[path = "../../examples/simple.rs"]
#[allow(dead_code, unreachable_pub)]
mod example;

use std::path::Path;
use std::time::Duration;

use http::{StatusCode, Version};
use postern_core::ListenAddr;

use crate::support::{Raw, Running};

struct Fixture {
    running: Running,
    http: String,
    https: String,
    /// Plain HTTP/1.1.
    plain: reqwest::Client,
    /// TLS, HTTP/1.1 only.
    tls_h1: reqwest::Client,
    /// TLS, HTTP/2 offered through ALPN.
    tls_h2: reqwest::Client,
}

async fn start_with(assets: &Path) -> Fixture {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (cert, key) = example::self_signed_pem().expect("certificate");
    let server = example::build_server(assets).expect("routes");
    let running = Running::new(
        example::start(server, "127.0.0.1:0", "127.0.0.1:0", &cert, &key)
            .await
            .expect("listening"),
    );
    let (mut http, mut https) = (String::new(), String::new());
    for listener in running.listeners() {
        match listener {
            ListenAddr::Tcp(addr) => http = format!("http://{addr}"),
            ListenAddr::Tls(addr) => https = format!("https://{addr}"),
            _ => {}
        }
    }
    let root = reqwest::Certificate::from_pem(cert.as_bytes()).expect("PEM");
    let build = |builder: reqwest::ClientBuilder| {
        builder
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client")
    };
    Fixture {
        running,
        http,
        https,
        plain: build(reqwest::Client::builder().http1_only()),
        tls_h1: build(
            reqwest::Client::builder()
                .tls_certs_only([root.clone()])
                .http1_only(),
        ),
        tls_h2: build(reqwest::Client::builder().tls_certs_only([root])),
    }
}

async fn start() -> Fixture {
    start_with(&example::default_assets_dir()).await
}

struct Answer {
    status: StatusCode,
    version: Version,
    content_type: Option<String>,
    server: Option<String>,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

async fn get(client: &reqwest::Client, url: &str, auth: Option<&str>) -> Answer {
    match auth {
        Some(auth) => get_with(client, url, &[("authorization", auth)]).await,
        None => get_with(client, url, &[]).await,
    }
}

async fn get_with(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("response");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Answer {
        status: response.status(),
        version: response.version(),
        content_type: header("content-type"),
        server: header("server"),
        headers: response.headers().clone(),
        body: response.bytes().await.expect("body").to_vec(),
    }
}

fn asset(name: &str) -> Vec<u8> {
    std::fs::read(example::default_assets_dir().join(name)).expect("asset file")
}

#[tokio::test]
async fn every_route_over_http1_http1_tls_and_http2() {
    let f = start().await;
    let http_host = f.http.trim_start_matches("http://").to_owned();
    let https_host = f.https.trim_start_matches("https://").to_owned();
    let text = Some("text/plain; charset=utf-8");
    for (base, host, client, version) in [
        (&f.http, &http_host, &f.plain, Version::HTTP_11),
        (&f.https, &https_host, &f.tls_h1, Version::HTTP_11),
        (&f.https, &https_host, &f.tls_h2, Version::HTTP_2),
    ] {
        let table: Vec<(String, Option<&str>, String)> = vec![
            ("/".into(), text, "Hello world".into()),
            ("/query".into(), text, format!("{host}/query/")),
            ("/query/5".into(), text, format!("{host}/query/5")),
            ("/query/-5/log".into(), text, format!("{host}/query/-5/log")),
            (
                "/query/5/log/0.5".into(),
                text,
                format!("{host}/query/5/log/0.5"),
            ),
            (
                "/query/5/log/2.".into(),
                text,
                format!("{host}/query/5/log/2"),
            ),
            ("/user/7".into(), text, "User 7".into()),
            ("/user/7/detail".into(), text, "User 7 detail".into()),
            (
                "/user/7/detail/2026".into(),
                text,
                "User 7 detail year - 2026".into(),
            ),
            (
                "/json/".into(),
                Some("application/json"),
                r#"{"key1":"1","key2":"2","key3":"3"}"#.into(),
            ),
            ("/remote_address".into(), text, "127.0.0.1".into()),
        ];
        for (path, content_type, body) in table {
            let answer = get(client, &format!("{base}{path}"), None).await;
            let context = format!("{version:?} {base}{path}");
            assert_eq!(answer.status, StatusCode::OK, "{context}");
            assert_eq!(answer.version, version, "{context}");
            assert_eq!(answer.content_type.as_deref(), content_type, "{context}");
            assert_eq!(answer.server.as_deref(), Some("Postern"), "{context}");
            assert_eq!(String::from_utf8_lossy(&answer.body), body, "{context}");
        }
    }
    f.running.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn static_assets_by_name_and_content() {
    let f = start().await;
    for client in [&f.plain, &f.tls_h2] {
        let base = if std::ptr::eq(client, &f.plain) {
            &f.http
        } else {
            &f.https
        };
        let table = [
            ("index.html", "text/html"),
            ("postern-logo.png", "image/png"),
            ("style.css", "text/css"),
            ("lamps.json", "application/json"),
            ("notes/readme.txt", "text/plain"),
        ];
        for (name, mime) in table {
            let answer = get(client, &format!("{base}/assets/{name}"), None).await;
            assert_eq!(answer.status, StatusCode::OK, "{name}");
            assert_eq!(answer.content_type.as_deref(), Some(mime), "{name}");
            assert_eq!(answer.body, asset(name), "{name}");
            assert_eq!(answer.server.as_deref(), Some("Postern"));
        }
    }
    f.running.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn no_path_traversal_and_no_dotfiles() {
    let f = start().await;
    // Refused by the example's rule condition (dot segments, so `..` too): the router's 404.
    let refused = [
        "/assets/.private",
        "/assets/notes%2F..%2F..%2Fsimple.rs",
        "/assets/%2E%2E/simple.rs",
        "/assets/%2e%2e/simple.rs",
        "/assets/notes%2F..%2Findex.html",
        "/assets/..%5C..%5CCargo.toml",
    ];
    for path in refused {
        let answer = get(&f.plain, &format!("{}{path}", f.http), None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/x-empty"),
            "{path}"
        );
        assert!(answer.body.is_empty(), "{path}");
        assert_eq!(answer.server.as_deref(), Some("Postern"), "{path}");
    }
    // No such file, or a folder: `ServeDir`'s own 404, empty and without a content type.
    for path in ["/assets/missing.txt", "/assets/notes/", "/assets/"] {
        let answer = get(&f.plain, &format!("{}{path}", f.http), None).await;
        assert_eq!(
            (answer.status, answer.content_type.as_deref()),
            (StatusCode::NOT_FOUND, None),
            "{path}"
        );
        assert!(answer.body.is_empty(), "{path}");
        assert_eq!(answer.server.as_deref(), Some("Postern"), "{path}");
    }
    // Raw requests, so that no client normalises the dot segments away.
    let addr = f
        .http
        .trim_start_matches("http://")
        .parse()
        .expect("an address");
    for target in [
        "/assets/../../Cargo.toml",
        "/assets/./../simple.rs",
        "/assets/notes/../.private",
    ] {
        let mut raw = Raw::connect(addr).await;
        let response = raw
            .roundtrip(format!(
                "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            ))
            .await;
        assert_eq!(response.status_line, "HTTP/1.1 404 Not Found", "{target}");
        assert_eq!(
            response.header("content-type"),
            Some("application/x-empty"),
            "{target}"
        );
        assert_eq!(response.body, b"", "{target}");
        assert_eq!(raw.eof().await, b"", "{target}: closed as asked");
    }
    f.running.shutdown(Duration::from_secs(1)).await;
}

/// `ServeDir` answers ranges and conditional requests, over HTTP/1.1 and HTTP/2.
#[tokio::test]
async fn assets_answer_ranges_and_conditional_requests() {
    let f = start().await;
    let css = asset("style.css");
    for (client, base) in [(&f.plain, &f.http), (&f.tls_h2, &f.https)] {
        let url = format!("{base}/assets/style.css");
        let whole = get(client, &url, None).await;
        assert_eq!(whole.headers["accept-ranges"], "bytes");
        assert_eq!(
            whole.headers["content-length"],
            css.len().to_string().as_str()
        );
        let modified = whole.headers["last-modified"]
            .to_str()
            .expect("date")
            .to_owned();

        let part = get_with(client, &url, &[("range", "bytes=4-11")]).await;
        assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            part.headers["content-range"],
            format!("bytes 4-11/{}", css.len()).as_str()
        );
        assert_eq!(part.body, css[4..12].to_vec());
        assert_eq!(part.server.as_deref(), Some("Postern"));

        let beyond = get_with(client, &url, &[("range", "bytes=9999-")]).await;
        assert_eq!(beyond.status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(
            beyond.headers["content-range"],
            format!("bytes */{}", css.len()).as_str()
        );

        let unchanged = get_with(client, &url, &[("if-modified-since", &modified)]).await;
        assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
        assert!(unchanged.body.is_empty());
        let older = get_with(
            client,
            &url,
            &[("if-modified-since", "Mon, 01 Jan 2001 00:00:00 GMT")],
        )
        .await;
        assert_eq!((older.status, older.body), (StatusCode::OK, css.clone()));
        let changed = get_with(
            client,
            &url,
            &[("if-unmodified-since", "Mon, 01 Jan 2001 00:00:00 GMT")],
        )
        .await;
        assert_eq!(changed.status, StatusCode::PRECONDITION_FAILED);
    }
    f.running.shutdown(Duration::from_secs(1)).await;
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_out_of_the_root_are_refused() {
    let root = std::env::temp_dir().join(format!("postern-simple-assets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("temp dir");
    std::fs::write(root.join("inside.txt"), "inside\n").expect("file");
    let outside = example::default_assets_dir().join("../../simple.rs");
    std::os::unix::fs::symlink(
        outside.canonicalize().expect("example"),
        root.join("escape.txt"),
    )
    .expect("symlink");
    std::os::unix::fs::symlink(root.join("inside.txt"), root.join("alias.txt")).expect("symlink");

    let f = start_with(&root).await;
    let answer = get(&f.plain, &format!("{}/assets/escape.txt", f.http), None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let answer = get(&f.plain, &format!("{}/assets/alias.txt", f.http), None).await;
    assert_eq!(
        (answer.status, answer.body),
        (StatusCode::OK, b"inside\n".to_vec())
    );
    f.running.shutdown(Duration::from_secs(1)).await;
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn basic_auth() {
    use base64::Engine;
    let f = start().await;
    let encode = |credentials: &str| {
        base64::engine::general_purpose::STANDARD.encode(credentials.as_bytes())
    };
    let good = encode(&format!("{}:{}", example::USER, example::PASSWORD));
    let table = [
        (None, StatusCode::UNAUTHORIZED),
        (Some(format!("Basic {good}")), StatusCode::OK),
        (Some(format!("bAsIc   {good}  ")), StatusCode::OK),
        (
            Some(format!("Basic {}", encode("postern:wrong"))),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Some(format!("Basic {}", encode("nobody:knock knock"))),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Some(format!("Basic {}", encode("postern"))),
            StatusCode::UNAUTHORIZED,
        ),
        (Some(format!("Bearer {good}")), StatusCode::UNAUTHORIZED),
        (
            Some("Basic not-base64!".to_owned()),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for client in [&f.plain, &f.tls_h2] {
        let base = if std::ptr::eq(client, &f.plain) {
            &f.http
        } else {
            &f.https
        };
        for (auth, status) in &table {
            let answer = get(client, &format!("{base}/auth"), auth.as_deref()).await;
            assert_eq!(answer.status, *status, "{auth:?}");
            assert_eq!(answer.content_type.as_deref(), Some("text/plain"));
            assert_eq!(answer.server.as_deref(), Some("Postern"));
            if *status == StatusCode::OK {
                assert_eq!(answer.body, b"Success\n");
                assert!(answer.headers.get("www-authenticate").is_none());
            } else {
                assert_eq!(answer.body, b"Authentication required\n");
                assert_eq!(answer.headers["www-authenticate"], example::CHALLENGE);
            }
        }
    }
    f.running.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn misses_head_and_overflow() {
    let f = start().await;
    // The default 404 goes through the after-request handler, as in Qt.
    for path in [
        "/nowhere",
        "/user/",
        "/user/x",
        "/user/99999999999",
        "/query/1/log/",
    ] {
        let answer = get(&f.plain, &format!("{}{path}", f.http), None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/x-empty"),
            "{path}"
        );
        assert_eq!(answer.server.as_deref(), Some("Postern"), "{path}");
    }
    // GET routes answer HEAD: same headers, no body.
    for (client, base) in [(&f.plain, &f.http), (&f.tls_h2, &f.https)] {
        let response = client
            .head(format!("{base}/user/3"))
            .send()
            .await
            .expect("HEAD");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-length"], "6");
        assert_eq!(response.headers()["server"], "Postern");
        assert!(response.bytes().await.expect("body").is_empty());
    }
    f.running.shutdown(Duration::from_secs(1)).await;
}
