//! Nothing sent twice: duplicates of a completed delivery, concurrent duplicates, and a failing
//! store, against moto's DynamoDB (the table shape the template creates).

mod support;

use lambda_runtime::{Context, LambdaEvent};
use ponte::actions::CloudChatCreateConversation;
use ponte::idempotency::{DynamoStore, IdempotencyStore, InMemoryStore};
use ponte::{App, Settings};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::*;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

type CloudChat = App<CloudChatCreateConversation>;

async fn invoke(app: &CloudChat, event: Value) -> Value {
    app.handle(LambdaEvent::new(event, Context::default()))
        .await
        .expect("the handler answers")
}

async fn dynamo_store(table: &str) -> Arc<dyn IdempotencyStore> {
    let config = ponte_devtools::moto::sdk_config(&moto_endpoint()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    ponte_devtools::moto::create_idempotency_table(&client, table)
        .await
        .unwrap();
    Arc::new(DynamoStore::new(client, table))
}

/// A function (a container) whose secret points at `server`, claiming in `store`.
async fn container(server: &MockServer, store: Arc<dyn IdempotencyStore>) -> CloudChat {
    let settings = Settings {
        // The recorded Typeform body was submitted long ago.
        signed_delivery_max_age: std::time::Duration::from_secs(100 * 365 * 86_400),
        ..Settings::default()
    };
    cloudchat_function(&server.uri(), settings)
        .await
        .with_idempotency(store)
}

fn ticket(n: u32) -> String {
    json!({"inbox_id": "1", "contact_identifier": format!("crm-{n}"), "message": {"content": "Pedido"}}).to_string()
}

fn with_key(event: &mut Value, key: &str) {
    event["headers"]["Idempotency-Key"] = json!(key);
}

#[tokio::test]
async fn a_duplicate_of_a_completed_delivery_gets_the_stored_answer() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 99})))
        .expect(1)
        .mount(&server)
        .await;
    let app = container(&server, dynamo_store("ponte-idempotency-a").await).await;
    let mut first = rest_v1(&ticket(1));
    with_key(&mut first, "order-1");
    let (status, json) = http_answer(&invoke(&app, first.clone()).await);
    assert_eq!((status, json.get("duplicate")), (200, None));
    let (status, json) = http_answer(&invoke(&app, first).await);
    assert_eq!((status, json["duplicate"].as_bool()), (200, Some(true)));
    assert_eq!(
        json["provider"]["body"],
        json!({"id": 99}),
        "the answer from the first delivery"
    );
}

/// A queue message is one delivery however often SQS delivers it (its message id), and the
/// same payload published again on purpose is another: a weekly reminder is sent every week.
#[tokio::test]
async fn queue_messages_are_keyed_by_their_own_ids_not_their_content() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        // m1, m2, m1's body sent again as a new message, and the SNS notification once.
        .expect(4)
        .mount(&server)
        .await;
    let app = container(&server, dynamo_store("ponte-idempotency-b").await).await;
    let answer = invoke(&app, sqs(&[("m1", &ticket(2)), ("m2", &ticket(3))])).await;
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    // SQS delivers m1 again (a visibility timeout ran out): a duplicate, acknowledged.
    let answer = invoke(&app, sqs(&[("m1", &ticket(2))])).await;
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    // The same body sent again as a new message: a new delivery.
    let answer = invoke(&app, sqs(&[("m1-again", &ticket(2))])).await;
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    // m2 redriven from the dead-letter queue is a new SQS message carrying m2's id: the same
    // delivery, so a duplicate.
    let mut redriven = sqs(&[("m2-redriven", &ticket(3))]);
    redriven["Records"][0]["messageAttributes"] = json!({
        "ponte.source_message_id": {"stringValue": "m2", "dataType": "String"}
    });
    let answer = invoke(&app, redriven).await;
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    // Through SNS, the notification's own id names the message, whatever SQS message carries it.
    let sns =
        json!({"inbox_id": "1", "contact_identifier": "crm-sns", "message": {"content": "Pedido"}});
    let answer = invoke(&app, sqs_from_sns("carrier-1", &sns)).await;
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    let answer = invoke(&app, sqs_from_sns("carrier-2", &sns)).await;
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    server.verify().await;
}

/// A direct call without an Idempotency-Key is known by its content only within a short
/// window: a retry inside it is a duplicate, the same request after it is sent again.
#[tokio::test]
async fn identical_requests_without_an_id_are_one_delivery_only_within_the_window() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 3})))
        .expect(2)
        .mount(&server)
        .await;
    let settings = Settings {
        content_dedup_window: Duration::from_secs(1),
        ..Settings::default()
    };
    let app = cloudchat_function(&server.uri(), settings)
        .await
        .with_idempotency(dynamo_store("ponte-idempotency-window").await);
    let (_, first) = http_answer(&invoke(&app, rest_v1(&ticket(9))).await);
    assert_eq!(first.get("duplicate"), None, "{first}");
    let (_, retry) = http_answer(&invoke(&app, rest_v1(&ticket(9))).await);
    assert_eq!(
        retry["duplicate"], true,
        "a retry within the window: {retry}"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, later) = http_answer(&invoke(&app, rest_v1(&ticket(9))).await);
    assert_eq!((status, later.get("duplicate")), (200, None), "{later}");
    server.verify().await;
}

#[tokio::test]
async fn two_containers_delivering_the_same_event_at_once_call_the_provider_once() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 5}))
                .set_delay(Duration::from_millis(500)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let store = dynamo_store("ponte-idempotency-c").await;
    let a = container(&server, store.clone()).await;
    let b = container(&server, store).await;
    let (one, two) = tokio::join!(
        invoke(&a, rest_v1(&ticket(4))),
        invoke(&b, rest_v1(&ticket(4)))
    );
    let mut statuses = [http_answer(&one).0, http_answer(&two).0];
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 409],
        "one delivered, one told it is in progress"
    );
    let (_, busy) = if http_answer(&one).0 == 409 {
        http_answer(&one)
    } else {
        http_answer(&two)
    };
    assert_eq!(busy["error"]["kind"], "in_progress");
    // Once the first has completed, a retry of the second is answered as a duplicate.
    let (status, json) = http_answer(&invoke(&b, rest_v1(&ticket(4))).await);
    assert_eq!((status, json["duplicate"].as_bool()), (200, Some(true)));
}

#[tokio::test]
async fn a_failed_delivery_releases_its_key_so_a_retry_goes_through() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": "Resource could not be found"})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 6})))
        .expect(1)
        .mount(&server)
        .await;
    let app = container(&server, dynamo_store("ponte-idempotency-d").await).await;
    assert_eq!(http_answer(&invoke(&app, rest_v1(&ticket(5))).await).0, 422);
    let (status, json) = http_answer(&invoke(&app, rest_v1(&ticket(5))).await);
    assert_eq!((status, json.get("duplicate")), (200, None));
}

#[tokio::test]
async fn form_submissions_are_keyed_by_their_own_id() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 7})))
        .expect(1)
        .mount(&server)
        .await;
    let app = container(&server, Arc::new(InMemoryStore::new())).await;
    let body = form_fixture("typeform.json");
    // Typeform retries with the same event_id; the default mapping needs an inbox.
    for _ in 0..3 {
        let (status, _) = http_answer(
            &invoke(
                &app,
                form_event(Api::HttpV2, "typeform", &body, &[], &[("inbox_id", "1")]),
            )
            .await,
        );
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn dynamodb_down_fails_closed_and_nothing_is_sent() {
    let server = MockServer::start().await;
    expect_nothing(&server).await;
    let closed = format!(
        "http://127.0.0.1:{}",
        ponte_devtools::moto::free_port().unwrap()
    );
    let client = aws_sdk_dynamodb::Client::new(&ponte_devtools::moto::sdk_config(&closed).await);
    let app = container(
        &server,
        Arc::new(DynamoStore::new(client, "ponte-idempotency")),
    )
    .await;
    let (status, json) = http_answer(&invoke(&app, rest_v1(&ticket(6))).await);
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (503, Some("idempotency_unavailable")),
        "{json}"
    );
    assert_eq!(
        failed_ids(&invoke(&app, sqs(&[("m1", &ticket(6))])).await),
        ["m1"]
    );
}

#[tokio::test]
async fn an_in_progress_claim_left_by_a_crash_expires_at_its_deadline() {
    let store = dynamo_store("ponte-idempotency-e").await;
    let now = ponte::idempotency::now_ms();
    use ponte::idempotency::Claim;
    assert_eq!(
        store.claim("crashed", now + 60_000).await.unwrap(),
        Claim::Fresh
    );
    assert_eq!(
        store.claim("crashed", now + 60_000).await.unwrap(),
        Claim::InProgress
    );
    assert_eq!(store.claim("stale", now - 1).await.unwrap(), Claim::Fresh);
    assert_eq!(
        store.claim("stale", now + 60_000).await.unwrap(),
        Claim::Fresh,
        "the crashed invocation's deadline passed"
    );
}
