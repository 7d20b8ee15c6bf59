//! Ponte Studio, used as an operator uses it, in headless Chromium (Debian's package, driven over
//! WebDriver): a lead failed validation and sits in the dead-letter queue; open the letter, see
//! the problem, fix the mapping, see the request, save, redrive, and the provider receives it
//! once. Against moto (Secrets Manager, SQS) and the provider sandbox. A screenshot of the fixed
//! result is saved as target/studio.png and checked not to be blank.

mod support;

use lambda_runtime::{Context, LambdaEvent};
use ponte::intake::RecordKey;
use ponte_devtools::sandbox::Sandbox;
use ponte_devtools::studio::{self, FunctionPlace, Studio, demo};
use ponte_devtools::webdriver::Browser;
use serde_json::{Value, json};
use support::queues::Queues;
use support::*;

fn record_key() -> RecordKey {
    RecordKey(b"studio-tests-record-key-0123456789abcdef".to_vec())
}

#[tokio::test]
async fn an_operator_fixes_a_dead_letter_in_the_browser_and_the_lead_is_delivered_once() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let secret_id = unique_name("studio");
    create_secret(&secret_id, &demo::secret(&sandbox.url())).await;
    let queues = Queues::new().await;
    let function = demo::function(
        &moto_endpoint(),
        &secret_id,
        &queues.queue,
        &queues.dead_letters,
        record_key(),
    )
    .await;
    // The lead arrives and fails: the phone is read from the name.
    demo::post_failing_lead(&function).await.unwrap();
    assert!(sandbox.received().is_empty());

    let config = ponte_devtools::moto::sdk_config(&moto_endpoint()).await;
    let running = studio::serve(
        Studio {
            token: studio::new_token(),
            functions: vec![FunctionPlace {
                name: demo::FUNCTION.into(),
                secret_id: secret_id.clone(),
                dead_letters: Some(queues.dead_letters.clone()),
                queue: Some(queues.queue.clone()),
            }],
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            events: std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/events")),
        },
        0,
    )
    .await
    .unwrap();

    let browser = Browser::start(1500, 1100).await.unwrap();
    // Without the run's token the page loads but its API answers nothing.
    browser
        .goto(&format!("http://{}/", running.addr))
        .await
        .unwrap();
    browser
        .wait_for_text("#config-status", "token")
        .await
        .unwrap();

    browser.goto(&running.url()).await.unwrap();
    browser
        .wait_for_text("#function", demo::FUNCTION)
        .await
        .unwrap();
    let config_text = browser.wait_for_text("#config", "elementor").await;
    // The page never gets the token: it is masked.
    let shown = browser.text("#config-panel").await.unwrap();
    assert!(
        !shown.contains(demo::ELEMENTOR_TOKEN),
        "the token reached the page: {shown}"
    );
    drop(config_text);

    // Open the failing letter: the problem, with the answer that caused it.
    browser.click("#load-letters").await.unwrap();
    browser.click("#letters input[type=radio]").await.unwrap();
    let problem = browser
        .wait_for_text("#result", "contact_phone_number")
        .await
        .unwrap();
    assert!(problem.contains("Problems"), "{problem}");
    assert!(
        problem.contains("Seu nome"),
        "the answer that caused it: {problem}"
    );

    // A slip while typing is caught as JSON; a filter that does not exist, by the secret's own
    // check, with its path: nothing can be saved until it loads.
    browser
        .type_into("#config", "{\"elementor\": ")
        .await
        .unwrap();
    browser
        .wait_for_text("#config-status", "JSON syntax")
        .await
        .unwrap();
    let misspelt = json!({"elementor": {"token": studio::MASK, "mapping": {"inbox_id": "7", "contact_phone_number": "{{ Whatsapp | fone }}"}}});
    browser
        .type_into("#config", &misspelt.to_string())
        .await
        .unwrap();
    let refused = browser
        .wait_for_text("#result", "does not load")
        .await
        .unwrap();
    assert!(
        refused.contains("webhooks.elementor.mapping.contact_phone_number"),
        "{refused}"
    );

    // Fix the mapping, as typed: the request appears, the phone masked.
    let fixed = json!({"elementor": {"token": studio::MASK, "mapping": demo::fixed_mapping()}});
    browser
        .type_into("#config", &serde_json::to_string_pretty(&fixed).unwrap())
        .await
        .unwrap();
    let request = browser
        .wait_for_text("#result", "Request it would send")
        .await
        .unwrap();
    assert!(
        request.contains("/api/v1/accounts/42/conversations"),
        "{request}"
    );
    assert!(
        request.contains("+55*********83") && !request.contains("+5585987696383"),
        "the phone is masked unless asked: {request}"
    );
    assert!(
        request.contains("Whatsapp"),
        "the value is traced to its answer: {request}"
    );
    // Shown when asked, and masked again.
    browser.click("#show-pii").await.unwrap();
    browser
        .wait_for_text("#result", "+5585987696383")
        .await
        .unwrap();
    browser.click("#show-pii").await.unwrap();
    browser
        .wait_for_text("#result", "+55*********83")
        .await
        .unwrap();

    // Save: a new version of the secret, the previous one kept.
    browser.click("#save").await.unwrap();
    let saved = browser
        .wait_for_text("#action-status", "saved as a new version")
        .await
        .unwrap();
    assert!(saved.contains("update-secret-version-stage"), "{saved}");
    let stored: Value = serde_json::from_str(
        secrets_client()
            .await
            .get_secret_value()
            .secret_id(&secret_id)
            .send()
            .await
            .unwrap()
            .secret_string()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        stored["webhooks"]["elementor"]["mapping"]["contact_phone_number"],
        "{{ Whatsapp | phone }}"
    );
    assert_eq!(
        stored["webhooks"]["elementor"]["token"],
        demo::ELEMENTOR_TOKEN,
        "a masked token saved back keeps the secret's own"
    );
    assert_eq!(stored["api_access_token"], "studio-cloudchat-token");

    let screenshot = browser.screenshot().await.unwrap();
    let png = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/studio.png");
    std::fs::write(&png, &screenshot).unwrap();
    assert_not_blank(&screenshot);

    // Redrive: the letter goes back to the function's queue, which delivers it once.
    browser.click("#redrive").await.unwrap();
    browser
        .wait_for_text("#action-status", "1 letter(s) sent back")
        .await
        .unwrap();
    browser.quit().await;
    assert!(queues.take(&queues.dead_letters).await.is_empty());
    let records = queues.take(&queues.queue).await;
    assert_eq!(records.len(), 1);
    for _ in 0..2 {
        // SQS may bring a message twice: the second is a duplicate, not a second ticket.
        let event = json!({"Records": [{"messageId": records[0].0, "receiptHandle": "r", "body": records[0].1,
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": records[0].2, "eventSource": "aws:sqs"}]});
        let answer = function
            .handle(LambdaEvent::new(event, Context::default()))
            .await
            .unwrap();
        assert_eq!(answer, json!({"batchItemFailures": []}));
    }
    let received = sandbox.received();
    assert_eq!(received.len(), 1, "delivered once: {received:?}");
    assert_eq!(received[0].body["contact_phone_number"], "+5585987696383");
}

/// A screenshot with something on it: a PNG of the window's size whose pixels are not all one
/// colour.
fn assert_not_blank(screenshot: &[u8]) {
    let decoder = png::Decoder::new(std::io::Cursor::new(screenshot));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let frame = reader.next_frame(&mut pixels).expect("a frame");
    assert!(
        frame.width >= 1000 && frame.height >= 700,
        "{}x{}",
        frame.width,
        frame.height
    );
    let channels = frame.color_type.samples();
    let colours: std::collections::HashSet<&[u8]> =
        pixels[..frame.buffer_size()].chunks(channels).collect();
    assert!(
        colours.len() > 50,
        "the screenshot is (nearly) blank: {} colours",
        colours.len()
    );
}

/// The Studio's API, as the page calls it.
async fn studio_call(running: &studio::Running, path: &str, body: Value) -> Value {
    reqwest_client()
        .post(format!("http://{}{path}", running.addr))
        .header("X-Studio-Token", &running.token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn reqwest_client() -> reqwest::Client {
    ponte::tls::install_crypto();
    reqwest::Client::new()
}

#[tokio::test]
async fn a_routed_lead_shows_why_its_route_took_it_and_what_each_function_would_send() {
    use ponte_devtools::examples::{WELCOME_FUNCTION, sales_routes, welcome_mapping};
    let sandbox = Sandbox::start(0).await.unwrap();
    let tickets = unique_name("studio-tickets");
    let mut secret = json!({"api_access_token": "t", "account_id": 42, "base_url": sandbox.url()});
    secret["webhooks"] = sales_routes("el-token");
    create_secret(&tickets, &secret).await;
    let welcome = unique_name("studio-welcome");
    let mut secret = json!({"api_access_token": "t", "account_id": 42, "base_url": sandbox.url()});
    secret["webhooks"] = welcome_mapping();
    create_secret(&welcome, &secret).await;
    let place = |name: &str, secret_id: &str| FunctionPlace {
        name: name.into(),
        secret_id: secret_id.into(),
        dead_letters: None,
        queue: None,
    };
    let config = ponte_devtools::moto::sdk_config(&moto_endpoint()).await;
    let running = studio::serve(
        Studio {
            token: studio::new_token(),
            functions: vec![
                place(demo::FUNCTION, &tickets),
                place(WELCOME_FUNCTION, &welcome),
            ],
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            events: std::path::PathBuf::from("events"),
        },
        0,
    )
    .await
    .unwrap();

    let body = String::from_utf8(form_fixture("elementor-vendas.urlencoded.txt")).unwrap();
    let tried = studio_call(
        &running,
        "/api/try",
        json!({"function": demo::FUNCTION, "webhooks": studio::masked(sales_routes("el-token")),
               "submission": {"kind": "paste", "source": "elementor", "query": "token=el-token",
                              "headers": "Content-Type: application/x-www-form-urlencoded", "body": body}}),
    )
    .await;
    let one = &tried["submissions"][0];
    assert_eq!(one["route"], "vendas", "{tried}");
    let routes = one["routes"].as_array().unwrap();
    assert_eq!(
        (routes[0]["name"].as_str(), routes[0]["holds"].as_bool()),
        (Some("testes"), Some(false)),
        "the first route was tried and did not hold: {tried}"
    );
    assert_eq!(routes[1]["taken"], true);
    assert_eq!(routes.len(), 2, "routes after the one taken are not tried");
    assert_eq!(one["request"]["body"]["inbox_id"], "5");
    assert_eq!(
        one["request"]["body"]["message"]["content"],
        "Olá Maria: Orçamento"
    );
    let content = one["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "message.content")
        .unwrap();
    let from: Vec<&str> = content["from"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(from, ["Nome", "Interesse"], "{content}");
    // The other function's request, with its own secret and mapping; its phone masked.
    let handed = &one["targets"][0];
    assert_eq!(handed["function"], WELCOME_FUNCTION);
    let request = &handed["result"]["request"]["body"];
    assert_eq!(request["template_name"], "boas_vindas", "{handed}");
    assert_eq!(request["phone_number"], "+55*********83");
    assert!(
        sandbox.received().is_empty(),
        "nothing is sent from the Studio"
    );
}
