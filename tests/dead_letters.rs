//! Records that can never succeed go to the dead-letter queue at once, with the reason; nothing
//! is dropped when that queue cannot be reached. Against moto's SQS.

mod support;

use lambda_runtime::{Context, LambdaEvent};
use ponte::actions::CloudChatCreateConversation;
use ponte::queue::SqsQueue;
use ponte::{App, Settings};
use serde_json::{Value, json};
use std::sync::Arc;
use support::*;
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

type CloudChat = App<CloudChatCreateConversation>;

async fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&ponte_devtools::moto::sdk_config(endpoint).await)
}

async fn app_with_queue(
    server: &MockServer,
    client: aws_sdk_sqs::Client,
    queue_url: &str,
) -> CloudChat {
    cloudchat_function(&server.uri(), Settings::default())
        .await
        .with_dead_letters(Arc::new(SqsQueue::new(client, queue_url)))
}

fn ticket(contact: &str) -> String {
    json!({"inbox_id": "1", "contact_identifier": contact}).to_string()
}

async fn mock(server: &MockServer, contact: &str, answer: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"contact_identifier": contact})))
        .respond_with(answer)
        .expect(times)
        .mount(server)
        .await;
}

async fn invoke(app: &CloudChat, event: Value) -> Value {
    app.handle(LambdaEvent::new(event, Context::default()))
        .await
        .unwrap()
}

#[tokio::test]
async fn records_that_can_never_succeed_go_to_the_dead_letter_queue_with_the_reason() {
    let server = MockServer::start().await;
    mock(
        &server,
        "ok",
        ResponseTemplate::new(200).set_body_json(json!({"id": 1})),
        1,
    )
    .await;
    mock(
        &server,
        "gone",
        ResponseTemplate::new(404).set_body_json(json!({"error": "Resource could not be found"})),
        1,
    )
    .await;
    mock(&server, "down", ResponseTemplate::new(503), 3).await;
    let client = sqs_client(&moto_endpoint()).await;
    let queue = client
        .create_queue()
        .queue_name(unique_name("dlq").replace('/', "-"))
        .send()
        .await
        .unwrap();
    let queue_url = queue.queue_url().unwrap().to_string();
    let app = app_with_queue(&server, client.clone(), &queue_url).await;

    let invalid = json!({"inbox_id": "1"}).to_string();
    let answer = invoke(
        &app,
        sqs(&[
            ("1-ok", &ticket("ok")),
            ("2-gone", &ticket("gone")),
            ("3-down", &ticket("down")),
            ("4-invalid", &invalid),
            ("5-text", "not json"),
        ]),
    )
    .await;
    assert_eq!(
        failed_ids(&answer),
        ["3-down"],
        "only the transient failure is left for SQS to retry"
    );

    let received = client
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let mut letters: Vec<(String, String, Option<String>, String)> = received
        .messages()
        .iter()
        .map(|m| {
            let attributes = m.message_attributes().unwrap();
            let text = |k: &str| {
                attributes
                    .get(k)
                    .and_then(|a| a.string_value())
                    .map(str::to_string)
            };
            (
                text("ponte.source_message_id").unwrap(),
                text("ponte.error_kind").unwrap(),
                text("ponte.provider_status"),
                m.body().unwrap().to_string(),
            )
        })
        .collect();
    letters.sort();
    assert_eq!(
        letters,
        vec![
            (
                "2-gone".into(),
                "provider_rejected".into(),
                Some("404".into()),
                ticket("gone")
            ),
            ("4-invalid".into(), "validation".into(), None, invalid),
            (
                "5-text".into(),
                "invalid_json".into(),
                None,
                "not json".into()
            ),
        ]
    );
}

#[tokio::test]
async fn when_the_dead_letter_queue_cannot_be_reached_the_record_is_retried() {
    let server = MockServer::start().await;
    let closed = format!(
        "http://127.0.0.1:{}",
        ponte_devtools::moto::free_port().unwrap()
    );
    let app = app_with_queue(
        &server,
        sqs_client(&closed).await,
        "http://127.0.0.1/000000000000/dlq",
    )
    .await;
    let answer = invoke(&app, sqs(&[("bad", "{\"inbox_id\": \"1\"}")])).await;
    assert_eq!(
        failed_ids(&answer),
        ["bad"],
        "kept for SQS rather than dropped"
    );
}
