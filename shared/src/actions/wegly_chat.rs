//! Wegly: create (or reuse) a chat with a WhatsApp template.
//!
//! `POST {base}/integrations/external/chats` with the body of `docs/providers/wegly-create-chat.md`,
//! `Authorization: Bearer <token>`, and an `Origin` header when the key is restricted to a domain.

use crate::action::{Action, ExampleForm, ValidationContext};
use crate::connection::{BaseUrl, Hosted, ProviderConnection, Token};
use crate::mask;
use crate::one_of;
use crate::phone::PhoneFormat;
use crate::provider::{ProviderRequest, json_body};
use crate::validate::declared;
use crate::validate::non_blank;
use crate::validate::{AsText, Count, Field, Nullable, PhoneUpTo, Problems, TextUpTo, Uuid};
use serde::Serialize;
use serde_json::{Value, json};

pub struct WeglyCreateChat;

pub const WA_CONTACT_ID_MAX: usize = 50;
pub const REMOTE_PROFILE_NAME_MAX: usize = 255;

/// `{"token": "…", "base_url": "…", "origin": "…", "wa_contact_id_format": "national"}`; the
/// secret's other keys are webhook settings, read apart.
#[declared]
#[derive(Debug, Clone)]
pub struct WeglyConnection {
    pub token: Token,
    pub base_url: BaseUrl<WeglyConnection>,
    /// Sent as the `Origin` header, for keys restricted to an allowed domain.
    pub origin: Option<String>,
    /// How `wa_contact_id` is written: national digits (the documentation's `11999999999`,
    /// the default) or international digits (`5511999999999`).
    pub wa_contact_id_format: Option<ContactIdFormat>,
}

one_of! {
    pub enum ContactIdFormat { National = "national", International = "international" }
}

impl WeglyConnection {
    /// How this connection writes `wa_contact_id`.
    pub fn contact_id_format(&self) -> PhoneFormat {
        match self.wa_contact_id_format {
            Some(ContactIdFormat::International) => PhoneFormat::InternationalDigits,
            Some(ContactIdFormat::National) | None => PhoneFormat::NationalDigits,
        }
    }
}

impl Hosted for WeglyConnection {
    const DEFAULT_BASE_URL: &'static str = "https://api.wegly.com.br";
}

impl ProviderConnection for WeglyConnection {
    const PROVIDER: &'static str = "Wegly";
    /// Wegly documents no limit: ten a second is a cautious start.
    const REQUESTS_PER_SECOND: f64 = 10.0;
    const SECRET_SHAPE: &'static str = r#"{"token": "...", "base_url": "https://api.wegly.com.br", "origin": "https://<allowed domain, if the key is restricted>"}"#;

    fn example(base_url: &str) -> Value {
        json!({"token": "local-wegly-token", "base_url": base_url})
    }
}

/// The validated request, serialized as Wegly documents it. `wa_contact_id` is kept parsed
/// and written as the connection says; the fields that accept `null` keep an explicit `null`.
#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateChat {
    pub whatsapp_phone_id: Uuid,
    pub wa_contact_id: PhoneUpTo<WA_CONTACT_ID_MAX>,
    pub template: Template,
    pub template_fields: Option<Vec<TemplateField>>,
    pub person_contact_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Nullable::is_absent")]
    pub remote_profile_name: Nullable<TextUpTo<REMOTE_PROFILE_NAME_MAX>>,
    #[serde(skip_serializing_if = "Nullable::is_absent")]
    pub crm_person_id: Nullable<Uuid>,
    #[serde(skip_serializing_if = "Nullable::is_absent")]
    pub assigned_agent_id: Nullable<Uuid>,
    pub status: Option<ChatStatus>,
}

#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Template {
    pub name: String,
    pub language: String,
}

#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateField {
    /// `BODY`, `HEADER`, `BUTTON`…: written in capitals whatever the event's case.
    pub component: Capitals,
    #[serde(rename = "type")]
    pub kind: Capitals,
    pub index: Option<Count>,
    pub button_index: Option<Count>,
    pub card_index: Option<Count>,
    pub value: AsText,
}

one_of! {
    pub enum ChatStatus { Open = "OPEN", Resolved = "RESOLVED", Snoozed = "SNOOZED" }
}

/// Non-blank text written in capitals, trimmed.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(transparent)]
pub struct Capitals(String);

impl Field for Capitals {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        non_blank(value, at, p).map(|s| Self(s.trim().to_ascii_uppercase()))
    }

    fn placeholder() -> Self {
        Self::default()
    }
}

impl Action for WeglyCreateChat {
    const NAME: &'static str = "wegly-create-chat";
    const PROVIDER_CALL: &'static str = "/integrations/external/chats";
    const ROUTE: &'static str = "/wegly/chats";
    const STEM: &'static str = "Wegly";
    const DOES: &'static str = "Creates a Wegly chat with a WhatsApp template per event";
    const EXAMPLE_FORM: ExampleForm = ExampleForm {
        source: "tally",
        fixture: "tally.json",
        query: &[
            ("whatsapp_phone_id", "0b28ee57-7a57-4407-a9c5-5cd4e5a5fd6c"),
            ("template_name", "saudacao_inicial"),
        ],
    };
    type Connection = WeglyConnection;
    type Request = CreateChat;

    fn provider_request(
        request: &CreateChat,
        connection: &WeglyConnection,
    ) -> Result<ProviderRequest, Problems> {
        let mut body = json_body(request)?;
        body["wa_contact_id"] = Value::String(
            request
                .wa_contact_id
                .phone()
                .to_format(connection.contact_id_format()),
        );
        let mut headers = vec![(
            "authorization",
            format!("Bearer {}", connection.token.expose()),
        )];
        if let Some(origin) = &connection.origin {
            headers.push(("origin", origin.clone()));
        }
        Ok(ProviderRequest {
            url: format!("{}/integrations/external/chats", connection.base_url),
            headers,
            body,
        })
    }

    fn default_mapping() -> Value {
        json!({
            "whatsapp_phone_id": "{{whatsapp_phone_id}}",
            "wa_contact_id": "{{phone}}",
            "template": {"name": "{{template_name}}", "language": "{{template_language ?? pt_BR}}"},
            "remote_profile_name": "{{name?}}"
        })
    }

    fn example_body() -> Value {
        json!({
            "whatsapp_phone_id": "0b28ee57-7a57-4407-a9c5-5cd4e5a5fd6c",
            "wa_contact_id": "(11) 99999-9999",
            "template": {"name": "saudacao_inicial", "language": "pt_BR"},
            "template_fields": [
                {"component": "BODY", "type": "TEXT", "index": 1, "value": "João"},
                {"component": "BODY", "type": "TEXT", "index": 2, "value": "PED-2026-{order}"}
            ],
            "remote_profile_name": "João Pereira"
        })
    }

    fn contact_for_log(request: &CreateChat) -> String {
        mask::phone(&request.wa_contact_id.phone().to_format(PhoneFormat::E164))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Connection;
    use serde_json::json;

    fn validate(body: Value) -> Result<CreateChat, Problems> {
        WeglyCreateChat::validate(&body, &ValidationContext::default())
    }

    fn connection(secret: Value) -> WeglyConnection {
        WeglyConnection::from_secret(&secret).unwrap()
    }

    fn seed_example() -> Value {
        json!({
            "whatsapp_phone_id": "0b28ee57-7a57-4407-a9c5-5cd4e5a5fd6c",
            "wa_contact_id": "11999999999",
            "template": {"name": "saudacao_inicial", "language": "pt_BR"},
            "template_fields": [
                {"component": "BODY", "type": "TEXT", "index": 1, "value": "João"}
            ]
        })
    }

    #[test]
    fn the_seed_example_becomes_the_documented_request() {
        let request = validate(seed_example()).unwrap();
        let call =
            WeglyCreateChat::provider_request(&request, &connection(json!({"token": "<token>"})))
                .unwrap();
        assert_eq!(
            call.url,
            "https://api.wegly.com.br/integrations/external/chats"
        );
        assert_eq!(
            call.headers,
            vec![("authorization", "Bearer <token>".to_string())]
        );
        assert_eq!(call.body, seed_example());
    }

    #[test]
    fn contact_ids_follow_the_connection_format_and_origin_is_sent() {
        let mut body = seed_example();
        body["wa_contact_id"] = json!("+55 (11) 99999-9999");
        let request = validate(body).unwrap();
        let conn = connection(json!({
            "token": "t", "origin": "https://loja.example.com",
            "wa_contact_id_format": "international", "base_url": "http://127.0.0.1:9/"
        }));
        let call = WeglyCreateChat::provider_request(&request, &conn).unwrap();
        assert_eq!(call.body["wa_contact_id"], "5511999999999");
        assert_eq!(call.url, "http://127.0.0.1:9/integrations/external/chats");
        assert_eq!(
            call.headers[1],
            ("origin", "https://loja.example.com".to_string())
        );
    }

    #[test]
    fn optional_fields_and_explicit_nulls_are_kept() {
        let mut body = seed_example();
        body["remote_profile_name"] = json!("Maria");
        body["crm_person_id"] = json!(null);
        body["assigned_agent_id"] = json!("3c90c3cc-0d44-4b50-8888-8dd25736052a");
        body["person_contact_id"] = json!("3c90c3cc-0d44-4b50-8888-8dd25736052a");
        body["status"] = json!("SNOOZED");
        let call = WeglyCreateChat::provider_request(
            &validate(body.clone()).unwrap(),
            &connection(json!({"token": "t"})),
        )
        .unwrap();
        assert_eq!(call.body, body);
    }

    #[test]
    fn every_bad_field_is_named() {
        let err = validate(json!({
            "whatsapp_phone_id": "not-a-uuid",
            "wa_contact_id": "9".repeat(51),
            "template": {"name": "x"},
            "template_fields": [{"component": "BODY", "index": -1, "value": "a", "extra": 1}],
            "remote_profile_name": "n".repeat(256),
            "crm_person_id": 5,
            "status": "open",
            "tag": "x"
        }))
        .unwrap_err();
        let fields: Vec<&str> = err.list().iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "whatsapp_phone_id",
                "wa_contact_id",
                "template.language",
                "template_fields[0].type",
                "template_fields[0].index",
                "template_fields[0].extra",
                "remote_profile_name",
                "crm_person_id",
                "status",
                "tag"
            ]
        );
        assert_eq!(
            err.list()[1].problem,
            "must be at most 50 characters, not 51"
        );
    }

    #[test]
    fn the_connection_needs_a_token() {
        let err = WeglyConnection::from_secret(&json!({"base_url": "x"})).unwrap_err();
        let fields: Vec<&str> = err.list().iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["token", "base_url"]);
    }
}
