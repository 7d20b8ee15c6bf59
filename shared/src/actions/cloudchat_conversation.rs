//! Cloud Chat: open a ticket (conversation).
//!
//! `POST {base}/api/v1/accounts/{account_id}/conversations` with the body of
//! `docs/providers/cloudchat-create-conversation.md`: an inbox, at least one contact reference, an optional
//! first message, status, privacy and attributes.

use super::cloudchat::CloudChatConnection;
use crate::action::{Action, ValidationContext};
use crate::mask;
use crate::phone::{Phone, PhoneFormat};
use crate::provider::ProviderRequest;
use crate::validate::{Fields, Problems, check_email};
use serde::Serialize;
use serde_json::{Map, Value, json};

pub struct CloudChatCreateConversation;

/// The custom attribute that keeps a phone number Ponte could not read, as it was typed, when
/// the ticket has another contact reference.
pub const UNREADABLE_PHONE_ATTRIBUTE: &str = "unreadable_phone";

pub const STATUSES: &[&str] = &["open", "pending", "resolved"];
pub const MESSAGE_TYPES: &[&str] = &["incoming", "outgoing", "activity"];

/// The validated request, serialized exactly as Cloud Chat documents it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateConversation {
    /// Sent as a string, as the documentation's example does.
    pub inbox_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// E.164, as Cloud Chat (Chatwoot) requires `^\+[1-9]\d{1,14}$`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<FirstMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    /// At the top level, where the documentation shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_attributes: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirstMessage {
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_type: Option<&'static str>,
}

impl Action for CloudChatCreateConversation {
    const NAME: &'static str = "cloudchat-create-conversation";
    type Connection = CloudChatConnection;
    type Request = CreateConversation;

    fn validate(body: &Value, ctx: &ValidationContext) -> Result<CreateConversation, Problems> {
        let mut p = Problems::new();
        let Some(mut f) = Fields::object(body, "", &mut p) else {
            return Err(p);
        };
        let inbox_id = f.required_id_string("inbox_id", &mut p);
        let contact_identifier = f.optional_str("contact_identifier", &mut p);
        let contact_email = f
            .optional_str("contact_email", &mut p)
            .map(|e| e.trim().to_string())
            .filter(|e| check_email("contact_email", e, &mut p));
        let phone = f
            .optional_str("contact_phone_number", &mut p)
            .map(|raw| (Phone::parse(&raw, ctx.phone_region), raw));
        let other_contact = contact_identifier.is_some() || contact_email.is_some();
        let (contact_phone_number, unreadable_phone) = match phone {
            None => (None, None),
            Some((Ok(phone), _)) => (Some(phone.to_format(PhoneFormat::E164)), None),
            // The phone is one contact reference among others: a typo in it must not cost the
            // lead. It is left out of the contact and kept, as typed, on the ticket.
            Some((Err(why), raw)) if other_contact => {
                tracing::warn!(
                    action = Self::NAME,
                    phone = %mask::phone(&raw),
                    "contact_phone_number {why}: left out, and kept as the ticket's {UNREADABLE_PHONE_ATTRIBUTE} attribute"
                );
                (None, Some(raw))
            }
            Some((Err(why), _)) => {
                p.add("contact_phone_number", why);
                (None, None)
            }
        };
        let contact_given = [
            "contact_identifier",
            "contact_email",
            "contact_phone_number",
        ]
        .iter()
        .any(|k| body.get(k).is_some_and(|v| !v.is_null()));
        if !contact_given {
            p.add(
                "contact_identifier",
                "one of contact_identifier, contact_email or contact_phone_number is required",
            );
        }
        let message = f.optional_object("message", &mut p).map(|mut m| {
            let content = m.required_str("content", &mut p);
            let message_type = m.optional_enum("message_type", MESSAGE_TYPES, &mut p);
            m.reject_unknown(&mut p, |_| false);
            FirstMessage {
                content,
                message_type,
            }
        });
        let status = f.optional_enum("status", STATUSES, &mut p);
        let private = f.optional_bool("private", &mut p);
        let mut custom_attributes = f.optional_open_object("custom_attributes", &mut p);
        if let Some(raw) = unreadable_phone {
            custom_attributes
                .get_or_insert_with(Map::new)
                .insert(UNREADABLE_PHONE_ATTRIBUTE.into(), json!(raw));
        }
        let additional_attributes = f.optional_open_object("additional_attributes", &mut p);
        f.reject_unknown(&mut p, |_| false);
        p.into_result()?;
        Ok(CreateConversation {
            inbox_id,
            contact_identifier,
            contact_email,
            contact_phone_number,
            message,
            status,
            private,
            custom_attributes,
            additional_attributes,
        })
    }

    fn provider_request(
        request: &CreateConversation,
        connection: &CloudChatConnection,
    ) -> Result<ProviderRequest, Problems> {
        Ok(ProviderRequest {
            url: connection.account_url("/conversations"),
            headers: connection.auth_headers(),
            body: serde_json::to_value(request).unwrap_or_default(),
        })
    }

    fn default_mapping() -> Value {
        json!({
            "inbox_id": "{{inbox_id}}",
            "contact_email": "{{email?}}",
            "contact_phone_number": "{{phone?}}",
            "contact_identifier": "{{contact_identifier?}}",
            "message": {"content": "{{all_fields}}", "message_type": "incoming"}
        })
    }

    fn contact_for_log(request: &CreateConversation) -> String {
        if let Some(phone) = &request.contact_phone_number {
            mask::phone(phone)
        } else if let Some(email) = &request.contact_email {
            mask::email(email)
        } else {
            request
                .contact_identifier
                .as_deref()
                .map(mask::identifier)
                .unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Token;
    use serde_json::json;

    fn validate(body: Value) -> Result<CreateConversation, Problems> {
        CloudChatCreateConversation::validate(&body, &ValidationContext::default())
    }

    fn fields(problems: &Problems) -> Vec<&str> {
        problems.list().iter().map(|p| p.field.as_str()).collect()
    }

    /// The seed's example, with a real phone number in place of its "+12345" placeholder.
    fn seed_example() -> Value {
        json!({
            "inbox_id": "1",
            "contact_identifier": "id_123",
            "contact_email": "cliente@example.com",
            "contact_phone_number": "+55 11 98765-4321",
            "message": {
                "content": "Olá, acabei de preencher o formulário no site e preciso de ajuda.",
                "message_type": "incoming"
            },
            "status": "open",
            "private": false,
            "custom_attributes": {"example1": "valueXPTO"}
        })
    }

    #[test]
    fn the_seed_example_becomes_the_documented_request() {
        let request = validate(seed_example()).unwrap();
        let connection = CloudChatConnection {
            api_access_token: Token::new("SEU_TOKEN_DE_API"),
            account_id: 42,
            base_url: "https://chat.example.com".into(),
        };
        let call = CloudChatCreateConversation::provider_request(&request, &connection).unwrap();
        assert_eq!(
            call.url,
            "https://chat.example.com/api/v1/accounts/42/conversations"
        );
        assert_eq!(
            call.headers,
            vec![("api_access_token", "SEU_TOKEN_DE_API".to_string())]
        );
        let mut expected = seed_example();
        expected["contact_phone_number"] = json!("+5511987654321");
        assert_eq!(call.body, expected);
    }

    #[test]
    fn a_minimal_ticket_needs_an_inbox_and_one_contact_reference() {
        let request = validate(json!({"inbox_id": 3, "contact_email": " a@b.com "})).unwrap();
        let body = serde_json::to_value(&request).unwrap();
        assert_eq!(body, json!({"inbox_id": "3", "contact_email": "a@b.com"}));
        let err = validate(json!({"inbox_id": "3"})).unwrap_err();
        assert_eq!(fields(&err), ["contact_identifier"]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let err = validate(json!({
            "contact_phone_number": "12",
            "contact_email": "not-an-email",
            "message": {"message_type": "inbound", "private": true},
            "status": "fechado",
            "private": "no",
            "custom_attributes": [],
            "inbox": "1"
        }))
        .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "inbox_id",
                "contact_email",
                "contact_phone_number",
                "message.content",
                "message.message_type",
                "message.private",
                "status",
                "private",
                "custom_attributes",
                "inbox"
            ]
        );
        let status = &err.list()[6].problem;
        assert_eq!(
            status,
            "must be one of open, pending, resolved, not \"fechado\""
        );
    }

    #[test]
    fn attributes_are_open_objects_passed_as_given() {
        let request = validate(json!({
            "inbox_id": "1", "contact_identifier": "c-1",
            "custom_attributes": {"plano": "ouro", "valor": 10},
            "additional_attributes": {"origem": "site"}
        }))
        .unwrap();
        assert_eq!(request.custom_attributes.unwrap()["valor"], 10);
        assert_eq!(request.additional_attributes.unwrap()["origem"], "site");
    }

    #[test]
    fn the_log_reference_is_masked() {
        let request = validate(seed_example()).unwrap();
        assert_eq!(
            CloudChatCreateConversation::contact_for_log(&request),
            "+55*********21"
        );
    }

    #[test]
    fn an_unreadable_phone_beside_another_contact_is_kept_on_the_ticket_not_refused() {
        let request = validate(json!({
            "inbox_id": "1", "contact_email": "ana@example.com",
            "contact_phone_number": "ligar depois das 18h",
            "custom_attributes": {"origem": "site"}
        }))
        .unwrap();
        assert_eq!(request.contact_phone_number, None);
        assert_eq!(
            request.custom_attributes.unwrap(),
            json!({"origem": "site", "unreadable_phone": "ligar depois das 18h"})
                .as_object()
                .cloned()
                .unwrap()
        );
        let only_phone = validate(json!({"inbox_id": "1", "contact_phone_number": "123"}));
        assert_eq!(fields(&only_phone.unwrap_err()), ["contact_phone_number"]);
    }
}
