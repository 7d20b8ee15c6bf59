//! Nothing lost on the HTTP path: a request that cannot be delivered now is queued on the
//! function's own queue and delivered from there, once; one that can never be delivered as it is
//! becomes a dead letter with its reason, and is delivered once it is fixed and replayed.
//! Against moto's SQS and Secrets Manager, with a provider stand-in that goes down and comes back.

mod support;

use lambda_runtime::{Context, LambdaEvent};
use ponte::actions::CloudChatCreateConversation;
use ponte::aws::LazyClient;
use ponte::idempotency::{IdempotencyStore, InMemoryStore};
use ponte::intake::{IntakeRecord, RecordKey};
use ponte::queue::{FunctionQueues, SqsQueue};
use ponte::replay;
use ponte::secrets::SecretsManagerStore;
use ponte::{App, Settings};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::queues::{Queues, deployed_settings};
use support::*;
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

type CloudChat = App<CloudChatCreateConversation>;

/// A function reading `secret` from `secrets`, keeping requests on `queues`, and remembering
/// deliveries in `claims` (shared, as the DynamoDB table is shared by every container).
fn function(
    secrets: aws_sdk_secretsmanager::Client,
    secret: &str,
    queues: &Queues,
    claims: &Arc<InMemoryStore>,
) -> CloudChat {
    let claims: Arc<dyn IdempotencyStore> = claims.clone();
    let app = App::new(
        deployed_settings(secret),
        Arc::new(SecretsManagerStore::new(secrets)),
    )
    .with_idempotency(claims);
    queues.wire(app).with_record_key(record_key())
}

/// The stack's record key in these tests.
fn record_key() -> RecordKey {
    RecordKey(b"intake-tests-record-key-0123456789abcdef".to_vec())
}

/// A function as deployed: its secret (Elementor protected by a token) pointing at a provider
/// stand-in, and its two queues.
struct Deployed {
    server: MockServer,
    secret: String,
    queues: Queues,
    app: CloudChat,
}

impl Deployed {
    async fn new() -> Self {
        let server = MockServer::start().await;
        let secret = unique_name("intake");
        create_secret(
            &secret,
            &secret_value(&server, json!({"token": "el-token"})),
        )
        .await;
        let queues = Queues::new().await;
        let claims = Arc::new(InMemoryStore::new());
        let app = function(secrets_client().await, &secret, &queues, &claims);
        Self {
            server,
            secret,
            queues,
            app,
        }
    }
}

/// The body of the intake record a lead becomes while the provider is down, taken off the
/// function's queue.
async fn kept_while_the_provider_is_down(
    server: &MockServer,
    queues: &Queues,
    app: &CloudChat,
) -> String {
    provider_down(server).await;
    let (status, _) = invoke(app, elementor(&[("token", "el-token"), ("inbox_id", "7")])).await;
    assert_eq!(status, 200);
    queues.take(&queues.queue).await.remove(0).1
}

/// An operator's replay command, as `scripts/replay` sends it with a direct invoke.
async fn replay_command(app: &CloudChat, command: Value) -> Value {
    app.handle(LambdaEvent::new(
        json!({"ponte_replay": command}),
        Context::default(),
    ))
    .await
    .expect("the function answers a replay command")
}

fn secret_value(server: &MockServer, elementor: Value) -> Value {
    json!({"api_access_token": "cc", "account_id": 42, "base_url": server.uri(),
           "webhooks": {"elementor": elementor}})
}

/// The ticket the recorded Elementor submission becomes, with inbox 7.
fn ticket() -> Value {
    json!({
        "inbox_id": "7",
        "contact_email": "teste@gmail.com",
        "contact_phone_number": "+5585987696383",
        "message": {"content": "Seu nome: Teste\nSeu melhor email: teste@gmail.com\nWhatsapp: (85) 98769-6383", "message_type": "incoming"}
    })
}

fn elementor(query: &[(&str, &str)]) -> Value {
    let body = form_fixture("elementor-simple.urlencoded.txt");
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    form_event(Api::HttpV2, "elementor", &body, &headers, query)
}

/// The same delivery with no credential at all (`form_event` gives every event the test token).
fn anonymous_elementor(query: &[(&str, &str)]) -> Value {
    let mut event = elementor(query);
    if let Some(headers) = event["headers"].as_object_mut() {
        headers.retain(|name, _| !name.eq_ignore_ascii_case("x-ponte-token"));
    }
    event
}

async fn provider_down(server: &MockServer) {
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(server)
        .await;
}

/// The provider is back and must receive exactly `times` tickets, each `body`.
async fn provider_back(server: &MockServer, body: Value, times: u64) {
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/accounts/42/conversations"))
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 321})))
        .expect(times)
        .mount(server)
        .await;
}

async fn invoke(app: &CloudChat, event: Value) -> (u16, Value) {
    let answer = app
        .handle(LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    http_answer(&answer)
}

#[tokio::test]
async fn a_lead_sent_while_the_provider_is_down_is_queued_and_delivered_once() {
    let Deployed {
        server,
        queues,
        app,
        ..
    } = Deployed::new().await;

    provider_down(&server).await;
    let query = [("token", "el-token"), ("inbox_id", "7")];
    // The builder posts the lead; a second post of the same lead while it is queued.
    for _ in 0..2 {
        let (status, json) = invoke(&app, elementor(&query)).await;
        assert_eq!(status, 200, "Elementor wants exactly 200: {json}");
        assert_eq!(
            (json["queued"].as_bool(), json["reason"].as_str()),
            (Some(true), Some("provider_unavailable")),
            "{json}"
        );
        assert!(json["intake_id"].as_str().is_some_and(|id| !id.is_empty()));
    }

    provider_back(&server, ticket(), 1).await;
    assert_eq!(
        queues.drain(&app).await,
        Vec::<String>::new(),
        "both records done"
    );
    server.verify().await;
    assert!(queues.take(&queues.dead_letters).await.is_empty());
}

#[tokio::test]
async fn an_intake_record_keeps_no_token() {
    let server = MockServer::start().await;
    let secret = unique_name("intake");
    create_secret(
        &secret,
        &secret_value(&server, json!({"token": "el-token"})),
    )
    .await;
    let queues = Queues::new().await;
    let app = function(
        secrets_client().await,
        &secret,
        &queues,
        &Default::default(),
    );
    provider_down(&server).await;
    let (status, _) = invoke(&app, elementor(&[("token", "el-token"), ("inbox_id", "7")])).await;
    assert_eq!(status, 200);
    let queued = queues.take(&queues.queue).await;
    assert_eq!(queued.len(), 1);
    let body = &queued[0].1;
    assert!(
        !body.contains("el-token") && !body.contains(TEST_TOKEN),
        "{body}"
    );
    let record: Value = serde_json::from_str(body).unwrap();
    let record = &record["ponte_intake"];
    assert_eq!(record["query"], json!([["inbox_id", "7"]]));
    assert_eq!(record["authenticated"], true);
    assert_eq!(record["reason"], "provider_unavailable");
    assert!(
        record["idempotency_keys"][0]
            .as_str()
            .unwrap()
            .starts_with("cloudchat-create-conversation#")
    );
}

#[tokio::test]
async fn a_direct_call_is_accepted_with_202_and_delivered_from_the_queue() {
    let server = MockServer::start().await;
    let secret = unique_name("intake");
    create_secret(&secret, &secret_value(&server, json!({}))).await;
    let queues = Queues::new().await;
    let app = function(
        secrets_client().await,
        &secret,
        &queues,
        &Default::default(),
    );
    provider_down(&server).await;
    let payload = json!({"inbox_id": "1", "contact_identifier": "crm-42"});
    let mut event = rest_v1(&payload.to_string());
    event["headers"]["Idempotency-Key"] = json!("order-42");
    let (status, json) = invoke(&app, event).await;
    assert_eq!(
        (status, json["queued"].as_bool()),
        (202, Some(true)),
        "{json}"
    );

    provider_back(&server, payload, 1).await;
    assert!(queues.drain(&app).await.is_empty());
    server.verify().await;
}

#[tokio::test]
async fn when_the_request_cannot_be_queued_the_answer_is_503() {
    let server = MockServer::start().await;
    let secret = unique_name("intake");
    create_secret(
        &secret,
        &secret_value(&server, json!({"token": "el-token"})),
    )
    .await;
    let closed = format!(
        "http://127.0.0.1:{}",
        ponte_devtools::moto::free_port().unwrap()
    );
    let unreachable = aws_sdk_sqs::Client::new(&ponte_devtools::moto::sdk_config(&closed).await);
    let queue = format!("{closed}/000000000000/intake");
    let app = CloudChat::new(
        deployed_settings(&secret),
        Arc::new(SecretsManagerStore::new(secrets_client().await)),
    )
    .with_intake(Arc::new(SqsQueue::new(unreachable, queue)))
    .with_record_key(record_key());
    provider_down(&server).await;
    let (status, json) = invoke(&app, elementor(&[("token", "el-token"), ("inbox_id", "7")])).await;
    assert_eq!(
        (status, json["queued"].as_bool()),
        (503, Some(false)),
        "{json}"
    );
    assert_eq!(json["error"]["kind"], "provider_unavailable");
}

#[tokio::test]
async fn a_lead_refused_for_good_is_a_dead_letter_that_is_delivered_once_fixed_and_replayed() {
    let Deployed {
        server,
        secret,
        queues,
        app,
    } = Deployed::new().await;
    expect_nothing(&server).await;

    // The form's URL lacks ?inbox_id=: every lead is invalid for the default mapping.
    let (status, json) = invoke(&app, elementor(&[("token", "el-token")])).await;
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (400, Some("validation")),
        "{json}"
    );
    assert_eq!(json["dead_lettered"], true, "{json}");

    let letters = replay::read(&queues.sqs, &queues.dead_letters, 100)
        .await
        .unwrap();
    assert!(!letters[0].body.contains("el-token"));
    replay::release(&queues.sqs, &queues.dead_letters, &letters)
        .await
        .unwrap();

    // The operator is paged, and asks the function itself what it keeps…
    let listed = replay_command(&app, json!({"command": "list"})).await;
    assert_eq!(listed["by_reason"], json!({"validation": 1}), "{listed}");
    assert_eq!(listed["letters"][0]["reason"], "validation");
    // …and why it would still fail.
    let tried = replay_command(&app, json!({"command": "dry_run"})).await;
    assert_eq!(tried["ok"], false, "{tried}");
    let why = tried["letters"][0]["would_not"].as_str().unwrap();
    assert!(why.contains("inbox_id"), "{why}");

    // The operator fixes the mapping in the secret…
    let fixed = json!({"token": "el-token", "mapping": {
        "inbox_id": "7", "contact_email": "{{email?}}", "contact_phone_number": "{{phone?}}",
        "message": {"content": "{{all_fields}}", "message_type": "incoming"}}});
    rotate_secret(&secret, &secret_value(&server, fixed)).await;
    // …sees what would be sent now, contacts masked unless asked for…
    let tried = replay_command(&app, json!({"command": "dry_run"})).await;
    assert_eq!(tried["ok"], true, "{tried}");
    let would = &tried["letters"][0]["would_send"][0]["body"];
    assert_eq!(*would, replay::masked(ticket()));
    assert_ne!(*would, ticket(), "the dry run masks e-mails and phones");
    let shown = replay_command(&app, json!({"command": "dry_run", "show_pii": true})).await;
    assert_eq!(shown["letters"][0]["would_send"][0]["body"], ticket());
    // …and replays: the letter goes to the function's queue, which delivers it once.
    let redriven =
        replay_command(&app, json!({"command": "redrive", "reason": "validation"})).await;
    assert_eq!(
        (redriven["redriven"].as_u64(), redriven["left"].as_u64()),
        (Some(1), Some(0))
    );
    provider_back(&server, ticket(), 1).await;
    assert!(queues.drain(&app).await.is_empty());
    server.verify().await;
    assert!(queues.take(&queues.dead_letters).await.is_empty());
}

#[tokio::test]
async fn a_lead_that_came_while_the_secret_was_unreadable_is_checked_when_it_is_delivered() {
    let server = MockServer::start().await;
    let secret = unique_name("intake");
    create_secret(
        &secret,
        &secret_value(&server, json!({"token": "el-token"})),
    )
    .await;
    let queues = Queues::new().await;
    let claims = Arc::new(InMemoryStore::new());
    let closed = format!(
        "http://127.0.0.1:{}",
        ponte_devtools::moto::free_port().unwrap()
    );
    let secrets_down = ponte_devtools::moto::secrets_client(&closed).await;
    let while_down = function(secrets_down, &secret, &queues, &claims);
    expect_nothing(&server).await;

    // Kept to be checked later, but a caller that has not proved who it is is told only that
    // the secret could not be read: nothing of what was kept.
    for token in ["el-token", "a-guess"] {
        let (status, json) = invoke(
            &while_down,
            elementor(&[("token", token), ("inbox_id", "7")]),
        )
        .await;
        assert_eq!(
            (status, json["error"]["kind"].as_str()),
            (503, Some("secret_unavailable")),
            "{json}"
        );
        assert!(
            json.get("queued").is_none() && json.get("intake_id").is_none(),
            "{json}"
        );
    }
    // One that presents nothing at all is not kept.
    let (status, _) = invoke(&while_down, anonymous_elementor(&[("inbox_id", "7")])).await;
    assert_eq!(status, 503);

    // Secrets Manager is back: the lead with the right token is delivered, the other is kept
    // as a dead letter, unsent.
    provider_back(&server, ticket(), 1).await;
    let app = function(secrets_client().await, &secret, &queues, &claims);
    assert!(queues.drain(&app).await.is_empty());
    server.verify().await;
    let letters = replay::read(&queues.sqs, &queues.dead_letters, 100)
        .await
        .unwrap();
    assert_eq!(
        replay::by_reason(&letters).into_iter().collect::<Vec<_>>(),
        [("unauthorized", 1)]
    );
    assert!(!letters[0].body.contains("a-guess"));
}

/// Strangers cannot fill the queues: a request that presents no credential while the secret
/// cannot be read, or any request while the secret is broken, is answered and kept nowhere.
#[tokio::test]
async fn nothing_is_kept_for_callers_that_proved_nothing() {
    let server = MockServer::start().await;
    expect_nothing(&server).await;
    let queues = Queues::new().await;
    let claims = Arc::new(InMemoryStore::new());
    let closed = format!(
        "http://127.0.0.1:{}",
        ponte_devtools::moto::free_port().unwrap()
    );
    let secret = unique_name("intake");
    let while_down = function(
        ponte_devtools::moto::secrets_client(&closed).await,
        &secret,
        &queues,
        &claims,
    );
    for _ in 0..5 {
        let (status, json) = invoke(&while_down, anonymous_elementor(&[("inbox_id", "7")])).await;
        assert_eq!(status, 503, "{json}");
        assert!(json.get("queued").is_none(), "{json}");
    }
    // A secret that is not a connection: answered 500 (configuration), never a dead letter.
    create_secret(&secret, &json!({"webhooks": {}})).await;
    let broken = function(secrets_client().await, &secret, &queues, &claims);
    for event in [
        anonymous_elementor(&[]),
        elementor(&[("token", "el-token")]),
    ] {
        let (status, json) = invoke(&broken, event).await;
        assert_eq!(
            (status, json["error"]["kind"].as_str()),
            (500, Some("configuration")),
            "{json}"
        );
        assert!(json.get("dead_lettered").is_none(), "{json}");
    }
    assert!(
        queues.take(&queues.queue).await.is_empty(),
        "nothing queued"
    );
    assert!(
        queues.take(&queues.dead_letters).await.is_empty(),
        "no dead letters"
    );
}

/// A kept request older than any delivery is remembered is not run (its lead may have been sent
/// and forgotten since): it is a dead letter `record_expired`, and runs only when an operator
/// forces it.
#[tokio::test]
async fn a_kept_request_older_than_the_memory_of_its_deliveries_is_run_only_when_forced() {
    let Deployed {
        server,
        queues,
        app,
        ..
    } = Deployed::new().await;
    let body = kept_while_the_provider_is_down(&server, &queues, &app).await;
    // The record, as it would be after waiting twenty days in the dead-letter queue.
    let mut record = IntakeRecord::from_message(&serde_json::from_str(&body).unwrap())
        .unwrap()
        .unwrap();
    record.received_at = "2020-01-01T00:00:00Z".into();
    let old = record
        .sealed("cloudchat-create-conversation", &record_key())
        .to_message();

    provider_back(&server, ticket(), 1).await;
    let answer = app
        .handle(LambdaEvent::new(
            sqs(&[("old-1", &old)]),
            Context::default(),
        ))
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({"batchItemFailures": []}),
        "dead-lettered at once"
    );
    let letters = replay::read(&queues.sqs, &queues.dead_letters, 10)
        .await
        .unwrap();
    assert_eq!(
        replay::by_reason(&letters).into_iter().collect::<Vec<_>>(),
        [("record_expired", 1)]
    );
    replay::release(&queues.sqs, &queues.dead_letters, &letters)
        .await
        .unwrap();

    // The operator checks, and forces it: it runs, once.
    let forced = replay_command(
        &app,
        json!({"command": "redrive", "reason": "record_expired", "force": true}),
    )
    .await;
    assert_eq!(forced["redriven"], 1, "{forced}");
    assert!(queues.drain(&app).await.is_empty());
    server.verify().await;
}

/// A provider outage far longer than a message's receives last when each comes straight back
/// (the queue's own visibility timeout is 0 here) is waited out: each failing message is hidden
/// twice as long on each receive, so every lead is delivered once when the provider is back, and
/// none reaches the dead-letter queue. The clock is compressed: the first wait is one second,
/// and SQS moves a message after four receives.
#[tokio::test]
async fn a_long_outage_is_waited_out_and_every_lead_is_delivered_once() {
    use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
    let server = MockServer::start().await;
    let secret = unique_name("intake");
    create_secret(
        &secret,
        &secret_value(&server, json!({"token": "el-token"})),
    )
    .await;
    let client =
        aws_sdk_sqs::Client::new(&ponte_devtools::moto::sdk_config(&moto_endpoint()).await);
    let dead_letters = client
        .create_queue()
        .queue_name(unique_name("outage-dlq").replace('/', "-"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dead_letters)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "4"}).to_string();
    let queue = client
        .create_queue()
        .queue_name(unique_name("outage").replace('/', "-"))
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(QueueAttributeName::VisibilityTimeout, "0")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let queues = Queues {
        sqs: client.clone(),
        queue: queue.clone(),
        dead_letters,
    };
    let claims = Arc::new(InMemoryStore::new());
    let settings = Settings {
        queue_backoff: Duration::from_secs(1),
        ..deployed_settings(&secret)
    };
    let claims_store: Arc<dyn IdempotencyStore> = claims.clone();
    let app = App::new(
        settings,
        Arc::new(SecretsManagerStore::new(secrets_client().await)),
    )
    .with_idempotency(claims_store)
    .with_intake(Arc::new(SqsQueue::new(client.clone(), &queue)))
    .with_dead_letters(Arc::new(SqsQueue::new(
        client.clone(),
        &queues.dead_letters,
    )))
    .with_queues(FunctionQueues {
        sqs: LazyClient::Ready(client.clone()),
        dead_letters: queues.dead_letters.clone(),
        queue: Some(queue.clone()),
    })
    .with_record_key(record_key());

    provider_down(&server).await;
    for n in 1..=3 {
        let mut event = rest_v1(
            &json!({"inbox_id": "7", "contact_identifier": format!("lead-{n}")}).to_string(),
        );
        event["headers"]["Idempotency-Key"] = json!(format!("lead-{n}"));
        let (status, json) = invoke(&app, event).await;
        assert_eq!(
            (status, json["queued"].as_bool()),
            (202, Some(true)),
            "{json}"
        );
    }

    // Lambda's event source mapping, polling: what comes back is run; what succeeds is deleted.
    let started = std::time::Instant::now();
    let mut provider_is_back = false;
    while started.elapsed() < Duration::from_secs(14) {
        if !provider_is_back && started.elapsed() > Duration::from_secs(5) {
            server.reset().await;
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 9})))
                .expect(3)
                .mount(&server)
                .await;
            provider_is_back = true;
        }
        let received = client
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap();
        let messages = received.messages();
        if !messages.is_empty() {
            let records: Vec<(&str, &str)> = messages
                .iter()
                .map(|m| (m.message_id().unwrap(), m.body().unwrap()))
                .collect();
            let mut event = sqs(&records);
            for (record, message) in event["Records"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .zip(messages)
            {
                record["receiptHandle"] = json!(message.receipt_handle().unwrap());
                let count = message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .cloned()
                    .unwrap_or_else(|| "1".into());
                record["attributes"]["ApproximateReceiveCount"] = json!(count);
            }
            let answer = app
                .handle(LambdaEvent::new(event, Context::default()))
                .await
                .unwrap();
            let failed = failed_ids(&answer);
            for message in messages {
                if !failed.contains(&message.message_id().unwrap().to_string()) {
                    client
                        .delete_message()
                        .queue_url(&queue)
                        .receipt_handle(message.receipt_handle().unwrap())
                        .send()
                        .await
                        .unwrap();
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.verify().await;
    assert!(
        queues.take(&queues.dead_letters).await.is_empty(),
        "none dead-lettered"
    );
    assert!(
        queues.take(&queues.queue).await.is_empty(),
        "none left waiting"
    );
}

/// Being on the queue proves nothing: a record that does not carry this stack's proof for this
/// function (forged by anyone allowed to send to the queue, changed on the way, or kept by
/// another function) never runs, and is a dead letter `unauthorized`.
#[tokio::test]
async fn a_record_without_this_stacks_proof_never_runs() {
    let Deployed {
        server,
        queues,
        app,
        ..
    } = Deployed::new().await;
    let body = kept_while_the_provider_is_down(&server, &queues, &app).await;
    let genuine = IntakeRecord::from_message(&serde_json::from_str(&body).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(genuine.function, "cloudchat-create-conversation");
    assert!(
        genuine
            .check_seal("cloudchat-create-conversation", &record_key())
            .is_ok()
    );

    let forged = IntakeRecord {
        seal: String::new(),
        ..genuine.clone()
    };
    let changed = IntakeRecord {
        query: vec![("inbox_id".into(), "666".into())],
        ..genuine.clone()
    };
    let elsewhere = genuine.clone().sealed("wegly-create-chat", &record_key());
    let other_key = genuine
        .clone()
        .sealed("cloudchat-create-conversation", &RecordKey(vec![7; 40]));
    expect_nothing(&server).await;
    for (n, record) in [forged, changed, elsewhere, other_key]
        .into_iter()
        .enumerate()
    {
        let id = format!("forged-{n}");
        let answer = app
            .handle(LambdaEvent::new(
                sqs(&[(&id, &record.to_message())]),
                Context::default(),
            ))
            .await
            .unwrap();
        assert_eq!(answer, json!({"batchItemFailures": []}), "{id}");
    }
    server.verify().await;
    let letters = replay::read(&queues.sqs, &queues.dead_letters, 10)
        .await
        .unwrap();
    assert_eq!(
        replay::by_reason(&letters).into_iter().collect::<Vec<_>>(),
        [("unauthorized", 4)]
    );
}

/// A request that could not be kept on the queue as a record (so could not be delivered later)
/// is refused at once with 413, before anything is sent, rather than accepted and then lost.
#[tokio::test]
async fn a_request_too_large_to_keep_is_refused_before_anything_is_sent() {
    let Deployed {
        server,
        queues,
        app,
        ..
    } = Deployed::new().await;
    expect_nothing(&server).await;
    // Under the body limit, but with a query string that makes its record too large to keep.
    let body = format!(
        "Nome=Ana&Email=ana@example.com&Mensagem={}",
        "a".repeat(250 * 1024)
    );
    let long = "x".repeat(120 * 1024);
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let query = [
        ("token", "el-token"),
        ("inbox_id", "7"),
        ("utm_content", long.as_str()),
    ];
    let (status, json) = invoke(
        &app,
        form_event(Api::HttpV2, "elementor", body.as_bytes(), &headers, &query),
    )
    .await;
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (413, Some("too_large")),
        "{json}"
    );
    assert!(queues.take(&queues.queue).await.is_empty());
    // The same body with a short query fits, and is taken.
    let small = format!(
        "Nome=Ana&Email=ana@example.com&Mensagem={}",
        "a".repeat(1024)
    );
    provider_down(&server).await;
    let (status, json) = invoke(
        &app,
        form_event(
            Api::HttpV2,
            "elementor",
            small.as_bytes(),
            &headers,
            &query[..2],
        ),
    )
    .await;
    assert_eq!(
        (status, json["queued"].as_bool()),
        (200, Some(true)),
        "{json}"
    );
}

/// A body of several leads (RD Station's legacy `leads`) kept because one of them failed
/// remembers the ones it delivered: run again after every delivery is forgotten, it does not
/// send them a second time.
#[tokio::test]
async fn a_kept_body_of_several_leads_does_not_send_its_delivered_leads_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 31})))
        .expect(1)
        .mount(&server)
        .await;
    let secret = unique_name("intake");
    create_secret(
        &secret,
        &json!({"api_access_token": "cc", "account_id": 42, "base_url": server.uri(),
                "webhooks": {"rdstation": {"token": "rd-token"}}}),
    )
    .await;
    let queues = Queues::new().await;
    let app = function(
        secrets_client().await,
        &secret,
        &queues,
        &Arc::new(InMemoryStore::new()),
    );
    let body = json!({"leads": [
        {"id": "lead-1", "email": "ana@example.com", "name": "Ana"},
        {"id": "lead-2", "email": "not an e-mail", "name": "Bia"}
    ]})
    .to_string();
    let headers = [("Content-Type", "application/json")];
    let query = [("token", "rd-token"), ("inbox_id", "7")];
    let (status, json) = invoke(
        &app,
        form_event(Api::HttpV2, "rdstation", body.as_bytes(), &headers, &query),
    )
    .await;
    assert_eq!(
        (status, json["dead_lettered"].as_bool()),
        (400, Some(true)),
        "{json}"
    );
    let (_, letter, _) = queues.take(&queues.dead_letters).await.remove(0);
    let kept = IntakeRecord::from_message(&serde_json::from_str(&letter).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(kept.delivered, ["lead-1"]);

    // Every delivery forgotten (a new memory), the letter runs again: lead 1 is not sent.
    let forgetful = function(
        secrets_client().await,
        &secret,
        &queues,
        &Arc::new(InMemoryStore::new()),
    );
    let answer = forgetful
        .handle(LambdaEvent::new(
            sqs(&[("letter-1", &letter)]),
            Context::default(),
        ))
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({"batchItemFailures": []}),
        "lead 2 is a dead letter again"
    );
    server.verify().await;
}
