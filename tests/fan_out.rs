//! Routes and fan-out end to end, against moto's SQS and Secrets Manager and a provider
//! stand-in: an Elementor lead takes the route its answers choose; a route's `also` hands it to
//! another function of the stack through that function's own queue, sealed for it; that
//! function delivers it with its own secret and mapping, once however often it is handed; and a
//! hand-over that cannot be made now keeps the request, without sending its ticket twice.

mod support;

use lambda_runtime::{Context, LambdaEvent};
use ponte::actions::{CloudChatCreateConversation, CloudChatProactiveWhatsapp};
use ponte::fan_out::HandOverQueues;
use ponte::idempotency::{IdempotencyStore, InMemoryStore};
use ponte::intake::{IntakeQueue, RecordKey};
use ponte::queue::SqsQueue;
use ponte::secrets::SecretsManagerStore;
use ponte::{Action, App, Settings};
use ponte_devtools::examples::{WELCOME_FUNCTION, sales_routes, welcome_mapping};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::queues::{Queues, deployed_settings};
use support::*;
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WHATSAPP: &str = WELCOME_FUNCTION;
const TICKETS_PATH: &str = "/api/v1/accounts/42/conversations";
const WHATSAPP_PATH: &str =
    "/api/v1/accounts/42/conversations/create_proactive_whatsapp_conversation";

/// The ticket function's secret: the routes of docs/mappings.md.
fn tickets_secret(server: &MockServer) -> Value {
    json!({"api_access_token": "cc", "account_id": 42, "base_url": server.uri(),
           "webhooks": sales_routes("el-token")})
}

/// The WhatsApp function's secret: `boas_vindas`, the mapping the route names.
fn whatsapp_secret(server: &MockServer) -> Value {
    json!({"api_access_token": "cc", "account_id": 42, "base_url": server.uri(),
           "webhooks": welcome_mapping()})
}

/// Leads without an id (Elementor's) are known by their content for a short window only: here
/// none at all, so that only what a kept record says keeps a part from being done twice.
fn forgetful(secret: &str) -> Settings {
    Settings {
        content_dedup_window: Duration::ZERO,
        ..deployed_settings(secret)
    }
}

fn record_key() -> RecordKey {
    RecordKey(b"fan-out-tests-record-key-0123456789abcdef".to_vec())
}

/// A function as deployed: its secret, its two queues, the shared memory of deliveries.
fn function<A: Action>(settings: Settings, queues: &Queues, claims: &Arc<InMemoryStore>) -> App<A> {
    let claims: Arc<dyn IdempotencyStore> = claims.clone();
    let app = App::new(
        settings,
        Arc::new(SecretsManagerStore::new(futures::executor::block_on(
            secrets_client(),
        ))),
    )
    .with_idempotency(claims);
    queues.wire(app).with_record_key(record_key())
}

/// The two functions of a stack, the ticket one handing leads to the WhatsApp one's queue (or
/// to `hand_over_url` instead).
struct Stack {
    server: MockServer,
    tickets_secret: String,
    tickets_queues: Queues,
    whatsapp_queues: Queues,
    claims: Arc<InMemoryStore>,
    tickets: App<CloudChatCreateConversation>,
    whatsapp: App<CloudChatProactiveWhatsapp>,
}

impl Stack {
    async fn new(hand_over_url: Option<&str>) -> Self {
        Self::with(hand_over_url, deployed_settings).await
    }

    /// The stack, the ticket function set up by `tickets_settings`.
    async fn with(hand_over_url: Option<&str>, tickets_settings: fn(&str) -> Settings) -> Self {
        let server = MockServer::start().await;
        let (tickets_secret, whatsapp_secret_id) = (unique_name("fan-out"), unique_name("wa"));
        create_secret(&tickets_secret, &self::tickets_secret(&server)).await;
        create_secret(&whatsapp_secret_id, &whatsapp_secret(&server)).await;
        let (tickets_queues, whatsapp_queues) = (Queues::new().await, Queues::new().await);
        let claims = Arc::new(InMemoryStore::new());
        let url = hand_over_url.unwrap_or(&whatsapp_queues.queue);
        let tickets = function(tickets_settings(&tickets_secret), &tickets_queues, &claims)
            .with_hand_over(hand_over(&tickets_queues, url));
        let whatsapp = function(
            deployed_settings(&whatsapp_secret_id),
            &whatsapp_queues,
            &claims,
        );
        Self {
            server,
            tickets_secret,
            tickets_queues,
            whatsapp_queues,
            claims,
            tickets,
            whatsapp,
        }
    }
}

fn hand_over(queues: &Queues, url: &str) -> HandOverQueues {
    let queue: Arc<dyn IntakeQueue> = Arc::new(SqsQueue::new(queues.sqs.clone(), url));
    HandOverQueues::new(vec![(WHATSAPP.to_string(), queue)])
}

/// A real-shaped Elementor submission with its answers changed as `edit` says.
fn elementor(query: &[(&str, &str)], edit: &[(&str, &str)]) -> Value {
    let mut body = String::from_utf8(form_fixture("elementor-vendas.urlencoded.txt")).unwrap();
    for (from, to) in edit {
        body = body.replace(from, to);
    }
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    form_event(Api::HttpV2, "elementor", body.as_bytes(), &headers, query)
}

async fn invoke<A: Action>(app: &App<A>, event: Value) -> (u16, Value) {
    let answer = app
        .handle(LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    http_answer(&answer)
}

async fn expect(server: &MockServer, at: &str, body: Value, times: u64) {
    Mock::given(method("POST"))
        .and(path(at))
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 77})))
        .expect(times)
        .mount(server)
        .await;
}

fn sales_ticket() -> Value {
    json!({"inbox_id": "5", "contact_email": "maria@example.com",
           "message": {"content": "Olá Maria: Orçamento"}})
}

fn welcome() -> Value {
    json!({"inbox_id": "9", "phone_number": "+5585987696383", "template_name": "boas_vindas",
           "nome": "Maria"})
}

#[tokio::test]
async fn a_sales_lead_opens_its_ticket_and_is_handed_to_the_whatsapp_function_once() {
    let stack = Stack::new(None).await;
    expect(&stack.server, TICKETS_PATH, sales_ticket(), 1).await;
    expect(&stack.server, WHATSAPP_PATH, welcome(), 1).await;
    let (status, answer) = invoke(&stack.tickets, elementor(&[("token", "el-token")], &[])).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["route"], "vendas");
    assert_eq!(answer["provider"]["body"]["id"], 77, "the ticket: {answer}");
    assert_eq!(
        answer["targets"],
        json!([{"function": WHATSAPP, "mapping": "boas_vindas", "outcome": "queued"}])
    );
    // Handed over: one record on the WhatsApp function's queue, sealed for it. Run twice, as
    // SQS may deliver it (or a builder's retry may hand it again), it sends one message.
    let handed = stack
        .whatsapp_queues
        .take(&stack.whatsapp_queues.queue)
        .await;
    assert_eq!(handed.len(), 1);
    let (_, body, _) = &handed[0];
    assert!(!body.contains("el-token"), "no token is handed on");
    // (One after the other: two copies in one batch run side by side, and the second is told
    // the first is in progress and comes back later, as SQS would bring it.)
    for copy in ["copy-1", "copy-2"] {
        let event = sqs(&[(copy, body)]);
        let answer = stack
            .whatsapp
            .handle(LambdaEvent::new(event, Context::default()))
            .await
            .unwrap();
        assert!(failed_ids(&answer).is_empty(), "{copy}: {answer}");
    }
    // The ticket function's own queue keeps nothing: everything was done.
    assert!(
        stack
            .tickets_queues
            .take(&stack.tickets_queues.queue)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_record_handed_to_one_function_never_runs_in_another() {
    let stack = Stack::new(None).await;
    expect(&stack.server, TICKETS_PATH, sales_ticket(), 1).await;
    expect_nothing(&stack.server).await;
    invoke(&stack.tickets, elementor(&[("token", "el-token")], &[])).await;
    let handed = stack
        .whatsapp_queues
        .take(&stack.whatsapp_queues.queue)
        .await;
    // Put on the ticket function's queue instead, the record is refused: it was sealed for
    // the WhatsApp function.
    let event = sqs(&[("elsewhere", &handed[0].1)]);
    stack
        .tickets
        .handle(LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    let letters = stack
        .tickets_queues
        .take(&stack.tickets_queues.dead_letters)
        .await;
    assert_eq!(letters.len(), 1, "kept as a dead letter with its reason");
    assert!(
        letters[0].2.to_string().contains("unauthorized"),
        "{letters:?}"
    );
}

#[tokio::test]
async fn test_submissions_are_skipped_and_the_rest_take_the_catch_all() {
    let stack = Stack::new(None).await;
    let support = json!({"inbox_id": "3", "contact_email": "maria@example.com"});
    Mock::given(method("POST"))
        .and(path(TICKETS_PATH))
        .and(wiremock::matchers::body_partial_json(support))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 78})))
        .expect(1)
        .mount(&stack.server)
        .await;
    expect_nothing(&stack.server).await;
    let test = [("maria%40example.com", "teste%40example.com")];
    let (status, answer) = invoke(&stack.tickets, elementor(&[("token", "el-token")], &test)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["skipped"], true);
    assert_eq!(answer["route"], "testes");
    let doubt = [("Or%C3%A7amento", "D%C3%BAvida")];
    let (status, answer) =
        invoke(&stack.tickets, elementor(&[("token", "el-token")], &doubt)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["route"], "resto");
    assert!(answer.get("targets").is_none(), "{answer}");
    assert!(
        stack
            .whatsapp_queues
            .take(&stack.whatsapp_queues.queue)
            .await
            .is_empty(),
        "nothing handed over"
    );
}

#[tokio::test]
async fn a_dry_run_names_the_route_the_request_and_the_hand_over() {
    let stack = Stack::new(None).await;
    expect_nothing(&stack.server).await;
    let query = [("token", "el-token"), ("dry_run", "1")];
    let (status, answer) = invoke(&stack.tickets, elementor(&query, &[])).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["dry_run"], true);
    assert_eq!(answer["route"], "vendas");
    assert_eq!(answer["request"]["body"], sales_ticket());
    assert_eq!(answer["targets"][0]["function"], WHATSAPP);
    assert!(
        answer["targets"][0]["would"]
            .as_str()
            .unwrap()
            .contains("webhooks.mappings.boas_vindas"),
        "{answer}"
    );
    assert!(
        stack
            .whatsapp_queues
            .take(&stack.whatsapp_queues.queue)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_hand_over_that_cannot_be_made_now_keeps_the_request_without_a_second_ticket() {
    // The WhatsApp function's queue is out of reach: the ticket goes out, the hand-over waits.
    let missing = format!("{}/123456789012/no-such-queue", moto_endpoint());
    let stack = Stack::with(Some(&missing), forgetful).await;
    expect(&stack.server, TICKETS_PATH, sales_ticket(), 1).await;
    expect(&stack.server, WHATSAPP_PATH, welcome(), 1).await;
    let (status, answer) = invoke(&stack.tickets, elementor(&[("token", "el-token")], &[])).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["queued"], true, "{answer}");
    assert_eq!(answer["reason"], "hand_over_unavailable");
    // Later, with the queue back, the kept request runs again: the ticket, done already, is not
    // sent again (the record says it was done); the hand-over is made, and the WhatsApp
    // function delivers it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fixed = function::<CloudChatCreateConversation>(
        forgetful(&stack.tickets_secret),
        &stack.tickets_queues,
        &stack.claims,
    )
    .with_hand_over(hand_over(
        &stack.tickets_queues,
        &stack.whatsapp_queues.queue,
    ));
    assert!(stack.tickets_queues.drain(&fixed).await.is_empty());
    assert!(
        stack
            .whatsapp_queues
            .drain(&stack.whatsapp)
            .await
            .is_empty()
    );
}
