//! What a request would do, told step by step: the answer Ponte Studio shows beside a mapping.
//!
//! Everything here is the functions' own code run as a dry run: the secret is read as a function
//! reads it (so a configuration that would not load is shown with every problem and its path),
//! the request goes through the HTTP path's stages with nothing sent and no key claimed
//! ([`crate::reception`]), and its result (route, provider request, problems, hand-overs) is what
//! a function would do. Around that result it adds what a person needs to see why: the answers
//! as the form sent them, each route's condition and whether it held, and each text value of the
//! mapping with the answers it read and what it became.
//!
//! Personal data (e-mails, phone numbers) is masked unless asked for; tokens never leave the
//! secret.

use crate::action::Action;
use crate::app::App;
use crate::connection::Connection;
use crate::endpoint::Endpoint;
use crate::expressions::Answers;
use crate::failure::Failure;
use crate::forms::{self, Decoded, Submission};
use crate::intake::{IntakeRecord, Proof};
use crate::lookup::Context;
use crate::mapping::{Leaf, Mapping};
use crate::received::{Received, SubmissionPreview};
use crate::reception::{self, Arrival, Plan};
use crate::replay::masked;
use crate::routes::Then;
use crate::secrets::{Lease, StaticSecretStore};
use crate::settings::Settings;
use crate::trigger::HttpRequest;
use crate::webhooks::Setup;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The secret id the explained function reads its (given) secret under.
const SECRET_ID: &str = "studio";

/// What `request` would do with a function of action `A` whose secret holds `secret`.
pub async fn request<A: Action>(secret: &Value, request: &HttpRequest, show_pii: bool) -> Value {
    let app = match app_for::<A>(secret) {
        Ok(app) => app,
        Err(problems) => return problems,
    };
    let body = match reception::body_of(request) {
        Ok(body) => body,
        Err(failure) => return failed(&failure),
    };
    // As a request arrives, credentials checked; one that would be refused is still shown, as
    // the operator may be looking at a body pasted without its token or signature.
    let received = dry_run(&app, request, &body, Proof::Presented).await;
    let (received, refused) = match received {
        Received::Refused(Failure::Unauthorized(why)) => (
            dry_run(&app, request, &body, Proof::Checked).await,
            Some(why),
        ),
        other => (other, None),
    };
    let mut answer = told(&app, request, &body, received, show_pii).await;
    if let Some(why) = refused {
        answer["unauthenticated"] = json!(format!(
            "deployed, this request would be refused: {why} (what follows is what it would do with its credentials)"
        ));
    }
    answer
}

/// What a letter or a queue record would do now: a kept request (an intake record) through the
/// HTTP path it came by, as if its proof held (the seal is checked when the record is run from
/// the queue, not here: the Studio reads no record key), any other body as another service's
/// message.
pub async fn record<A: Action>(secret: &Value, body: &str, show_pii: bool) -> Value {
    let app = match app_for::<A>(secret) {
        Ok(app) => app,
        Err(problems) => return problems,
    };
    let parsed = crate::json::parse(body.as_bytes());
    if let Some(Ok(kept)) = parsed.as_ref().ok().and_then(IntakeRecord::from_message) {
        let request = kept.to_request();
        let body = reception::body_of(&request).unwrap_or_default();
        let received = dry_run(&app, &request, &body, Proof::Checked).await;
        let mut answer = told(&app, &request, &body, received, show_pii).await;
        answer["kept_request"] = json!(true);
        return answer;
    }
    let received = crate::sqs_batch::preview(&app, body).await;
    told(
        &app,
        &direct_request(body),
        body.as_bytes(),
        received,
        show_pii,
    )
    .await
}

/// The request a kept record holds (an intake record or a hand-over), if `body` is one.
pub fn kept_request(body: &str) -> Option<HttpRequest> {
    let parsed = crate::json::parse(body.as_bytes()).ok()?;
    match IntakeRecord::from_message(&parsed)? {
        Ok(kept) => Some(kept.to_request()),
        Err(_) => None,
    }
}

/// What the function a route hands a submission to would send: the request as the hand-over
/// record carries it (the request with `?mapping=<its mapping>`), run with that function's own
/// secret, its proof taken as checked (a hand-over is sealed for it); only that submission.
pub async fn handed<A: Action>(
    secret: &Value,
    request: &HttpRequest,
    mapping: &str,
    submission_id: Option<&str>,
    show_pii: bool,
) -> Value {
    let app = match app_for::<A>(secret) {
        Ok(app) => app,
        Err(problems) => return problems,
    };
    let mut request = request.clone();
    request.query.retain(|(name, _)| name != "mapping");
    request.query.push(("mapping".into(), mapping.into()));
    let body = match reception::body_of(&request) {
        Ok(body) => body,
        Err(failure) => return failed(&failure),
    };
    let received = dry_run(&app, &request, &body, Proof::Checked).await;
    let mut answer = told(&app, &request, &body, received, show_pii).await;
    if let (Some(id), Some(submissions)) = (submission_id, answer["submissions"].as_array_mut()) {
        submissions.retain(|s| s["submission_id"].as_str() == Some(id));
    }
    answer
}

/// A queue message's body, as the direct endpoint would take it.
fn direct_request(body: &str) -> HttpRequest {
    let mut headers = lambda_http::http::HeaderMap::new();
    headers.insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    HttpRequest {
        origin: crate::trigger::HttpOrigin::HttpV2,
        method: "POST".into(),
        headers,
        query: Vec::new(),
        source: None,
        body: Some(body.to_string()),
        is_base64_encoded: false,
    }
}

/// A function reading `secret`, or the secret's problems as the answer.
fn app_for<A: Action>(secret: &Value) -> Result<App<A>, Value> {
    if let Err(problems) = Setup::<A::Connection>::from_secret(secret) {
        return Err(json!({
            "ok": false,
            "stage": "configuration",
            "message": "the configuration does not load: a function would answer every request with 500 until it is fixed",
            "problems": problems.list(),
        }));
    }
    let store = Arc::new(StaticSecretStore::new());
    store.put(SECRET_ID, &secret.to_string());
    let settings = Settings {
        secret_id: Some(SECRET_ID.into()),
        // A sample or a letter is tried whatever its age: the page shows what the mapping does.
        signed_delivery_max_age: Duration::from_secs(100 * 365 * 86_400),
        record_max_age: Duration::from_secs(100 * 365 * 86_400),
        ..Settings::default()
    };
    Ok(App::new(settings, store))
}

async fn dry_run<A: Action>(
    app: &App<A>,
    request: &HttpRequest,
    body: &[u8],
    proof: Proof<'_>,
) -> Received {
    let arrival = Arrival {
        request,
        body,
        proof,
        received_at: None,
        request_id: "studio",
        dry_run: true,
        delivered: &[],
        done: &[],
    };
    reception::receive(app, arrival, None).await
}

fn failed(failure: &Failure) -> Value {
    json!({"ok": false, "stage": "request", "error": failure.to_json()})
}

/// The dry run's result, with the answers, routes and mapping values that explain it.
async fn told<A: Action>(
    app: &App<A>,
    request: &HttpRequest,
    body: &[u8],
    received: Received,
    show_pii: bool,
) -> Value {
    let shown = |value: Value| if show_pii { value } else { masked(value) };
    let previews = match received {
        Received::Previewed(previews) => previews,
        Received::Test(reason) => {
            return json!({"ok": true, "stage": "test", "message": reason});
        }
        Received::Refused(failure) | Received::Unchecked(failure) | Received::Failed(failure) => {
            return failed(&failure);
        }
        Received::Attempted(_) => {
            return json!({"ok": false, "stage": "request", "error": {"kind": "internal", "message": "a dry run made a delivery"}});
        }
    };
    let Ok(endpoint) = Endpoint::of(request) else {
        return json!({"ok": false, "stage": "request"});
    };
    let submissions = match endpoint.source() {
        Some(source) => {
            let content_type = request
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok());
            match forms::decode(source, body, content_type) {
                Ok(Decoded::Submissions(submissions)) => submissions,
                _ => Vec::new(),
            }
        }
        None => Vec::new(),
    };
    let setup = app.setup().await;
    let query = reception::mapping_query(request);
    let mut told = Vec::new();
    for (n, preview) in previews.into_iter().enumerate() {
        let submission = preview
            .submission_id
            .as_ref()
            .and_then(|id| submissions.iter().find(|s| s.id.as_ref() == Some(id)))
            .or_else(|| submissions.get(n));
        let mut one = result_of(&preview, &shown);
        if let (Some(submission), Ok(setup)) = (submission, &setup) {
            let answers = Answers::of(&Context {
                submission,
                query: &query,
                signed: false,
            });
            one["answers"] = answers_of(submission, &query, &shown);
            explain_plan(
                app, endpoint, request, setup, &preview, &answers, &mut one, &shown,
            );
        }
        told.push(one);
    }
    json!({
        "ok": told.iter().all(|t| t["problems"].is_null() && t["error"].is_null()),
        "stage": "result",
        "source": endpoint.name(),
        "submissions": told,
    })
}

/// The dry run's own result for one submission: route, request or problems, hand-overs.
fn result_of(preview: &SubmissionPreview, shown: &impl Fn(Value) -> Value) -> Value {
    let mut one = json!({
        "submission_id": preview.submission_id,
        "route": preview.route,
        "skipped": preview.skipped,
        "targets": preview.targets.iter().map(|(function, mapping)| json!({"function": function, "mapping": mapping})).collect::<Vec<_>>(),
    });
    match &preview.result {
        Some(Ok(request)) => {
            one["request"] = json!({"url": request.url, "body": shown(request.body.clone())});
        }
        Some(Err(Failure::Invalid(problems))) => {
            one["problems"] = json!(
                problems
                    .list()
                    .iter()
                    .map(|p| json!({"field": p.field, "problem": shown(json!(p.problem))}))
                    .collect::<Vec<_>>()
            );
        }
        Some(Err(failure)) => one["error"] = failure.to_json(),
        None => {}
    }
    one
}

/// The submission's answers as the form sent them, then its hidden fields and the URL's query.
fn answers_of(
    submission: &Submission,
    query: &[(String, String)],
    shown: &impl Fn(Value) -> Value,
) -> Value {
    let mut answers: Vec<Value> = submission
        .fields
        .iter()
        .map(|f| json!({"name": f.label, "key": f.key, "value": shown(json!(f.value.display()))}))
        .collect();
    answers.extend(
        submission
            .hidden
            .iter()
            .map(|(k, v)| json!({"name": k, "key": k, "value": shown(json!(v)), "hidden": true})),
    );
    answers.extend(
        query.iter().map(
            |(k, v)| json!({"name": format!("query.{k}"), "key": k, "value": v, "query": true}),
        ),
    );
    Value::Array(answers)
}

/// Which routes were tried and how each condition came out, which mapping applied, and each of
/// its text values with the answers it read.
#[allow(clippy::too_many_arguments)]
fn explain_plan<A: Action>(
    app: &App<A>,
    endpoint: Endpoint,
    request: &HttpRequest,
    setup: &Lease<Setup<A::Connection>>,
    preview: &SubmissionPreview,
    answers: &Arc<Answers>,
    one: &mut Value,
    shown: &impl Fn(Value) -> Value,
) {
    let webhooks = &setup.secret.webhooks;
    let (mapping, name): (Option<&Mapping>, String) = match reception::plan_of(
        app, endpoint, request, setup,
    ) {
        Ok(Plan::Mapping(mapping)) => (Some(mapping), mapping_name(request, endpoint, setup)),
        Ok(Plan::Routes(routes)) => {
            let mut tried = Vec::new();
            for route in routes.iter() {
                let holds = route.when.as_ref().map(|c| c.holds(answers));
                let taken = preview.route.as_deref() == Some(route.name.as_str());
                tried.push(json!({
                        "name": route.name,
                        "when": route.when.as_ref().map(|c| c.written()),
                        "holds": match &holds { None => json!(true), Some(Ok(h)) => json!(h), Some(Err(_)) => Value::Null },
                        "error": holds.and_then(Result::err),
                        "taken": taken,
                    }));
                if taken {
                    break;
                }
            }
            one["routes"] = Value::Array(tried);
            let chosen = routes
                .iter()
                .find(|r| preview.route.as_deref() == Some(r.name.as_str()));
            match chosen.map(|r| &r.then) {
                Some(Then::Deliver {
                    mapping: Some(name),
                    ..
                }) => (webhooks.named_mapping(name.as_str()).ok(), name.clone()),
                _ => (None, String::new()),
            }
        }
        Err(_) => (None, String::new()),
    };
    let Some(mapping) = mapping else {
        return;
    };
    one["mapping"] = json!(name);
    one["fields"] = mapping
        .leaves(answers)
        .into_iter()
        .map(|leaf| traced(leaf, one["answers"].as_array(), shown))
        .collect();
}

/// Which mapping a request without routes uses, in the words of the secret.
fn mapping_name<C>(request: &HttpRequest, endpoint: Endpoint, setup: &Lease<Setup<C>>) -> String {
    if let Some((_, name)) = request.query.iter().find(|(k, _)| k == "mapping") {
        return name.clone();
    }
    let webhooks = &setup.secret.webhooks;
    match endpoint.source() {
        Some(source) if webhooks.mapping_for(source).is_some() => {
            format!("the {source} mapping of the secret")
        }
        _ => "the action's built-in mapping".into(),
    }
}

/// One text value of the mapping, with the answers its expressions name.
fn traced(leaf: Leaf, answers: Option<&Vec<Value>>, shown: &impl Fn(Value) -> Value) -> Value {
    let slots = slots_of(&leaf.written);
    let from: Vec<Value> = answers
        .into_iter()
        .flatten()
        .filter(|a| {
            [&a["name"], &a["key"]]
                .iter()
                .filter_map(|n| n.as_str())
                .filter(|n| !n.is_empty())
                .any(|n| names(&slots, n.trim_start_matches("query.")))
        })
        .map(|a| json!({"name": a["name"], "value": a["value"]}))
        .collect();
    let (value, problem) = match leaf.rendered {
        Ok(value) => (shown(json!(value)), Value::Null),
        Err(why) => (Value::Null, json!(why)),
    };
    json!({"path": leaf.path, "written": leaf.written, "value": value, "problem": problem, "from": from})
}

/// The text inside each `{{ … }}` of a written value.
fn slots_of(written: &str) -> Vec<&str> {
    let mut slots = Vec::new();
    let mut rest = written;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            break;
        };
        slots.push(&after[..end]);
        rest = &after[end + 2..];
    }
    slots
}

/// Whether an expression names `name`: as a whole word (not inside a longer name), in any case
/// (answers are looked up without regard to case).
fn names(slots: &[&str], name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let name = name.to_lowercase();
    slots.iter().any(|slot| {
        let slot = slot.to_lowercase();
        slot.match_indices(&name).any(|(at, _)| {
            let before = slot[..at].chars().next_back();
            let after = slot[at + name.len()..].chars().next();
            !before.is_some_and(word) && !after.is_some_and(word)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expression_names_an_answer_only_as_a_whole_word() {
        let slots = slots_of("Olá {{ nome | first_name }}, pedido {{ pedido_id }} {{Seu nome}}");
        assert_eq!(slots, [" nome | first_name ", " pedido_id ", "Seu nome"]);
        assert!(names(&slots, "nome"));
        assert!(names(&slots, "Seu nome"));
        assert!(names(&slots, "pedido_id"));
        assert!(names(&slots, "Nome"), "in any case");
        assert!(!names(&slots, "pedido"), "inside a longer name");
        assert!(!names(&slots_of("nome sem chaves"), "nome"));
    }
}
