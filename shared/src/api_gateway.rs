//! The HTTP trigger: an API Gateway (REST or HTTP API) or function URL request in, the answer
//! in the shape that payload version expects out.
//!
//! Success is a 200 with `{"ok": true, "action", "provider": {"status", "body"}}`; a failure is
//! its [`Failure::http_status`] with `{"ok": false, "action", "error": {…}, "provider"?}`. A dry
//! run (`?dry_run=true` or `X-Ponte-Dry-Run: true`) answers 200 with `{"ok": true, "dry_run":
//! true, "request": {"url", "body"}}`: what would have been sent.

use crate::action::Action;
use crate::app::App;
use crate::dead_letters::{self, Reason};
use crate::failure::Failure;
use crate::forms::Source;
use crate::intake::{IntakeRecord, Proof, RecordKey};
use crate::outcome::log_received;
use crate::received::{Arrived, Disposition, Received, SubmissionPreview, SubmissionReport};
use crate::reception::{self, Arrival};
use crate::report::{Delivered, Preview};
use crate::trigger::{HttpOrigin, HttpRequest};
use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayV2httpResponse};
use lambda_http::Body;
use lambda_http::http::{HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

/// Time kept back from the provider call, when requests can be queued, for queueing the request
/// should the call fail: a request cut off by the function's own timeout would be lost.
const INTAKE_RESERVE: Duration = Duration::from_secs(2);

/// An answer before it is shaped for its payload version.
struct HttpAnswer {
    status: u16,
    body: Value,
    retry_after: Option<u64>,
}

/// What was done to keep a request that was not delivered.
enum Kept {
    Nothing,
    /// On the function's queue, as this message id.
    Queued(String),
    /// It should have been queued, and could not be.
    NotQueued,
    /// In the dead-letter queue, with its reason.
    DeadLettered,
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
    let dry_run = dry_run(&request);
    let deliver_by = match (app.intake(), deadline) {
        (Some(_), Some(deadline)) => Some(deadline.checked_sub(INTAKE_RESERVE).unwrap_or(deadline)),
        (_, deadline) => deadline,
    };
    let (received, body) = match reception::body_of(&request) {
        Err(failure) => (Received::Refused(failure), Vec::new()),
        Ok(body) => {
            let arrival = Arrival {
                request: &request,
                body: &body,
                proof: Proof::Presented,
                received_at: None,
                request_id,
                dry_run,
                delivered: &[],
                done: &[],
            };
            (reception::receive(app, arrival, deliver_by).await, body)
        }
    };
    let source = request.source.as_deref();
    log_received::<A>("http", source, None, &received, started);
    let kept = if dry_run {
        Kept::Nothing
    } else {
        dispose(app, &request, &body, request_id, &received).await
    };
    let mut answer = answer::<A>(&request, received, kept);
    if answer.status >= 400 {
        answer.body["request_id"] = json!(request_id);
    }
    shape(request.origin, &answer)
}

/// Does what the request's disposition says: a request that passed its check and was not
/// delivered goes on the function's queue when it may succeed later, else to the dead-letter
/// queue with its reason. Without the queue it is configured for, a request is answered with
/// its failure and kept nowhere.
async fn dispose<A: Action>(
    app: &App<A>,
    request: &HttpRequest,
    body: &[u8],
    request_id: &str,
    received: &Received,
) -> Kept {
    let authenticated = !matches!(received, Received::Unchecked(_));
    let record_of = |failure: &Failure, key: Option<&RecordKey>| {
        let mut record = IntakeRecord::of(request, body, authenticated, request_id, failure, key);
        if let Received::Attempted(reports) = received {
            record.idempotency_keys = reports
                .iter()
                .filter_map(|r| r.report.as_ref())
                .map(|r| r.trace.idempotency_key.clone())
                .filter(|key| !key.is_empty())
                .collect();
            // A submission done whole is left out when the record runs again; of one done in
            // part, the parts done (the delivery here, each hand-over) are.
            record.delivered = reports
                .iter()
                .filter(|r| r.failures().next().is_none())
                .filter_map(|r| r.submission_id.clone())
                .collect();
            record.done = reports
                .iter()
                .flat_map(SubmissionReport::parts_done)
                .collect();
        }
        record
    };
    // Sealed with the stack's record key, so that it runs only as what this function kept.
    // The record, sealed when the key could be read; else unsealed, with why.
    let sealed = |failure: &Failure, key: Result<RecordKey, Failure>| match key {
        Ok(key) => (record_of(failure, Some(&key)).sealed(A::NAME, &key), None),
        Err(cannot) => (record_of(failure, None), Some(cannot)),
    };
    match received.disposition(Arrived::Http) {
        Disposition::Done => Kept::Nothing,
        Disposition::Later(failure) => {
            let Some(queue) = app.intake() else {
                return Kept::Nothing;
            };
            let record = match sealed(failure, app.record_key().await) {
                (sealed, None) => sealed,
                (_, Some(cannot)) => {
                    tracing::error!(
                        action = A::NAME,
                        "could not seal the request to queue it ({cannot}): answering 503 so that senders who retry do"
                    );
                    return Kept::NotQueued;
                }
            };
            match queue.queue(&record).await {
                Ok(message_id) => {
                    tracing::warn!(
                        action = A::NAME,
                        trigger = "http",
                        source = request.source.as_deref().unwrap_or("direct"),
                        outcome = "queued",
                        error_kind = failure.kind(),
                        intake_id = %message_id,
                        "not delivered now ({failure}): queued to be delivered from the queue"
                    );
                    crate::metrics::Document::new(
                        &[("function", A::NAME), ("error_kind", failure.kind())],
                        &[("Queued", "Count", 1.0)],
                    )
                    .emit();
                    Kept::Queued(message_id)
                }
                Err(message) => {
                    tracing::error!(
                        action = A::NAME,
                        "could not queue the request ({message}): answering 503 so that senders who retry do"
                    );
                    Kept::NotQueued
                }
            }
        }
        Disposition::DeadLetter(failure) => {
            let Some(dead_letters) = app.dead_letters() else {
                return Kept::Nothing;
            };
            let reason = Reason::new(A::NAME, failure, request_id);
            // A letter that could not be sealed is kept all the same (a lead is never lost);
            // redriven, it fails its check and is a dead letter again, for the operator to see.
            let body = sealed(failure, app.record_key().await).0.to_message();
            match dead_letters::send(dead_letters, &body, &reason, "http").await {
                Ok(()) => Kept::DeadLettered,
                Err(message) => {
                    // The caller is told the failure, which a sender that retries acts on.
                    tracing::error!(
                        action = A::NAME,
                        "could not keep the request in the dead-letter queue ({message})"
                    );
                    Kept::Nothing
                }
            }
        }
    }
}

/// The answer to a request, from what became of it and how it was kept.
fn answer<A: Action>(request: &HttpRequest, received: Received, kept: Kept) -> HttpAnswer {
    let direct = request.source.is_none();
    let mut about = Map::new();
    if let Some(source) = request
        .source
        .as_deref()
        .and_then(|s| s.parse::<Source>().ok())
    {
        about.insert("source".into(), json!(source.name()));
    }
    // A caller that has not proved who it is learns nothing of what was kept: it is answered
    // with the failure, whether or not its request waits to be checked later.
    if let Received::Unchecked(failure) = &received {
        return failed::<A>(failure, about);
    }
    let failure_of = |received: &Received| match received.disposition(Arrived::Http) {
        Disposition::Later(failure) | Disposition::DeadLetter(failure) => Some(failure.kind()),
        Disposition::Done => None,
    };
    match kept {
        Kept::Queued(intake_id) => {
            let mut body = json!({
                "ok": true,
                "action": A::NAME,
                "queued": true,
                "intake_id": intake_id,
                "reason": failure_of(&received),
                "message": "not delivered yet: kept on the function's queue, to be delivered from there",
            });
            merge(&mut body, about);
            // Form builders want a 200 and nothing else (Elementor treats anything else as a
            // failure); a direct caller is told the request was accepted, not yet done.
            let status = if direct { 202 } else { 200 };
            return HttpAnswer {
                status,
                body,
                retry_after: None,
            };
        }
        Kept::NotQueued => {
            let mut answer = answer::<A>(request, received, Kept::Nothing);
            answer.status = 503;
            answer.body["queued"] = json!(false);
            return answer;
        }
        Kept::DeadLettered => {
            let mut answer = answer::<A>(request, received, Kept::Nothing);
            answer.body["dead_lettered"] = json!(true);
            return answer;
        }
        Kept::Nothing => {}
    }
    match received {
        Received::Refused(failure) | Received::Unchecked(failure) | Received::Failed(failure) => {
            if matches!(failure, Failure::UnknownSource(_)) {
                about.clear();
            }
            failed::<A>(&failure, about)
        }
        Received::Test(reason) => test_answer::<A>(about, &reason),
        Received::Previewed(mut previews) if direct && previews.len() == 1 => {
            submission_preview::<A>(previews.remove(0))
        }
        Received::Previewed(previews) => {
            about.insert("dry_run".into(), json!(true));
            let answers = previews
                .into_iter()
                .map(|p| (p.submission_id.clone(), submission_preview::<A>(p)))
                .collect();
            per_submission::<A>(answers, about)
        }
        Received::Attempted(mut reports) if direct && reports.len() == 1 => {
            submission_outcome::<A>(reports.remove(0))
        }
        Received::Attempted(reports) => {
            let answers = reports
                .into_iter()
                .map(|r| (r.submission_id.clone(), submission_outcome::<A>(r)))
                .collect();
            per_submission::<A>(answers, about)
        }
    }
}

/// The answer for a webhook's submissions: one submission's own answer, with its id; or, for
/// RD Station's legacy payload, which can carry several leads, every answer under `deliveries`,
/// with the status of the first failure when any failed.
fn per_submission<A: Action>(
    mut answers: Vec<(Option<String>, HttpAnswer)>,
    mut about: Map<String, Value>,
) -> HttpAnswer {
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
    HttpAnswer {
        status,
        body,
        retry_after,
    }
}

/// One submission's answer: its delivery here, or that its route skipped it or only hands it
/// over; with the route that took it and what became of each hand-over (`targets`). A failed
/// hand-over fails the answer when the delivery here did not.
fn submission_outcome<A: Action>(report: SubmissionReport) -> HttpAnswer {
    let about = route_of(report.route.as_deref());
    let mut answer = match report.report {
        Some(delivery) => outcome::<A>(delivery.result, about),
        None => not_here::<A>(report.skipped, about, "nothing was sent"),
    };
    if report.targets.is_empty() {
        return answer;
    }
    let targets: Vec<Value> = report
        .targets
        .iter()
        .map(|t| {
            let mut target = json!({"function": t.function, "mapping": t.mapping});
            match &t.result {
                Ok(_) => target["outcome"] = json!("queued"),
                Err(failure) => {
                    target["outcome"] = json!(failure.kind());
                    target["error"] = failure.to_json();
                }
            }
            target
        })
        .collect();
    answer.body["targets"] = json!(targets);
    if let Some(failure) = report.targets.iter().find_map(|t| t.result.as_ref().err())
        && answer.status == 200
    {
        answer.status = failure.http_status();
        answer.body["ok"] = json!(false);
        answer.body["error"] = failure.to_json();
    }
    answer
}

/// One submission's dry run: what would be sent from here (or why not), and where it would be
/// handed.
fn submission_preview<A: Action>(preview: SubmissionPreview) -> HttpAnswer {
    let about = route_of(preview.route.as_deref());
    let mut answer = match preview.result {
        Some(result) => previewed::<A>(result, about),
        None => {
            let mut answer = not_here::<A>(preview.skipped, about, "a dry run: nothing was sent");
            answer.body["dry_run"] = json!(true);
            answer
        }
    };
    if !preview.targets.is_empty() {
        let targets: Vec<Value> = preview
            .targets
            .iter()
            .map(|(function, mapping)| {
                json!({
                    "function": function,
                    "mapping": mapping,
                    "would": format!("be handed to {function}, which maps it with webhooks.mappings.{mapping} of its own secret (its dry run shows the request)"),
                })
            })
            .collect();
        answer.body["targets"] = json!(targets);
    }
    answer
}

/// The answer for a submission this function sends nothing for: its route skipped it, or
/// hands it only to other functions.
fn not_here<A: Action>(skipped: bool, about: Map<String, Value>, message: &str) -> HttpAnswer {
    let body = if skipped {
        json!({"ok": true, "action": A::NAME, "skipped": true, "message": format!("skipped by its route: {message}")})
    } else {
        json!({"ok": true, "action": A::NAME, "message": "handed to other functions of the stack"})
    };
    ok_answer(body, about)
}

fn route_of(route: Option<&str>) -> Map<String, Value> {
    let mut about = Map::new();
    if let Some(route) = route {
        about.insert("route".into(), json!(route));
    }
    about
}

/// A dry run's answer: the request that would have been sent, or why there is none.
fn previewed<A: Action>(
    result: Result<Preview, Failure>,
    mut about: Map<String, Value>,
) -> HttpAnswer {
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

fn test_answer<A: Action>(about: Map<String, Value>, reason: &str) -> HttpAnswer {
    let body = json!({
        "ok": true,
        "action": A::NAME,
        "test": true,
        "message": format!("{reason}: nothing was sent"),
    });
    ok_answer(body, about)
}

/// A 200 answer: `body`, with `about` (source, submission id…) added.
fn ok_answer(mut body: Value, about: Map<String, Value>) -> HttpAnswer {
    merge(&mut body, about);
    HttpAnswer {
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
fn outcome<A: Action>(result: Result<Delivered, Failure>, about: Map<String, Value>) -> HttpAnswer {
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

fn failed<A: Action>(failure: &Failure, about: Map<String, Value>) -> HttpAnswer {
    let retry_after = failure.retry_after_seconds();
    let mut body = json!({"ok": false, "action": A::NAME, "error": failure.to_json()});
    if let Some(provider) = failure.provider_json() {
        body["provider"] = provider;
    }
    merge(&mut body, about);
    HttpAnswer {
        status: failure.http_status(),
        body,
        retry_after,
    }
}

fn shape(origin: HttpOrigin, answer: &HttpAnswer) -> Value {
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
