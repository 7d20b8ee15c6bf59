//! Cloud Chat: open a ticket (conversation).
//!
//! `POST {base}/api/v1/accounts/{account_id}/conversations` with the body of
//! `docs/providers/cloudchat-create-conversation.md`: an inbox, at least one contact reference, an optional
//! first message, status, privacy and attributes.

use super::cloudchat::CloudChatConnection;
use crate::action::{Action, ExampleForm, ValidationContext};
use crate::mask;
use crate::one_of;
use crate::phone::Phone;
use crate::provider::{ProviderRequest, json_body};
use crate::validate::declared;
use crate::validate::{Email, Field, Fields, IdString, Problems, non_blank};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

pub struct CloudChatCreateConversation;

/// The custom attribute that keeps a phone number Ponte could not read, as it was typed, when
/// the ticket has another contact reference.
pub const UNREADABLE_PHONE_ATTRIBUTE: &str = "unreadable_phone";

/// The validated request, serialized exactly as Cloud Chat documents it.
#[declared(check = check_contact)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateConversation {
    /// Sent as a string, as the documentation's example does.
    pub inbox_id: IdString,
    pub contact_identifier: Option<String>,
    pub contact_email: Option<Email>,
    /// E.164, as Cloud Chat (Chatwoot) requires `^\+[1-9]\d{1,14}$`.
    #[serde(skip_serializing_if = "ContactPhone::is_left_out")]
    pub contact_phone_number: ContactPhone,
    pub message: Option<FirstMessage>,
    pub status: Option<Status>,
    /// At the top level, where the documentation shows it.
    pub private: Option<bool>,
    pub custom_attributes: Option<Map<String, Value>>,
    pub additional_attributes: Option<Map<String, Value>>,
}

#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirstMessage {
    pub content: String,
    pub message_type: Option<MessageType>,
}

one_of! {
    pub enum Status { Open = "open", Pending = "pending", Resolved = "resolved" }
}

one_of! {
    pub enum MessageType { Incoming = "incoming", Outgoing = "outgoing", Activity = "activity" }
}

/// The contact's phone: one contact reference among others, so a typo in it must not cost the
/// lead when another reference is there. Until [`check_contact`] has seen the others, an
/// unreadable number is kept as typed, with the reason.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ContactPhone {
    #[default]
    None,
    Readable(Phone),
    Unreadable {
        typed: String,
        why: String,
        /// Where its problem goes in the list if it turns out to be one.
        position: usize,
    },
}

impl ContactPhone {
    pub fn readable(&self) -> Option<&Phone> {
        match self {
            ContactPhone::Readable(phone) => Some(phone),
            _ => None,
        }
    }

    /// Only a readable number is sent.
    fn is_left_out(&self) -> bool {
        self.readable().is_none()
    }
}

impl Serialize for ContactPhone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.readable().serialize(serializer)
    }
}

impl Field for ContactPhone {
    fn read(value: &Value, at: &str, cx: &ValidationContext, p: &mut Problems) -> Option<Self> {
        let typed = non_blank(value, at, p)?;
        Some(match Phone::parse(typed, cx.phone_region) {
            Ok(phone) => ContactPhone::Readable(phone),
            Err(why) => ContactPhone::Unreadable {
                typed: typed.to_string(),
                why,
                position: p.position(),
            },
        })
    }

    fn missing(_at: &str, _null: bool, _p: &mut Problems) -> Option<Self> {
        Some(ContactPhone::None)
    }

    fn placeholder() -> Self {
        ContactPhone::None
    }
}

/// A ticket needs a contact reference; an unreadable phone beside another one is left out of
/// the contact and kept, as typed, on the ticket; alone, it is a problem.
fn check_contact(
    request: &mut CreateConversation,
    fields: &Fields<'_>,
    _cx: &ValidationContext,
    p: &mut Problems,
) {
    let given = [
        "contact_identifier",
        "contact_email",
        "contact_phone_number",
    ];
    if !given.iter().any(|key| fields.given(key)) {
        p.add(
            "contact_identifier",
            "one of contact_identifier, contact_email or contact_phone_number is required",
        );
    }
    let phone = std::mem::take(&mut request.contact_phone_number);
    let ContactPhone::Unreadable {
        typed,
        why,
        position,
    } = phone
    else {
        request.contact_phone_number = phone;
        return;
    };
    if request.contact_identifier.is_none() && request.contact_email.is_none() {
        p.insert(position, "contact_phone_number", why);
        return;
    }
    tracing::warn!(
        action = CloudChatCreateConversation::NAME,
        phone = %mask::phone(&typed),
        "contact_phone_number {why}: left out, and kept as the ticket's {UNREADABLE_PHONE_ATTRIBUTE} attribute"
    );
    request
        .custom_attributes
        .get_or_insert_with(Map::new)
        .insert(UNREADABLE_PHONE_ATTRIBUTE.into(), json!(typed));
}

impl Action for CloudChatCreateConversation {
    const NAME: &'static str = "cloudchat-create-conversation";
    const PROVIDER_CALL: &'static str = "/api/v1/accounts/{account_id}/conversations";
    const ROUTE: &'static str = "/cloudchat/conversations";
    const STEM: &'static str = "CloudChatConversation";
    const DOES: &'static str = "Opens a Cloud Chat ticket (conversation) per event";
    const EXAMPLE_FORM: ExampleForm = ExampleForm {
        source: "typeform",
        fixture: "typeform.json",
        query: &[("inbox_id", "1")],
    };
    type Connection = CloudChatConnection;
    type Request = CreateConversation;

    fn provider_request(
        request: &CreateConversation,
        connection: &CloudChatConnection,
    ) -> Result<ProviderRequest, Problems> {
        Ok(ProviderRequest {
            url: connection.account_url("/conversations"),
            headers: connection.auth_headers(),
            body: json_body(request)?,
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

    fn example_body() -> Value {
        json!({
            "inbox_id": "1",
            "contact_email": "maria.souza@example.com",
            "contact_phone_number": "(85) 98769-6383",
            "message": {
                "content": "Olá! Preenchi o formulário de orçamento e gostaria de falar com um consultor. Pedido PED-2026-{order}.",
                "message_type": "incoming"
            },
            "custom_attributes": {"origem": "site", "plano": "empresarial", "pedido": "PED-2026-{order}"}
        })
    }

    fn contact_for_log(request: &CreateConversation) -> String {
        if let Some(phone) = request.contact_phone_number.readable() {
            mask::phone(&phone.to_format(crate::phone::PhoneFormat::E164))
        } else if let Some(email) = &request.contact_email {
            mask::email(email.as_str())
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
            account_id: 42.into(),
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
        assert_eq!(request.contact_phone_number, ContactPhone::None);
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
