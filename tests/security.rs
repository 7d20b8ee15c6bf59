//! Closed by default and hardened: what an attacker tries, through the handler as API Gateway
//! calls it, against a provider stand-in that counts what reaches it.

mod support;

use lambda_runtime::{Context, LambdaEvent};
use ponte::actions::{CloudChatCreateConversation, SacflowSendMessage};
use ponte::authenticity::sign;
use ponte::secrets::SecretsManagerStore;
use ponte::{Action, App, Settings};
use serde_json::{Value, json};
use std::sync::Arc;
use support::*;
use wiremock::matchers::{any, body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn invoke<A: Action>(app: &App<A>, event: Value) -> (u16, Value) {
    invoke_as(app, event, "").await
}

async fn invoke_as<A: Action>(app: &App<A>, event: Value, request_id: &str) -> (u16, Value) {
    let mut context = Context::default();
    context.request_id = request_id.to_string();
    http_answer(
        &app.handle(LambdaEvent::new(event, context))
            .await
            .expect("the handler answers"),
    )
}

/// A function with `secret` and the deployed defaults (completed deliveries remembered 7 days,
/// signed deliveries up to 7 days old).
async fn deployed<A: Action>(secret: Value) -> App<A> {
    let name = unique_name("security");
    create_secret(&name, &secret).await;
    let settings = Settings {
        secret_id: Some(name),
        ..Settings::default()
    };
    App::new(
        settings,
        Arc::new(SecretsManagerStore::new(secrets_client().await)),
    )
}

fn cloudchat(server: &MockServer, more: Value) -> Value {
    let mut secret = json!({"api_access_token": "cc", "account_id": 1, "base_url": server.uri()});
    secret
        .as_object_mut()
        .unwrap()
        .extend(more.as_object().unwrap().clone());
    secret
}

async fn tickets(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 7, "meta": {"sender": {"email": "ana@example.com"}}})),
        )
        .expect(times)
        .mount(server)
        .await;
}

fn ticket(identifier: &str) -> String {
    json!({"inbox_id": "1", "contact_identifier": identifier}).to_string()
}

fn without_token(mut event: Value) -> Value {
    let headers = event["headers"].as_object_mut().unwrap();
    headers.retain(|k, _| !k.eq_ignore_ascii_case("x-ponte-token"));
    event
}

/// A Typeform body (the recorded sample) submitted `days_ago`, with its own event id.
fn typeform_body(days_ago: u64, event_id: &str) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(&form_fixture("typeform.json")).unwrap();
    let at = std::time::SystemTime::now() - std::time::Duration::from_secs(days_ago * 86_400);
    let at = aws_smithy_types::DateTime::from(at)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    body["form_response"]["submitted_at"] = json!(at);
    body["event_id"] = json!(event_id);
    body.to_string().into_bytes()
}

#[tokio::test]
async fn routes_without_protection_are_closed_and_public_is_an_opt_in() {
    let server = MockServer::start().await;
    tickets(&server, 1).await;
    // A secret as a user may write it by hand: no webhook_token, nothing under webhooks.
    let closed: App<CloudChatCreateConversation> =
        deployed(cloudchat(&server, json!({"webhook_token": null}))).await;
    let direct = invoke(&closed, without_token(rest_v1(&ticket("c-1")))).await;
    assert_failure(&direct, 401, "unauthorized", "webhooks.direct.token");
    let body = json!({"email": "ana@example.com", "inbox_id": "9"}).to_string();
    for source in ["generic", "elementor", "cf7"] {
        let event = without_token(form_event(
            Api::HttpV2,
            source,
            body.as_bytes(),
            &[],
            &[("inbox_id", "1")],
        ));
        let answer = invoke(&closed, event).await;
        assert_failure(&answer, 401, "unauthorized", "webhook_token");
    }
    // The operator opts one source in; the others stay closed.
    let public: App<CloudChatCreateConversation> = deployed(cloudchat(
        &server,
        json!({"webhook_token": null, "webhooks": {"generic": {"public": true}}}),
    ))
    .await;
    let event = without_token(form_event(
        Api::HttpV2,
        "generic",
        body.as_bytes(),
        &[],
        &[("inbox_id", "1")],
    ));
    assert_eq!(invoke(&public, event).await.0, 200);
    let event = without_token(form_event(
        Api::HttpV2,
        "elementor",
        b"a=b",
        &[("content-type", "application/x-www-form-urlencoded")],
        &[],
    ));
    assert_eq!(invoke(&public, event).await.0, 401);
}

#[tokio::test]
async fn a_signing_secret_for_direct_calls_is_a_configuration_error() {
    let server = MockServer::start().await;
    expect_nothing(&server).await;
    let app: App<CloudChatCreateConversation> = deployed(cloudchat(
        &server,
        json!({"webhooks": {"direct": {"signing_secret": "x"}}}),
    ))
    .await;
    let answer = invoke(&app, rest_v1(&ticket("c-1"))).await;
    assert_configuration_told_by_kind(&answer, "signing_secret");
    let logged = logged_failure(&app, &serde_json::from_str(&ticket("c-1")).unwrap()).await;
    assert!(
        logged.contains("webhooks.direct.signing_secret"),
        "{logged}"
    );
}

#[tokio::test]
async fn an_idempotency_key_is_bound_to_its_request() {
    let server = MockServer::start().await;
    tickets(&server, 1).await;
    let app: App<CloudChatCreateConversation> = deployed(cloudchat(&server, json!({}))).await;
    let keyed = |identifier: &str, key: &str| {
        let mut event = rest_v1(&ticket(identifier));
        event["headers"]["Idempotency-Key"] = json!(key);
        event
    };
    assert_eq!(invoke(&app, keyed("real-lead", "pedido-1")).await.0, 200);
    let (status, json) = invoke(&app, keyed("real-lead", "pedido-1")).await;
    assert_eq!((status, &json["duplicate"]), (200, &json!(true)));
    assert_eq!(
        json["provider"]["body"],
        json!({"id": 7}),
        "ids only, no contact"
    );
    // Someone else's request under the same key learns nothing and sends nothing.
    let (status, json) = invoke(&app, keyed("attacker", "pedido-1")).await;
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (409, Some("idempotency_key_reused"))
    );
    assert!(
        json.get("provider").is_none() && !json.to_string().contains("\"id\":7"),
        "{json}"
    );
    let long = "k".repeat(256);
    assert_failure(
        &invoke(&app, keyed("other", &long)).await,
        400,
        "invalid_idempotency_key",
        "255",
    );
}

#[tokio::test]
async fn one_submission_sent_to_two_urls_with_different_settings_is_two_deliveries() {
    let server = MockServer::start().await;
    for inbox in ["3", "5"] {
        Mock::given(body_partial_json(json!({"inbox_id": inbox})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let app: App<CloudChatCreateConversation> = deployed(cloudchat(
        &server,
        json!({"webhooks": {"typeform": {"signing_secret": "tf"}}}),
    ))
    .await;
    let body = typeform_body(0, "ev-two-urls");
    let signature = sign(b"tf", &body);
    for inbox in ["3", "5", "3"] {
        let event = form_event(
            Api::HttpV2,
            "typeform",
            &body,
            &[("Typeform-Signature", &signature)],
            &[("inbox_id", inbox)],
        );
        let (status, json) = invoke(&app, event).await;
        assert_eq!(status, 200, "{json}");
    }
}

#[tokio::test]
async fn signed_deliveries_older_than_seven_days_are_refused() {
    let server = MockServer::start().await;
    tickets(&server, 1).await;
    let app: App<CloudChatCreateConversation> = deployed(cloudchat(
        &server,
        json!({"webhooks": {"typeform": {"signing_secret": "tf"}}}),
    ))
    .await;
    let send = |body: Vec<u8>| {
        let signature = sign(b"tf", &body);
        form_event(
            Api::HttpV2,
            "typeform",
            &body,
            &[("Typeform-Signature", &signature)],
            &[("inbox_id", "1")],
        )
    };
    let (status, json) = invoke(&app, send(typeform_body(8, "ev-old"))).await;
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (400, Some("stale_delivery")),
        "{json}"
    );
    assert_eq!(
        invoke(&app, send(typeform_body(6, "ev-recent"))).await.0,
        200
    );
}

#[tokio::test]
async fn a_body_of_too_many_leads_is_refused_whole() {
    let server = MockServer::start().await;
    expect_nothing(&server).await;
    let app: App<SacflowSendMessage> = deployed(json!({
        "token": "sf", "account_id": 9, "base_url": server.uri(),
        "webhooks": {"rdstation": {"token": "rd"}}
    }))
    .await;
    let leads: Vec<Value> = (0..101)
        .map(|n| json!({"uuid": format!("lead-{n}"), "name": "Ana", "personal_phone": "(85) 98769-6383"}))
        .collect();
    let body = json!({"leads": leads}).to_string();
    let event = form_event(
        Api::HttpV2,
        "rdstation",
        body.as_bytes(),
        &[],
        &[("token", "rd"), ("channel_id", "1"), ("template_name", "t")],
    );
    assert_failure(
        &invoke(&app, event).await,
        413,
        "too_many_submissions",
        "100",
    );
}

#[tokio::test]
async fn redirects_are_not_followed_and_answers_are_read_up_to_a_bound() {
    let elsewhere = MockServer::start().await;
    expect_nothing(&elsewhere).await;
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/steal", elsewhere.uri())),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let huge = format!("\"{}\"", "x".repeat(3 * 1024 * 1024));
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge, "application/json"))
        .mount(&server)
        .await;
    let app: App<CloudChatCreateConversation> = deployed(cloudchat(&server, json!({}))).await;
    let (status, json) = invoke(&app, rest_v1(&ticket("redirected"))).await;
    assert_eq!(
        (status, json["provider"]["status"].as_u64()),
        (422, Some(307)),
        "{json}"
    );
    let (status, json) = invoke(&app, rest_v1(&ticket("huge"))).await;
    assert_eq!(status, 200);
    let answered = json.to_string().len();
    assert!(answered < 1024 * 1024, "answered {answered} bytes");
}

#[tokio::test]
async fn failures_carry_the_request_id_and_never_the_secrets_arn() {
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ponte/missing-AbCdEf";
    let settings = Settings {
        secret_id: Some(arn.into()),
        ..Settings::default()
    };
    let app: App<CloudChatCreateConversation> = App::new(
        settings,
        Arc::new(SecretsManagerStore::new(secrets_client().await)),
    );
    let (status, json) = invoke_as(&app, rest_v1(&ticket("c-1")), "req-42").await;
    assert_eq!((status, json["request_id"].as_str()), (500, Some("req-42")));
    assert!(!json.to_string().contains("123456789012"), "{json}");
}

#[tokio::test]
async fn an_html_entity_beside_portuguese_text_is_unescaped_not_a_panic() {
    let server = MockServer::start().await;
    Mock::given(body_partial_json(
        json!({"contact_identifier": "Preço & condições"}),
    ))
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 3})))
    .expect(1)
    .mount(&server)
    .await;
    let app: App<CloudChatCreateConversation> = deployed(cloudchat(
        &server,
        json!({"webhooks": {"jotform": {"token": "jf", "mapping": {"inbox_id": "1", "contact_identifier": "{{assunto}}"}}}}),
    ))
    .await;
    let raw = json!({"q3_assunto": "Preço &amp; condições"}).to_string();
    let (body, content_type) = multipart(&[
        ("formTitle", "Orçamento &amp; preço"),
        ("submissionID", "55"),
        ("rawRequest", &raw),
    ]);
    let event = form_event(
        Api::HttpV2,
        "jotform",
        &body,
        &[("content-type", &content_type)],
        &[("token", "jf")],
    );
    let (status, json) = invoke(&app, event).await;
    assert_eq!(status, 200, "{json}");
}
