//! Each function end to end through `App::handle`, the entry point its binary runs, with
//! Secrets Manager in a moto server and the provider played by a local HTTP stand-in that
//! checks method, path, headers and JSON body exactly.

mod support;

use lambda_runtime::{Context, LambdaEvent};
use ponte::actions::{
    CloudChatCreateConversation, CloudChatProactiveWhatsapp, SacflowSendMessage, WeglyCreateChat,
};
use ponte::{Action, App, Settings};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::*;
use wiremock::matchers::{any, body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn invoke<A: Action>(app: &App<A>, event: Value) -> Value {
    app.handle(LambdaEvent::new(event, Context::default()))
        .await
        .expect("the handler answers")
}

const CC_PATH: &str = "/api/v1/accounts/42/conversations";

/// A Cloud Chat function whose secret points at `server`.
async fn cloudchat_app(
    server: &MockServer,
    token: &str,
) -> (App<CloudChatCreateConversation>, String) {
    let name = unique_name("cloudchat");
    create_secret(
        &name,
        &json!({"api_access_token": token, "account_id": "42", "base_url": server.uri()}),
    )
    .await;
    (app(Some(&name)).await, name)
}

fn ticket(email: &str) -> Value {
    json!({
        "inbox_id": "1",
        "contact_email": email,
        "contact_phone_number": "(85) 98769-6383",
        "message": {"content": "Olá, preciso de ajuda com o pedido 123", "message_type": "incoming"},
        "custom_attributes": {"pedido": "123"}
    })
}

fn ticket_as_sent(email: &str) -> Value {
    let mut body = ticket(email);
    body["contact_phone_number"] = json!("+5585987696383");
    body
}

/// What Chatwoot answers for a new conversation, trimmed.
fn conversation(id: u64) -> Value {
    json!({"id": id, "account_id": 42, "inbox_id": 1, "status": "open", "messages": [], "meta": {"sender": {"id": 7}}})
}

fn cloudchat_mock(email: &str, token: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path(CC_PATH))
        .and(header("api_access_token", token))
        .and(header("content-type", "application/json"))
        .and(body_json(ticket_as_sent(email)))
}

#[tokio::test]
async fn a_ticket_reaches_cloud_chat_exactly_through_every_trigger() {
    let server = MockServer::start().await;
    cloudchat_mock("maria@example.com", "tok-1")
        .respond_with(ResponseTemplate::new(200).set_body_json(conversation(1234)))
        .expect(5)
        .mount(&server)
        .await;
    let (app, _) = cloudchat_app(&server, "tok-1").await;
    let body = ticket("maria@example.com").to_string();

    for event in [rest_v1(&body), http_v2_base64(&body)] {
        let answer = invoke(&app, event).await;
        let (status, json) = http_answer(&answer);
        assert_eq!(status, 200, "{json}");
        assert_eq!(json["ok"], true);
        assert_eq!(json["action"], "cloudchat-create-conversation");
        assert_eq!(
            json["provider"],
            json!({"status": 200, "body": conversation(1234)})
        );
        assert_eq!(answer["headers"]["content-type"], "application/json");
    }
    let payload = ticket("maria@example.com");
    for event in [
        sqs(&[("m-plain", &body)]),
        sqs_from_sns("m-sns", &payload),
        sqs_from_eventbridge("m-eb", &payload),
    ] {
        let answer = invoke(&app, event).await;
        assert_eq!(answer, json!({"batchItemFailures": []}));
    }
}

#[tokio::test]
async fn rest_api_answers_have_the_payload_1_0_shape_and_http_api_answers_the_2_0_shape() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(conversation(1)))
        .mount(&server)
        .await;
    let (app, _) = cloudchat_app(&server, "t").await;
    let body = ticket("a@example.com").to_string();
    let v1 = invoke(&app, rest_v1(&body)).await;
    assert!(
        v1.get("multiValueHeaders").is_some() && v1.get("cookies").is_none(),
        "{v1}"
    );
    let v2 = invoke(&app, http_v2_base64(&body)).await;
    assert!(v2.get("cookies").is_some(), "{v2}");
    assert_eq!(v2["isBase64Encoded"], false);
}

#[tokio::test]
async fn invalid_requests_name_every_bad_field_and_never_reach_the_provider() {
    let server = MockServer::start().await;
    expect_nothing(&server).await;
    let (app, _) = cloudchat_app(&server, "t").await;
    let body = json!({
        "inbox_id": "1",
        "contact_phone_number": "12",
        "message": {"content": "", "message_type": "inbound"},
        "status": "closed",
        "inboxid": 1
    })
    .to_string();
    let (status, json) = http_answer(&invoke(&app, rest_v1(&body)).await);
    assert_eq!(status, 400);
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"]["kind"], "validation");
    let fields: Vec<&str> = json["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "contact_phone_number",
            "message.content",
            "message.message_type",
            "status",
            "inboxid"
        ]
    );
    assert_eq!(
        json["error"]["fields"][4]["problem"],
        "is not a known field"
    );

    let answer = invoke(&app, sqs(&[("bad-1", &body)])).await;
    assert_eq!(failed_ids(&answer), ["bad-1"]);
}

#[tokio::test]
async fn unreadable_bodies_and_wrong_methods_get_clear_4xx_answers() {
    let server = MockServer::start().await;
    expect_nothing(&server).await;
    let (app, _) = cloudchat_app(&server, "t").await;

    let (status, json) = http_answer(&invoke(&app, rest_v1("{\"inbox_id\": ")).await);
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (400, Some("invalid_json"))
    );
    let (status, json) = http_answer(&invoke(&app, rest_v1("")).await);
    assert_eq!(status, 400);
    assert_eq!(
        json["error"]["message"],
        "the body is not valid JSON: the body is empty"
    );
    let (status, json) = http_answer(&invoke(&app, rest_v1("[1, 2]")).await);
    assert_eq!(
        (status, json["error"]["fields"][0]["field"].as_str()),
        (400, Some("(body)"))
    );

    let mut bad_base64 = http_v2("POST", "not base64!");
    bad_base64["isBase64Encoded"] = json!(true);
    let (status, json) = http_answer(&invoke(&app, bad_base64).await);
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (400, Some("invalid_body"))
    );

    let answer = invoke(&app, http_v2("GET", "")).await;
    let (status, json) = http_answer(&answer);
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (405, Some("method_not_allowed"))
    );
    assert_eq!(answer["headers"]["allow"], "POST");
}

#[tokio::test]
async fn a_rotated_token_is_read_again_once_after_a_401() {
    let server = MockServer::start().await;
    let (app, secret) = cloudchat_app(&server, "old-token").await;
    let old_ok = cloudchat_mock("a@example.com", "old-token")
        .respond_with(ResponseTemplate::new(200).set_body_json(conversation(1)))
        .up_to_n_times(1)
        .expect(1)
        .named("old token, before rotation")
        .mount_as_scoped(&server)
        .await;
    let (status, _) =
        http_answer(&invoke(&app, rest_v1(&ticket("a@example.com").to_string())).await);
    assert_eq!(status, 200);
    drop(old_ok);

    rotate_secret(
        &secret,
        &json!({"api_access_token": "new-token", "account_id": "42", "base_url": server.uri()}),
    )
    .await;
    cloudchat_mock("b@example.com", "old-token")
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": "Invalid Access Token"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    cloudchat_mock("b@example.com", "new-token")
        .respond_with(ResponseTemplate::new(200).set_body_json(conversation(2)))
        .expect(1)
        .mount(&server)
        .await;
    let (status, json) =
        http_answer(&invoke(&app, rest_v1(&ticket("b@example.com").to_string())).await);
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["provider"]["body"]["id"], 2);
}

#[tokio::test]
async fn a_token_that_stays_refused_is_a_provider_rejection() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": "Invalid Access Token"})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let (app, _) = cloudchat_app(&server, "revoked").await;
    let (status, json) =
        http_answer(&invoke(&app, rest_v1(&ticket("a@example.com").to_string())).await);
    assert_eq!(status, 422);
    assert_eq!(json["error"]["kind"], "provider_rejected");
    assert_eq!(json["provider"]["status"], 401);
}

#[tokio::test]
async fn provider_answers_map_to_our_statuses() {
    // (answer, calls made, our status, kind, message): 5xx is retried (three calls in all);
    // a 429 asking for 30 s is not waited out inside the invocation.
    let cases = [
        (
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": "Resource could not be found"})),
            1,
            422,
            "provider_rejected",
            "the provider refused the request (HTTP 404): Resource could not be found",
        ),
        (
            ResponseTemplate::new(422).set_body_json(
                json!({"message": "Inbox não permite criação via API", "attributes": ["inbox"]}),
            ),
            1,
            422,
            "provider_rejected",
            "the provider refused the request (HTTP 422): Inbox não permite criação via API",
        ),
        (
            ResponseTemplate::new(500).set_body_string("<html>Internal Server Error</html>"),
            3,
            502,
            "provider_unavailable",
            "the provider is unavailable: HTTP 500: <html>Internal Server Error</html>",
        ),
        (
            ResponseTemplate::new(429)
                .insert_header("retry-after", "30")
                .set_body_string("Retry later"),
            1,
            503,
            "provider_unavailable",
            "the provider is unavailable: HTTP 429: Retry later",
        ),
    ];
    for (template, calls, expected_status, kind, message) in cases {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(template)
            .expect(calls)
            .mount(&server)
            .await;
        let (app, _) = cloudchat_app(&server, "t").await;
        let answer = invoke(&app, rest_v1(&ticket("a@example.com").to_string())).await;
        let (status, json) = http_answer(&answer);
        assert_eq!(status, expected_status, "{json}");
        assert_eq!(json["error"]["kind"], kind);
        assert_eq!(json["error"]["message"], message);
        if expected_status == 503 {
            assert_eq!(answer["headers"]["retry-after"], "30", "{answer}");
        }
    }
}

#[tokio::test]
async fn a_slow_or_absent_provider_is_a_timeout_or_a_bad_gateway() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let (_, secret) = cloudchat_app(&server, "t").await;
    let settings = Settings {
        secret_id: Some(secret),
        request_timeout: Duration::from_millis(300),
        ..Settings::default()
    };
    let store = ponte::secrets::SecretsManagerStore::new(secrets_client().await);
    let slow: App<CloudChatCreateConversation> = App::new(settings, Arc::new(store));
    let (status, json) =
        http_answer(&invoke(&slow, rest_v1(&ticket("a@example.com").to_string())).await);
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (504, Some("provider_timeout"))
    );

    let closed = format!(
        "http://127.0.0.1:{}",
        ponte_devtools::moto::free_port().unwrap()
    );
    let name = unique_name("closed");
    create_secret(
        &name,
        &json!({"api_access_token": "t", "account_id": 42, "base_url": closed}),
    )
    .await;
    let app: App<CloudChatCreateConversation> = app(Some(&name)).await;
    let (status, json) =
        http_answer(&invoke(&app, rest_v1(&ticket("a@example.com").to_string())).await);
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (502, Some("provider_unavailable"))
    );
}

#[tokio::test]
async fn a_batch_reports_exactly_the_records_that_failed() {
    let server = MockServer::start().await;
    cloudchat_mock("ok@example.com", "t")
        .respond_with(ResponseTemplate::new(200).set_body_json(conversation(10)))
        .expect(1)
        .mount(&server)
        .await;
    cloudchat_mock("down@example.com", "t")
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&server)
        .await;
    cloudchat_mock("gone@example.com", "t")
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": "Resource could not be found"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (app, _) = cloudchat_app(&server, "t").await;
    let ok = ticket("ok@example.com").to_string();
    let down = ticket("down@example.com").to_string();
    let gone = ticket("gone@example.com").to_string();
    let invalid = json!({"inbox_id": "1"}).to_string();
    let answer = invoke(
        &app,
        sqs(&[
            ("1-ok", &ok),
            ("2-down", &down),
            ("3-gone", &gone),
            ("4-invalid", &invalid),
            ("5-text", "Test message."),
        ]),
    )
    .await;
    assert_eq!(
        failed_ids(&answer),
        ["2-down", "3-gone", "4-invalid", "5-text"]
    );
}

#[tokio::test]
async fn configuration_problems_are_explained_and_nothing_is_sent() {
    let server = MockServer::start().await;
    expect_nothing(&server).await;
    let body = ticket("a@example.com").to_string();

    // Callers are told the kind and the request id; the log line says what to fix.
    let payload = ticket("a@example.com");
    let unset: App<CloudChatCreateConversation> = app(None).await;
    assert_configuration_told_by_kind(
        &http_answer(&invoke(&unset, rest_v1(&body)).await),
        "SECRET_ID",
    );
    assert!(
        logged_failure(&unset, &payload)
            .await
            .contains("SECRET_ID is not set")
    );

    let missing: App<CloudChatCreateConversation> = app(Some("ponte-test/does-not-exist")).await;
    assert_configuration_told_by_kind(
        &http_answer(&invoke(&missing, rest_v1(&body)).await),
        "ponte-test/does-not-exist",
    );
    assert!(
        logged_failure(&missing, &payload)
            .await
            .contains("does not exist")
    );

    let name = unique_name("malformed");
    create_secret(
        &name,
        &json!({"api_access_token": "t", "base_url": server.uri()}),
    )
    .await;
    let malformed: App<CloudChatCreateConversation> = app(Some(&name)).await;
    assert_configuration_told_by_kind(
        &http_answer(&invoke(&malformed, rest_v1(&body)).await),
        &name,
    );
    assert!(
        logged_failure(&malformed, &payload)
            .await
            .contains("account_id: is required")
    );

    let answer = invoke(&malformed, sqs(&[("m1", &body)])).await;
    assert_eq!(failed_ids(&answer), ["m1"]);
}

#[tokio::test]
async fn events_of_unknown_shape_fail_the_invocation() {
    let app: App<CloudChatCreateConversation> = app(None).await;
    for event in [
        json!({"inbox_id": "1"}),
        json!("hello"),
        json!({"Records": 3}),
    ] {
        let err = app
            .handle(LambdaEvent::new(event, Context::default()))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("expected an SQS batch"), "{err}");
    }
}

#[tokio::test]
async fn a_proactive_whatsapp_conversation_is_sent_with_its_template_variables() {
    let server = MockServer::start().await;
    let sent = json!({
        "inbox_id": "5", "phone_number": "+5511987654321", "template_name": "pedido_enviado",
        "button_param_0": "ABC123", "nome": "Maria", "pedido": "123"
    });
    Mock::given(method("POST"))
        .and(path(
            "/api/v1/accounts/42/conversations/create_proactive_whatsapp_conversation",
        ))
        .and(header("api_access_token", "t"))
        .and(body_json(&sent))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 99})))
        .expect(2)
        .mount(&server)
        .await;
    let name = unique_name("proactive");
    create_secret(
        &name,
        &json!({"api_access_token": "t", "account_id": 42, "base_url": server.uri()}),
    )
    .await;
    let app: App<CloudChatProactiveWhatsapp> = app(Some(&name)).await;
    let body = json!({
        "inbox_id": 5, "phone_number": "11 98765-4321", "template_name": "pedido_enviado",
        "button_param_0": "ABC123", "nome": "Maria", "pedido": 123
    });
    let (status, json) = http_answer(&invoke(&app, http_v2_base64(&body.to_string())).await);
    assert_eq!(
        (status, json["provider"]["body"]["id"].as_u64()),
        (200, Some(99))
    );
    let answer = invoke(&app, sqs_from_sns("p-1", &body)).await;
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
}

#[tokio::test]
async fn a_wegly_chat_is_created_with_bearer_token_and_origin() {
    let server = MockServer::start().await;
    let chat = json!({"id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "status": "OPEN", "wa_contact_id": "11999999999"});
    let sent = json!({
        "whatsapp_phone_id": "0b28ee57-7a57-4407-a9c5-5cd4e5a5fd6c",
        "wa_contact_id": "11999999999",
        "template": {"name": "saudacao_inicial", "language": "pt_BR"},
        "template_fields": [{"component": "BODY", "type": "TEXT", "index": 1, "value": "João"}]
    });
    Mock::given(method("POST"))
        .and(path("/integrations/external/chats"))
        .and(header("authorization", "Bearer wg-token"))
        .and(header("origin", "https://loja.example.com"))
        .and(body_json(&sent))
        .respond_with(ResponseTemplate::new(200).set_body_json(&chat))
        .expect(2)
        .mount(&server)
        .await;
    let name = unique_name("wegly");
    create_secret(
        &name,
        &json!({"token": "wg-token", "base_url": server.uri(), "origin": "https://loja.example.com"}),
    )
    .await;
    let app: App<WeglyCreateChat> = app(Some(&name)).await;
    let mut body = sent.clone();
    body["wa_contact_id"] = json!("+55 (11) 99999-9999");
    let (status, json) = http_answer(&invoke(&app, rest_v1(&body.to_string())).await);
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["provider"]["body"], chat);
    let answer = invoke(&app, sqs(&[("w-1", &body.to_string())])).await;
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
}

#[tokio::test]
async fn a_sacflow_message_takes_its_account_from_the_connection() {
    let server = MockServer::start().await;
    let sent = json!({
        "accountId": 321, "channelId": 7,
        "contact": {"name": "Maria", "phone": "5585987696383"},
        "message": {"type": "text", "body": "Seu pedido saiu para entrega"},
        "summary": "Pedido 123"
    });
    Mock::given(method("POST"))
        .and(path("/api/send-message"))
        .and(header("authorization", "Bearer sf-token"))
        .and(body_json(&sent))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"success": true, "ticketId": 555})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let name = unique_name("sacflow");
    create_secret(
        &name,
        &json!({"token": "sf-token", "account_id": 321, "base_url": server.uri()}),
    )
    .await;
    let app: App<SacflowSendMessage> = app(Some(&name)).await;
    let body = json!({
        "channelId": "7",
        "contact": {"name": "Maria", "phone": "(85) 98769-6383"},
        "message": {"type": "text", "body": "Seu pedido saiu para entrega"},
        "summary": "Pedido 123"
    });
    let (status, json) = http_answer(&invoke(&app, http_v2_base64(&body.to_string())).await);
    assert_eq!(
        (status, json["provider"]["body"]["ticketId"].as_u64()),
        (200, Some(555))
    );
    let answer = invoke(&app, sqs_from_eventbridge("s-1", &body)).await;
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
}

#[tokio::test]
async fn a_sacflow_error_inside_a_200_is_a_rejection() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"error": "Canal desconectado"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let name = unique_name("sacflow-err");
    create_secret(
        &name,
        &json!({"token": "t", "account_id": 1, "base_url": server.uri()}),
    )
    .await;
    let app: App<SacflowSendMessage> = app(Some(&name)).await;
    let body = json!({"channelId": 7, "contact": {"name": "M", "phone": "85987696383"}, "message": {"type": "text", "body": "x"}});
    let (status, json) = http_answer(&invoke(&app, rest_v1(&body.to_string())).await);
    assert_eq!(status, 422);
    assert_eq!(
        json["error"]["message"],
        "the provider refused the request (HTTP 200): Canal desconectado"
    );
}

#[tokio::test]
async fn a_dry_run_shows_the_provider_request_and_sends_nothing() {
    let server = MockServer::start().await;
    // Only the real call at the end reaches the provider.
    cloudchat_mock("a@example.com", "dry-run-token")
        .respond_with(ResponseTemplate::new(200).set_body_json(conversation(1)))
        .expect(1)
        .mount(&server)
        .await;
    let (app, _) = cloudchat_app(&server, "dry-run-token").await;
    let body = ticket("a@example.com").to_string();

    let mut event = rest_v1(&body);
    event["queryStringParameters"] = json!({"dry_run": "true"});
    event["multiValueQueryStringParameters"] = json!({"dry_run": ["true"]});
    let (status, json) = http_answer(&invoke(&app, event).await);
    assert_eq!(status, 200, "{json}");
    assert_eq!(
        (json["dry_run"].as_bool(), &json["request"]),
        (
            Some(true),
            &json!({"url": format!("{}{CC_PATH}", server.uri()), "body": ticket_as_sent("a@example.com")})
        )
    );
    assert!(!json.to_string().contains("dry-run-token"), "{json}");

    let mut event = http_v2_base64(&json!({"inbox_id": "1"}).to_string());
    event["headers"]["x-ponte-dry-run"] = json!("yes");
    let (status, json) = http_answer(&invoke(&app, event).await);
    assert_eq!(
        (
            status,
            json["error"]["kind"].as_str(),
            json["dry_run"].as_bool()
        ),
        (400, Some("validation"), Some(true))
    );

    // A dry run claims no idempotency key: the same request, sent for real, goes through.
    let (status, json) = http_answer(&invoke(&app, rest_v1(&body)).await);
    assert_eq!(
        (
            status,
            json["provider"]["body"]["id"].as_u64(),
            json.get("duplicate")
        ),
        (200, Some(1), None)
    );
}
