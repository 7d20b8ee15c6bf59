//! The fault suite: providers that fail, stall, answer garbage or drop the connection, and a
//! Secrets Manager that is down or holds a broken secret. Nothing may panic, nothing may be sent
//! twice where it could have been acted on, and every answer must say what happened.

mod support;

use lambda_runtime::{Context, LambdaEvent};
use ponte::actions::CloudChatCreateConversation;
use ponte::secrets::SecretsManagerStore;
use ponte::{App, Settings};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

type CloudChat = App<CloudChatCreateConversation>;

async fn invoke(app: &CloudChat, event: Value) -> Value {
    app.handle(LambdaEvent::new(event, Context::default()))
        .await
        .expect("the handler answers")
}

fn ticket() -> String {
    json!({"inbox_id": "1", "contact_identifier": "crm-42", "message": {"content": "Ligação perdida"}}).to_string()
}

async fn app_for(base_url: &str, settings: Settings) -> CloudChat {
    let settings = Settings {
        idempotency_ttl: Duration::ZERO,
        ..settings
    };
    cloudchat_function(base_url, settings).await
}

async fn mount_sequence(
    server: &MockServer,
    first: ResponseTemplate,
    times: u64,
    then: ResponseTemplate,
) {
    Mock::given(any())
        .respond_with(first)
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
    Mock::given(any())
        .respond_with(then)
        .expect(1)
        .mount(server)
        .await;
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"id": 1}))
}

#[tokio::test]
async fn a_500_then_a_200_is_delivered_once() {
    let server = MockServer::start().await;
    mount_sequence(&server, ResponseTemplate::new(500), 1, ok()).await;
    let app = app_for(&server.uri(), Settings::default()).await;
    let (status, json) = http_answer(&invoke(&app, rest_v1(&ticket())).await);
    assert_eq!(
        (status, json["provider"]["body"]["id"].as_u64()),
        (200, Some(1)),
        "{json}"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_when_it_fits() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        ResponseTemplate::new(429)
            .insert_header("retry-after", "1")
            .set_body_string("slow down"),
        1,
        ok(),
    )
    .await;
    let app = app_for(&server.uri(), Settings::default()).await;
    let started = Instant::now();
    let answer = invoke(&app, sqs(&[("m1", &ticket())])).await;
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the Retry-After second was honoured"
    );
}

#[tokio::test]
async fn html_and_garbage_error_bodies_are_reported_as_text() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(502)
                .set_body_string("<html><body><h1>502 Bad Gateway</h1></body></html>"),
        )
        .expect(3)
        .mount(&server)
        .await;
    let app = app_for(&server.uri(), Settings::default()).await;
    let (status, json) = http_answer(&invoke(&app, rest_v1(&ticket())).await);
    assert_eq!(status, 502);
    assert_eq!(
        json["provider"]["body"],
        "<html><body><h1>502 Bad Gateway</h1></body></html>"
    );

    let garbage = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![0xff, 0xfe, b'{', 0x00]))
        .expect(1)
        .mount(&garbage)
        .await;
    let app = app_for(&garbage.uri(), Settings::default()).await;
    let (status, json) = http_answer(&invoke(&app, rest_v1(&ticket())).await);
    assert_eq!(status, 200, "a 2xx is a delivery whatever its body: {json}");
    assert!(json["provider"]["body"].is_string());
}

#[tokio::test]
async fn a_slow_or_hanging_provider_times_out_and_is_not_called_again() {
    for delay in [Duration::from_secs(2), Duration::from_secs(3600)] {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ok().set_delay(delay))
            .expect(1)
            .mount(&server)
            .await;
        let settings = Settings {
            request_timeout: Duration::from_millis(300),
            ..Settings::default()
        };
        let app = app_for(&server.uri(), settings).await;
        let started = Instant::now();
        let (status, json) = http_answer(&invoke(&app, rest_v1(&ticket())).await);
        assert_eq!(
            (status, json["error"]["kind"].as_str()),
            (504, Some("provider_timeout"))
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "bounded by the timeout"
        );
    }
}

#[tokio::test]
async fn the_invocation_deadline_bounds_the_provider_call() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ok().set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let app = app_for(&server.uri(), Settings::default()).await;
    let mut context = Context::default();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    context.deadline = now_ms + 1_000;
    let started = Instant::now();
    let answer = app
        .handle(LambdaEvent::new(rest_v1(&ticket()), context))
        .await
        .unwrap();
    let (status, _) = http_answer(&answer);
    assert_eq!(status, 504);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "answered before the deadline: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_connection_the_provider_drops_is_retried_then_reported() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    let app = app_for(&format!("http://{address}"), Settings::default()).await;
    let (status, json) = http_answer(&invoke(&app, rest_v1(&ticket())).await);
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (502, Some("provider_unavailable")),
        "{json}"
    );
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "three calls in all"
    );
}

#[tokio::test]
async fn secrets_manager_down_is_a_503_and_the_record_is_retried() {
    let closed = format!(
        "http://127.0.0.1:{}",
        ponte_devtools::moto::free_port().unwrap()
    );
    let client = ponte_devtools::moto::secrets_client(&closed).await;
    let settings = Settings {
        secret_id: Some("ponte/anything".into()),
        ..Settings::default()
    };
    let app: CloudChat = App::new(settings, Arc::new(SecretsManagerStore::new(client)));
    let (status, json) = http_answer(&invoke(&app, rest_v1(&ticket())).await);
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (503, Some("secret_unavailable")),
        "{json}"
    );
    assert_eq!(
        failed_ids(&invoke(&app, sqs(&[("m1", &ticket())])).await),
        ["m1"]
    );
}

#[tokio::test]
async fn malformed_secrets_are_configuration_errors_that_never_show_the_token() {
    for (secret, expected) in [
        ("{not json", "is not a JSON object"),
        (
            r#"{"api_access_token": "s3cr3t-token-value", "account_id": "abc"}"#,
            "account_id: must be a positive whole number",
        ),
        (r#"{"account_id": 1}"#, "api_access_token: is required"),
    ] {
        let name = unique_name("malformed");
        secrets_client()
            .await
            .create_secret()
            .name(&name)
            .secret_string(secret)
            .send()
            .await
            .unwrap();
        let app: CloudChat = app(Some(&name)).await;
        let answer = http_answer(&invoke(&app, rest_v1(&ticket())).await);
        assert_configuration_told_by_kind(&answer, "s3cr3t-token-value");
        let payload: Value = serde_json::from_str(&ticket()).unwrap();
        let logged = logged_failure(&app, &payload).await;
        assert!(logged.contains(expected), "{logged}");
        assert!(!logged.contains("s3cr3t-token-value"), "{logged}");
    }
}
