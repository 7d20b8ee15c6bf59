//! The HTTP trigger: an API Gateway (REST or HTTP API) or function URL request in, the answer
//! in the shape that payload version expects out.
//!
//! Success is a 200 with `{"ok": true, "action", "provider": {"status", "body"}}`; a failure is
//! its [`Failure::http_status`] with `{"ok": false, "action", "error": {…}, "provider"?}`. A dry
//! run (`?dry_run=true` or `X-Ponte-Dry-Run: true`) answers 200 with `{"ok": true, "dry_run":
//! true, "request": {"url", "body"}}`: what would have been sent.

use crate::action::Action;
use crate::app::{App, Delivered, DeliveryId, Preview, Report, log_outcome};
use crate::failure::Failure;
use crate::form_webhook::{FormOutcome, FormRequest};
use crate::forms::Source;
use crate::trigger::{HttpOrigin, HttpRequest};
use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayV2httpResponse};
use base64::Engine;
use lambda_http::Body;
use lambda_http::http::{HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};
use std::time::Instant;

/// The largest body accepted, decoded: far above any form submission or provider request,
/// far below what would strain a 128 MB function.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// An answer before it is shaped for its payload version.
struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<u64>,
}

/// Answers one HTTP request. A failed answer carries `request_id` (the Lambda request id), under
/// which the function's log has what the caller is not told.
pub async fn handle<A: Action>(
    app: &App<A>,
    request: HttpRequest,
    deadline: Option<Instant>,
    request_id: &str,
) -> Value {
    let started = Instant::now();
    let mut answer = match request.source.as_deref() {
        None => direct(app, &request, deadline, started).await,
        Some(name) => form(app, &request, name, deadline, started).await,
    };
    if answer.status >= 400 {
        answer.body["request_id"] = json!(request_id);
    }
    shape(request.origin, &answer)
}

/// A direct call: the body is the provider's own request.
async fn direct<A: Action>(
    app: &App<A>,
    request: &HttpRequest,
    deadline: Option<Instant>,
    started: Instant,
) -> Answer {
    // As on form routes, the route's settings (its query) are part of a delivery's key.
    let scope = crate::idempotency::scope_of(&request.query);
    let payload = async {
        require_post(request)?;
        require_json(request)?;
        app.authenticate_direct(&request.headers, &request.query)
            .await?;
        // A caller names a delivery with an Idempotency-Key header (as Stripe's API does).
        let key = idempotency_key(&request.headers)?;
        Ok::<_, Failure>((parse_json(&body_bytes(request)?)?, key))
    };
    let report = match payload.await {
        Ok((payload, _)) if dry_run(request) => {
            let result = app.preview(&payload).await;
            log_preview::<A>(None, &result);
            return previewed::<A>(result, Map::new());
        }
        Ok((payload, key)) => {
            let id = key.as_deref().map(|value| DeliveryId {
                kind: "idempotency-key",
                value,
                scope: &scope,
            });
            app.deliver(&payload, deadline, id).await
        }
        Err(failure) => Report::failed(failure),
    };
    log_outcome::<A>("http", None, None, &report, started);
    outcome::<A>(report.result, Map::new())
}

/// A form webhook: the URL names its source.
async fn form<A: Action>(
    app: &App<A>,
    request: &HttpRequest,
    name: &str,
    deadline: Option<Instant>,
    started: Instant,
) -> Answer {
    let source = match name.parse::<Source>() {
        Ok(source) => source,
        Err(message) => {
            let report = Report::failed(Failure::UnknownSource(message));
            log_outcome::<A>("http", Some(name), None, &report, started);
            return outcome::<A>(report.result, Map::new());
        }
    };
    let mut about = Map::new();
    about.insert("source".into(), json!(source.name()));
    if ["GET", "HEAD"].contains(&request.method.to_ascii_uppercase().as_str()) {
        // A builder checking that the URL answers before it saves it.
        return test_answer::<A>(about, "a URL check: send submissions here with POST");
    }
    let received = async {
        require_post(request)?;
        let body = body_bytes(request)?;
        let form = FormRequest {
            source,
            headers: &request.headers,
            query: &request.query,
            body: &body,
            dry_run: dry_run(request),
        };
        app.deliver_form(form, deadline).await
    };
    match received.await {
        Err(failure) => {
            let report = Report::failed(failure);
            log_outcome::<A>("http", Some(source.name()), None, &report, started);
            outcome::<A>(report.result, about)
        }
        Ok(FormOutcome::Test(reason)) => {
            tracing::info!(
                action = A::NAME,
                source = source.name(),
                outcome = "test",
                "test delivery: {reason}"
            );
            test_answer::<A>(about, &reason)
        }
        Ok(FormOutcome::Delivered(reports)) => {
            for r in &reports {
                log_outcome::<A>("http", Some(source.name()), None, &r.report, started);
            }
            let answers = reports
                .into_iter()
                .map(|r| (r.submission_id, outcome::<A>(r.report.result, Map::new())))
                .collect();
            per_submission::<A>(answers, about)
        }
        Ok(FormOutcome::Previewed(previews)) => {
            about.insert("dry_run".into(), json!(true));
            for p in &previews {
                log_preview::<A>(Some(source.name()), &p.result);
            }
            let answers = previews
                .into_iter()
                .map(|p| (p.submission_id, previewed::<A>(p.result, Map::new())))
                .collect();
            per_submission::<A>(answers, about)
        }
    }
}

/// The answer for a webhook's submissions: one submission's own answer, with its id; or, for
/// RD Station's legacy payload, which can carry several leads, every answer under `deliveries`,
/// with the status of the first failure when any failed.
fn per_submission<A: Action>(
    mut answers: Vec<(Option<String>, Answer)>,
    mut about: Map<String, Value>,
) -> Answer {
    if answers.len() == 1 {
        let (submission_id, mut one) = answers.remove(0);
        about.insert("submission_id".into(), json!(submission_id));
        merge(&mut one.body, about);
        return one;
    }
    let mut status = 200;
    let mut retry_after = None;
    let mut deliveries = Vec::new();
    for (submission_id, one) in answers {
        if status == 200 && one.status != 200 {
            status = one.status;
            retry_after = one.retry_after;
        }
        let mut body = one.body;
        body["submission_id"] = json!(submission_id);
        // Several provider answers in full could outgrow what Lambda may answer (6 MB): each
        // is told by its status and the id of what it created.
        if let Some(provider) = body.get_mut("provider") {
            provider["body"] = match crate::provider::object_id(&provider["body"]) {
                Some(id) => json!({"id": id}),
                None => Value::Null,
            };
        }
        deliveries.push(body);
    }
    let mut body = json!({"ok": status == 200, "action": A::NAME, "deliveries": deliveries});
    merge(&mut body, about);
    Answer {
        status,
        body,
        retry_after,
    }
}

/// A dry run's answer: the request that would have been sent, or why there is none.
fn previewed<A: Action>(result: Result<Preview, Failure>, mut about: Map<String, Value>) -> Answer {
    about.insert("dry_run".into(), json!(true));
    match result {
        Ok(preview) => {
            let body = json!({
                "ok": true,
                "action": A::NAME,
                "message": "a dry run: nothing was sent",
                "request": {"url": preview.url, "body": preview.body},
            });
            ok_answer(body, about)
        }
        Err(failure) => failed::<A>(&failure, about),
    }
}

/// A dry run gets a log line of its own; it is no delivery, so it counts in no metric.
fn log_preview<A: Action>(source: Option<&str>, result: &Result<Preview, Failure>) {
    tracing::info!(
        action = A::NAME,
        trigger = "http",
        source = source.unwrap_or_default(),
        outcome = "dry_run",
        error_kind = result.as_ref().err().map(Failure::kind).unwrap_or_default(),
        "dry run: nothing was sent"
    );
}

/// `?dry_run=true` (or `1`, `yes`) or an `X-Ponte-Dry-Run` header saying the same.
fn dry_run(request: &HttpRequest) -> bool {
    let yes = |v: &str| ["1", "true", "yes"].contains(&v.trim().to_ascii_lowercase().as_str());
    request.query.iter().any(|(k, v)| k == "dry_run" && yes(v))
        || request
            .headers
            .get("x-ponte-dry-run")
            .and_then(|v| v.to_str().ok())
            .is_some_and(yes)
}

fn test_answer<A: Action>(about: Map<String, Value>, reason: &str) -> Answer {
    let body = json!({
        "ok": true,
        "action": A::NAME,
        "test": true,
        "message": format!("{reason}: nothing was sent"),
    });
    ok_answer(body, about)
}

/// A 200 answer: `body`, with `about` (source, submission id…) added.
fn ok_answer(mut body: Value, about: Map<String, Value>) -> Answer {
    merge(&mut body, about);
    Answer {
        status: 200,
        body,
        retry_after: None,
    }
}

fn merge(body: &mut Value, about: Map<String, Value>) {
    if let Value::Object(map) = body {
        map.extend(about);
    }
}

/// The answer for one delivery: 200 with the provider's answer, or the failure's status.
fn outcome<A: Action>(result: Result<Delivered, Failure>, about: Map<String, Value>) -> Answer {
    match result {
        Ok(delivered) => {
            let mut body = json!({
                "ok": true,
                "action": A::NAME,
                "provider": {"status": delivered.response.status, "body": delivered.response.body},
            });
            if delivered.duplicate {
                body["duplicate"] = json!(true);
            }
            ok_answer(body, about)
        }
        Err(failure) => failed::<A>(&failure, about),
    }
}

fn failed<A: Action>(failure: &Failure, about: Map<String, Value>) -> Answer {
    let retry_after = match failure {
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
    merge(&mut body, about);
    Answer {
        status: failure.http_status(),
        body,
        retry_after,
    }
}

/// The longest `Idempotency-Key` accepted: room for any UUID, hash or composed id.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The caller's `Idempotency-Key`, trimmed (none, or blank: the request identifies itself).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Failure> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| Failure::InvalidIdempotencyKey("must be printable ASCII".into()))?
        .trim();
    if key.len() > MAX_IDEMPOTENCY_KEY {
        return Err(Failure::InvalidIdempotencyKey(format!(
            "is {} characters long; the most accepted is {MAX_IDEMPOTENCY_KEY}",
            key.len()
        )));
    }
    Ok(Some(key.to_string()).filter(|k| !k.is_empty()))
}

/// A direct call's body is the provider's JSON request: a Content-Type that says otherwise is
/// refused (none at all is accepted, as some callers send none).
fn require_json(request: &HttpRequest) -> Result<(), Failure> {
    let given = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = crate::forms::body::media_type(Some(given));
    if media.is_empty() || media == "application/json" || media.ends_with("+json") {
        Ok(())
    } else {
        Err(Failure::UnsupportedMediaType(given.to_string()))
    }
}

fn require_post(request: &HttpRequest) -> Result<(), Failure> {
    if request.method.eq_ignore_ascii_case("POST") {
        Ok(())
    } else {
        Err(Failure::MethodNotAllowed(request.method.clone()))
    }
}

/// The raw body bytes, base64-decoded when API Gateway encoded them (signatures are computed
/// over exactly these bytes).
fn body_bytes(request: &HttpRequest) -> Result<Vec<u8>, Failure> {
    let raw = request.body.as_deref().unwrap_or_default();
    let bytes = if request.is_base64_encoded {
        // Checked before decoding, too: base64 is a third larger than what it encodes.
        if raw.len() / 4 * 3 > MAX_BODY_BYTES {
            return Err(Failure::TooLarge(raw.len() / 4 * 3));
        }
        base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .map_err(|_| {
                Failure::InvalidBody("isBase64Encoded is true but the body is not base64".into())
            })?
    } else {
        raw.as_bytes().to_vec()
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Failure::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

/// Parses a JSON body; the message says where it broke.
pub fn parse_json(bytes: &[u8]) -> Result<Value, Failure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::InvalidJson("the body is empty".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| Failure::InvalidJson(e.to_string()))
}

fn shape(origin: HttpOrigin, answer: &Answer) -> Value {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if answer.status == 405 {
        headers.insert("allow", HeaderValue::from_static("POST"));
    }
    if let Some(seconds) = answer.retry_after {
        headers.insert("retry-after", HeaderValue::from(seconds));
    }
    let text = Some(Body::Text(answer.body.to_string()));
    let status = i64::from(answer.status);
    let shaped = match origin {
        HttpOrigin::RestV1 => {
            let mut response = ApiGatewayProxyResponse::default();
            response.status_code = status;
            response.headers = headers;
            response.body = text;
            serde_json::to_value(response)
        }
        HttpOrigin::HttpV2 => {
            let mut response = ApiGatewayV2httpResponse::default();
            response.status_code = status;
            response.headers = headers;
            response.body = text;
            serde_json::to_value(response)
        }
    };
    shaped.unwrap_or_else(|_| json!({"statusCode": 500, "body": "{\"ok\":false}"}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &[(&str, &str)], header: Option<&str>) -> HttpRequest {
        let mut headers = HeaderMap::new();
        if let Some(value) = header {
            headers.insert("x-ponte-dry-run", HeaderValue::from_str(value).unwrap());
        }
        HttpRequest {
            origin: HttpOrigin::HttpV2,
            method: "POST".into(),
            headers,
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            source: None,
            body: None,
            is_base64_encoded: false,
        }
    }

    #[test]
    fn a_dry_run_is_asked_for_by_query_or_header_only_in_so_many_words() {
        for yes in ["1", "true", "TRUE", "yes", " true "] {
            assert!(dry_run(&request(&[("dry_run", yes)], None)), "{yes:?}");
            assert!(dry_run(&request(&[], Some(yes))), "{yes:?}");
        }
        for no in ["0", "false", "", "please"] {
            assert!(!dry_run(&request(&[("dry_run", no)], None)), "{no:?}");
            assert!(!dry_run(&request(&[], Some(no))), "{no:?}");
        }
        assert!(!dry_run(&request(&[("dryrun", "true")], None)));
        assert!(!dry_run(&request(&[], None)));
    }
}
