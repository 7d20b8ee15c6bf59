//! The HTTP trigger: an API Gateway (REST or HTTP API) or function URL request in, the answer
//! in the shape that payload version expects out.
//!
//! Success is a 200 with `{"ok": true, "action", "provider": {"status", "body"}}`; a failure is
//! its [`Failure::http_status`] with `{"ok": false, "action", "error": {…}, "provider"?}`.

use crate::action::Action;
use crate::app::{App, Report, log_outcome};
use crate::failure::Failure;
use crate::trigger::{HttpOrigin, HttpRequest};
use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayV2httpResponse};
use base64::Engine;
use lambda_http::Body;
use lambda_http::http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use std::time::Instant;

pub async fn handle<A: Action>(
    app: &App<A>,
    request: HttpRequest,
    deadline: Option<Instant>,
) -> Value {
    let started = Instant::now();
    let report = match read_payload(&request) {
        Ok(payload) => app.deliver(&payload, deadline).await,
        Err(failure) => Report {
            contact: String::new(),
            result: Err(failure),
        },
    };
    log_outcome::<A>("http", None, &report, started);
    let (status, body, retry_after) = match report.result {
        Ok(delivered) => {
            let body = json!({
                "ok": true,
                "action": A::NAME,
                "provider": {"status": delivered.response.status, "body": delivered.response.body},
            });
            (200, body, None)
        }
        Err(failure) => {
            let retry_after = match &failure {
                Failure::ProviderUnavailable {
                    retry_after_seconds,
                    ..
                } => *retry_after_seconds,
                _ => None,
            };
            let mut body = json!({"ok": false, "action": A::NAME, "error": failure.to_json()});
            if let Some(provider) = failure.provider_json() {
                body["provider"] = provider;
            }
            (failure.http_status(), body, retry_after)
        }
    };
    answer(request.origin, status, &body, retry_after)
}

/// The request's JSON body, after the method and encoding checks.
fn read_payload(request: &HttpRequest) -> Result<Value, Failure> {
    if !request.method.eq_ignore_ascii_case("POST") {
        return Err(Failure::MethodNotAllowed(request.method.clone()));
    }
    let raw = request.body.as_deref().unwrap_or_default();
    let bytes = if request.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .map_err(|_| {
                Failure::InvalidBody("isBase64Encoded is true but the body is not base64".into())
            })?
    } else {
        raw.as_bytes().to_vec()
    };
    parse_json(&bytes)
}

/// Parses a JSON body; the message says where it broke.
pub fn parse_json(bytes: &[u8]) -> Result<Value, Failure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::InvalidJson("the body is empty".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| Failure::InvalidJson(e.to_string()))
}

fn answer(origin: HttpOrigin, status: u16, body: &Value, retry_after: Option<u64>) -> Value {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if status == 405 {
        headers.insert("allow", HeaderValue::from_static("POST"));
    }
    if let Some(seconds) = retry_after {
        headers.insert("retry-after", HeaderValue::from(seconds));
    }
    let text = Some(Body::Text(body.to_string()));
    let answer = match origin {
        HttpOrigin::RestV1 => {
            let mut response = ApiGatewayProxyResponse::default();
            response.status_code = i64::from(status);
            response.headers = headers;
            response.body = text;
            serde_json::to_value(response)
        }
        HttpOrigin::HttpV2 => {
            let mut response = ApiGatewayV2httpResponse::default();
            response.status_code = i64::from(status);
            response.headers = headers;
            response.body = text;
            serde_json::to_value(response)
        }
    };
    answer.unwrap_or_else(|_| json!({"statusCode": 500, "body": "{\"ok\":false}"}))
}
