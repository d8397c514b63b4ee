//! Simple HTTP server: a port of Qt HTTP Server's `simple` example to Postern.
//!
//! Routes (every method unless noted):
//!
//! | path | answer |
//! |---|---|
//! | `/` | `Hello world` |
//! | `/query` | `<host>/query/` |
//! | `/query/<id>` | `<host>/query/<id>` |
//! | `/query/<id>/log` | `<host>/query/<id>/log` |
//! | `/query/<id>/log/<threshold>` | `<host>/query/<id>/log/<threshold>` |
//! | `/user/<id>` | `User <id>` |
//! | `/user/<id>/detail` | `User <id> detail` |
//! | `/user/<id>/detail/<year>` | `User <id> detail year - <year>` |
//! | `/json/` | `{"key1":"1","key2":"2","key3":"3"}` |
//! | `/assets/<path>` | a file from `examples/assets/simple/` through tower-http's `ServeDir` (Range, `Last-Modified`, `If-Modified-Since`; no `..`, no dotfiles, no symlinks out of the folder) |
//! | `/remote_address` | the client's IP address |
//! | `/auth` | HTTP Basic: `postern` / `knock knock` gets 200, anything else 401 |
//!
//! Every returned response gets a `Server: Postern` header from an after-request handler.
//! One HTTP and one HTTPS listener (HTTP/2 through ALPN on the HTTPS one); without
//! `--cert`/`--key` a self-signed certificate for `localhost` and `127.0.0.1` is made at start.
//!
//! ```text
//! cargo run --example simple -- [--port N] [--tls-port N] [--cert cert.pem --key key.pem]
//! ```
//! `--port 0` (the default) picks any free port. One line per listener,
//! `listening on <url>`, is printed once it accepts connections.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use http::StatusCode;
use http::header::{HeaderValue, SERVER, WWW_AUTHENTICATE};
use postern_core::{HttpService, Request, Response, RunningServer, Server, TlsConfig};
use postern_router::{HttpServer, RouteError};
use tower_http::services::ServeDir;

/// The user name `/auth` accepts.
pub const USER: &str = "postern";
/// The password `/auth` accepts.
pub const PASSWORD: &str = "knock knock";
/// The `WWW-Authenticate` challenge of a refused `/auth`.
pub const CHALLENGE: &str = r#"Basic realm="Postern simple example", charset="UTF-8""#;
/// The `Server` header the after-request handler adds.
pub const SERVER_NAME: &str = "Postern";

/// The folder `/assets/<path>` serves.
pub fn default_assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/assets/simple")
}

/// Every route of the example, serving static files from `assets`.
///
/// # Errors
/// A route refused by the router (none is, but registration never panics), or an `assets`
/// folder that does not exist (reported as a pattern-free I/O error message).
pub fn build_server(assets: &Path) -> Result<HttpServer, Box<dyn std::error::Error>> {
    let assets = assets.canonicalize().map_err(|error| {
        format!(
            "the assets folder {} is unusable: {error}",
            assets.display()
        )
    })?;
    let mut server = HttpServer::new();
    add_routes(&mut server, assets)?;
    server.add_after_request_handler(|_request: &Request, response: &mut Response| {
        response
            .headers_mut()
            .insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    });
    Ok(server)
}

fn add_routes(server: &mut HttpServer, assets: PathBuf) -> Result<(), RouteError> {
    server.route("/", || "Hello world")?;

    server.route("/query", |request: &Request| {
        format!("{}/query/", host(request))
    })?;
    server.route("/query/", |id: i32, request: &Request| {
        format!("{}/query/{id}", host(request))
    })?;
    server.route("/query/<arg>/log", |id: i32, request: &Request| {
        format!("{}/query/{id}/log", host(request))
    })?;
    server.route(
        "/query/<arg>/log/",
        |id: i32, threshold: f32, request: &Request| {
            format!("{}/query/{id}/log/{threshold}", host(request))
        },
    )?;

    server.route("/user/", |id: i32| format!("User {id}"))?;
    server.route("/user/<arg>/detail", |id: i32| format!("User {id} detail"))?;
    server.route("/user/<arg>/detail/", |id: i32, year: i32| {
        format!("User {id} detail year - {year}")
    })?;

    server.route(
        "/json/",
        || serde_json::json!({ "key1": "1", "key2": "2", "key3": "3" }),
    )?;

    // Files are served by tower-http's `ServeDir`, mounted under `/assets/` (which it never
    // sees: the path reaches it as `/style.css`). Its answers skip the after-request handlers,
    // so a layer adds the `Server` header to them.
    let files = tower::ServiceBuilder::new()
        .map_response(|mut response: http::Response<_>| {
            response
                .headers_mut()
                .insert(SERVER, HeaderValue::from_static(SERVER_NAME));
            response
        })
        .service(ServeDir::new(&assets).append_index_html_on_directories(false));
    server
        .route_service("/assets/", files)?
        .when(move |request: &Request| may_serve(&assets, request));

    server.route("/remote_address", |request: &Request| {
        request
            .remote_addr()
            .map(|addr| addr.ip().to_string())
            .unwrap_or_default()
    })?;

    server.route("/auth", |request: &Request| {
        if basic_credentials(request)
            .is_some_and(|(user, password)| user == USER && password == PASSWORD)
        {
            Response::with_mime("text/plain", "Success\n")
        } else {
            Response::with_mime("text/plain", "Authentication required\n")
                .with_status(StatusCode::UNAUTHORIZED)
                .with_header(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE))
        }
    })?;
    Ok(())
}

/// The host the client named, as Qt's example uses it: the `Host` header, or the HTTP/2
/// `:authority`.
fn host(request: &Request) -> String {
    request.host().unwrap_or_default().to_owned()
}

/// Whether `/assets/<path>` may reach `ServeDir`: `ServeDir` refuses `..` itself and reads
/// files asynchronously, but it serves dotfiles (`.private`, `.git/`) and follows symlinks out
/// of its folder, so those two are refused here and get the missing handler's 404. `root` is
/// canonical.
///
/// Rule conditions are synchronous: the symlink check is one `realpath` call, made only for
/// a path that exists, on a local folder.
pub fn may_serve(root: &Path, request: &Request) -> bool {
    let path = request.decoded_path();
    let Some(rest) = path.strip_prefix("/assets/") else {
        return false;
    };
    if rest
        .split(['/', '\\'])
        .any(|segment| segment.starts_with('.'))
    {
        return false;
    }
    match root.join(rest).canonicalize() {
        Ok(file) => file.starts_with(root),
        // Missing: ServeDir answers its own 404.
        Err(_) => true,
    }
}

/// The user and password of an `Authorization: Basic …` header (RFC 7617): the scheme is
/// case-insensitive, the credentials are split at the first `:`.
pub fn basic_credentials(request: &Request) -> Option<(String, String)> {
    let value = request.value("authorization")?;
    let value = value.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// A self-signed certificate and key (PEM) for `localhost` and `127.0.0.1`.
///
/// # Errors
/// Key generation failed.
pub fn self_signed_pem() -> Result<(String, String), rcgen::Error> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names)?;
    Ok((certified.cert.pem(), certified.signing_key.serialize_pem()))
}

/// Binds `http` (plain) and `https` (TLS with `cert_pem`/`key_pem`, HTTP/2 via ALPN) and
/// serves `server` on both.
///
/// # Errors
/// Unusable certificate, or an address that cannot be bound.
pub async fn start(
    server: HttpServer,
    http: &str,
    https: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<RunningServer, postern_core::Error> {
    let tls = TlsConfig::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?;
    Server::builder()
        .bind_tcp(http)
        .bind_tls(https, tls)
        .serve(HttpService::new(server))
        .await
}

/// Command-line options.
struct Options {
    port: u16,
    tls_port: u16,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        port: 0,
        tls_port: 0,
        cert: None,
        key: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--port" => options.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--tls-port" => {
                options.tls_port = value()?.parse().map_err(|e| format!("--tls-port: {e}"))?;
            }
            "--cert" => options.cert = Some(value()?.into()),
            "--key" => options.key = Some(value()?.into()),
            "-h" | "--help" => {
                return Err(
                    "usage: simple [--port N] [--tls-port N] [--cert cert.pem --key key.pem]"
                        .to_owned(),
                );
            }
            other => return Err(format!("unknown argument {other}; try --help")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("simple: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let options = parse_options()?;
    let (cert, key) = match (&options.cert, &options.key) {
        (Some(cert), Some(key)) => (
            std::fs::read_to_string(cert)?,
            std::fs::read_to_string(key)?,
        ),
        (None, None) => self_signed_pem()?,
        _ => return Err("--cert and --key go together".into()),
    };
    let server = build_server(&default_assets_dir())?;
    let running = start(
        server,
        &format!("127.0.0.1:{}", options.port),
        &format!("127.0.0.1:{}", options.tls_port),
        &cert,
        &key,
    )
    .await?;
    for listener in running.listeners() {
        println!("listening on {listener}");
    }
    tokio::signal::ctrl_c().await?;
    running.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
