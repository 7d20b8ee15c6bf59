//! The real binaries, each started as Lambda starts it: a runtime API to poll, its
//! connection secret in a moto server (reached through `AWS_ENDPOINT_URL`, the SDK's standard
//! configuration) and a local stand-in as the provider. Each must send exactly the request its
//! provider documents for events from API Gateway REST (1.0), HTTP API (2.0, base64 body) and
//! SQS (plain and SNS-wrapped), answer as documented, and never print its token.

mod support;

use ponte_devtools::function::{LocalFunction, Output};
use ponte_devtools::moto::function_env;
use ponte_devtools::runtime_api::InvocationResult;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::*;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BUDGET: Duration = Duration::from_secs(20);

/// Starts `binary` with JSON logs at trace level, its secret in moto, and claims in moto's DynamoDB (the table
/// the template creates), so that the binary's own lazily built AWS clients are exercised.
async fn start(binary: &str, name: &str, secret_id: &str) -> Running {
    let config = ponte_devtools::moto::sdk_config(&moto_endpoint()).await;
    let table = "ponte-binaries-idempotency";
    ponte_devtools::moto::create_idempotency_table(&aws_sdk_dynamodb::Client::new(&config), table)
        .await
        .expect("table");
    let mut env = function_env(&moto_endpoint(), secret_id);
    env.push(("IDEMPOTENCY_TABLE", table.into()));
    env.push(("AWS_LAMBDA_LOG_FORMAT", "JSON".into()));
    // The most a level can show: still no raw event, token, phone or e-mail (check_logs).
    env.push(("AWS_LAMBDA_LOG_LEVEL", "TRACE".into()));
    // Each trigger below sends the same payload: have every one delivered, not deduplicated.
    env.push(("IDEMPOTENCY_TTL_SECONDS", "0".into()));
    let function = LocalFunction::start(Path::new(binary), name, &env, Output::Capture)
        .await
        .expect("the function starts");
    Running(function)
}

struct Running(LocalFunction);

impl Running {
    async fn invoke(&self, event: Value) -> Value {
        match self.0.invoke(event, BUDGET).await.expect("an answer") {
            InvocationResult::Response(value) => value,
            InvocationResult::Error(error) => panic!("the function failed: {error}"),
        }
    }

    /// Stops the function and returns everything it printed.
    async fn stop(self) -> String {
        self.0.stop().await
    }
}

/// Sends `payload` through all four event shapes and checks each answer.
async fn through_every_trigger(function: &Running, payload: &Value) {
    let body = payload.to_string();
    for event in [rest_v1(&body), http_v2_base64(&body)] {
        let (status, json) = http_answer(&function.invoke(event).await);
        assert_eq!(status, 200, "{json}");
        assert_eq!(json["ok"], true);
    }
    let answer = function.invoke(sqs(&[("plain-1", &body)])).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let answer = function.invoke(sqs_from_sns("sns-1", payload)).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
}

/// The checks every binary's output must pass: no token and no full phone number anywhere; one
/// JSON outcome line per event with the fields operators search by; EMF metrics that follow the
/// specification and add up to what happened (4 deliveries, 1 validation failure, 1 cold start).
fn check_logs(logs: &str, token: &str, phone_digits: &str) {
    if std::env::var_os("PONTE_SHOW_LOGS").is_some() {
        eprintln!("{logs}");
    }
    assert!(
        !logs.contains(token),
        "the token appears in the logs:\n{logs}"
    );
    assert!(
        !logs.contains(phone_digits),
        "a full phone number appears in the logs:\n{logs}"
    );
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .collect();
    let outcomes: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["outcome"].is_string())
        .collect();
    assert_eq!(outcomes.len(), 5, "one outcome line per event:\n{logs}");
    for (n, line) in outcomes.iter().enumerate() {
        let fields = &line["fields"];
        for name in [
            "action",
            "trigger",
            "source",
            "message_id",
            "outcome",
            "idempotency_key",
            "attempts",
            "contact",
            "duration_ms",
            "provider_ms",
        ] {
            assert!(
                !fields[name].is_null(),
                "outcome line without {name}: {line}"
            );
        }
        let spans = line["spans"].as_array().expect("spans");
        let find = |key: &str| spans.iter().find_map(|s| s.get(key)).cloned();
        assert!(
            find("requestId").is_some_and(|v| v.as_str().is_some_and(|s| s.starts_with("req-"))),
            "{line}"
        );
        assert!(
            find("xrayTraceId")
                .is_some_and(|v| v.as_str().is_some_and(|s| s.starts_with("Root=1-"))),
            "{line}"
        );
        assert_eq!(
            find("cold_start"),
            Some(json!(n == 0)),
            "only the first invocation is a cold start: {line}"
        );
        if fields["outcome"] == "delivered" {
            assert_eq!(fields["provider_status"], 200);
            assert!(
                fields["provider_id"]
                    .as_str()
                    .is_some_and(|id| !id.is_empty()),
                "{line}"
            );
            // A direct call without Idempotency-Key is known by its content; a queue message
            // by the id its sender gave it (the SNS envelope's), else its SQS message id.
            let key = fields["idempotency_key"].as_str().unwrap();
            let expected = match (fields["trigger"].as_str(), fields["message_id"].as_str()) {
                (Some("http"), _) => "#request:".to_string(),
                (Some("sqs"), Some("plain-1")) => "#sqs:plain-1".to_string(),
                (Some("sqs"), _) => "#sns:".to_string(),
                other => panic!("an outcome from {other:?}: {line}"),
            };
            assert!(key.contains(&expected), "{expected} in {line}");
        }
    }
    let documents: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
    let mut total = std::collections::HashMap::<String, f64>::new();
    for document in &documents {
        ponte::metrics::check(document).unwrap_or_else(|e| panic!("{e}: {document}"));
        for name in [
            "Delivered",
            "Failed",
            "Duplicate",
            "ColdStart",
            "FailedByKind",
        ] {
            *total.entry(name.into()).or_default() += document[name].as_f64().unwrap_or_default();
        }
    }
    assert_eq!(
        (total["Delivered"], total["Failed"], total["Duplicate"]),
        (4.0, 1.0, 0.0),
        "{total:?}"
    );
    assert_eq!((total["ColdStart"], total["FailedByKind"]), (1.0, 1.0));
}

#[tokio::test]
async fn cloudchat_create_conversation_binary() {
    let server = MockServer::start().await;
    let token = "cc-secret-token-0001";
    let sent = json!({
        "inbox_id": "1", "contact_phone_number": "+5585987696383",
        "message": {"content": "Formulário do site", "message_type": "incoming"}, "status": "pending"
    });
    Mock::given(method("POST"))
        .and(path("/api/v1/accounts/42/conversations"))
        .and(header("api_access_token", token))
        .and(header("content-type", "application/json"))
        .and(body_json(&sent))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": 77, "status": "pending"})),
        )
        .expect(4)
        .mount(&server)
        .await;
    let secret = unique_name("bin-cc");
    create_secret(
        &secret,
        &json!({"api_access_token": token, "account_id": "42", "base_url": server.uri()}),
    )
    .await;
    let function = start(
        env!("CARGO_BIN_EXE_cloudchat-create-conversation"),
        "cloudchat-create-conversation",
        &secret,
    )
    .await;
    let mut payload = sent.clone();
    payload["contact_phone_number"] = json!("(85) 98769-6383");
    through_every_trigger(&function, &payload).await;

    let (status, json) = http_answer(&function.invoke(rest_v1(r#"{"inbox_id": "1"}"#)).await);
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (400, Some("validation"))
    );
    check_logs(&function.stop().await, token, "5585987696383");
}

#[tokio::test]
async fn cloudchat_proactive_whatsapp_binary() {
    let server = MockServer::start().await;
    let token = "cc-secret-token-0002";
    let sent = json!({
        "inbox_id": "3", "phone_number": "+5511987654321", "template_name": "boas_vindas",
        "button_param_0": "cupom10", "nome": "Maria"
    });
    Mock::given(method("POST"))
        .and(path(
            "/api/v1/accounts/9/conversations/create_proactive_whatsapp_conversation",
        ))
        .and(header("api_access_token", token))
        .and(body_json(&sent))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 5})))
        .expect(4)
        .mount(&server)
        .await;
    let secret = unique_name("bin-proactive");
    create_secret(
        &secret,
        &json!({"api_access_token": token, "account_id": 9, "base_url": server.uri()}),
    )
    .await;
    let function = start(
        env!("CARGO_BIN_EXE_cloudchat-proactive-whatsapp"),
        "cloudchat-proactive-whatsapp",
        &secret,
    )
    .await;
    let mut payload = sent.clone();
    payload["phone_number"] = json!("11 98765-4321");
    through_every_trigger(&function, &payload).await;
    let (status, _) = http_answer(&function.invoke(rest_v1(r#"{"inbox_id": "3"}"#)).await);
    assert_eq!(status, 400);
    check_logs(&function.stop().await, token, "5511987654321");
}

#[tokio::test]
async fn wegly_create_chat_binary() {
    let server = MockServer::start().await;
    let token = "wegly-secret-token-0003";
    let sent = json!({
        "whatsapp_phone_id": "0b28ee57-7a57-4407-a9c5-5cd4e5a5fd6c",
        "wa_contact_id": "11999999999",
        "template": {"name": "saudacao_inicial", "language": "pt_BR"},
        "template_fields": [{"component": "BODY", "type": "TEXT", "index": 1, "value": "João"}]
    });
    Mock::given(method("POST"))
        .and(path("/integrations/external/chats"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .and(body_json(&sent))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "status": "OPEN"}),
            ),
        )
        .expect(4)
        .mount(&server)
        .await;
    let secret = unique_name("bin-wegly");
    create_secret(&secret, &json!({"token": token, "base_url": server.uri()})).await;
    let function = start(
        env!("CARGO_BIN_EXE_wegly-create-chat"),
        "wegly-create-chat",
        &secret,
    )
    .await;
    let mut payload = sent.clone();
    payload["wa_contact_id"] = json!("+55 11 99999-9999");
    through_every_trigger(&function, &payload).await;
    let (status, _) = http_answer(&function.invoke(rest_v1(r#"{"status": "OPEN"}"#)).await);
    assert_eq!(status, 400);
    check_logs(&function.stop().await, token, "5511999999999");
}

#[tokio::test]
async fn sacflow_send_message_binary() {
    let server = MockServer::start().await;
    let token = "sacflow-secret-token-0004";
    let sent = json!({
        "accountId": 12, "channelId": 34,
        "contact": {"name": "Maria", "phone": "5585987696383"},
        "message": {"type": "template", "name": "pedido_enviado", "variables": ["Maria", "123"]}
    });
    Mock::given(method("POST"))
        .and(path("/api/send-message"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .and(body_json(&sent))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"success": true, "messageId": 901})),
        )
        .expect(4)
        .mount(&server)
        .await;
    let secret = unique_name("bin-sacflow");
    create_secret(
        &secret,
        &json!({"token": token, "account_id": 12, "base_url": server.uri()}),
    )
    .await;
    let function = start(
        env!("CARGO_BIN_EXE_sacflow-send-message"),
        "sacflow-send-message",
        &secret,
    )
    .await;
    let mut payload = sent.clone();
    payload.as_object_mut().unwrap().remove("accountId");
    payload["contact"]["phone"] = json!("(85) 98769-6383");
    through_every_trigger(&function, &payload).await;
    let (status, _) = http_answer(&function.invoke(rest_v1(r#"{"channelId": 34}"#)).await);
    assert_eq!(status, 400);
    check_logs(&function.stop().await, token, "5585987696383");
}
