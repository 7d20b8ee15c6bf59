//! Form-builder webhooks end to end: each source's real-shaped body, through API Gateway HTTP
//! API (base64 body) and REST API events, checked for authenticity, mapped, and sent; the
//! provider stand-in checks the resulting request exactly.

mod support;

use lambda_runtime::{Context, LambdaEvent};
use ponte::actions::{
    CloudChatCreateConversation, CloudChatProactiveWhatsapp, SacflowSendMessage, WeglyCreateChat,
};
use ponte::authenticity::sign;
use ponte::{Action, App};
use serde_json::{Value, json};
use support::*;
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn invoke<A: Action>(app: &App<A>, event: Value) -> (u16, Value) {
    let answer = app
        .handle(LambdaEvent::new(event, Context::default()))
        .await
        .expect("the handler answers");
    http_answer(&answer)
}

/// A function whose secret holds `connection` plus `webhooks` settings.
async fn function<A: Action>(connection: Value) -> App<A> {
    let name = unique_name("forms");
    create_secret(&name, &connection).await;
    app(Some(&name)).await
}

fn cloudchat_secret(server: &MockServer, webhooks: Value) -> Value {
    json!({"api_access_token": "cc", "account_id": 42, "base_url": server.uri(), "webhooks": webhooks})
}

/// A stand-in that expects exactly `times` tickets with `body`.
async fn expect_ticket(server: &MockServer, body: Value, times: u64) {
    Mock::given(method("POST"))
        .and(path("/api/v1/accounts/42/conversations"))
        .and(body_json(body))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": 321, "status": "open"})),
        )
        .expect(times)
        .mount(server)
        .await;
}

const BOTH: [Api; 2] = [Api::HttpV2, Api::RestV1];

#[tokio::test]
async fn typeform_signed_and_mapped_to_a_ticket() {
    let server = MockServer::start().await;
    expect_ticket(
        &server,
        json!({
            "inbox_id": "7",
            "contact_email": "laura@example.com",
            "message": {"content": "Nome: Laura\nCidade favorita: London\nNota: 3", "message_type": "incoming"},
            "custom_attributes": {"typeform_user": "abc123456", "evento": "LtWXD3crgy"}
        }),
        2,
    )
    .await;
    let app: App<CloudChatCreateConversation> = function(cloudchat_secret(&server, json!({
        "typeform": {
            "signing_secret": "tf-secret",
            "mapping": {
                "inbox_id": "7",
                "contact_email": "{{readable_ref_email}}",
                "message": {
                    "content": "Nome: {{readable_ref_short_text}}\nCidade favorita: {{readable_ref_multiple_choice}}\nNota: {{readable_ref_rating}}",
                    "message_type": "incoming"
                },
                "custom_attributes": {"typeform_user": "{{user_id}}", "evento": "{{submission_id}}"}
            }
        }
    })))
    .await;
    let body = form_fixture("typeform.json");
    let signature = sign(b"tf-secret", &body);
    for api in BOTH {
        let headers = [
            ("Content-Type", "application/json"),
            ("Typeform-Signature", signature.as_str()),
        ];
        let (status, json) = invoke(&app, form_event(api, "typeform", &body, &headers, &[])).await;
        assert_eq!(status, 200, "{api:?}: {json}");
        assert_eq!(
            (json["source"].as_str(), json["submission_id"].as_str()),
            (Some("typeform"), Some("LtWXD3crgy"))
        );
    }
}

#[tokio::test]
async fn a_dry_run_shows_what_a_mapping_makes_of_a_submission_and_sends_nothing() {
    let server = MockServer::start().await;
    expect_nothing(&server).await;
    let app: App<CloudChatCreateConversation> = function(cloudchat_secret(
        &server,
        json!({"typeform": {
            "signing_secret": "tf-secret",
            "mapping": {
                "inbox_id": "{{inbox_id}}",
                "contact_email": "{{readable_ref_email}}",
                "message": {"content": "Nome: {{readable_ref_short_text}}"},
                "custom_attributes": {"evento": "{{submission_id}}"}
            }
        }}),
    ))
    .await;
    let body = form_fixture("typeform.json");
    let signature = sign(b"tf-secret", &body);
    let signed = [
        ("Content-Type", "application/json"),
        ("Typeform-Signature", signature.as_str()),
    ];
    let query = [("inbox_id", "7"), ("dry_run", "true")];
    for api in BOTH {
        let (status, json) =
            invoke(&app, form_event(api, "typeform", &body, &signed, &query)).await;
        assert_eq!(status, 200, "{api:?}: {json}");
        assert_eq!(
            (json["dry_run"].as_bool(), json["submission_id"].as_str()),
            (Some(true), Some("LtWXD3crgy"))
        );
        assert_eq!(
            json["request"]["body"],
            json!({
                "inbox_id": "7",
                "contact_email": "laura@example.com",
                "message": {"content": "Nome: Laura"},
                "custom_attributes": {"evento": "LtWXD3crgy"}
            })
        );
    }
    // A dry run is checked as a delivery is: unsigned, it is refused.
    let unsigned = [("Content-Type", "application/json")];
    let (status, _) = invoke(
        &app,
        form_event(Api::HttpV2, "typeform", &body, &unsigned, &query),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_url_picks_a_named_mapping_for_each_form() {
    let server = MockServer::start().await;
    expect_ticket(
        &server,
        json!({"inbox_id": "5", "contact_email": "laura@example.com", "message": {"content": "Orçamento de Laura"}}),
        1,
    )
    .await;
    let app: App<CloudChatCreateConversation> = function(cloudchat_secret(
        &server,
        json!({"mappings": {
            "orcamento": {
                "inbox_id": "5",
                "contact_email": "{{readable_ref_email}}",
                "message": {"content": "Orçamento de {{readable_ref_short_text}}"}
            },
            "contato": {"inbox_id": "3", "contact_identifier": "{{submission_id}}"}
        }}),
    ))
    .await;
    let body = form_fixture("typeform.json");
    let json_body = [("Content-Type", "application/json")];
    let send = |query: &'static [(&'static str, &'static str)]| {
        invoke(
            &app,
            form_event(Api::HttpV2, "typeform", &body, &json_body, query),
        )
    };

    let (status, json) = send(&[("mapping", "contato"), ("dry_run", "1")]).await;
    assert_eq!(
        (status, &json["request"]["body"]),
        (
            200,
            &json!({"inbox_id": "3", "contact_identifier": "LtWXD3crgy"})
        ),
        "{json}"
    );
    let (status, json) = send(&[("mapping", "orcamento")]).await;
    assert_eq!(status, 200, "{json}");

    assert_failure(
        &send(&[("mapping", "vendas")]).await,
        500,
        "configuration",
        "has only orcamento, contato",
    );
}

#[tokio::test]
async fn forged_or_unsigned_webhooks_are_refused_and_nothing_is_sent() {
    let server = MockServer::start().await;
    expect_nothing(&server).await;
    let app: App<CloudChatCreateConversation> = function(cloudchat_secret(
        &server,
        json!({
            "typeform": {"signing_secret": "tf-secret"},
            "tally": {"signing_secret": "tally-secret"},
            "elementor": {"token": "el-token"}
        }),
    ))
    .await;
    let body = form_fixture("typeform.json");
    let forged = sign(b"not-the-secret", &body);
    let tampered = sign(b"tf-secret", b"{}");
    type Headers<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(&str, Vec<u8>, Headers, Headers, &str)> = vec![
        (
            "typeform",
            body.clone(),
            vec![],
            vec![],
            "the typeform-signature header is missing",
        ),
        (
            "typeform",
            body.clone(),
            vec![("Typeform-Signature", forged.as_str())],
            vec![],
            "does not match",
        ),
        (
            "typeform",
            body.clone(),
            vec![("Typeform-Signature", tampered.as_str())],
            vec![],
            "does not match",
        ),
        (
            "tally",
            form_fixture("tally.json"),
            vec![("Tally-Signature", "bm9wZQ==")],
            vec![],
            "does not match",
        ),
        (
            "elementor",
            form_fixture("elementor-simple.urlencoded.txt"),
            vec![],
            vec![],
            // The test token every event presents is not this route's own.
            "the token is wrong",
        ),
        (
            "elementor",
            form_fixture("elementor-simple.urlencoded.txt"),
            vec![],
            vec![("token", "wrong")],
            "the token is wrong",
        ),
    ];
    for (source, body, headers, query, message) in cases {
        for api in BOTH {
            let (status, json) =
                invoke(&app, form_event(api, source, &body, &headers, &query)).await;
            assert_eq!(
                (status, json["error"]["kind"].as_str()),
                (401, Some("unauthorized")),
                "{source} {api:?}: {json}"
            );
            assert!(
                json["error"]["message"].as_str().unwrap().contains(message),
                "{json}"
            );
        }
    }
}

#[tokio::test]
async fn tally_to_a_wegly_chat_with_template_fields() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/integrations/external/chats"))
        .and(body_json(json!({
            "whatsapp_phone_id": "0b28ee57-7a57-4407-a9c5-5cd4e5a5fd6c",
            "wa_contact_id": "32491223344",
            "template": {"name": "boas_vindas", "language": "pt_BR"},
            "template_fields": [
                {"component": "BODY", "type": "TEXT", "index": 1, "value": "Hello"},
                {"component": "BODY", "type": "TEXT", "index": 2, "value": "Swimming, Skiing"}
            ],
            "remote_profile_name": "Alice Smith"
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "3c90c3cc-0d44-4b50-8888-8dd25736052a"})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let app: App<WeglyCreateChat> = function(json!({
        "token": "wg", "base_url": server.uri(),
        "webhooks": {"tally": {
            "signing_secret": "tally-secret",
            "mapping": {
                "whatsapp_phone_id": "{{whatsapp_phone_id}}",
                "wa_contact_id": "{{Phone number}}",
                "template": {"name": "boas_vindas", "language": "pt_BR"},
                "template_fields": [
                    {"component": "BODY", "type": "TEXT", "index": 1, "value": "{{Text}}"},
                    {"component": "BODY", "type": "TEXT", "index": 2, "value": "{{Checkboxes}}"}
                ],
                "remote_profile_name": "{{Payment (name)}}"
            }
        }}
    }))
    .await;
    let body = form_fixture("tally.json");
    // Tally sends the bare base64 signature, without a "sha256=" prefix.
    let signature = sign(b"tally-secret", &body)["sha256=".len()..].to_string();
    let query = [("whatsapp_phone_id", "0b28ee57-7a57-4407-a9c5-5cd4e5a5fd6c")];
    for api in BOTH {
        let headers = [
            ("Content-Type", "application/json"),
            ("Tally-Signature", signature.as_str()),
        ];
        let (status, json) = invoke(&app, form_event(api, "tally", &body, &headers, &query)).await;
        assert_eq!(status, 200, "{api:?}: {json}");
        assert_eq!(
            json["submission_id"],
            "a4cb511e-d513-4fa5-baee-b815d718dfd1"
        );
    }
}

#[tokio::test]
async fn jotform_to_a_sacflow_message_and_previews_send_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/send-message"))
        .and(body_json(json!({
            "accountId": 9, "channelId": 4,
            "contact": {"name": "José Araújo", "phone": "5585987696383"},
            "message": {"type": "text", "body": "Olá José Araújo! Recebemos: Quero o plano \"Pro\""},
            "summary": "Interesses: Suporte, Vendas"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(2)
        .mount(&server)
        .await;
    let app: App<SacflowSendMessage> = function(json!({
        "token": "sf", "account_id": 9, "base_url": server.uri(),
        "webhooks": {"jotform": {
            "token": "jf-secret",
            "mapping": {
                "channelId": "{{channel_id}}",
                "contact": {"name": "{{nome}}", "phone": "{{telefone}}"},
                "message": {"type": "text", "body": "Olá {{nome}}! Recebemos: {{mensagem}}"},
                "summary": "Interesses: {{interesses}}",
                "tagId": "{{obs?}}"
            }
        }}
    }))
    .await;
    let raw_request = json!({
        "slug": "submit/243231271343446",
        "q3_nome": {"first": "José", "last": "Araújo"},
        "q4_telefone": {"full": "(85) 98769-6383"},
        "q5_mensagem": "Quero o plano &quot;Pro&quot;",
        "q6_interesses": ["Suporte", "Vendas"],
        "q7_obs": "",
        "timeToSubmit": "12"
    })
    .to_string();
    let (body, content_type) = multipart(&[
        ("formID", "243231271343446"),
        ("submissionID", "5880000000000000001"),
        ("formTitle", "Fale conosco"),
        ("rawRequest", &raw_request),
        ("pretty", "Nome:José Araújo, Telefone:(85) 98769-6383"),
    ]);
    let query = [("token", "jf-secret"), ("channel_id", "4")];
    for api in BOTH {
        let headers = [("Content-Type", content_type.as_str())];
        let (status, json) =
            invoke(&app, form_event(api, "jotform", &body, &headers, &query)).await;
        assert_eq!(status, 200, "{api:?}: {json}");
        assert_eq!(json["submission_id"], "5880000000000000001");
    }
    // The real JotForm sample is a preview: a test delivery, answered 200, nothing sent.
    let preview = form_fixture("jotform.multipart.txt");
    let headers = [(
        "content-type",
        "multipart/form-data; boundary=------------------------J1JNT4vbVO4FCC1qLG4HSv",
    )];
    let (status, json) = invoke(
        &app,
        form_event(Api::HttpV2, "jotform", &preview, &headers, &query),
    )
    .await;
    assert_eq!(
        (status, json["test"].as_bool()),
        (200, Some(true)),
        "{json}"
    );
}

#[tokio::test]
async fn google_forms_zero_configuration_ticket() {
    let server = MockServer::start().await;
    expect_ticket(
        &server,
        json!({
            "inbox_id": "2",
            "contact_email": "maria@example.com.br",
            "contact_phone_number": "+5511987654321",
            "message": {
                "content": "Nome completo: Maria da Silva\nE-mail: maria@example.com.br\nWhatsApp: (11) 98765-4321\nAssunto: Suporte\nProdutos de interesse: Plano Básico, Integração WhatsApp\nMensagem: Não consigo acessar o painel desde ontem.\nPodem me ligar?",
                "message_type": "incoming"
            }
        }),
        2,
    )
    .await;
    let app: App<CloudChatCreateConversation> = function(cloudchat_secret(
        &server,
        json!({"google-forms": {"signing_secret": "gf-secret"}}),
    ))
    .await;
    let body = form_fixture("google-forms.json");
    let signature = sign(b"gf-secret", &body);
    for api in BOTH {
        let headers = [
            ("Content-Type", "application/json"),
            ("X-Ponte-Signature", signature.as_str()),
        ];
        let (status, json) = invoke(
            &app,
            form_event(api, "google-forms", &body, &headers, &[("inbox_id", "2")]),
        )
        .await;
        assert_eq!(status, 200, "{api:?}: {json}");
    }
}

#[tokio::test]
async fn elementor_simple_mode_with_a_token_and_no_mapping() {
    let server = MockServer::start().await;
    expect_ticket(
        &server,
        json!({
            "inbox_id": "7",
            "contact_email": "teste@gmail.com",
            "contact_phone_number": "+5585987696383",
            "message": {"content": "Seu nome: Teste\nSeu melhor email: teste@gmail.com\nWhatsapp: (85) 98769-6383", "message_type": "incoming"}
        }),
        2,
    )
    .await;
    let app: App<CloudChatCreateConversation> = function(cloudchat_secret(
        &server,
        json!({"elementor": {"token": "el-token"}}),
    ))
    .await;
    let body = form_fixture("elementor-simple.urlencoded.txt");
    for api in BOTH {
        let headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("User-Agent", "WordPress/6.8; https://example.com"),
        ];
        let query = [("token", "el-token"), ("inbox_id", "7")];
        let (status, json) =
            invoke(&app, form_event(api, "elementor", &body, &headers, &query)).await;
        // Elementor counts only an exact 200 as success.
        assert_eq!(status, 200, "{api:?}: {json}");
    }
}

#[tokio::test]
async fn elementor_advanced_mode_to_a_proactive_whatsapp_conversation() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/accounts/42/conversations/create_proactive_whatsapp_conversation"))
        .and(body_json(json!({"inbox_id": "5", "phone_number": "+5596991712835", "template_name": "boas_vindas", "nome": "teste"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 8})))
        .expect(2)
        .mount(&server)
        .await;
    let app: App<CloudChatProactiveWhatsapp> = function(cloudchat_secret(&server, json!({
        "elementor": {"mapping": {"inbox_id": "5", "phone_number": "{{tel}}", "template_name": "boas_vindas", "nome": "{{name}}"}}
    })))
    .await;
    let body = "form%5Bid%5D=1606c7c4&form%5Bname%5D=New+Form&fields%5Bname%5D%5Bid%5D=name&fields%5Bname%5D%5Btype%5D=text&fields%5Bname%5D%5Btitle%5D=&fields%5Bname%5D%5Bvalue%5D=teste&fields%5Bemail%5D%5Bid%5D=email&fields%5Bemail%5D%5Btype%5D=email&fields%5Bemail%5D%5Bvalue%5D=testando3%40gmail.com&fields%5Btel%5D%5Bid%5D=tel&fields%5Btel%5D%5Btype%5D=tel&fields%5Btel%5D%5Bvalue%5D=96991712835&fields%5Butm_source%5D%5Bid%5D=utm_source&fields%5Butm_source%5D%5Bvalue%5D=ig&meta%5Bpage_url%5D%5Bvalue%5D=https%3A%2F%2Fexample.com%2F";
    for api in BOTH {
        let headers = [("Content-Type", "application/x-www-form-urlencoded")];
        let (status, json) = invoke(
            &app,
            form_event(api, "elementor", body.as_bytes(), &headers, &[]),
        )
        .await;
        assert_eq!(status, 200, "{api:?}: {json}");
    }
}

/// Elementor posts through WordPress's HTTP API, which gives up after 5 seconds: a slow provider
/// is cut short so that Elementor hears an answer, not a timeout of its own.
#[tokio::test]
async fn elementor_is_answered_within_its_five_seconds_when_the_provider_is_slow() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 8}))
                .set_delay(std::time::Duration::from_secs(8)),
        )
        .mount(&server)
        .await;
    let app: App<CloudChatCreateConversation> =
        function(cloudchat_secret(&server, json!({}))).await;
    let body = form_fixture("elementor-simple.urlencoded.txt");
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let started = std::time::Instant::now();
    let (status, json) = invoke(
        &app,
        form_event(
            Api::HttpV2,
            "elementor",
            &body,
            &headers,
            &[("inbox_id", "7")],
        ),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(
        json["error"]["kind"], "provider_timeout",
        "{status}: {json}"
    );
    assert!(
        took < std::time::Duration::from_secs(5),
        "answered in {took:?}, after Elementor gave up"
    );
}

#[tokio::test]
async fn rd_station_to_a_sacflow_template_with_the_default_mapping() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/send-message"))
        .and(body_json(json!({
            "accountId": 9, "channelId": 3,
            "contact": {"name": "Contact Name", "phone": "554830252598"},
            "message": {"type": "template", "name": "boas_vindas"}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(2)
        .mount(&server)
        .await;
    let app: App<SacflowSendMessage> = function(json!({
        "token": "sf", "account_id": 9, "base_url": server.uri(),
        "webhooks": {"rdstation": {"token": "rd-token"}}
    }))
    .await;
    let body = form_fixture("rdstation-converted.json");
    for api in BOTH {
        let headers = [
            ("Content-Type", "application/json"),
            ("X-Ponte-Token", "rd-token"),
        ];
        let query = [("channel_id", "3"), ("template_name", "boas_vindas")];
        let (status, json) =
            invoke(&app, form_event(api, "rdstation", &body, &headers, &query)).await;
        assert_eq!(status, 200, "{api:?}: {json}");
    }
    // RD Station's URL check is answered without sending anything.
    let (status, json) = invoke(
        &app,
        form_event(
            Api::HttpV2,
            "rdstation",
            b"{}",
            &[("X-Ponte-Token", "rd-token")],
            &[],
        ),
    )
    .await;
    assert_eq!((status, json["test"].as_bool()), (200, Some(true)));
}

#[tokio::test]
async fn contact_form_7_and_generic_bodies_with_the_default_mapping() {
    let server = MockServer::start().await;
    expect_ticket(
        &server,
        json!({
            "inbox_id": "1",
            "contact_email": "ana@example.com",
            "contact_phone_number": "+5521998765432",
            "message": {"content": "your-name: Ana Lima\nyour-email: ana@example.com\nyour-phone: +55 21 99876-5432\nyour-message: Preciso de ajuda", "message_type": "incoming"}
        }),
        2,
    )
    .await;
    expect_ticket(
        &server,
        json!({
            "inbox_id": "1",
            "contact_email": "joao@example.com",
            "contact_phone_number": "+5511987654321",
            "message": {"content": "nome: João\nemail: joao@example.com\ntelefone: 11987654321\ninteresse: A, B\nmensagem: Oi, tudo bem?", "message_type": "incoming"}
        }),
        3,
    )
    .await;
    let app: App<CloudChatCreateConversation> =
        function(cloudchat_secret(&server, json!({}))).await;
    // Fields keep the order the form sent them in, JSON included.
    let query = [("inbox_id", "1")];
    let cf7 = json!({"your-name": "Ana Lima", "your-email": "ana@example.com", "your-phone": "+55 21 99876-5432", "your-message": "Preciso de ajuda", "your-subject": ""}).to_string();
    for api in BOTH {
        let (status, json) = invoke(
            &app,
            form_event(
                api,
                "cf7",
                cf7.as_bytes(),
                &[("Content-Type", "application/json")],
                &query,
            ),
        )
        .await;
        assert_eq!(status, 200, "{api:?}: {json}");
    }
    let urlencoded = "nome=Jo%C3%A3o&email=joao%40example.com&telefone=11987654321&interesse=A&interesse=B&mensagem=Oi%2C+tudo+bem%3F";
    let (status, json) = invoke(
        &app,
        form_event(
            Api::HttpV2,
            "generic",
            urlencoded.as_bytes(),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &query,
        ),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    let (body, content_type) = multipart(&[
        ("nome", "João"),
        ("email", "joao@example.com"),
        ("telefone", "11987654321"),
        ("interesse", "A"),
        ("interesse", "B"),
        ("mensagem", "Oi, tudo bem?"),
    ]);
    let (status, json) = invoke(
        &app,
        form_event(
            Api::HttpV2,
            "generic",
            &body,
            &[("Content-Type", &content_type)],
            &query,
        ),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    let json_body = r#"{"nome": "João", "email": "joao@example.com", "telefone": "11987654321", "interesse": ["A", "B"], "mensagem": "Oi, tudo bem?"}"#;
    let (status, json) = invoke(
        &app,
        form_event(
            Api::RestV1,
            "generic",
            json_body.as_bytes(),
            &[("Content-Type", "application/json")],
            &query,
        ),
    )
    .await;
    assert_eq!(status, 200, "{json}");
}

#[tokio::test]
async fn mapping_problems_name_the_field_and_send_nothing() {
    let server = MockServer::start().await;
    expect_nothing(&server).await;
    let app: App<CloudChatCreateConversation> = function(cloudchat_secret(&server, json!({
        "typeform": {"mapping": {"inbox_id": "1", "contact_identifier": "{{cpf}}", "contact_email": "{{email}}"}}
    })))
    .await;
    let body = form_fixture("typeform.json");
    let (status, json) = invoke(&app, form_event(Api::HttpV2, "typeform", &body, &[], &[])).await;
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (400, Some("validation")),
        "{json}"
    );
    assert_eq!(
        json["error"]["fields"],
        json!([{"field": "contact_identifier", "problem": "needs the answer {{cpf}}, which this submission does not have"}])
    );

    // The default mapping needs an inbox: without ?inbox_id= the answer says so.
    let (status, json) = invoke(
        &app,
        form_event(
            Api::HttpV2,
            "cf7",
            br#"{"your-email": "a@example.com"}"#,
            &[],
            &[],
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(json["error"]["fields"][0]["field"], "inbox_id");

    // A mapping that produces an invalid request is refused by the action's validation.
    let (status, json) = invoke(
        &app,
        form_event(
            Api::HttpV2,
            "cf7",
            br#"{"your-email": "not an e-mail"}"#,
            &[],
            &[("inbox_id", "1")],
        ),
    )
    .await;
    assert_eq!(
        (status, json["error"]["fields"][0]["field"].as_str()),
        (400, Some("contact_email")),
        "{json}"
    );
}

#[tokio::test]
async fn a_broken_mapping_in_the_secret_is_a_configuration_error_saying_where() {
    let server = MockServer::start().await;
    expect_nothing(&server).await;
    let app: App<CloudChatCreateConversation> = function(cloudchat_secret(
        &server,
        json!({
            "typeform": {"mapping": {"inbox_id": "1", "message": {"content": "Olá {{name"}}}
        }),
    ))
    .await;
    let (status, json) = invoke(
        &app,
        form_event(
            Api::HttpV2,
            "typeform",
            &form_fixture("typeform.json"),
            &[],
            &[],
        ),
    )
    .await;
    assert_configuration_told_by_kind(&(status, json), "webhooks.typeform");
    let logged = logged_failure(&app, &json!({"inbox_id": "1", "contact_identifier": "c-1"})).await;
    assert!(
        logged.contains("webhooks.typeform.mapping.message.content: a placeholder is not closed"),
        "{logged}"
    );
}

#[tokio::test]
async fn unknown_sources_url_checks_and_direct_tokens() {
    let server = MockServer::start().await;
    expect_ticket(
        &server,
        json!({"inbox_id": "1", "contact_identifier": "c-1"}),
        2,
    )
    .await;
    let app: App<CloudChatCreateConversation> = function(cloudchat_secret(
        &server,
        json!({"direct": {"token": "direct-token"}}),
    ))
    .await;

    let (status, json) = invoke(&app, form_event(Api::HttpV2, "wix", b"{}", &[], &[])).await;
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (404, Some("unknown_source"))
    );

    // A mistyped source on the local path (cargo lambda watch's function URL, no route
    // parameters) is refused by name, not taken for a direct call.
    let mut local = form_event(Api::HttpV2, "elementer", b"Nome=Ana", &[], &[]);
    local["rawPath"] = json!("/lambda-url/cloudchat-create-conversation/elementer");
    local["requestContext"]["http"]["path"] = local["rawPath"].clone();
    local.as_object_mut().unwrap().remove("pathParameters");
    let (status, json) = invoke(&app, local).await;
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (404, Some("unknown_source"))
    );
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("elementor")
    );

    let mut check = form_event(Api::HttpV2, "typeform", b"", &[], &[]);
    check["requestContext"]["http"]["method"] = json!("GET");
    let (status, json) = invoke(&app, check).await;
    assert_eq!((status, json["test"].as_bool()), (200, Some(true)));

    let body = json!({"inbox_id": "1", "contact_identifier": "c-1"}).to_string();
    let mut without = rest_v1(&body);
    without["headers"]
        .as_object_mut()
        .unwrap()
        .remove("X-Ponte-Token");
    let (status, _) = invoke(&app, without.clone()).await;
    assert_eq!(status, 401, "a direct call without the token");
    let mut with_bearer = without;
    with_bearer["headers"]["Authorization"] = json!("Bearer direct-token");
    assert_eq!(invoke(&app, with_bearer).await.0, 200);
    let mut with_header = http_v2("POST", &body);
    with_header["headers"]["x-ponte-token"] = json!("direct-token");
    assert_eq!(invoke(&app, with_header).await.0, 200);
}

#[tokio::test]
async fn template_variables_for_each_whatsapp_action() {
    // One generic submission, mapped onto Sacflow's variable arrays and Cloud Chat's named root
    // keys and button parameters.
    let body = r#"{"nome": "Ana", "pedido": "PED-77", "cupom": "", "telefone": "(21) 99876-5432"}"#;
    let headers = [("Content-Type", "application/json")];

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/send-message"))
        .and(body_json(json!({
            "accountId": 9, "channelId": 2,
            "contact": {"name": "Ana", "phone": "5521998765432"},
            "message": {
                "type": "template", "name": "pedido_enviado",
                "variables": ["Ana", "PED-77", ""],
                "headerVariables": ["PED-77"],
                "buttonVariables": ["sem cupom"]
            }
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messageId": 1})))
        .expect(1)
        .mount(&server)
        .await;
    let sacflow: App<SacflowSendMessage> = function(json!({
        "token": "sf", "account_id": 9, "base_url": server.uri(),
        "webhooks": {"generic": {"mapping": {
            "channelId": 2,
            "contact": {"name": "{{nome}}", "phone": "{{telefone}}"},
            "message": {
                "type": "template", "name": "pedido_enviado",
                "variables": ["{{nome}}", "{{pedido}}", "{{cupom?}}"],
                "headerVariables": ["{{pedido}}"],
                "buttonVariables": ["{{cupom ?? sem cupom}}"]
            }
        }}}
    }))
    .await;
    let (status, json) = invoke(
        &sacflow,
        form_event(Api::HttpV2, "generic", body.as_bytes(), &headers, &[]),
    )
    .await;
    assert_eq!(status, 200, "{json}");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(
            "/api/v1/accounts/42/conversations/create_proactive_whatsapp_conversation",
        ))
        .and(body_json(json!({
            "inbox_id": "4", "phone_number": "+5521998765432", "template_name": "pedido_enviado",
            "button_param_0": "PED-77", "nome": "Ana", "pedido": "PED-77"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 3})))
        .expect(1)
        .mount(&server)
        .await;
    let proactive: App<CloudChatProactiveWhatsapp> = function(cloudchat_secret(&server, json!({
        "generic": {"mapping": {
            "inbox_id": "4", "phone_number": "{{telefone}}", "template_name": "pedido_enviado",
            "button_param_0": "{{pedido}}", "nome": "{{nome}}", "pedido": "{{pedido}}", "cupom": "{{cupom?}}"
        }}
    })))
    .await;
    let (status, json) = invoke(
        &proactive,
        form_event(Api::RestV1, "generic", body.as_bytes(), &headers, &[]),
    )
    .await;
    assert_eq!(status, 200, "{json}");
}
