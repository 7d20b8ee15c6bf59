//! Ponte Studio's server: a page on loopback where an operator tries a function's `webhooks`
//! configuration against real submissions, saves it as a new version of the secret, and sends
//! dead letters back to the function's queue.
//!
//! Every result comes from the functions' own code ([`ponte::explain`]); nothing here decodes a
//! form, renders a mapping or validates a request. Nothing is ever sent to a provider. The page
//! gets the `webhooks` part of the secret with its tokens and signing secrets masked (a masked
//! value saved back keeps the secret's own), and answers and requests with e-mails and phones
//! masked unless asked. Every API call carries the run's token (`X-Studio-Token`), and a request
//! whose `Host` is not this loopback address is refused, so another site open in the browser
//! cannot reach the API.

pub mod demo;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::future::BoxFuture;
use ponte::action::Action;
use ponte::connection::ProviderConnection;
use ponte::registry::{self, ACTIONS, ForAction};
use ponte::replay;
use ponte::trigger::{self, HttpRequest, Trigger};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("studio.js");
const STYLE: &str = include_str!("studio.css");

/// What stands in the page for a token or signing secret of the secret.
pub const MASK: &str = "•••• kept in the secret";

/// Keys whose values are credentials, wherever they sit in `webhooks`.
const CREDENTIALS: &[&str] = &["token", "signing_secret", "secret", "webhook_token"];

/// Where one function's configuration and letters are.
#[derive(Debug, Clone)]
pub struct FunctionPlace {
    pub name: String,
    pub secret_id: String,
    pub dead_letters: Option<String>,
    pub queue: Option<String>,
}

/// What the server works with.
pub struct Studio {
    pub token: String,
    pub functions: Vec<FunctionPlace>,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// `events/`, one folder per function: the samples.
    pub events: PathBuf,
}

struct Served {
    studio: Studio,
    addr: SocketAddr,
    /// The letters last listed, by message id: what the page tries and redrives.
    letters: Mutex<HashMap<String, String>>,
}

type Shared = Arc<Served>;

/// A running Studio; stops when dropped.
pub struct Running {
    pub addr: SocketAddr,
    pub token: String,
    server: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The page's address, with the run's token.
    pub fn url(&self) -> String {
        format!("http://{}/?token={}", self.addr, self.token)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A token for one run: 32 random bytes, hex.
pub fn new_token() -> String {
    (0..32)
        .map(|_| format!("{:02x}", fastrand::u8(..)))
        .collect()
}

/// Serves the Studio on 127.0.0.1:`port` (0: any free port).
pub async fn serve(studio: Studio, port: u16) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let token = studio.token.clone();
    let shared = Arc::new(Served {
        studio,
        addr,
        letters: Mutex::new(HashMap::new()),
    });
    let api = Router::new()
        .route("/api/functions", get(functions))
        .route("/api/config", get(config))
        .route("/api/samples", get(samples))
        .route("/api/letters", get(letters))
        .route("/api/try", post(try_out))
        .route("/api/save", post(save))
        .route("/api/redrive", post(redrive))
        .route_layer(middleware::from_fn_with_state(shared.clone(), with_token));
    let app = Router::new()
        .route(
            "/",
            get(|| async { page(PAGE, "text/html; charset=utf-8") }),
        )
        .route(
            "/studio.js",
            get(|| async { page(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/studio.css",
            get(|| async { page(STYLE, "text/css; charset=utf-8") }),
        )
        .merge(api)
        .layer(middleware::from_fn_with_state(shared.clone(), same_host))
        .with_state(shared);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Running {
        addr,
        token,
        server,
    })
}

/// A static part of the page, with a policy that lets it load nothing from elsewhere.
fn page(body: &'static str, kind: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Refuses a request addressed to another host name (a page elsewhere rebinding its DNS to
/// loopback).
async fn same_host(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let port = shared.addr.port();
    if host != format!("127.0.0.1:{port}") && host != format!("localhost:{port}") {
        return (
            StatusCode::FORBIDDEN,
            "Ponte Studio answers on loopback only",
        )
            .into_response();
    }
    next.run(request).await
}

/// The API answers only calls carrying the run's token.
async fn with_token(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get("x-studio-token")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !same_bytes(given.as_bytes(), shared.studio.token.as_bytes()) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"ok": false, "message": "open the address scripts/studio printed: it carries this run's token"})),
        )
            .into_response();
    }
    next.run(request).await
}

/// Compares without stopping at the first difference.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn problem(message: impl Into<String>) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        json!({"ok": false, "message": message.into()}),
    )
}

/// Why a call cannot be answered, said to the page as a 400.
struct Refused(String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        problem(self.0)
    }
}

impl Served {
    fn place(&self, function: &str) -> Result<&FunctionPlace, Refused> {
        self.studio
            .functions
            .iter()
            .find(|f| f.name == function)
            .ok_or_else(|| Refused(format!("no function {function:?} here")))
    }

    /// The function's secret as stored now.
    async fn secret(&self, place: &FunctionPlace) -> Result<(Value, Option<String>), Refused> {
        let read = self
            .studio
            .secrets
            .get_secret_value()
            .secret_id(&place.secret_id)
            .send()
            .await
            .map_err(|e| {
                Refused(format!(
                    "the secret {} could not be read: {}",
                    place.secret_id,
                    e.into_service_error()
                ))
            })?;
        let value = read
            .secret_string()
            .and_then(|s| serde_json::from_str(s).ok())
            .ok_or_else(|| Refused(format!("the secret {} is not JSON", place.secret_id)))?;
        Ok((value, read.version_id().map(str::to_string)))
    }
}

#[derive(Deserialize)]
struct ForFunction {
    function: String,
    #[serde(default)]
    queue: Option<String>,
}

async fn functions(State(shared): State<Shared>) -> Response {
    let listed: Vec<Value> = shared
        .studio
        .functions
        .iter()
        .filter_map(|place| {
            let action = registry::find(&place.name)?;
            Some(json!({
                "name": place.name,
                "provider": action.provider,
                "does": action.does,
                "secret_id": place.secret_id,
                "sources": ponte::forms::SOURCES,
                "dead_letters": place.dead_letters.is_some(),
                "queue": place.queue.is_some(),
            }))
        })
        .collect();
    answer(StatusCode::OK, json!({"ok": true, "functions": listed}))
}

async fn config(State(shared): State<Shared>, Query(q): Query<ForFunction>) -> Response {
    let place = match shared.place(&q.function) {
        Ok(place) => place,
        Err(refused) => return refused.into_response(),
    };
    match shared.secret(place).await {
        Ok((secret, version)) => answer(
            StatusCode::OK,
            json!({
                "ok": true,
                "secret_id": place.secret_id,
                "version_id": version,
                "webhooks": masked(secret.get("webhooks").cloned().unwrap_or(json!({}))),
            }),
        ),
        Err(refused) => refused.into_response(),
    }
}

/// `webhooks` with every credential replaced by [`MASK`].
pub fn masked(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = match value {
                        Value::String(_) if CREDENTIALS.contains(&key.as_str()) => json!(MASK),
                        other => masked(other),
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(masked).collect()),
        other => other,
    }
}

/// `edited` with each [`MASK`] replaced by the credential at the same place in `stored`; `Err`
/// names a mask that stands for nothing.
pub fn unmasked(edited: Value, stored: &Value, at: &str) -> Result<Value, String> {
    match edited {
        Value::String(text) if text == MASK => stored.as_str().map(|s| json!(s)).ok_or_else(|| {
            format!("{at} is masked, but the secret holds no value there: write the value")
        }),
        Value::Object(map) => map
            .into_iter()
            .map(|(key, value)| {
                let inner = stored.get(&key).unwrap_or(&Value::Null);
                unmasked(value, inner, &format!("{at}.{key}")).map(|v| (key, v))
            })
            .collect::<Result<serde_json::Map<_, _>, _>>()
            .map(Value::Object),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let inner = stored.get(i).unwrap_or(&Value::Null);
                unmasked(item, inner, &format!("{at}[{i}]"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other),
    }
}

/// The secret with its `webhooks` replaced by the edited ones (credentials restored).
fn with_webhooks(mut secret: Value, edited: Value) -> Result<Value, String> {
    let stored = secret.get("webhooks").cloned().unwrap_or(Value::Null);
    let webhooks = unmasked(edited, &stored, "webhooks")?;
    match secret.as_object_mut() {
        Some(object) => {
            object.insert("webhooks".into(), webhooks);
            Ok(secret)
        }
        None => Err("the stored secret is not a JSON object".into()),
    }
}

async fn samples(State(shared): State<Shared>, Query(q): Query<ForFunction>) -> Response {
    let folder = shared.studio.events.join(&q.function);
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    answer(StatusCode::OK, json!({"ok": true, "samples": names}))
}

async fn letters(State(shared): State<Shared>, Query(q): Query<ForFunction>) -> Response {
    let place = match shared.place(&q.function) {
        Ok(place) => place,
        Err(refused) => return refused.into_response(),
    };
    let url = match q.queue.as_deref() {
        Some("queue") => place.queue.as_deref(),
        _ => place.dead_letters.as_deref(),
    };
    let Some(url) = url else {
        return problem("this function has no such queue here (give its URL to scripts/studio)");
    };
    let sqs = &shared.studio.sqs;
    // Read and let go at once: the Studio only looks.
    let read = match replay::read(sqs, url, 100).await {
        Ok(read) => read,
        Err(message) => return problem(message),
    };
    if let Err(message) = replay::release(sqs, url, &read).await {
        return problem(message);
    }
    let mut kept = shared.letters.lock().unwrap_or_else(|e| e.into_inner());
    let listed: Vec<Value> = read
        .iter()
        .map(|letter| {
            kept.insert(letter.message_id.clone(), letter.body.clone());
            json!({"message_id": letter.message_id, "reason": letter.kind, "error": letter.error})
        })
        .collect();
    answer(StatusCode::OK, json!({"ok": true, "letters": listed}))
}

#[derive(Deserialize)]
struct TryOut {
    function: String,
    webhooks: Value,
    submission: Submission,
    #[serde(default)]
    show_pii: bool,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Submission {
    Sample {
        name: String,
    },
    Letter {
        message_id: String,
    },
    Paste {
        source: String,
        #[serde(default)]
        query: String,
        #[serde(default)]
        headers: String,
        body: String,
    },
}

/// What the page asked to try, as the function would receive it.
enum Tried {
    Request(HttpRequest),
    Record(String),
}

struct Explain {
    secret: Value,
    tried: Tried,
    show_pii: bool,
}

impl ForAction for Explain {
    type Output = BoxFuture<'static, Value>;
    fn run<A: Action>(self) -> Self::Output
    where
        A::Connection: ProviderConnection,
    {
        Box::pin(async move {
            match self.tried {
                Tried::Request(request) => {
                    ponte::explain::request::<A>(&self.secret, &request, self.show_pii).await
                }
                Tried::Record(body) => {
                    ponte::explain::record::<A>(&self.secret, &body, self.show_pii).await
                }
            }
        })
    }
}

async fn try_out(State(shared): State<Shared>, axum::Json(t): axum::Json<TryOut>) -> Response {
    let place = match shared.place(&t.function) {
        Ok(place) => place,
        Err(refused) => return refused.into_response(),
    };
    let (stored, _) = match shared.secret(place).await {
        Ok(found) => found,
        Err(refused) => return refused.into_response(),
    };
    let secret = match with_webhooks(stored, t.webhooks) {
        Ok(secret) => secret,
        Err(message) => return problem(message),
    };
    let tried = match tried(&shared, &t.function, t.submission) {
        Ok(tried) => tried,
        Err(message) => return problem(message),
    };
    let request = match &tried {
        Tried::Request(request) => Some(request.clone()),
        Tried::Record(body) => ponte::explain::kept_request(body),
    };
    let explain = Explain {
        secret,
        tried,
        show_pii: t.show_pii,
    };
    let Some(explaining) = registry::visit(&t.function, explain) else {
        return problem(format!("no action {:?}", t.function));
    };
    let mut explained = explaining.await;
    if let Some(request) = request {
        explain_targets(&shared, &request, &mut explained, t.show_pii).await;
    }
    answer(StatusCode::OK, explained)
}

/// For each function a route hands a submission to: what that function would send, with its
/// own secret as stored (when the Studio has it), or why it cannot be told here.
async fn explain_targets(
    shared: &Served,
    request: &HttpRequest,
    explained: &mut Value,
    show_pii: bool,
) {
    let Some(submissions) = explained["submissions"].as_array_mut() else {
        return;
    };
    for submission in submissions {
        let id = submission["submission_id"].as_str().map(str::to_string);
        let Some(targets) = submission["targets"].as_array_mut() else {
            continue;
        };
        for target in targets {
            let function = target["function"].as_str().unwrap_or_default().to_string();
            let mapping = target["mapping"].as_str().unwrap_or_default().to_string();
            let Ok(place) = shared.place(&function) else {
                target["note"] = json!(format!(
                    "its secret is not open here: scripts/studio --function {function} --secret-id … shows what it would send"
                ));
                continue;
            };
            let secret = match shared.secret(place).await {
                Ok((secret, _)) => secret,
                Err(Refused(why)) => {
                    target["note"] = json!(why);
                    continue;
                }
            };
            let handed = Handed {
                secret,
                request: request.clone(),
                mapping,
                submission_id: id.clone(),
                show_pii,
            };
            if let Some(explaining) = registry::visit(&function, handed) {
                let told = explaining.await;
                target["result"] = match told["submissions"].get(0) {
                    Some(one) => one.clone(),
                    None => told,
                };
            }
        }
    }
}

/// What the function a submission is handed to would send ([`ponte::explain::handed`]).
struct Handed {
    secret: Value,
    request: HttpRequest,
    mapping: String,
    submission_id: Option<String>,
    show_pii: bool,
}

impl ForAction for Handed {
    type Output = BoxFuture<'static, Value>;
    fn run<A: Action>(self) -> Self::Output
    where
        A::Connection: ProviderConnection,
    {
        Box::pin(async move {
            ponte::explain::handed::<A>(
                &self.secret,
                &self.request,
                &self.mapping,
                self.submission_id.as_deref(),
                self.show_pii,
            )
            .await
        })
    }
}

fn tried(shared: &Served, function: &str, submission: Submission) -> Result<Tried, String> {
    match submission {
        Submission::Letter { message_id } => shared
            .letters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&message_id)
            .cloned()
            .map(Tried::Record)
            .ok_or_else(|| format!("letter {message_id} is not listed: load the letters again")),
        Submission::Sample { name } => {
            if name.contains('/') || name.contains("..") {
                return Err("a sample is a file name of events/<function>/".into());
            }
            let path = shared.studio.events.join(function).join(&name);
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let event: Value = serde_json::from_str(&text).map_err(|e| format!("{name}: {e}"))?;
            match trigger::classify(event)? {
                Trigger::Http(request) => Ok(Tried::Request(request)),
                Trigger::Sqs(batch) => batch
                    .records
                    .into_iter()
                    .next()
                    .and_then(|r| r.body)
                    .map(Tried::Record)
                    .ok_or_else(|| format!("{name} holds no record")),
            }
        }
        Submission::Paste {
            source,
            query,
            headers,
            body,
        } => pasted(&source, &query, &headers, &body).map(Tried::Request),
    }
}

/// A pasted request, as API Gateway would give it to the function.
fn pasted(source: &str, query: &str, headers: &str, body: &str) -> Result<HttpRequest, String> {
    let mut named: serde_json::Map<String, Value> = serde_json::Map::new();
    for line in headers.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("the header line {line:?} is not Name: value"))?;
        named.insert(name.trim().to_ascii_lowercase(), json!(value.trim()));
    }
    let query = query.trim().trim_start_matches('?');
    let parameters: serde_json::Map<String, Value> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_string(), json!(v))
        })
        .collect();
    let direct = source.is_empty() || source == "direct";
    if direct && !named.contains_key("content-type") {
        named.insert("content-type".into(), json!("application/json"));
    }
    let path = if direct {
        "/studio".to_string()
    } else {
        format!("/studio/{source}")
    };
    let mut event = json!({
        "version": "2.0", "routeKey": "POST /studio", "rawPath": path, "rawQueryString": query,
        "headers": named, "queryStringParameters": parameters, "isBase64Encoded": false, "body": body,
        "requestContext": {"accountId": "studio", "apiId": "studio", "domainName": "studio", "domainPrefix": "studio",
            "requestId": "studio", "routeKey": "POST /studio", "stage": "$default", "time": "03/Dec/2026:12:00:00 +0000", "timeEpoch": 0,
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "Ponte Studio"}}
    });
    if !direct {
        event["pathParameters"] = json!({"source": source});
    }
    match trigger::classify(event)? {
        Trigger::Http(request) => Ok(request),
        Trigger::Sqs(_) => Err("a pasted request is an HTTP request".into()),
    }
}

#[derive(Deserialize)]
struct Save {
    function: String,
    webhooks: Value,
}

/// Checks the whole secret as a function reads it, for the action called `name`.
struct Check(Value);

impl ForAction for Check {
    type Output = Result<(), Value>;
    fn run<A: Action>(self) -> Self::Output
    where
        A::Connection: ProviderConnection,
    {
        use ponte::connection::Connection;
        ponte::webhooks::Setup::<A::Connection>::from_secret(&self.0)
            .map(|_| ())
            .map_err(|problems| json!(problems.list()))
    }
}

async fn save(State(shared): State<Shared>, axum::Json(s): axum::Json<Save>) -> Response {
    let place = match shared.place(&s.function) {
        Ok(place) => place,
        Err(refused) => return refused.into_response(),
    };
    let (stored, previous) = match shared.secret(place).await {
        Ok(found) => found,
        Err(refused) => return refused.into_response(),
    };
    let secret = match with_webhooks(stored, s.webhooks) {
        Ok(secret) => secret,
        Err(message) => return problem(message),
    };
    match registry::visit(&s.function, Check(secret.clone())) {
        Some(Ok(())) => {}
        Some(Err(problems)) => {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({"ok": false, "message": "not saved: the configuration does not load", "problems": problems}),
            );
        }
        None => return problem(format!("no action {:?}", s.function)),
    }
    let put = shared
        .studio
        .secrets
        .put_secret_value()
        .secret_id(&place.secret_id)
        .secret_string(secret.to_string())
        .send()
        .await;
    match put {
        Ok(put) => {
            let new = put.version_id().unwrap_or_default().to_string();
            let previous = previous.unwrap_or_default();
            answer(
                StatusCode::OK,
                json!({
                    "ok": true,
                    "version_id": new,
                    "previous_version_id": previous,
                    "message": format!("saved as a new version of {}; functions read it within SECRET_MAX_AGE_SECONDS", place.secret_id),
                    "rollback": format!(
                        "aws secretsmanager update-secret-version-stage --secret-id {} --version-stage AWSCURRENT --move-to-version-id {previous} --remove-from-version-id {new}",
                        place.secret_id
                    ),
                }),
            )
        }
        Err(e) => problem(format!("not saved: {}", e.into_service_error())),
    }
}

#[derive(Deserialize)]
struct Redrive {
    function: String,
    message_ids: Vec<String>,
}

/// Sends the chosen letters back to the function's queue, as `scripts/replay redrive` does
/// ([`replay::redrive`]): each is delivered once from there.
async fn redrive(State(shared): State<Shared>, axum::Json(r): axum::Json<Redrive>) -> Response {
    let place = match shared.place(&r.function) {
        Ok(place) => place,
        Err(refused) => return refused.into_response(),
    };
    let (Some(dlq), Some(queue)) = (place.dead_letters.as_deref(), place.queue.as_deref()) else {
        return problem(
            "redriving needs the function's dead-letter queue and queue (give both to scripts/studio)",
        );
    };
    let sqs = &shared.studio.sqs;
    let read = match replay::read(sqs, dlq, replay::MAX_LETTERS).await {
        Ok(read) => read,
        Err(message) => return problem(message),
    };
    let (chosen, rest): (Vec<_>, Vec<_>) = read
        .into_iter()
        .partition(|l| r.message_ids.contains(&l.message_id));
    if let Err(message) = replay::release(sqs, dlq, &rest).await {
        return problem(message);
    }
    match replay::redrive(sqs, dlq, queue, &chosen, false).await {
        Ok(sent) => answer(
            StatusCode::OK,
            json!({"ok": true, "redriven": sent, "message": format!("{sent} letter(s) sent back to the function's queue, which delivers each once")}),
        ),
        Err(message) => problem(message),
    }
}

/// Every function of the registry, with the places `place` gives.
pub fn every_function(place: impl Fn(&str) -> FunctionPlace) -> Vec<FunctionPlace> {
    ACTIONS.iter().map(|a| place(a.name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_masked_and_a_mask_saved_back_keeps_the_stored_value() {
        let stored = json!({"elementor": {"token": "el-secret", "mapping": {"inbox_id": "1"}},
                            "typeform": {"signing_secret": "tf-secret"}});
        let shown = masked(stored.clone());
        assert_eq!(shown["elementor"]["token"], MASK);
        assert_eq!(shown["typeform"]["signing_secret"], MASK);
        assert_eq!(shown["elementor"]["mapping"]["inbox_id"], "1");
        let text = shown.to_string();
        assert!(
            !text.contains("el-secret") && !text.contains("tf-secret"),
            "{text}"
        );
        let mut edited = shown.clone();
        edited["elementor"]["mapping"]["inbox_id"] = json!("2");
        let saved = unmasked(edited, &stored, "webhooks").unwrap();
        assert_eq!(saved["elementor"]["token"], "el-secret");
        assert_eq!(saved["typeform"]["signing_secret"], "tf-secret");
        assert_eq!(saved["elementor"]["mapping"]["inbox_id"], "2");
        let moved = json!({"tally": {"token": MASK}});
        assert!(
            unmasked(moved, &stored, "webhooks")
                .unwrap_err()
                .contains("webhooks.tally.token")
        );
    }

    #[test]
    fn a_pasted_form_request_arrives_as_the_function_would_get_it() {
        let request = pasted(
            "elementor",
            "?token=t&inbox_id=7",
            "Content-Type: application/x-www-form-urlencoded",
            "Seu+nome=Ana",
        )
        .unwrap();
        assert_eq!(request.source.as_deref(), Some("elementor"));
        assert!(request.query.contains(&("inbox_id".into(), "7".into())));
        assert!(pasted("elementor", "", "no colon here", "").is_err());
    }
}
