//! The provider sandbox: a local stand-in for the provider call of every registered action.
//!
//! It serves each action's `PROVIDER_CALL` path from the registry of actions, and answers like
//! the providers do where it knows them (a Chatwoot-style conversation for Cloud Chat, the chat
//! object of Wegly's documentation, a small acknowledgement for Sacflow, whose answer is not
//! documented) and with `{"id": …}` for an action it has no answer of its own for. It refuses
//! requests without credentials with a 401, records every request it receives, and can be told
//! to fail (a status, a delay) for demos and tests.
//!
//! Control routes, under `/_sandbox/`: `GET requests` lists what was received, `DELETE requests`
//! forgets it, `POST faults` with `{"path": "/api/send-message", "status": 500, "delay_ms": 0,
//! "times": 1}` makes the next matching requests fail, `DELETE faults` clears them.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawPathParams, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ponte::registry::{ACTIONS, Registered};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the sandbox received it. Credentials are shown masked.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Received {
    pub provider: &'static str,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub status: u16,
    /// Microseconds the sandbox took to answer (its latency setting included).
    pub answer_us: u64,
}

/// A failure to play for the next `times` requests whose path contains `path`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Fault {
    #[serde(default)]
    pub path: String,
    #[serde(default = "default_fault_status")]
    pub status: u16,
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default = "default_times")]
    pub times: u64,
}

fn default_fault_status() -> u16 {
    500
}

fn default_times() -> u64 {
    1
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    faults: Mutex<Vec<Fault>>,
    /// Share of requests (0 to 1) that fail at random with a transient error (500, 503 or
    /// 429), before anything is created: chaos for soak tests.
    chaos: Mutex<f64>,
    /// Added to every answer, to play a provider that takes its time.
    latency: Mutex<Duration>,
    /// The provider's rate limit, when one is set: beyond it, 429 with `Retry-After`.
    allowance: Mutex<Option<Allowance>>,
    next_id: AtomicU64,
}

/// A running sandbox; stops when dropped.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Sandbox {
    /// Starts on `port` of 127.0.0.1 (0 picks a free one).
    pub async fn start(port: u16) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            next_id: AtomicU64::new(1),
            ..Shared::default()
        });
        let provider_calls = ACTIONS.iter().fold(Router::new(), |router, action| {
            router.route(
                action.provider_call,
                post(
                    move |state: State<Arc<Shared>>,
                          params: RawPathParams,
                          uri: Uri,
                          headers: HeaderMap,
                          body: Bytes| {
                        provider_call(action, state, params, uri, headers, body)
                    },
                ),
            )
        });
        let app = provider_calls
            .route(
                "/_sandbox/requests",
                get(list_requests).delete(clear_requests),
            )
            .route("/_sandbox/faults", post(add_fault).delete(clear_faults))
            .fallback(not_found)
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    /// `http://127.0.0.1:PORT`, the `base_url` to put in a connection secret.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    pub fn clear(&self) {
        if let Ok(mut received) = self.shared.received.lock() {
            received.clear();
        }
    }

    /// Makes every answer take `latency` longer.
    pub fn set_latency(&self, latency: Duration) {
        if let Ok(mut current) = self.shared.latency.lock() {
            *current = latency;
        }
    }

    /// Allows `per_second` requests a second (a token bucket holding one second's worth, as a
    /// provider's rate limiter lets a short burst through) and answers the others 429 with
    /// `Retry-After: 1`, before anything is created.
    pub fn set_rate_limit(&self, per_second: f64) {
        if let Ok(mut allowance) = self.shared.allowance.lock() {
            *allowance = Some(Allowance {
                per_second,
                tokens: per_second,
                refilled: std::time::Instant::now(),
            });
        }
    }

    /// Makes `rate` (0 to 1) of all requests fail at random with 500, 503 or 429.
    pub fn set_chaos(&self, rate: f64) {
        if let Ok(mut chaos) = self.shared.chaos.lock() {
            *chaos = rate.clamp(0.0, 1.0);
        }
    }

    pub fn add_fault(&self, fault: Fault) {
        if let Ok(mut faults) = self.shared.faults.lock() {
            faults.push(fault);
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A rate limit as a token bucket.
struct Allowance {
    per_second: f64,
    tokens: f64,
    refilled: std::time::Instant,
}

impl Allowance {
    /// Takes a token if one is left.
    fn take(&mut self) -> bool {
        let now = std::time::Instant::now();
        let earned = now.duration_since(self.refilled).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + earned).min(self.per_second.max(1.0));
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What the shared part of every provider route decided.
enum Gate {
    /// Answer with this (a fault, a missing credential, a body that is not JSON).
    Answer(u16, Value),
    /// Go on: the request's JSON body and the id for the object to create.
    Pass(Value, u64),
}

fn mask_credential(value: &str) -> String {
    let (scheme, token) = match value.strip_prefix("Bearer ") {
        Some(token) => ("Bearer ", token),
        None => ("", value),
    };
    let visible: String = token.chars().take(4).collect();
    format!("{scheme}{visible}…")
}

/// Records the request, plays a matching fault, checks the credential and the body.
async fn gate(
    shared: &Shared,
    provider: &'static str,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Gate {
    let arrived = std::time::Instant::now();
    let latency = shared.latency.lock().map(|l| *l).unwrap_or_default();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let fault = shared.faults.lock().ok().and_then(|mut faults| {
        let index = faults.iter().position(|f| path.contains(&f.path))?;
        let fault = faults[index].clone();
        faults[index].times -= 1;
        if faults[index].times == 0 {
            faults.remove(index);
        }
        Some(fault)
    });
    let over_the_limit = shared
        .allowance
        .lock()
        .ok()
        .and_then(|mut allowance| allowance.as_mut().map(|a| !a.take()))
        .unwrap_or(false);
    let fault = fault.or_else(|| {
        over_the_limit.then(|| Fault {
            path: path.to_string(),
            status: 429,
            delay_ms: 0,
            times: 1,
        })
    });
    let chaos = shared.chaos.lock().map(|c| *c).unwrap_or_default();
    let fault = fault.or_else(|| {
        (chaos > 0.0 && fastrand::f64() < chaos).then(|| Fault {
            path: path.to_string(),
            status: [500, 503, 429][fastrand::usize(..3)],
            delay_ms: 0,
            times: 1,
        })
    });
    let parsed: Result<Value, _> = serde_json::from_slice(body);
    let (status, answer) = if let Some(fault) = fault {
        tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
        let answer = match fault.status {
            429 => json!("Retry later"),
            status if status >= 500 => json!({"error": "sandbox fault"}),
            _ => json!({"error": "sandbox fault"}),
        };
        (Some(fault.status), answer)
    } else if !has_credential(headers) {
        (Some(401), json!({"error": "Invalid Access Token"}))
    } else if parsed.is_err() {
        (Some(400), json!({"error": "body is not JSON"}))
    } else {
        (None, Value::Null)
    };
    let shown_headers = headers
        .iter()
        .map(|(name, value)| {
            let value = value.to_str().unwrap_or("");
            let shown = match name.as_str() {
                "authorization" | "api_access_token" => mask_credential(value),
                _ => value.to_string(),
            };
            (name.to_string(), shown)
        })
        .collect();
    let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
    let record = Received {
        provider,
        method: "POST".into(),
        path: path.to_string(),
        headers: shown_headers,
        body: parsed.as_ref().cloned().unwrap_or(Value::Null),
        status: status.unwrap_or(200),
        answer_us: arrived.elapsed().as_micros() as u64,
    };
    if let Ok(mut received) = shared.received.lock() {
        received.push(record);
    }
    match (status, parsed) {
        (Some(status), _) => Gate::Answer(status, answer),
        (None, Ok(body)) => Gate::Pass(body, id),
        (None, Err(_)) => Gate::Answer(400, json!({"error": "body is not JSON"})),
    }
}

/// A credential as the providers take them: Chatwoot's `api_access_token` header, or a bearer
/// token.
fn has_credential(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let chatwoot = header("api_access_token");
    let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer "));
    chatwoot.or(bearer).is_some_and(|v| !v.trim().is_empty())
}

/// The answer; a 429 says when to come back, as Chatwoot's rate limiter does.
fn reply(status: u16, body: Value) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match body {
        Value::String(text) => (code, text).into_response(),
        body => (code, axum::Json(body)).into_response(),
    };
    if status == 429 {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
    }
    response
}

/// A uuid-shaped id that is unique within this sandbox.
fn sandbox_uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn e164_ok(phone: &str) -> bool {
    let digits = phone.strip_prefix('+').unwrap_or("");
    (2..=15).contains(&digits.len())
        && !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A conversation as Chatwoot returns it, trimmed to the parts worth showing.
fn conversation(id: u64, account: &str, body: &Value, status: &str) -> Value {
    json!({
        "id": id,
        "account_id": account.parse::<u64>().unwrap_or_default(),
        "inbox_id": body["inbox_id"].as_str().and_then(|s| s.parse::<u64>().ok()).or_else(|| body["inbox_id"].as_u64()),
        "status": status,
        "uuid": sandbox_uuid(id),
        "messages": [],
        "custom_attributes": body.get("custom_attributes").cloned().unwrap_or_else(|| json!({})),
        "meta": {"sender": {"id": 1000 + id, "email": body.get("contact_email"), "phone_number": body.get("contact_phone_number").or(body.get("phone_number"))}}
    })
}

/// A provider call of `action`: the shared gate, then the provider's own answer.
async fn provider_call(
    action: &'static Registered,
    State(shared): State<Arc<Shared>>,
    params: RawPathParams,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_string())
            .unwrap_or_default()
    };
    match gate(&shared, action.provider, uri.path(), &headers, &body).await {
        Gate::Answer(status, body) => reply(status, body),
        Gate::Pass(body, id) => match action.name {
            "cloudchat-create-conversation" => {
                cloudchat_conversation(id, &param("account_id"), &body)
            }
            "cloudchat-proactive-whatsapp" => cloudchat_proactive(id, &param("account_id"), &body),
            "wegly-create-chat" => wegly_chat(id, &body),
            "sacflow-send-message" => sacflow_message(id, &body),
            // An action the sandbox has no answer of its own for: its request is recorded and
            // acknowledged, so the local run and the tests reach it all the same.
            _ => reply(200, json!({"id": id})),
        },
    }
}

fn cloudchat_conversation(id: u64, account: &str, body: &Value) -> Response {
    let status = body["status"].as_str().unwrap_or("open");
    if !["open", "pending", "resolved"].contains(&status) {
        // Upstream Chatwoot fails like this on an unknown status.
        return reply(500, json!({"error": "Internal Server Error"}));
    }
    if let Some(phone) = body["contact_phone_number"].as_str()
        && !e164_ok(phone)
    {
        return reply(
            422,
            json!({"message": "Phone number should be in e164 format", "attributes": ["phone_number"]}),
        );
    }
    reply(200, conversation(id, account, body, status))
}

fn cloudchat_proactive(id: u64, account: &str, body: &Value) -> Response {
    if !body["phone_number"].as_str().is_some_and(e164_ok) {
        return reply(
            422,
            json!({"error": "phone_number must be in E.164 format"}),
        );
    }
    reply(200, conversation(id, account, body, "open"))
}

fn wegly_chat(id: u64, body: &Value) -> Response {
    reply(
        200,
        json!({
            "id": sandbox_uuid(id),
            "wa_contact_id": body["wa_contact_id"],
            "contact_name": body.get("remote_profile_name").cloned().unwrap_or(Value::Null),
            "contact_number": body["wa_contact_id"],
            "status": body.get("status").cloned().unwrap_or_else(|| json!("OPEN")),
            "chat_type": "INDIVIDUAL",
            "unread_count": 0,
            "is_manually_unread": false,
            "priority": 1,
            "archived_at": null,
            "assigned_agent_id": body.get("assigned_agent_id").cloned().unwrap_or(Value::Null),
            "phone_number": {"id": body["whatsapp_phone_id"], "display_number": "+55 11 4000-0000"},
            "last_message_at": null,
            "last_message": {
                "id": sandbox_uuid(id + 1_000_000),
                "type": "template",
                "origin": "OUTBOUND",
                "from_me": true,
                "sent_via": "API",
                "status": "processing",
                "body_text": body["template"]["name"]
            }
        }),
    )
}

fn sacflow_message(id: u64, body: &Value) -> Response {
    if body["accountId"].as_u64().is_none() || body["channelId"].as_u64().is_none() {
        return reply(
            400,
            json!({"error": "accountId and channelId are required"}),
        );
    }
    reply(
        200,
        json!({"success": true, "messageId": id, "ticketId": 5000 + id}),
    )
}

async fn list_requests(State(shared): State<Arc<Shared>>) -> Response {
    let received = shared
        .received
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    axum::Json(json!(received)).into_response()
}

async fn clear_requests(State(shared): State<Arc<Shared>>) -> StatusCode {
    if let Ok(mut received) = shared.received.lock() {
        received.clear();
    }
    StatusCode::NO_CONTENT
}

async fn add_fault(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Fault>(&body) {
        Ok(fault) if fault.times > 0 => {
            if let Ok(mut faults) = shared.faults.lock() {
                faults.push(fault.clone());
            }
            reply(201, json!(fault))
        }
        _ => reply(
            400,
            json!({"error": "send {\"path\": \"...\", \"status\": 500, \"delay_ms\": 0, \"times\": 1}"}),
        ),
    }
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> StatusCode {
    if let Ok(mut faults) = shared.faults.lock() {
        faults.clear();
    }
    StatusCode::NO_CONTENT
}

async fn not_found() -> Response {
    reply(404, json!({"error": "Resource could not be found"}))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider call's path with each `{name}` part filled in.
    fn filled(provider_call: &str) -> String {
        provider_call
            .split('/')
            .map(|part| if part.starts_with('{') { "7" } else { part })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[tokio::test]
    async fn serves_the_provider_call_of_every_registered_action() {
        let sandbox = Sandbox::start(0).await.unwrap();
        ponte::tls::install_crypto();
        let client = reqwest::Client::new();
        for action in ACTIONS {
            let url = format!("{}{}", sandbox.url(), filled(action.provider_call));
            let without = client.post(&url).body("{}").send().await.unwrap();
            assert_eq!(without.status(), 401, "{}: no credential", action.name);
            let with = client
                .post(&url)
                .header("authorization", "Bearer local")
                .header("api_access_token", "local")
                .body(r#"{"status": "open"}"#)
                .send()
                .await
                .unwrap();
            assert_ne!(with.status(), 404, "{}: {url}", action.name);
        }
        let received = sandbox.received();
        assert_eq!(received.len(), 2 * ACTIONS.len());
        for (action, pair) in ACTIONS.iter().zip(received.chunks(2)) {
            assert!(pair.iter().all(|r| r.provider == action.provider));
        }
        let elsewhere = client
            .post(format!("{}/not/a/provider/call", sandbox.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(elsewhere.status(), 404);
    }
}
