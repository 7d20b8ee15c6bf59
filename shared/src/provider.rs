//! The HTTP call to a provider and the reading of its answer.
//!
//! One `reqwest::Client` is built at init and reused (its connection pool survives between
//! warm invocations). Each call is bounded by the configured timeout and by the time the
//! Lambda invocation has left, so a slow provider never outlives the function.

use crate::failure::Failure;
use crate::validate::Problems;
use serde_json::Value;
use std::fmt;
use std::time::{Duration, Instant};

/// What to send: always a JSON POST, as every provider action is one.
pub struct ProviderRequest {
    pub url: String,
    /// Extra headers besides `Content-Type: application/json`; credentials among them.
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

/// The JSON body of a validated request. Its types serialize to JSON by construction; should one
/// ever not, the request is refused with the reason rather than sent with an empty body.
pub fn json_body(request: &impl serde::Serialize) -> Result<Value, Problems> {
    serde_json::to_value(request)
        .map_err(|e| Problems::single("(body)", format!("could not be written as JSON: {e}")))
}

impl fmt::Debug for ProviderRequest {
    /// Header values are left out: they carry the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| *name).collect();
        f.debug_struct("ProviderRequest")
            .field("url", &self.url)
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

/// The provider's answer: its status and its body (JSON, or the text it sent as a string).
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderResponse {
    pub status: u16,
    pub body: Value,
    pub retry_after_seconds: Option<u64>,
}

impl ProviderResponse {
    /// Turns a non-2xx answer into the matching failure.
    pub fn into_result(self) -> Result<ProviderResponse, Failure> {
        match self.status {
            200..=299 => Ok(self),
            429 | 500..=599 => Err(Failure::ProviderUnavailable {
                status: Some(self.status),
                reason: format!("HTTP {}: {}", self.status, error_message(&self.body)),
                retry_after_seconds: self.retry_after_seconds,
                body: Some(self.body),
                timed_out: false,
            }),
            status => Err(Failure::ProviderRejected {
                status,
                message: error_message(&self.body),
                body: self.body,
            }),
        }
    }
}

/// Keys of a provider answer that name what it created: Cloud Chat's conversation number and
/// Wegly's chat id (`id`), Sacflow's `messageId` / `ticketId`, and their likely variants.
pub const ID_KEYS: &[&str] = &["id", "messageId", "ticketId", "chat_id", "conversation_id"];

/// The id of what the provider created, when its answer names one ([`ID_KEYS`]).
pub fn object_id(body: &Value) -> Option<String> {
    ID_KEYS
        .iter()
        .find_map(|key| body.get(*key))
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

/// The most useful line of an error body: Chatwoot's `error` / `message`, a list of `errors`,
/// or the text itself.
pub fn error_message(body: &Value) -> String {
    let pick = |key: &str| match body.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Array(items)) if !items.is_empty() => Some(
            items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Some(Value::Object(o)) if !o.is_empty() => Some(Value::Object(o.clone()).to_string()),
        _ => None,
    };
    pick("error")
        .or_else(|| pick("message"))
        .or_else(|| pick("errors"))
        .or_else(|| pick("detail"))
        .unwrap_or_else(|| match body {
            Value::String(s) if !s.trim().is_empty() => truncate(s.trim(), 300),
            Value::Null => "no body".to_string(),
            other => truncate(&other.to_string(), 300),
        })
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// Bodies larger than this are cut before they are kept or answered back.
const MAX_BODY_TEXT: usize = 64 * 1024;

/// The HTTP client every delivery of one function shares. It is built on the first call (it
/// reads the system's root certificates, which takes milliseconds that start-up need not pay).
pub struct ProviderClient {
    http: std::sync::OnceLock<Result<reqwest::Client, String>>,
    connect_timeout: Duration,
    request_timeout: Duration,
}

/// Time kept back from the Lambda deadline to answer after a provider timeout.
const DEADLINE_MARGIN: Duration = Duration::from_millis(300);

impl ProviderClient {
    pub fn new(connect_timeout: Duration, request_timeout: Duration) -> Self {
        Self {
            http: std::sync::OnceLock::new(),
            connect_timeout,
            request_timeout,
        }
    }

    /// Builds the HTTP client now (it reads the system's root certificates), so that the first
    /// event does not; a failure to build is reported by the first send.
    pub fn prepare(&self) {
        let _ = self.http();
    }

    fn http(&self) -> Result<&reqwest::Client, Failure> {
        self.http
            .get_or_init(|| {
                crate::tls::install_crypto();
                reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout)
                    // A redirect would carry the token (in a header of the provider's own
                    // name) wherever the answer points: none is followed.
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("ponte/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))
            })
            .as_ref()
            .map_err(|e| Failure::Configuration(e.clone()))
    }

    /// Sends `request` and returns whatever the provider answered, any status included.
    /// `deadline` is when the invocation must have answered, when known.
    pub async fn send(
        &self,
        request: &ProviderRequest,
        deadline: Option<Instant>,
    ) -> Result<ProviderResponse, Failure> {
        let timeout = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                left.saturating_sub(DEADLINE_MARGIN)
                    .min(self.request_timeout)
            }
            None => self.request_timeout,
        };
        if timeout.is_zero() {
            return Err(timed_out(
                "no time left in this invocation to call the provider",
            ));
        }
        let mut builder = self
            .http()?
            .post(&request.url)
            .timeout(timeout)
            .header("content-type", "application/json")
            .body(request.body.to_string());
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let response = builder
            .send()
            .await
            .map_err(|e| transport_failure(e, timeout))?;
        let status = response.status().as_u16();
        let retry_after_seconds = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = read_bounded(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| transport_failure(e, timeout))?;
        Ok(ProviderResponse {
            status,
            body: parse_body(&bytes),
            retry_after_seconds,
        })
    }
}

/// The most of a provider's answer that is read: far above any answer the providers document,
/// far below what would strain a 128 MB function or Lambda's 6 MB answer.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Reads the answer's body up to `max` bytes; the rest is never read (the connection is
/// dropped rather than drained).
async fn read_bounded(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = max - bytes.len();
        if chunk.len() >= room {
            bytes.extend_from_slice(&chunk[..room]);
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn parse_body(bytes: &[u8]) -> Value {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(bytes).unwrap_or_else(|_| {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_BODY_TEXT)]);
        Value::String(text.into_owned())
    })
}

fn timed_out(reason: &str) -> Failure {
    Failure::ProviderUnavailable {
        status: None,
        reason: reason.to_string(),
        body: None,
        retry_after_seconds: None,
        timed_out: true,
    }
}

fn transport_failure(err: reqwest::Error, timeout: Duration) -> Failure {
    if err.is_timeout() {
        return timed_out(&format!("no answer within {} ms", timeout.as_millis()));
    }
    let reason = if err.is_connect() {
        "could not connect to the provider".to_string()
    } else {
        // Without the URL: it may carry an account id, and the caller knows which provider.
        format!("the connection failed: {}", err.without_url())
    };
    Failure::ProviderUnavailable {
        status: None,
        reason,
        body: None,
        retry_after_seconds: None,
        timed_out: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::Retry;
    use serde_json::json;

    fn answer(status: u16, body: Value) -> Result<ProviderResponse, Failure> {
        ProviderResponse {
            status,
            body,
            retry_after_seconds: None,
        }
        .into_result()
    }

    #[test]
    fn statuses_are_classified() {
        assert!(answer(200, json!({"id": 1})).is_ok());
        let rejected = answer(404, json!({"error": "Resource could not be found"})).unwrap_err();
        assert_eq!(
            rejected.to_string(),
            "the provider refused the request (HTTP 404): Resource could not be found"
        );
        assert_eq!(
            answer(429, json!("Retry later")).unwrap_err().retry(),
            Retry::Now
        );
        assert_eq!(answer(503, Value::Null).unwrap_err().retry(), Retry::Now);
    }

    #[test]
    fn error_messages_come_from_the_usual_keys() {
        assert_eq!(
            error_message(&json!({"message": "m", "attributes": ["x"]})),
            "m"
        );
        assert_eq!(error_message(&json!({"errors": ["a", "b"]})), "a; b");
        assert_eq!(
            error_message(&json!("<html>Bad Gateway</html>")),
            "<html>Bad Gateway</html>"
        );
        assert_eq!(error_message(&Value::Null), "no body");
    }

    #[test]
    fn bodies_that_are_not_json_are_kept_as_text() {
        assert_eq!(parse_body(b"  "), Value::Null);
        assert_eq!(parse_body(br#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(parse_body(b"<html>oops</html>"), json!("<html>oops</html>"));
    }

    #[test]
    fn debug_output_hides_header_values() {
        let request = ProviderRequest {
            url: "https://x".into(),
            headers: vec![("authorization", "Bearer s3cr3t".into())],
            body: json!({}),
        };
        let shown = format!("{request:?}");
        assert!(
            shown.contains("authorization") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }
}
