//! Hostile and broken input: every body gets a clear 4xx (or a failed record), never a panic,
//! never a provider call.

mod support;

use base64::Engine;
use lambda_runtime::{Context, LambdaEvent};
use ponte::actions::{CloudChatCreateConversation, WeglyCreateChat};
use ponte::{Action, App};
use serde_json::{Value, json};
use support::*;
use wiremock::MockServer;

async fn guarded<A: Action>() -> (MockServer, App<A>) {
    let server = MockServer::start().await;
    expect_nothing(&server).await;
    let name = unique_name("hostile");
    create_secret(
        &name,
        &json!({"api_access_token": "t", "token": "t", "account_id": 1, "base_url": server.uri()}),
    )
    .await;
    (server, app(Some(&name)).await)
}

async fn answer<A: Action>(app: &App<A>, event: Value) -> (u16, Value) {
    http_answer(
        &app.handle(LambdaEvent::new(event, Context::default()))
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn broken_bodies_get_clear_400s() {
    let (_server, app) = guarded::<CloudChatCreateConversation>().await;
    let nested = "[".repeat(100_000);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{\"inbox_id\": \"1\",}".to_vec(), "invalid_json"),
        (vec![0xff, 0xfe, 0xfd], "invalid_json"),
        (nested.into_bytes(), "invalid_json"),
        (b"\"just a string\"".to_vec(), "validation"),
        (b"null".to_vec(), "validation"),
    ];
    for (body, kind) in cases {
        let mut event = http_v2("POST", "");
        event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(&body));
        event["isBase64Encoded"] = json!(true);
        let (status, json) = answer(&app, event).await;
        assert_eq!(
            (status, json["error"]["kind"].as_str()),
            (400, Some(kind)),
            "{json}"
        );
    }
}

#[tokio::test]
async fn a_body_that_says_it_is_not_json_is_refused_with_415() {
    let (_server, app) = guarded::<CloudChatCreateConversation>().await;
    let mut event = rest_v1(r#"{"inbox_id": "1", "contact_identifier": "x"}"#);
    event["headers"]["Content-Type"] = json!("application/x-www-form-urlencoded");
    assert_failure(
        &answer(&app, event).await,
        415,
        "unsupported_media_type",
        "application/json",
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413_and_dead_letter_material_on_sqs() {
    let (_server, app) = guarded::<CloudChatCreateConversation>().await;
    let huge = format!(
        "{{\"inbox_id\": \"1\", \"contact_identifier\": \"{}\"}}",
        "x".repeat(300 * 1024)
    );
    let (status, json) = answer(&app, rest_v1(&huge)).await;
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (413, Some("too_large"))
    );
    let (status, _) = answer(&app, http_v2_base64(&huge)).await;
    assert_eq!(status, 413);
    let batch = app
        .handle(LambdaEvent::new(sqs(&[("big", &huge)]), Context::default()))
        .await
        .unwrap();
    assert_eq!(failed_ids(&batch), ["big"]);
}

#[tokio::test]
async fn huge_arrays_of_bad_items_give_a_bounded_answer() {
    let (_server, app) = guarded::<WeglyCreateChat>().await;
    let items: Vec<Value> = (0..12_000).map(|_| json!({"component": 1})).collect();
    let body = json!({
        "whatsapp_phone_id": "0b28ee57-7a57-4407-a9c5-5cd4e5a5fd6c",
        "wa_contact_id": "11999999999",
        "template": {"name": "t", "language": "pt_BR"},
        "template_fields": items
    });
    let (status, json) = answer(&app, rest_v1(&body.to_string())).await;
    assert_eq!(status, 400);
    assert_eq!(
        json["error"]["fields"].as_array().unwrap().len(),
        ponte::validate::MAX_PROBLEMS
    );
    assert!(
        json["error"]["more_problems"].as_u64().unwrap() > 30_000,
        "{}",
        json["error"]["message"]
    );
}

#[tokio::test]
async fn events_without_records_or_a_request_fail_the_invocation_clearly() {
    let (_server, app) = guarded::<CloudChatCreateConversation>().await;
    for event in [
        json!({}),
        json!({"records": []}),
        json!({"Records": [{"body": 1}]}),
        json!({"version": "2.0", "requestContext": {"http": "POST"}}),
        json!({"httpMethod": 7}),
    ] {
        let err = app
            .handle(LambdaEvent::new(event.clone(), Context::default()))
            .await;
        assert!(err.is_err(), "{event}");
    }
    // An empty batch is a batch: nothing to do, nothing failed.
    let empty = app
        .handle(LambdaEvent::new(json!({"Records": []}), Context::default()))
        .await
        .unwrap();
    assert_eq!(empty, json!({"batchItemFailures": []}));
}
