//! Sacflow: send a message (text, contact card, template, image, PDF or document).
//!
//! `POST {base}/api/send-message` with the body of `docs/providers/sacflow-send-message.md` and
//! `Authorization: Bearer <token>`. `accountId` may be left out of the event: the connection's
//! `account_id` fills it.

use crate::action::{Action, ExampleForm, ValidationContext};
use crate::connection::{BaseUrl, Hosted, ProviderConnection, Token};
use crate::mask;
use crate::one_of;
use crate::phone::{Phone, PhoneFormat, as_international_digits};
use crate::provider::{ProviderRequest, ProviderResponse, json_body};
use crate::validate::declared;
use crate::validate::{AsText, Count, Field, Fields, HttpUrl, Id, Problems, TextMap, TextUpTo};
use crate::validate::{DeclaredObject, read_key};
use serde::Serialize;
use serde_json::{Value, json};

pub struct SacflowSendMessage;

pub const SUMMARY_MAX: usize = 300;

/// `{"token": "…", "account_id": 123, "base_url": "…"}`; the secret's other keys are webhook
/// settings, read apart.
#[declared]
#[derive(Debug, Clone)]
pub struct SacflowConnection {
    pub token: Token,
    /// The account messages go from when the event names none.
    pub account_id: Option<Id>,
    pub base_url: BaseUrl<SacflowConnection>,
}

impl Hosted for SacflowConnection {
    const DEFAULT_BASE_URL: &'static str = "https://api.sacflow.io";
}

impl ProviderConnection for SacflowConnection {
    const PROVIDER: &'static str = "Sacflow";
    /// Sacflow documents no limit: ten a second is a cautious start.
    const REQUESTS_PER_SECOND: f64 = 10.0;
    const SECRET_SHAPE: &'static str =
        r#"{"token": "...", "account_id": 123, "base_url": "https://api.sacflow.io"}"#;

    fn example(base_url: &str) -> Value {
        json!({"token": "local-sacflow-token", "account_id": 1, "base_url": base_url})
    }
}

/// The validated request; its keys are Sacflow's (camelCase).
#[declared(check = check_send_message)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessage {
    pub account_id: Option<Id>,
    pub channel_id: Id,
    pub contact: Contact,
    pub message: Message,
    pub message_timeout: Option<Count>,
    pub is_private: Option<bool>,
    pub tag_id: Option<Id>,
    pub queue_id: Option<Id>,
    pub session: Option<Session>,
    pub status: Option<TicketStatus>,
    pub ticket_id: Option<Id>,
    pub user_id: Option<Id>,
    pub summary: Option<TextUpTo<SUMMARY_MAX>>,
    pub from: Option<String>,
    pub queued: Option<bool>,
    pub message_timeout_behavior: Option<TimeoutBehaviour>,
    pub message_timeout_flow_id: Option<Id>,
    pub response_flow_id: Option<Id>,
    pub context: Option<Context>,
}

one_of! {
    pub enum TicketStatus { Automatic = "automatic", Pending = "pending", Solved = "solved" }
}

one_of! {
    /// What happens when the contact does not answer within `messageTimeout`.
    pub enum TimeoutBehaviour { Solve = "solve", Flow = "flow" }
}

#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    pub name: String,
    /// Country code and number, digits only (`5511987654321`), as Sacflow's clients send it.
    #[serde(serialize_with = "as_international_digits")]
    pub phone: Phone,
}

one_of! {
    pub enum MessageType {
        Text = "text",
        Contact = "contact",
        Template = "template",
        Image = "image",
        Pdf = "pdf",
        Document = "document",
    }
}

/// The message, tagged by `type`. Note the documentation's `fileName` for PDFs and
/// `filename` for documents; both are kept as written there.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Message {
    Text(TextMessage),
    Contact(ContactCard),
    Template(TemplateMessage),
    Image(ImageMessage),
    Pdf(PdfMessage),
    Document(DocumentMessage),
}

#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextMessage {
    pub body: String,
}

/// A contact card: the business's name and phone, as shown to the customer.
#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactCard {
    pub name: String,
    pub phone: String,
    pub business_description: String,
}

#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateMessage {
    pub name: String,
    pub variables: Option<Vec<AsText>>,
    pub header_variables: Option<Vec<AsText>>,
    pub button_variables: Option<Vec<AsText>>,
}

#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageMessage {
    pub url: HttpUrl,
    pub caption: Option<String>,
}

#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PdfMessage {
    pub url: HttpUrl,
    pub file_name: String,
    pub caption: Option<String>,
}

#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentMessage {
    pub url: HttpUrl,
    pub filename: String,
    pub caption: String,
}

impl Message {
    pub fn kind(&self) -> MessageType {
        match self {
            Message::Text(_) => MessageType::Text,
            Message::Contact(_) => MessageType::Contact,
            Message::Template(_) => MessageType::Template,
            Message::Image(_) => MessageType::Image,
            Message::Pdf(_) => MessageType::Pdf,
            Message::Document(_) => MessageType::Document,
        }
    }
}

/// `type` says which fields the rest of the message has.
impl Field for Message {
    fn read(value: &Value, at: &str, cx: &ValidationContext, p: &mut Problems) -> Option<Self> {
        let mut m = Fields::object(value, at, p)?;
        if !m.given("type") {
            let names: Vec<&str> = MessageType::ALL.iter().map(|t| t.as_str()).collect();
            p.add(
                m.path_of("type"),
                format!("is required: one of {}", names.join(", ")),
            );
            return None;
        }
        let kind = read_key::<Option<MessageType>>(&mut m, "type", cx, p)?;
        let message = match kind {
            MessageType::Text => Message::Text(TextMessage::read_fields(&mut m, cx, p)),
            MessageType::Contact => Message::Contact(ContactCard::read_fields(&mut m, cx, p)),
            MessageType::Template => Message::Template(TemplateMessage::read_fields(&mut m, cx, p)),
            MessageType::Image => Message::Image(ImageMessage::read_fields(&mut m, cx, p)),
            MessageType::Pdf => Message::Pdf(PdfMessage::read_fields(&mut m, cx, p)),
            MessageType::Document => Message::Document(DocumentMessage::read_fields(&mut m, cx, p)),
        };
        m.reject_unknown(p, |_| false);
        Some(message)
    }

    fn placeholder() -> Self {
        Message::Text(TextMessage::placeholder())
    }
}

#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    /// The chatbot's variables, as text; an empty object when left out.
    pub context: TextMap,
}

#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Context {
    pub header: String,
    pub body: String,
    pub buttons: Option<Vec<ContextButton>>,
}

#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextButton {
    #[serde(rename = "type")]
    pub kind: ButtonType,
    pub title: String,
    pub content: String,
}

one_of! {
    pub enum ButtonType { Link = "link", Telephone = "telephone", Copy = "copy" }
}

/// The rules between fields: a flow to run on timeout needs its id, and only text and template
/// messages can wait in Sacflow's queue.
fn check_send_message(
    request: &mut SendMessage,
    _fields: &Fields<'_>,
    _cx: &ValidationContext,
    p: &mut Problems,
) {
    if request.message_timeout_behavior == Some(TimeoutBehaviour::Flow)
        && request.message_timeout_flow_id.is_none()
    {
        p.add(
            "messageTimeoutFlowId",
            "is required when messageTimeoutBehavior is \"flow\"",
        );
    }
    let kind = request.message.kind();
    if request.queued == Some(true) && !matches!(kind, MessageType::Text | MessageType::Template) {
        p.add(
            "queued",
            format!(
                "applies only to text and template messages, not {}",
                kind.as_str()
            ),
        );
    }
}

impl Action for SacflowSendMessage {
    const NAME: &'static str = "sacflow-send-message";
    const PROVIDER_CALL: &'static str = "/api/send-message";
    const ROUTE: &'static str = "/sacflow/messages";
    const STEM: &'static str = "Sacflow";
    const DOES: &'static str = "Sends a Sacflow message (text, media or template) per event";
    const EXAMPLE_FORM: ExampleForm = ExampleForm {
        source: "rdstation",
        fixture: "rdstation-converted.json",
        query: &[("channel_id", "1"), ("template_name", "boas_vindas")],
    };
    type Connection = SacflowConnection;
    type Request = SendMessage;

    fn provider_request(
        request: &SendMessage,
        connection: &SacflowConnection,
    ) -> Result<ProviderRequest, Problems> {
        let Some(account_id) = request.account_id.or(connection.account_id).map(Id::get) else {
            return Err(Problems::single(
                "accountId",
                "is required: send it in the event or put account_id in the connection secret",
            ));
        };
        let mut body = json_body(request)?;
        body["accountId"] = Value::from(account_id);
        Ok(ProviderRequest {
            url: format!("{}/api/send-message", connection.base_url),
            headers: vec![(
                "authorization",
                format!("Bearer {}", connection.token.expose()),
            )],
            body,
        })
    }

    /// Sacflow's clients treat a JSON body with an `error` key as a failure even on 2xx.
    fn failure_in_success(response: &ProviderResponse) -> Option<String> {
        match response.body.get("error") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => None,
            Some(_) => Some(crate::provider::error_message(&response.body)),
        }
    }

    fn default_mapping() -> Value {
        json!({
            "channelId": "{{channel_id}}",
            "contact": {"name": "{{name ?? Cliente}}", "phone": "{{phone}}"},
            "message": {"type": "template", "name": "{{template_name}}"}
        })
    }

    fn example_body() -> Value {
        json!({
            "channelId": 1,
            "contact": {"name": "Ana Lima", "phone": "(21) 99876-5432"},
            "message": {
                "type": "template",
                "name": "confirmacao_agendamento",
                "variables": ["Ana", "25/11 às 14h", "PED-2026-{order}"]
            },
            "summary": "Agendamento confirmado pelo site (pedido PED-2026-{order})"
        })
    }

    fn contact_for_log(request: &SendMessage) -> String {
        mask::phone(
            &request
                .contact
                .phone
                .to_format(PhoneFormat::InternationalDigits),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn validate(body: Value) -> Result<SendMessage, Problems> {
        SacflowSendMessage::validate(&body, &ValidationContext::default())
    }

    fn fields(problems: &Problems) -> Vec<&str> {
        problems.list().iter().map(|p| p.field.as_str()).collect()
    }

    fn connection(account_id: Option<u64>) -> SacflowConnection {
        SacflowConnection {
            token: Token::new("API_TOKEN"),
            account_id: account_id.map(Id::from),
            base_url: SacflowConnection::DEFAULT_BASE_URL.into(),
        }
    }

    fn seed_template_with_variables() -> Value {
        json!({
            "accountId": 10,
            "channelId": 20,
            "contact": {"name": "Maria", "phone": "5511987654321"},
            "message": {"type": "template", "name": "boas_vindas", "variables": ["VAR1", "VAR2"]}
        })
    }

    #[test]
    fn the_seed_examples_become_the_documented_requests() {
        let request = validate(seed_template_with_variables()).unwrap();
        let call = SacflowSendMessage::provider_request(&request, &connection(None)).unwrap();
        assert_eq!(call.url, "https://api.sacflow.io/api/send-message");
        assert_eq!(
            call.headers,
            vec![("authorization", "Bearer API_TOKEN".to_string())]
        );
        assert_eq!(call.body, seed_template_with_variables());

        let no_variables = json!({
            "accountId": 10, "channelId": 20,
            "contact": {"name": "Maria", "phone": "5511987654321"},
            "message": {"type": "template", "name": "boas_vindas"},
            "queued": false
        });
        let call = SacflowSendMessage::provider_request(
            &validate(no_variables.clone()).unwrap(),
            &connection(None),
        )
        .unwrap();
        assert_eq!(call.body, no_variables);
    }

    #[test]
    fn account_id_comes_from_the_connection_when_left_out() {
        let mut body = seed_template_with_variables();
        body.as_object_mut().unwrap().remove("accountId");
        let request = validate(body).unwrap();
        let call = SacflowSendMessage::provider_request(&request, &connection(Some(77))).unwrap();
        assert_eq!(call.body["accountId"], 77);
        let err = SacflowSendMessage::provider_request(&request, &connection(None)).unwrap_err();
        assert_eq!(fields(&err), ["accountId"]);
    }

    #[test]
    fn phones_are_sent_as_country_code_and_number() {
        let mut body = seed_template_with_variables();
        body["contact"]["phone"] = json!("(85) 98769-6383");
        assert_eq!(
            validate(body)
                .unwrap()
                .contact
                .phone
                .to_format(PhoneFormat::InternationalDigits),
            "5585987696383"
        );
    }

    #[test]
    fn every_message_type_with_its_fields() {
        let cases = [
            json!({"type": "text", "body": "Olá"}),
            json!({"type": "contact", "name": "Loja", "phone": "+55 11 4000-0000", "businessDescription": "Suporte"}),
            json!({"type": "template", "name": "t", "variables": ["a"], "headerVariables": ["h"], "buttonVariables": ["b"]}),
            json!({"type": "image", "url": "https://cdn.example.com/a.png", "caption": "foto"}),
            json!({"type": "pdf", "url": "https://cdn.example.com/a.pdf", "fileName": "a.pdf"}),
            json!({"type": "document", "url": "https://cdn.example.com/a.doc", "filename": "a.doc", "caption": "doc"}),
        ];
        for message in cases {
            let mut body = seed_template_with_variables();
            body["message"] = message.clone();
            let request = validate(body).unwrap_or_else(|e| panic!("{message}: {e}"));
            assert_eq!(serde_json::to_value(&request.message).unwrap(), message);
        }
    }

    #[test]
    fn each_message_type_requires_its_own_fields() {
        let cases = [
            (json!({"type": "text"}), vec!["message.body"]),
            (
                json!({"type": "contact"}),
                vec![
                    "message.name",
                    "message.phone",
                    "message.businessDescription",
                ],
            ),
            (
                json!({"type": "pdf", "url": "x", "filename": "a"}),
                vec!["message.url", "message.fileName", "message.filename"],
            ),
            (
                json!({"type": "document", "url": "https://a.b/c"}),
                vec!["message.filename", "message.caption"],
            ),
            (json!({"type": "video"}), vec!["message.type"]),
            (json!({"body": "x"}), vec!["message.type"]),
        ];
        for (message, expected) in cases {
            let mut body = seed_template_with_variables();
            body["message"] = message.clone();
            let err = validate(body).unwrap_err();
            assert_eq!(fields(&err), expected, "{message}");
        }
    }

    #[test]
    fn options_are_checked() {
        let mut body = seed_template_with_variables();
        let extra = json!({
            "status": "open",
            "summary": "x".repeat(301),
            "messageTimeoutBehavior": "flow",
            "queued": "yes",
            "session": {"context": {"nota_fiscal": 10020, "bad": {"a": 1}}},
            "context": {"header": "h", "body": "b", "buttons": [{"type": "call", "title": "t", "content": "c"}]},
            "accountld": 1
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let err = validate(body).unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "session.context.bad",
                "status",
                "summary",
                "queued",
                "context.buttons[0].type",
                // The rules between fields are checked once every field is read.
                "messageTimeoutFlowId",
                "accountld"
            ]
        );
    }

    #[test]
    fn queued_only_for_text_and_template() {
        let mut body = seed_template_with_variables();
        body["message"] = json!({"type": "image", "url": "https://a.b/c.png"});
        body["queued"] = json!(true);
        assert_eq!(fields(&validate(body).unwrap_err()), ["queued"]);
    }

    #[test]
    fn session_context_values_become_text() {
        let mut body = seed_template_with_variables();
        body["session"] = json!({"context": {"nota_fiscal": 10020}});
        body["messageTimeoutBehavior"] = json!("flow");
        body["messageTimeoutFlowId"] = json!(5);
        let request = validate(body).unwrap();
        assert_eq!(
            serde_json::to_value(&request.session).unwrap(),
            json!({"context": {"nota_fiscal": "10020"}})
        );
    }

    #[test]
    fn an_error_key_in_a_success_is_a_failure() {
        let ok = ProviderResponse {
            status: 200,
            body: json!({"success": true}),
            retry_after_seconds: None,
        };
        assert_eq!(SacflowSendMessage::failure_in_success(&ok), None);
        let failed = ProviderResponse {
            status: 200,
            body: json!({"error": "Canal desconectado"}),
            retry_after_seconds: None,
        };
        assert_eq!(
            SacflowSendMessage::failure_in_success(&failed).as_deref(),
            Some("Canal desconectado")
        );
    }
}
