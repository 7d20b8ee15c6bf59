//! What the integration tests share: one moto server per test binary, Secrets Manager helpers,
//! and Lambda events built from the recorded AWS samples in `tests/fixtures/aws/`.

#![allow(dead_code)] // each test binary uses its own part of this module

use aws_sdk_secretsmanager::Client as SecretsClient;
use base64::Engine;
use ponte::secrets::SecretsManagerStore;
use ponte::{Action, App, Settings};
use ponte_devtools::moto::Moto;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

pub mod queues;

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The moto server of this test binary, started on first use.
pub fn moto_endpoint() -> String {
    MOTO.get_or_init(|| Moto::start().expect("moto server"))
        .endpoint()
}

/// A Secrets Manager client for moto, configured through the SDK's own loader.
pub async fn secrets_client() -> SecretsClient {
    ponte_devtools::moto::secrets_client(&moto_endpoint()).await
}

/// A secret name no other test uses.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "ponte-test/{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// The `webhook_token` every test secret carries (as a deployed stack's secret carries its
/// generated one), and that the direct-call events below present.
pub const TEST_TOKEN: &str = "test-webhook-token";

/// `value` with [`TEST_TOKEN`] as its `webhook_token`, unless it sets one (`null` to go without).
fn with_test_token(value: &Value) -> Value {
    let mut value = value.clone();
    if let Some(map) = value.as_object_mut() {
        match map.get("webhook_token") {
            None => {
                map.insert("webhook_token".into(), json!(TEST_TOKEN));
            }
            Some(Value::Null) => {
                map.remove("webhook_token");
            }
            Some(_) => {}
        }
    }
    value
}

/// Creates secret `name` holding `value` and, unless it says otherwise, [`TEST_TOKEN`].
pub async fn create_secret(name: &str, value: &Value) {
    secrets_client()
        .await
        .create_secret()
        .name(name)
        .secret_string(with_test_token(value).to_string())
        .send()
        .await
        .expect("create secret in moto");
}

pub async fn rotate_secret(name: &str, value: &Value) {
    secrets_client()
        .await
        .put_secret_value()
        .secret_id(name)
        .secret_string(with_test_token(value).to_string())
        .send()
        .await
        .expect("put secret value in moto");
}

/// A function wired as `main` wires it, with Secrets Manager at moto. Completed deliveries
/// are not remembered (`idempotency_ttl` 0), so that tests may send one payload through several
/// triggers; `tests/idempotency.rs` tests the remembering.
pub async fn app<A: Action>(secret_id: Option<&str>) -> App<A> {
    let settings = Settings {
        secret_id: secret_id.map(str::to_string),
        idempotency_ttl: std::time::Duration::ZERO,
        // The recorded form bodies were submitted long ago; tests/forms.rs tests the age limit
        // with the default settings.
        signed_delivery_max_age: std::time::Duration::from_secs(100 * 365 * 86_400),
        ..Settings::default()
    };
    let store = SecretsManagerStore::new(secrets_client().await);
    App::new(settings, Arc::new(store))
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An API Gateway REST API (payload 1.0) POST with `body` as plain text.
pub fn rest_v1(body: &str) -> Value {
    let mut event = fixture("aws/apigw-rest-v1.json");
    event["body"] = json!(body);
    event["isBase64Encoded"] = json!(false);
    event["headers"]["Content-Type"] = json!("application/json");
    event["headers"]["X-Ponte-Token"] = json!(TEST_TOKEN);
    event
}

/// An HTTP API (payload 2.0) POST with `body` base64-encoded, as HTTP APIs may send it.
pub fn http_v2_base64(body: &str) -> Value {
    let mut event = fixture("aws/apigw-http-v2.json");
    event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
    event["isBase64Encoded"] = json!(true);
    event["headers"]["content-type"] = json!("application/json");
    event["headers"]["x-ponte-token"] = json!(TEST_TOKEN);
    event
}

/// An HTTP API (payload 2.0) request with `body` as text and the given method.
pub fn http_v2(method: &str, body: &str) -> Value {
    let mut event = fixture("aws/apigw-http-v2.json");
    event["body"] = json!(body);
    event["isBase64Encoded"] = json!(false);
    event["requestContext"]["http"]["method"] = json!(method);
    event["headers"]["x-ponte-token"] = json!(TEST_TOKEN);
    event
}

/// An SQS batch with one record per `(messageId, body)`.
pub fn sqs(records: &[(&str, &str)]) -> Value {
    let template = fixture("aws/sqs-two-records.json")["Records"][1].clone();
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| {
            let mut record = template.clone();
            record["messageId"] = json!(id);
            record["body"] = json!(body);
            record
        })
        .collect();
    json!({ "Records": records })
}

/// An SQS batch of one record whose body is an SNS notification carrying `payload`.
pub fn sqs_from_sns(id: &str, payload: &Value) -> Value {
    let mut event = fixture("aws/sqs-sns-envelope.json");
    let record = &mut event["Records"][0];
    let mut envelope: Value =
        serde_json::from_str(record["body"].as_str().expect("sns body")).expect("sns envelope");
    envelope["Message"] = json!(payload.to_string());
    record["body"] = json!(envelope.to_string());
    record["messageId"] = json!(id);
    event
}

/// An SQS batch of one record whose body is an EventBridge event with `payload` as detail.
pub fn sqs_from_eventbridge(id: &str, payload: &Value) -> Value {
    let event = json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Order shipped", "source": "com.example.shop",
        "account": "123456789012", "time": "2026-11-21T12:00:00Z", "region": "us-east-1",
        "resources": [], "detail": payload
    });
    sqs(&[(id, &event.to_string())])
}

/// The JSON body of an API Gateway answer, with its status.
pub fn http_answer(answer: &Value) -> (u16, Value) {
    let status = answer["statusCode"].as_u64().expect("statusCode") as u16;
    let body = serde_json::from_str(answer["body"].as_str().expect("body")).expect("JSON body");
    (status, body)
}

/// Makes `server` a stand-in that must receive nothing: a request fails the test when the
/// server is dropped.
pub async fn expect_nothing(server: &wiremock::MockServer) {
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(200))
        .expect(0)
        .mount(server)
        .await;
}

/// Asserts that an HTTP answer failed with `status` and error `kind`, its message mentioning
/// `part`.
pub fn assert_failure(answer: &(u16, Value), status: u16, kind: &str, part: &str) {
    let (got, json) = answer;
    assert_eq!(
        (*got, json["error"]["kind"].as_str()),
        (status, Some(kind)),
        "{json}"
    );
    let message = json["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(part),
        "{message:?} does not mention {part:?}"
    );
}

/// Asserts that an HTTP answer is a 500 configuration error that tells the caller only the kind
/// and the request id: nothing of `hidden` (a secret's name, a token), which the log has.
pub fn assert_configuration_told_by_kind(answer: &(u16, Value), hidden: &str) {
    assert_failure(answer, 500, "configuration", "its log has the details");
    let (_, json) = answer;
    assert!(json.get("request_id").is_some(), "{json}");
    assert!(!json.to_string().contains(hidden), "{json}");
}

/// What the log line of a delivery of `payload` says went wrong: the failure's full message.
pub async fn logged_failure<A: Action>(app: &App<A>, payload: &Value) -> String {
    match app
        .deliver(payload, None, None, ponte::pace::Patience::Invocation)
        .await
        .result
    {
        Ok(delivered) => panic!("delivered: {delivered:?}"),
        Err(failure) => failure.to_string(),
    }
}

/// The ids listed in an SQS batch answer, sorted.
pub fn failed_ids(answer: &Value) -> Vec<String> {
    let mut ids: Vec<String> = answer["batchItemFailures"]
        .as_array()
        .expect("batchItemFailures")
        .iter()
        .map(|f| {
            f["itemIdentifier"]
                .as_str()
                .expect("itemIdentifier")
                .to_string()
        })
        .collect();
    ids.sort();
    ids
}

/// How a form webhook reaches the function.
#[derive(Clone, Copy, Debug)]
pub enum Api {
    /// HTTP API (payload 2.0): header names lower-cased, every body base64-encoded (as HTTP
    /// APIs do for urlencoded and multipart bodies).
    HttpV2,
    /// REST API (payload 1.0): header names as sent, the body as text.
    RestV1,
}

/// A form webhook event: `body` posted to the function's `{source}` route with `headers` and
/// `query`. It presents [`TEST_TOKEN`] in `X-Ponte-Token` too, which routes with settings of
/// their own ignore.
pub fn form_event(
    api: Api,
    source: &str,
    body: &[u8],
    headers: &[(&str, &str)],
    query: &[(&str, &str)],
) -> Value {
    let mut headers = headers.to_vec();
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("x-ponte-token"))
    {
        headers.push(("X-Ponte-Token", TEST_TOKEN));
    }
    let headers = headers.as_slice();
    let query_map: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let raw_query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    match api {
        Api::HttpV2 => {
            let mut event = fixture("aws/apigw-http-v2.json");
            event["rawPath"] = json!(format!("/cloudchat/conversations/{source}"));
            event["rawQueryString"] = json!(raw_query.join("&"));
            event["queryStringParameters"] = Value::Object(query_map);
            event["pathParameters"] = json!({ "source": source });
            event["headers"] = headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), json!(v)))
                .collect::<serde_json::Map<String, Value>>()
                .into();
            event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
            event["isBase64Encoded"] = json!(true);
            event
        }
        Api::RestV1 => {
            let mut event = fixture("aws/apigw-rest-v1.json");
            event["resource"] = json!("/cloudchat/conversations/{source}");
            event["pathParameters"] = json!({ "source": source });
            event["queryStringParameters"] = Value::Object(query_map.clone());
            event["multiValueQueryStringParameters"] = query_map
                .iter()
                .map(|(k, v)| (k.clone(), json!([v])))
                .collect::<serde_json::Map<String, Value>>()
                .into();
            let header_map: serde_json::Map<String, Value> = headers
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            event["multiValueHeaders"] = header_map
                .iter()
                .map(|(k, v)| (k.clone(), json!([v])))
                .collect::<serde_json::Map<String, Value>>()
                .into();
            event["headers"] = Value::Object(header_map);
            event["body"] =
                json!(String::from_utf8(body.to_vec()).expect("REST bodies here are text"));
            event["isBase64Encoded"] = json!(false);
            event
        }
    }
}

/// A form fixture's bytes from `tests/fixtures/forms/`.
pub fn form_fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/forms/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A multipart body with `parts` as text fields, and its Content-Type.
pub fn multipart(parts: &[(&str, &str)]) -> (Vec<u8>, String) {
    let boundary = "------------------------PonteTestBoundary7MA4YWxk";
    let mut body = String::new();
    for (name, value) in parts {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        body.into_bytes(),
        format!("multipart/form-data; boundary={boundary}"),
    )
}

/// A Cloud Chat ticket function (account 1) whose secret points at `base_url`, with
/// `settings` (the secret id is set here), as `main` would wire it.
pub async fn cloudchat_function(
    base_url: &str,
    settings: Settings,
) -> App<ponte::actions::CloudChatCreateConversation> {
    let name = unique_name("cloudchat");
    create_secret(
        &name,
        &json!({"api_access_token": "t", "account_id": 1, "base_url": base_url}),
    )
    .await;
    let settings = Settings {
        secret_id: Some(name),
        ..settings
    };
    let store = SecretsManagerStore::new(secrets_client().await);
    App::new(settings, Arc::new(store))
}
