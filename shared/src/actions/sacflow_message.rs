//! Sacflow: send a message (text, contact card, template, image, PDF or document).
//!
//! `POST {base}/api/send-message` with the body of `docs/providers/sacflow-send-message.md` and
//! `Authorization: Bearer <token>`. `accountId` may be left out of the event: the connection's
//! `account_id` fills it.

use crate::action::{Action, ValidationContext};
use crate::connection::{Connection, Token, base_url, required_token};
use crate::mask;
use crate::phone::{Phone, PhoneFormat};
use crate::provider::{ProviderRequest, ProviderResponse};
use crate::validate::{Fields, Problems, check_url};
use serde::Serialize;
use serde_json::{Map, Value, json};

pub struct SacflowSendMessage;

pub const DEFAULT_BASE_URL: &str = "https://api.sacflow.io";
pub const SUMMARY_MAX: usize = 300;
pub const STATUSES: &[&str] = &["automatic", "pending", "solved"];
pub const TIMEOUT_BEHAVIOURS: &[&str] = &["solve", "flow"];
pub const MESSAGE_TYPES: &[&str] = &["text", "contact", "template", "image", "pdf", "document"];
pub const BUTTON_TYPES: &[&str] = &["link", "telephone", "copy"];

/// `{"token": "…", "account_id": 123, "base_url": "…"}`
#[derive(Debug, Clone)]
pub struct SacflowConnection {
    pub token: Token,
    pub account_id: Option<u64>,
    pub base_url: String,
}

impl Connection for SacflowConnection {
    const PROVIDER: &'static str = "Sacflow";

    fn from_secret(value: &Value) -> Result<Self, Problems> {
        let mut problems = Problems::new();
        let Some(mut f) = Fields::object(value, "", &mut problems) else {
            return Err(problems);
        };
        let token = required_token(&mut f, "token", &mut problems);
        let account_id = f.optional_id("account_id", &mut problems);
        let base_url = base_url(&mut f, "base_url", DEFAULT_BASE_URL, &mut problems);
        problems.into_result()?;
        Ok(Self {
            token,
            account_id,
            base_url,
        })
    }
}

/// The validated request; its field names are Sacflow's (camelCase).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<u64>,
    pub channel_id: u64,
    pub contact: Contact,
    pub message: Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_timeout: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_private: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_timeout_behavior: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_timeout_flow_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_flow_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    pub name: String,
    /// Country code and number, digits only (`5511987654321`), as Sacflow's clients send it.
    pub phone: String,
}

/// The message, tagged by `type`. Note the documentation's `fileName` for PDFs and
/// `filename` for documents; both are kept as written there.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Message {
    Text {
        body: String,
    },
    Contact {
        name: String,
        phone: String,
        #[serde(rename = "businessDescription")]
        business_description: String,
    },
    Template {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        variables: Option<Vec<String>>,
        #[serde(rename = "headerVariables", skip_serializing_if = "Option::is_none")]
        header_variables: Option<Vec<String>>,
        #[serde(rename = "buttonVariables", skip_serializing_if = "Option::is_none")]
        button_variables: Option<Vec<String>>,
    },
    Image {
        url: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
    },
    Pdf {
        url: String,
        #[serde(rename = "fileName")]
        file_name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
    },
    Document {
        url: String,
        filename: String,
        caption: String,
    },
}

impl Message {
    fn kind(&self) -> &'static str {
        match self {
            Message::Text { .. } => "text",
            Message::Contact { .. } => "contact",
            Message::Template { .. } => "template",
            Message::Image { .. } => "image",
            Message::Pdf { .. } => "pdf",
            Message::Document { .. } => "document",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub context: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Context {
    pub header: String,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buttons: Option<Vec<ContextButton>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextButton {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub content: String,
}

fn read_url(f: &mut Fields<'_>, p: &mut Problems) -> String {
    let path = f.path_of("url");
    let url = f.required_str("url", p);
    if !url.is_empty() {
        check_url(&path, &url, p);
    }
    url
}

fn read_message(mut m: Fields<'_>, p: &mut Problems) -> Option<Message> {
    let path = m.path_of("type");
    let kind = match m.take("type") {
        None => {
            p.add(
                path,
                format!("is required: one of {}", MESSAGE_TYPES.join(", ")),
            );
            None
        }
        Some(Value::String(s)) if MESSAGE_TYPES.contains(&s.as_str()) => Some(s.as_str()),
        Some(other) => {
            p.add(
                path,
                format!("must be one of {}, not {other}", MESSAGE_TYPES.join(", ")),
            );
            None
        }
    };
    let message = match kind? {
        "text" => Message::Text {
            body: m.required_str("body", p),
        },
        "contact" => Message::Contact {
            name: m.required_str("name", p),
            phone: m.required_str("phone", p),
            business_description: m.required_str("businessDescription", p),
        },
        "template" => Message::Template {
            name: m.required_str("name", p),
            variables: m.optional_str_array("variables", p),
            header_variables: m.optional_str_array("headerVariables", p),
            button_variables: m.optional_str_array("buttonVariables", p),
        },
        "image" => Message::Image {
            url: read_url(&mut m, p),
            caption: m.optional_str("caption", p),
        },
        "pdf" => Message::Pdf {
            url: read_url(&mut m, p),
            file_name: m.required_str("fileName", p),
            caption: m.optional_str("caption", p),
        },
        _ => Message::Document {
            url: read_url(&mut m, p),
            filename: m.required_str("filename", p),
            caption: m.required_str("caption", p),
        },
    };
    m.reject_unknown(p, |_| false);
    Some(message)
}

fn read_context(mut c: Fields<'_>, p: &mut Problems) -> Context {
    let header = c.required_str("header", p);
    let body = c.required_str("body", p);
    let buttons = c.optional_object_array("buttons", p, |mut b, p| {
        let kind = match b.optional_enum("type", BUTTON_TYPES, p) {
            Some(kind) => kind,
            None => {
                if b.take("type").is_none() {
                    p.add(b.path_of("type"), "is required");
                }
                ""
            }
        };
        let button = ContextButton {
            kind,
            title: b.required_str("title", p),
            content: b.required_str("content", p),
        };
        b.reject_unknown(p, |_| false);
        Some(button)
    });
    c.reject_unknown(p, |_| false);
    Context {
        header,
        body,
        buttons,
    }
}

impl Action for SacflowSendMessage {
    const NAME: &'static str = "sacflow-send-message";
    type Connection = SacflowConnection;
    type Request = SendMessage;

    fn validate(body: &Value, ctx: &ValidationContext) -> Result<SendMessage, Problems> {
        let mut p = Problems::new();
        let Some(mut f) = Fields::object(body, "", &mut p) else {
            return Err(p);
        };
        let account_id = f.optional_id("accountId", &mut p);
        let channel_id = f.required_id("channelId", &mut p);
        let contact = f.required_object("contact", &mut p).map(|mut c| {
            let name = c.required_str("name", &mut p);
            let raw_phone = c.required_str("phone", &mut p);
            let phone = if raw_phone.is_empty() {
                String::new()
            } else {
                Phone::parse(&raw_phone, ctx.phone_region)
                    .map(|phone| phone.to_format(PhoneFormat::InternationalDigits))
                    .unwrap_or_else(|why| {
                        p.add("contact.phone", why);
                        String::new()
                    })
            };
            c.reject_unknown(&mut p, |_| false);
            Contact { name, phone }
        });
        let message = match f.required_object("message", &mut p) {
            Some(m) => read_message(m, &mut p),
            None => None,
        };
        let message_timeout = f.optional_count("messageTimeout", &mut p);
        let is_private = f.optional_bool("isPrivate", &mut p);
        let tag_id = f.optional_id("tagId", &mut p);
        let queue_id = f.optional_id("queueId", &mut p);
        let session = f.optional_object("session", &mut p).map(|mut s| {
            let context = s.optional_string_map("context", &mut p).unwrap_or_default();
            s.reject_unknown(&mut p, |_| false);
            Session { context }
        });
        let status = f.optional_enum("status", STATUSES, &mut p);
        let ticket_id = f.optional_id("ticketId", &mut p);
        let user_id = f.optional_id("userId", &mut p);
        let summary = f.optional_str_max("summary", SUMMARY_MAX, &mut p);
        let from = f.optional_str("from", &mut p);
        let queued = f.optional_bool("queued", &mut p);
        let message_timeout_behavior =
            f.optional_enum("messageTimeoutBehavior", TIMEOUT_BEHAVIOURS, &mut p);
        let message_timeout_flow_id = f.optional_id("messageTimeoutFlowId", &mut p);
        if message_timeout_behavior == Some("flow") && message_timeout_flow_id.is_none() {
            p.add(
                "messageTimeoutFlowId",
                "is required when messageTimeoutBehavior is \"flow\"",
            );
        }
        let response_flow_id = f.optional_id("responseFlowId", &mut p);
        let context = f
            .optional_object("context", &mut p)
            .map(|c| read_context(c, &mut p));
        if let (Some(true), Some(message)) = (queued, &message)
            && !matches!(message, Message::Text { .. } | Message::Template { .. })
        {
            p.add(
                "queued",
                format!(
                    "applies only to text and template messages, not {}",
                    message.kind()
                ),
            );
        }
        f.reject_unknown(&mut p, |_| false);
        p.into_result()?;
        let (Some(contact), Some(message)) = (contact, message) else {
            return Err(Problems::single("message", "is required"));
        };
        Ok(SendMessage {
            account_id,
            channel_id,
            contact,
            message,
            message_timeout,
            is_private,
            tag_id,
            queue_id,
            session,
            status,
            ticket_id,
            user_id,
            summary,
            from,
            queued,
            message_timeout_behavior,
            message_timeout_flow_id,
            response_flow_id,
            context,
        })
    }

    fn provider_request(
        request: &SendMessage,
        connection: &SacflowConnection,
    ) -> Result<ProviderRequest, Problems> {
        let Some(account_id) = request.account_id.or(connection.account_id) else {
            return Err(Problems::single(
                "accountId",
                "is required: send it in the event or put account_id in the connection secret",
            ));
        };
        let mut body = serde_json::to_value(request).unwrap_or_default();
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

    fn contact_for_log(request: &SendMessage) -> String {
        mask::phone(&request.contact.phone)
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
            account_id,
            base_url: DEFAULT_BASE_URL.into(),
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
        assert_eq!(validate(body).unwrap().contact.phone, "5585987696383");
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
                "messageTimeoutFlowId",
                "context.buttons[0].type",
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
