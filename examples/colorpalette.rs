//! Colour palette REST API: a port of Qt HTTP Server's `colorpalette` example to Postern.
//!
//! Two resources with the same CRUD routes, `<res>` being `/api/unknown` (colours) or
//! `/api/users`:
//!
//! | method | path | answer |
//! |---|---|---|
//! | any | `/` | a welcome line |
//! | GET | `<res>?page=&per_page=&delay=` | 200 `{"data","page","per_page","total","total_pages"}`; 204 past the last page; 400 for `page`/`per_page` < 1 or a bad number. `delay` (seconds, at most 10) waits without holding up other requests |
//! | GET | `<res>/<id>` | 200 the item, or 404 |
//! | POST | `<res>` | needs a `token` header (401); then a JSON object body (see below); missing or mistyped fields 400; existing id 208; else 201 with the item |
//! | PUT | `<res>/<id>` | token (401); JSON object body; missing fields 400; unknown id 204; else 200 with the item |
//! | PATCH | `<res>/<id>` | token (401); JSON object body; unknown id 204; else 200 with the item |
//! | DELETE | `<res>/<id>` | token (401); unknown id 204; else 200 |
//! | POST | `/api/login` | JSON `{"email","password"}`: 200 `{"id","token"}`, 404 unknown |
//! | POST | `/api/register` | JSON `{"email","password"}`: 200 `{"id","token"}` |
//!
//! JSON bodies are read by the router's typed input [`Json`]: a body that is not
//! `content-type: application/json` gets 415, malformed JSON 400, and JSON of the wrong shape
//! (not an object, a login without `password`) 422 with a message naming what is wrong. The
//! item routes take `Result<Json<…>, InputRejection>` so that a missing token is answered
//! (401) before the body is judged, as in Qt's example.
//! | POST | `/api/logout` | `token` header (400 without); ends that session; 200 |
//! | GET | `/img/faces/<id>-image.jpg` | the avatar (`image/jpeg`) or 404 |
//!
//! Sample data (our own) is read from `examples/assets/colorpalette/`; every account's
//! password is `swatch-<id>` (see `sessions.json`).
//!
//! ```text
//! cargo run --example colorpalette -- [--port N]     # default 49425, 0 = any free port
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::StatusCode;
use postern_core::{HttpService, IntoResponse, Method, Request, Response, RunningServer, Server};
use postern_router::input::{InputRejection, Json};
use postern_router::{HttpServer, RouteError};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The port Qt's example listens on.
pub const DEFAULT_PORT: u16 = 49425;
/// What `/` answers.
pub const WELCOME: &str =
    "Postern colour palette example server. The example's source lists the API.";
/// The longest `delay` a list request may ask for, in seconds.
pub const MAX_DELAY_SECS: u64 = 10;
/// Page size when `per_page` is absent.
pub const DEFAULT_PER_PAGE: usize = 6;

type Object = Map<String, Value>;
type Shared<T> = Arc<Mutex<T>>;

/// Locks, recovering from a handler that panicked while holding the lock.
fn lock<T>(shared: &Mutex<T>) -> MutexGuard<'_, T> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One resource item (a colour or a user).
trait Item: Clone + Send + 'static {
    /// Builds an item from a POST body; `None` if a field is missing or mistyped.
    fn from_json(json: &Object, now: &str) -> Option<Self>;
    /// The item's id.
    fn id(&self) -> i64;
    /// The text fields a client may change.
    const FIELDS: &'static [&'static str];
    /// How many of `FIELDS`, from the first, a full update must carry.
    const REQUIRED: usize;
    /// Set one of `FIELDS`.
    fn set(&mut self, field: &str, value: &str);
    /// Record the time of a change.
    fn touch(&mut self, now: &str);
    /// Full update (PUT): every required field must be present.
    fn update(&mut self, json: &Object, now: &str) -> bool {
        if Self::FIELDS[..Self::REQUIRED]
            .iter()
            .any(|field| text(json, field).is_none())
        {
            return false;
        }
        self.update_fields(json, now);
        true
    }
    /// Partial update (PATCH): the fields present and well-typed are changed.
    fn update_fields(&mut self, json: &Object, now: &str) {
        for field in Self::FIELDS {
            if let Some(value) = text(json, field) {
                self.set(field, &value);
            }
        }
        self.touch(now);
    }
    /// The item as JSON; `base` is `http://127.0.0.1:<port>` for links.
    fn to_json(&self, base: &str) -> Value;
}

#[derive(Debug, Clone)]
struct Colour {
    id: i64,
    name: String,
    color: String,
    pantone_value: String,
    created_at: String,
    updated_at: String,
}

const COLOUR_FIELDS: [&str; 3] = ["name", "color", "pantone_value"];

impl Colour {
    fn set_field(&mut self, field: &str, value: &str) {
        match field {
            "name" => self.name = value.to_owned(),
            "color" => self.color = value.to_owned(),
            _ => self.pantone_value = value.to_owned(),
        }
    }
}

impl Item for Colour {
    fn from_json(json: &Object, now: &str) -> Option<Self> {
        Some(Colour {
            id: json.get("id")?.as_i64()?,
            name: text(json, "name")?,
            color: text(json, "color")?,
            pantone_value: text(json, "pantone_value")?,
            created_at: text(json, "createdAt").unwrap_or_else(|| now.to_owned()),
            updated_at: text(json, "updatedAt").unwrap_or_else(|| now.to_owned()),
        })
    }

    fn id(&self) -> i64 {
        self.id
    }

    const FIELDS: &'static [&'static str] = &COLOUR_FIELDS;
    const REQUIRED: usize = COLOUR_FIELDS.len();

    fn set(&mut self, field: &str, value: &str) {
        self.set_field(field, value);
    }

    fn touch(&mut self, now: &str) {
        self.updated_at = now.to_owned();
    }

    fn to_json(&self, _base: &str) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "color": self.color,
            "pantone_value": self.pantone_value,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        })
    }
}

#[derive(Debug, Clone)]
struct User {
    id: i64,
    email: String,
    first_name: String,
    last_name: String,
    avatar: String,
    created_at: String,
    updated_at: String,
}

const USER_FIELDS: [&str; 4] = ["email", "first_name", "last_name", "avatar"];

impl User {
    fn set_field(&mut self, field: &str, value: &str) {
        match field {
            "email" => self.email = value.to_owned(),
            "first_name" => self.first_name = value.to_owned(),
            "last_name" => self.last_name = value.to_owned(),
            _ => self.avatar = value.to_owned(),
        }
    }
}

impl Item for User {
    fn from_json(json: &Object, now: &str) -> Option<Self> {
        Some(User {
            id: json.get("id")?.as_i64()?,
            email: text(json, "email")?,
            first_name: text(json, "first_name")?,
            last_name: text(json, "last_name")?,
            avatar: text(json, "avatar").unwrap_or_default(),
            created_at: text(json, "createdAt").unwrap_or_else(|| now.to_owned()),
            updated_at: text(json, "updatedAt").unwrap_or_else(|| now.to_owned()),
        })
    }

    fn id(&self) -> i64 {
        self.id
    }

    const FIELDS: &'static [&'static str] = &USER_FIELDS;
    const REQUIRED: usize = 3;

    fn set(&mut self, field: &str, value: &str) {
        self.set_field(field, value);
    }

    fn touch(&mut self, now: &str) {
        self.updated_at = now.to_owned();
    }

    fn to_json(&self, base: &str) -> Value {
        // Avatars stored as paths become links to this server, as in Qt's example.
        let avatar = if self.avatar.starts_with('/') {
            format!("{base}{}", self.avatar)
        } else {
            self.avatar.clone()
        };
        json!({
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "avatar": avatar,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        })
    }
}

/// An account that can log in; `token` is set while a session is open.
#[derive(Debug, Clone)]
struct Account {
    id: i64,
    email: String,
    password: String,
    token: Option<String>,
}

impl Account {
    /// A new session: `{"id", "token"}`, or 500 when the system has no
    /// randomness to give (no token is better than a guessable one).
    fn start_session(&mut self) -> Response {
        match new_token() {
            Ok(token) => {
                self.token = Some(token.clone());
                Response::json(&json!({ "id": self.id, "token": token }))
            }
            Err(error) => {
                tracing::error!(%error, "no random source for a session token");
                Response::new(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// The accounts, shared by every route that checks a token.
#[derive(Debug, Clone, Default)]
struct Accounts(Shared<Vec<Account>>);

impl Accounts {
    /// Whether the request's `token` header names an open session.
    fn authorize(&self, request: &Request) -> bool {
        let Some(token) = request.value("token") else {
            return false;
        };
        lock(&self.0)
            .iter()
            .any(|account| account.token.as_deref() == Some(&*token))
    }
}

fn text(json: &Object, field: &str) -> Option<String> {
    json.get(field)?.as_str().map(str::to_owned)
}

/// A JSON object body, or the answer saying why there is none (415, 400 or 422).
type ObjectBody = Result<Json<Object>, InputRejection>;

/// What login and register read.
#[derive(Debug, Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

/// `http://127.0.0.1:<port>` for the port this request came in on.
fn base_url(request: &Request) -> String {
    let port = request
        .local_addr()
        .map_or(DEFAULT_PORT, |addr| addr.port());
    format!("http://127.0.0.1:{port}")
}

/// A session token: a version-4 UUID from 122 bits of the operating
/// system's cryptographic random source (a token that can be guessed would
/// let anyone act as the account).
fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// Now, as ISO 8601 UTC with milliseconds (`2026-11-25T07:15:13.123Z`).
fn now_iso() -> String {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60,
        since_epoch.subsec_millis()
    )
}

/// `page`, `per_page` and `delay` from the query; `None` when one is malformed or out of range.
fn page_query(request: &Request) -> Option<(usize, usize, u64)> {
    let number = |name: &str, default: u64| match request.query_value(name) {
        Some(value) => value.trim().parse::<u64>().ok(),
        None => Some(default),
    };
    let page = usize::try_from(number("page", 1)?).ok()?;
    let per_page = usize::try_from(number("per_page", DEFAULT_PER_PAGE as u64)?).ok()?;
    let delay = number("delay", 0)?;
    (page >= 1 && per_page >= 1 && delay <= MAX_DELAY_SECS).then_some((page, per_page, delay))
}

/// Registers the five CRUD routes of one resource (Qt's `addCrudRoutes`).
fn add_crud_routes<T: Item>(
    server: &mut HttpServer,
    path: &str,
    items: Shared<BTreeMap<i64, T>>,
    accounts: &Accounts,
) -> Result<(), RouteError> {
    let item_path = format!("{path}/<arg>");

    let store = Arc::clone(&items);
    server.route_with_methods(path, Method::Get, move |request: Request| {
        // The page is taken now, as Qt's paginator copies the data before the worker runs.
        let page = page_query(&request).map(|(page, per_page, delay)| {
            let all = lock(&store);
            let total = all.len();
            let base = base_url(&request);
            let data: Vec<Value> = all
                .values()
                .skip((page - 1).saturating_mul(per_page))
                .take(per_page)
                .map(|item| item.to_json(&base))
                .collect();
            let valid = (page - 1).saturating_mul(per_page) < total;
            let body = json!({
                "page": page,
                "per_page": per_page,
                "total": total,
                "total_pages": total.div_ceil(per_page),
                "data": data,
            });
            (valid.then_some(body), delay)
        });
        async move {
            let Some((body, delay)) = page else {
                return Response::new(StatusCode::BAD_REQUEST);
            };
            if delay > 0 {
                tokio::time::sleep(Duration::from_secs(delay)).await;
            }
            match body {
                Some(body) => Response::json(&body),
                None => Response::new(StatusCode::NO_CONTENT),
            }
        }
    })?;

    let store = Arc::clone(&items);
    server.route_with_methods(
        &item_path,
        Method::Get,
        move |id: i64, request: &Request| match lock(&store).get(&id) {
            Some(item) => Response::json(&item.to_json(&base_url(request))),
            None => Response::new(StatusCode::NOT_FOUND),
        },
    )?;

    let (store, auth) = (Arc::clone(&items), accounts.clone());
    server.route_with_methods(
        path,
        Method::Post,
        move |body: ObjectBody, request: &Request| {
            if !auth.authorize(request) {
                return Response::new(StatusCode::UNAUTHORIZED);
            }
            let json = match body {
                Ok(Json(json)) => json,
                Err(rejection) => return rejection.into_response(),
            };
            let Some(item) = T::from_json(&json, &now_iso()) else {
                return Response::new(StatusCode::BAD_REQUEST);
            };
            let mut all = lock(&store);
            if all.contains_key(&item.id()) {
                return Response::new(StatusCode::ALREADY_REPORTED);
            }
            let body = item.to_json(&base_url(request));
            all.insert(item.id(), item);
            Response::json(&body).with_status(StatusCode::CREATED)
        },
    )?;

    let (store, auth) = (Arc::clone(&items), accounts.clone());
    server.route_with_methods(
        &item_path,
        Method::Put,
        move |id: i64, body: ObjectBody, request: &Request| {
            if !auth.authorize(request) {
                return Response::new(StatusCode::UNAUTHORIZED);
            }
            let json = match body {
                Ok(Json(json)) => json,
                Err(rejection) => return rejection.into_response(),
            };
            let mut all = lock(&store);
            let Some(item) = all.get_mut(&id) else {
                return Response::new(StatusCode::NO_CONTENT);
            };
            if !item.update(&json, &now_iso()) {
                return Response::new(StatusCode::BAD_REQUEST);
            }
            Response::json(&item.to_json(&base_url(request)))
        },
    )?;

    let (store, auth) = (Arc::clone(&items), accounts.clone());
    server.route_with_methods(
        &item_path,
        Method::Patch,
        move |id: i64, body: ObjectBody, request: &Request| {
            if !auth.authorize(request) {
                return Response::new(StatusCode::UNAUTHORIZED);
            }
            let json = match body {
                Ok(Json(json)) => json,
                Err(rejection) => return rejection.into_response(),
            };
            let mut all = lock(&store);
            let Some(item) = all.get_mut(&id) else {
                return Response::new(StatusCode::NO_CONTENT);
            };
            item.update_fields(&json, &now_iso());
            Response::json(&item.to_json(&base_url(request)))
        },
    )?;

    let (store, auth) = (items, accounts.clone());
    server.route_with_methods(
        &item_path,
        Method::Delete,
        move |id: i64, request: &Request| {
            if !auth.authorize(request) {
                return StatusCode::UNAUTHORIZED;
            }
            match lock(&store).remove(&id) {
                Some(_) => StatusCode::OK,
                None => StatusCode::NO_CONTENT,
            }
        },
    )?;
    Ok(())
}

/// Registers login, register and logout.
fn add_session_routes(server: &mut HttpServer, accounts: &Accounts) -> Result<(), RouteError> {
    let auth = accounts.clone();
    server.route_with_methods(
        "/api/login",
        Method::Post,
        move |body: Json<Credentials>| {
            let Json(Credentials { email, password }) = body;
            let mut all = lock(&auth.0);
            match all
                .iter_mut()
                .find(|account| account.email == email && account.password == password)
            {
                Some(account) => account.start_session(),
                None => Response::new(StatusCode::NOT_FOUND),
            }
        },
    )?;

    let auth = accounts.clone();
    server.route_with_methods(
        "/api/register",
        Method::Post,
        move |body: Json<Credentials>| {
            let Json(Credentials { email, password }) = body;
            let mut all = lock(&auth.0);
            let id = all.iter().map(|account| account.id).max().unwrap_or(0) + 1;
            let mut account = Account {
                id,
                email,
                password,
                token: None,
            };
            let response = account.start_session();
            if response.status() == StatusCode::OK {
                all.push(account);
            }
            response
        },
    )?;

    let auth = accounts.clone();
    server.route_with_methods("/api/logout", Method::Post, move |request: &Request| {
        let Some(token) = request.value("token") else {
            return StatusCode::BAD_REQUEST;
        };
        for account in lock(&auth.0).iter_mut() {
            if account.token.as_deref() == Some(&*token) {
                account.token = None;
            }
        }
        StatusCode::OK
    })?;
    Ok(())
}

/// The folder with the sample data and avatars.
pub fn default_assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/assets/colorpalette")
}

fn load<T: Item>(path: &Path) -> Result<BTreeMap<i64, T>, Box<dyn std::error::Error>> {
    let content = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let Value::Array(entries) = serde_json::from_str(&content)? else {
        return Err(format!("{} is not a JSON array", path.display()).into());
    };
    let now = now_iso();
    entries
        .iter()
        .map(|entry| {
            entry
                .as_object()
                .and_then(|object| T::from_json(object, &now))
                .map(|item| (item.id(), item))
                .ok_or_else(|| format!("{}: malformed entry {entry}", path.display()).into())
        })
        .collect()
}

fn load_accounts(path: &Path) -> Result<Vec<Account>, Box<dyn std::error::Error>> {
    let content = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let Value::Array(entries) = serde_json::from_str(&content)? else {
        return Err(format!("{} is not a JSON array", path.display()).into());
    };
    entries
        .iter()
        .map(|entry| {
            let object = entry.as_object();
            let account = object.and_then(|o| {
                Some(Account {
                    id: o.get("id")?.as_i64()?,
                    email: text(o, "email")?,
                    password: text(o, "password")?,
                    token: None,
                })
            });
            account.ok_or_else(|| format!("{}: malformed entry {entry}", path.display()).into())
        })
        .collect()
}

/// Every route of the example, with the sample data from `assets`.
///
/// # Errors
/// Unreadable or malformed sample data, or a refused route.
pub fn build_server(assets: &Path) -> Result<HttpServer, Box<dyn std::error::Error>> {
    let colours: BTreeMap<i64, Colour> = load(&assets.join("colors.json"))?;
    let users: BTreeMap<i64, User> = load(&assets.join("users.json"))?;
    let accounts = Accounts(Arc::new(Mutex::new(load_accounts(
        &assets.join("sessions.json"),
    )?)));

    let mut server = HttpServer::new();
    server.route("/", || WELCOME)?;
    add_crud_routes(
        &mut server,
        "/api/unknown",
        Arc::new(Mutex::new(colours)),
        &accounts,
    )?;
    add_crud_routes(
        &mut server,
        "/api/users",
        Arc::new(Mutex::new(users)),
        &accounts,
    )?;
    add_session_routes(&mut server, &accounts)?;

    let images = assets.join("img");
    server.route_with_methods("/img/faces/<arg>-image.jpg", Method::Get, move |id: i64| {
        // `id` is an integer, so the path cannot leave the folder.
        Response::from_file(images.join(format!("{id}-image.jpg")))
    })?;
    Ok(server)
}

/// Serves `server` on `addr` (plain HTTP, as Qt's example).
///
/// # Errors
/// The address cannot be bound.
pub async fn start(server: HttpServer, addr: &str) -> Result<RunningServer, postern_core::Error> {
    Server::builder()
        .bind_tcp(addr)
        .serve(HttpService::new(server))
        .await
}

fn parse_port() -> Result<u16, String> {
    let mut port = DEFAULT_PORT;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" | "-p" => {
                let value = args.next().ok_or("--port needs a value")?;
                port = value.parse().map_err(|e| format!("--port {value}: {e}"))?;
            }
            "-h" | "--help" => return Err("usage: colorpalette [--port N]".to_owned()),
            other => return Err(format!("unknown argument {other}; try --help")),
        }
    }
    Ok(port)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("colorpalette: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let port = parse_port()?;
    let server = build_server(&default_assets_dir())?;
    let running = start(server, &format!("127.0.0.1:{port}")).await?;
    for listener in running.listeners() {
        println!("listening on {listener}");
    }
    tokio::signal::ctrl_c().await?;
    running.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
