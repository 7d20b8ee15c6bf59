//! The provider's pace across instances: turns kept in moto's DynamoDB, shared by two functions
//! as two Lambda containers share the stack's table; a 429 that holds every instance; and a lead
//! whose turn is too far for its sender, kept on the queue and delivered in its turn, once; and
//! a queued lead in the same case, queued again for its turn without spending a receive.

mod support;

use lambda_runtime::{Context, LambdaEvent};
use ponte::actions::CloudChatCreateConversation;
use ponte::failure::Failure;
use ponte::idempotency::{IdempotencyStore, InMemoryStore};
use ponte::intake::RecordKey;
use ponte::pace::{DynamoTurns, Patience};
use ponte::secrets::SecretsManagerStore;
use ponte::{App, Settings};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::queues::{Queues, deployed_settings};
use support::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

type CloudChat = App<CloudChatCreateConversation>;

/// The stack's table in moto, as the template creates it.
async fn table() -> (aws_sdk_dynamodb::Client, String) {
    let config = ponte_devtools::moto::sdk_config(&moto_endpoint()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let name = unique_name("pace").replace('/', "-");
    ponte_devtools::moto::create_idempotency_table(&client, &name)
        .await
        .unwrap();
    (client, name)
}

/// A Cloud Chat connection allowing `rate` calls a second, in a secret of its own; every secret
/// made here carries the same credentials, so they are one connection at the provider.
async fn secret(server: &MockServer, rate: f64) -> String {
    let name = unique_name("pace");
    create_secret(
        &name,
        &json!({"api_access_token": "pace-token", "account_id": 42, "base_url": server.uri(),
                "requests_per_second": rate,
                "webhooks": {"elementor": {"token": "el-token"}}}),
    )
    .await;
    name
}

/// One container of the function: its own memory, the shared table and claims.
async fn container(
    secret: &str,
    turns: &(aws_sdk_dynamodb::Client, String),
    claims: &Arc<InMemoryStore>,
    settings: Settings,
) -> CloudChat {
    let claims: Arc<dyn IdempotencyStore> = claims.clone();
    App::new(
        Settings {
            secret_id: Some(secret.to_string()),
            ..settings
        },
        Arc::new(SecretsManagerStore::new(secrets_client().await)),
    )
    .with_idempotency(claims)
    .with_pace(Arc::new(DynamoTurns::new(turns.0.clone(), &turns.1)))
}

fn ticket(n: usize) -> Value {
    json!({"inbox_id": "7", "contact_identifier": format!("lead-{n}"), "message": {"content": format!("Lead {n}")}})
}

/// A provider stand-in that notes when each call arrived.
async fn provider(answer: ResponseTemplate) -> (MockServer, Arc<Mutex<Vec<Instant>>>) {
    let server = MockServer::start().await;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let noted = arrivals.clone();
    Mock::given(method("POST"))
        .respond_with(move |_: &Request| {
            noted.lock().unwrap().push(Instant::now());
            answer.clone()
        })
        .mount(&server)
        .await;
    (server, arrivals)
}

#[tokio::test]
async fn two_containers_sharing_a_connection_keep_its_rate_together() {
    let (server, arrivals) =
        provider(ResponseTemplate::new(200).set_body_json(json!({"id": 1}))).await;
    let turns = table().await;
    let claims = Arc::new(InMemoryStore::new());
    let one = container(
        &secret(&server, 10.0).await,
        &turns,
        &claims,
        Settings::default(),
    )
    .await;
    let two = container(
        &secret(&server, 10.0).await,
        &turns,
        &claims,
        Settings::default(),
    )
    .await;

    // Twenty leads at once, ten in each container.
    let leads: Vec<Value> = (0..20).map(ticket).collect();
    let sent = futures::future::join_all(leads.iter().enumerate().map(|(n, lead)| {
        let app = if n % 2 == 0 { &one } else { &two };
        app.deliver(lead, None, None, Patience::Invocation)
    }))
    .await;
    for report in &sent {
        assert!(report.result.is_ok(), "{:?}", report.result);
    }

    let mut arrived = arrivals.lock().unwrap().clone();
    arrived.sort();
    assert_eq!(arrived.len(), 20);
    // At ten a second the connection lets half a second's worth (five) go at once, then one
    // every 100 ms, across both containers. Each keeping its own pace, each would send five at
    // once and the rest twice as fast as allowed.
    let burst = arrived
        .iter()
        .filter(|at| **at - arrived[0] < Duration::from_millis(50))
        .count();
    assert!(burst <= 6, "{burst} calls at once");
    // The twentieth turn comes 1.5 s after the first (fifteen turns of 100 ms), less the first
    // call's own wait for the table's answer.
    let spread = arrived[19] - arrived[0];
    assert!(
        spread >= Duration::from_millis(1350),
        "the fifteen after the burst are paced: all twenty in {spread:?}"
    );
}

#[tokio::test]
async fn a_429_holds_the_connection_in_every_container_until_its_retry_after() {
    let (server, arrivals) = provider(
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "3")
            .set_body_string("Retry later"),
    )
    .await;
    let turns = table().await;
    let claims = Arc::new(InMemoryStore::new());
    let once = Settings {
        retry: ponte::retry::RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        },
        ..Settings::default()
    };
    let one = container(&secret(&server, 50.0).await, &turns, &claims, once.clone()).await;
    let two = container(&secret(&server, 50.0).await, &turns, &claims, once).await;

    let refused = one
        .deliver(&ticket(1), None, None, Patience::Invocation)
        .await;
    assert_eq!(
        refused.result.unwrap_err().provider_status(),
        Some(429),
        "the first container is refused"
    );
    // The other container does not call at all while the provider asked for a pause: its lead
    // is told how long until the connection's next turn.
    let held = two
        .deliver(
            &ticket(2),
            None,
            None,
            Patience::Brief(Duration::from_secs(1)),
        )
        .await;
    match held.result {
        Err(Failure::Paced { wait_seconds }) => assert!(
            (2..=3).contains(&wait_seconds),
            "the provider's Retry-After: {wait_seconds} s"
        ),
        other => panic!("expected to wait for the turn: {other:?}"),
    }
    assert_eq!(
        arrivals.lock().unwrap().len(),
        1,
        "one call, the refused one"
    );
}

#[tokio::test]
async fn a_lead_whose_turn_is_too_far_for_its_sender_is_kept_and_sent_in_its_turn_once() {
    let (server, arrivals) =
        provider(ResponseTemplate::new(200).set_body_json(json!({"id": 9}))).await;
    let turns = table().await;
    let claims = Arc::new(InMemoryStore::new());
    let name = secret(&server, 50.0).await;
    let queues = Queues::new().await;
    let settings = Settings {
        http_pace_wait: Duration::from_millis(200),
        ..deployed_settings(&name)
    };
    let app = queues
        .wire(container(&name, &turns, &claims, settings).await)
        .with_record_key(RecordKey(
            b"pace-tests-record-key-0123456789abcdef".to_vec(),
        ));
    // Another instance was told to wait two seconds by the provider.
    ponte::pace::Pace::new(Arc::new(DynamoTurns::new(turns.0.clone(), &turns.1)))
        .hold(&connection_of(&server), 50.0, Some(Duration::from_secs(2)))
        .await;

    let body = form_fixture("elementor-simple.urlencoded.txt");
    let event = form_event(
        Api::HttpV2,
        "elementor",
        &body,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &[("token", "el-token"), ("inbox_id", "7")],
    );
    let answer = app
        .handle(LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    let (status, json) = http_answer(&answer);
    assert_eq!(status, 200, "Elementor is answered at once: {json}");
    assert_eq!(
        (json["queued"].as_bool(), json["reason"].as_str()),
        (Some(true), Some("paced")),
        "{json}"
    );
    assert!(
        arrivals.lock().unwrap().is_empty(),
        "nothing sent out of turn"
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(queues.drain(&app).await, Vec::<String>::new());
    assert_eq!(arrivals.lock().unwrap().len(), 1, "sent once, in its turn");
    assert!(queues.take(&queues.dead_letters).await.is_empty());
}

/// The name of the test connection's turns, as the function computes it from its calls.
fn connection_of(server: &MockServer) -> String {
    ponte::pace::connection_key(
        &format!("{}/api/v1/accounts/42/conversations", server.uri()),
        &[("api_access_token", "pace-token".to_string())],
    )
}

/// An SQS record as the event source mapping hands it over.
fn record_event(id: &str, body: &str, attributes: &Value) -> Value {
    json!({"Records": [{"messageId": id, "receiptHandle": "unused", "body": body,
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": attributes,
        "eventSource": "aws:sqs"}]})
}

#[tokio::test]
async fn a_queued_lead_whose_turn_is_too_far_is_queued_again_for_that_wait_spending_no_receive() {
    let (server, arrivals) =
        provider(ResponseTemplate::new(200).set_body_json(json!({"id": 5}))).await;
    let turns = table().await;
    let claims = Arc::new(InMemoryStore::new());
    let name = secret(&server, 50.0).await;
    let queues = Queues::new().await;
    let app = queues.wire(container(&name, &turns, &claims, deployed_settings(&name)).await);
    // The provider asked the connection to wait six seconds, longer than this invocation can.
    ponte::pace::Pace::new(Arc::new(DynamoTurns::new(turns.0.clone(), &turns.1)))
        .hold(&connection_of(&server), 50.0, Some(Duration::from_secs(6)))
        .await;

    queues
        .sqs
        .send_message()
        .queue_url(&queues.queue)
        .message_body(ticket(7).to_string())
        .send()
        .await
        .unwrap();
    let (id, body, attributes) = queues.take(&queues.queue).await.remove(0);
    let mut context = Context::default();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    context.deadline = now_ms + 5_000;
    let answer = app
        .handle(LambdaEvent::new(
            record_event(&id, &body, &attributes),
            context,
        ))
        .await
        .unwrap();
    assert_eq!(
        failed_ids(&answer),
        Vec::<String>::new(),
        "the record is done with: it is on the queue again as a new message"
    );
    assert!(
        arrivals.lock().unwrap().is_empty(),
        "nothing sent out of turn"
    );
    assert!(
        queues.take(&queues.queue).await.is_empty(),
        "the new message is due in its turn, not at once"
    );

    tokio::time::sleep(Duration::from_millis(7_500)).await;
    let mut again = queues.take(&queues.queue).await;
    assert_eq!(again.len(), 1, "queued again once");
    let (new_id, new_body, new_attributes) = again.remove(0);
    assert_ne!(new_id, id);
    assert_eq!(new_body, body, "the same lead");
    assert_eq!(
        new_attributes["ponte.source_message_id"]["stringValue"], id,
        "it carries the id that keeps it one delivery"
    );
    let answer = app
        .handle(LambdaEvent::new(
            record_event(&new_id, &new_body, &new_attributes),
            Context::default(),
        ))
        .await
        .unwrap();
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    assert_eq!(arrivals.lock().unwrap().len(), 1, "sent in its turn");

    // Had the first invocation's answer been lost, SQS would hand over the first message
    // again: it is the same delivery, not a second lead.
    let answer = app
        .handle(LambdaEvent::new(
            record_event(&id, &body, &attributes),
            Context::default(),
        ))
        .await
        .unwrap();
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    assert_eq!(arrivals.lock().unwrap().len(), 1, "still sent once");
    assert!(queues.take(&queues.dead_letters).await.is_empty());
}
