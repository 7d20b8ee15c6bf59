//! A dead letter to fix, made by the function's own code: an Elementor lead whose mapping reads
//! the phone from the wrong answer. The local Studio starts with it, and the Studio's browser
//! test fixes it.

use crate::moto;
use ponte::actions::CloudChatCreateConversation;
use ponte::aws::LazyClient;
use ponte::intake::RecordKey;
use ponte::queue::{FunctionQueues, SqsQueue};
use ponte::secrets::SecretsManagerStore;
use ponte::{App, Settings};
use serde_json::{Value, json};
use std::sync::Arc;

/// The function whose letter it is.
pub const FUNCTION: &str = "cloudchat-create-conversation";

/// Elementor's token in the demo secret.
pub const ELEMENTOR_TOKEN: &str = "studio-elementor-token";

/// The recorded Elementor submission the letter carries.
pub const SUBMISSION: &[u8] =
    include_bytes!("../../../tests/fixtures/forms/elementor-simple.urlencoded.txt");

/// A mapping with the mistake: the phone, the lead's only contact, is read from the name.
pub fn broken_webhooks() -> Value {
    json!({"elementor": {"token": ELEMENTOR_TOKEN, "mapping": {
        "inbox_id": "7",
        "contact_phone_number": "{{ Seu nome }}",
        "message": {"content": "Novo lead: {{ Seu nome }}"}
    }}})
}

/// The same mapping, fixed.
pub fn fixed_mapping() -> Value {
    json!({
        "inbox_id": "7",
        "contact_phone_number": "{{ Whatsapp | phone }}",
        "message": {"content": "Novo lead: {{ Seu nome }}"}
    })
}

/// The demo's Cloud Chat connection, at the provider stand-in `base_url`, with the broken
/// mapping.
pub fn secret(base_url: &str) -> Value {
    json!({"api_access_token": "studio-cloudchat-token", "account_id": 42, "base_url": base_url,
           "webhooks": broken_webhooks()})
}

/// The function wired as deployed: its secret, its queue, its dead-letter queue and the record
/// key, every AWS call to `endpoint` (moto).
pub async fn function(
    endpoint: &str,
    secret_id: &str,
    queue: &str,
    dead_letters: &str,
    record_key: RecordKey,
) -> App<CloudChatCreateConversation> {
    let config = moto::sdk_config(endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let settings = Settings {
        secret_id: Some(secret_id.to_string()),
        secret_max_age: std::time::Duration::ZERO,
        ..Settings::default()
    };
    App::new(
        settings,
        Arc::new(SecretsManagerStore::new(
            aws_sdk_secretsmanager::Client::new(&config),
        )),
    )
    .with_intake(Arc::new(SqsQueue::new(sqs.clone(), queue)))
    .with_dead_letters(Arc::new(SqsQueue::new(sqs.clone(), dead_letters)))
    .with_queues(FunctionQueues {
        sqs: LazyClient::Ready(sqs),
        dead_letters: dead_letters.to_string(),
        queue: Some(queue.to_string()),
    })
    .with_record_key(record_key)
}

/// The lead as Elementor posts it to the function's `/elementor` route.
pub fn elementor_event() -> Value {
    let body = String::from_utf8_lossy(SUBMISSION).to_string();
    json!({"version": "2.0", "routeKey": "POST /cloudchat/conversations/{source}", "rawPath": "/cloudchat/conversations/elementor",
        "rawQueryString": format!("token={ELEMENTOR_TOKEN}"), "queryStringParameters": {"token": ELEMENTOR_TOKEN},
        "pathParameters": {"source": "elementor"},
        "headers": {"content-type": "application/x-www-form-urlencoded", "user-agent": "WordPress/6.5"},
        "isBase64Encoded": false, "body": body,
        "requestContext": {"accountId": "123456789012", "apiId": "studio", "domainName": "studio", "domainPrefix": "studio", "requestId": "studio-demo", "routeKey": "POST /cloudchat/conversations/{source}", "stage": "$default", "time": "03/Dec/2026:12:00:00 +0000", "timeEpoch": 1_796_299_200_000_u64,
            "http": {"method": "POST", "path": "/cloudchat/conversations/elementor", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "WordPress/6.5"}}})
}

/// Posts the lead to `app`, which answers it and keeps it as a dead letter (validation: the
/// phone is unreadable); the function's answer.
pub async fn post_failing_lead(app: &App<CloudChatCreateConversation>) -> Result<Value, String> {
    let answer = app
        .handle(lambda_runtime::LambdaEvent::new(
            elementor_event(),
            lambda_runtime::Context::default(),
        ))
        .await
        .map_err(|e| e.to_string())?;
    let body: Value = answer["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or_default();
    if body["dead_lettered"] != json!(true) {
        return Err(format!("the lead was not kept as a dead letter: {answer}"));
    }
    Ok(body)
}
