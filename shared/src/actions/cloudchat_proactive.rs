//! Cloud Chat: start a WhatsApp conversation from a template.
//!
//! `POST {base}/api/v1/accounts/{account_id}/conversations/create_proactive_whatsapp_conversation`
//! with the body of `docs/providers/cloudchat-proactive-whatsapp.md`. Besides its four named fields
//! the body is open: `button_param_0..N` and the template's own variables sit at the root, under
//! the names the template was configured with, so unknown keys are variables, not typos.

use super::cloudchat::CloudChatConnection;
use crate::action::{Action, ExampleForm, ValidationContext};
use crate::mask;
use crate::phone::Phone;
use crate::provider::{ProviderRequest, json_body};
use crate::validate::declared;
use crate::validate::{AsText, read_key};
use crate::validate::{Fields, HttpUrl, IdString, Problems, Remainder};
use serde::Serialize;
use serde_json::{Map, Value, json};

pub struct CloudChatProactiveWhatsapp;

#[declared]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProactiveWhatsapp {
    pub inbox_id: IdString,
    /// E.164 with the country code, as the documentation insists.
    pub phone_number: Phone,
    pub template_name: String,
    pub header_attachment: Option<HttpUrl>,
    /// `button_param_N` and the template variables, as text, at the root of the body.
    #[serde(flatten)]
    #[declared(rest)]
    pub variables: TemplateVariables,
}

/// The body's other keys: the template's variables and its buttons' parameters, as text.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(transparent)]
pub struct TemplateVariables(Map<String, Value>);

impl Remainder for TemplateVariables {
    fn read_rest(fields: &mut Fields<'_>, cx: &ValidationContext, p: &mut Problems) -> Self {
        let mut variables = Map::new();
        for key in fields.unread_keys() {
            if key.starts_with("button_param") && !is_button_param(key) {
                fields.take(key);
                p.add(
                    fields.path_of(key),
                    "button parameters are named button_param_0, button_param_1, …",
                );
                continue;
            }
            let mut variable = Problems::new();
            match read_key::<Option<AsText>>(fields, key, cx, &mut variable) {
                Some(text) => {
                    variables.insert(key.to_string(), Value::String(text.as_str().into()));
                }
                None if variable.is_empty() => {}
                None => p.add(
                    fields.path_of(key),
                    "template variables and button parameters must be text (or a number)",
                ),
            }
        }
        Self(variables)
    }
}

/// `button_param_` followed by the button's 0-based position.
fn is_button_param(key: &str) -> bool {
    key.strip_prefix("button_param_")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl Action for CloudChatProactiveWhatsapp {
    const NAME: &'static str = "cloudchat-proactive-whatsapp";
    const PROVIDER_CALL: &'static str =
        "/api/v1/accounts/{account_id}/conversations/create_proactive_whatsapp_conversation";
    const ROUTE: &'static str = "/cloudchat/whatsapp";
    const STEM: &'static str = "CloudChatWhatsapp";
    const DOES: &'static str =
        "Starts a Cloud Chat WhatsApp conversation from a template per event";
    const EXAMPLE_FORM: ExampleForm = ExampleForm {
        source: "google-forms",
        fixture: "google-forms.json",
        query: &[("inbox_id", "2"), ("template_name", "boas_vindas")],
    };
    type Connection = CloudChatConnection;
    type Request = ProactiveWhatsapp;

    fn provider_request(
        request: &ProactiveWhatsapp,
        connection: &CloudChatConnection,
    ) -> Result<ProviderRequest, Problems> {
        Ok(ProviderRequest {
            url: connection.account_url("/conversations/create_proactive_whatsapp_conversation"),
            headers: connection.auth_headers(),
            body: json_body(request)?,
        })
    }

    fn default_mapping() -> Value {
        json!({
            "inbox_id": "{{inbox_id}}",
            "phone_number": "{{phone}}",
            "template_name": "{{template_name}}"
        })
    }

    fn example_body() -> Value {
        json!({
            "inbox_id": "2",
            "phone_number": "+55 11 98765-4321",
            "template_name": "pedido_enviado",
            "button_param_0": "PED-2026-{order}",
            "nome": "Maria",
            "pedido": "PED-2026-{order}"
        })
    }

    fn contact_for_log(request: &ProactiveWhatsapp) -> String {
        mask::phone(
            &request
                .phone_number
                .to_format(crate::phone::PhoneFormat::E164),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Token;
    use serde_json::json;

    fn validate(body: Value) -> Result<ProactiveWhatsapp, Problems> {
        CloudChatProactiveWhatsapp::validate(&body, &ValidationContext::default())
    }

    /// The seed's curl example with real values in place of its placeholders.
    fn seed_example() -> Value {
        json!({
            "inbox_id": "7",
            "phone_number": "+55 (11) 98765-4321",
            "template_name": "test_template",
            "header_attachment": "https://cdn.example.com/boleto.pdf",
            "button_param_0": "BUTTON PARAMETER",
            "button_param_1": "ANOTHER BUTTON PARAMETER",
            "name": "John Doe",
            "email": "john@example.com",
            "custom_code": "12345"
        })
    }

    #[test]
    fn the_seed_example_becomes_the_documented_request() {
        let request = validate(seed_example()).unwrap();
        let connection = CloudChatConnection {
            api_access_token: Token::new("ACCESS_TOKEN"),
            account_id: 9.into(),
            base_url: "https://cloudchat.cloudhumans.com".into(),
        };
        let call = CloudChatProactiveWhatsapp::provider_request(&request, &connection).unwrap();
        assert_eq!(
            call.url,
            "https://cloudchat.cloudhumans.com/api/v1/accounts/9/conversations/create_proactive_whatsapp_conversation"
        );
        assert_eq!(
            call.headers,
            vec![("api_access_token", "ACCESS_TOKEN".to_string())]
        );
        let mut expected = seed_example();
        expected["phone_number"] = json!("+5511987654321");
        assert_eq!(call.body, expected);
    }

    #[test]
    fn numbers_become_text_and_nulls_are_dropped() {
        let request = validate(json!({
            "inbox_id": 7, "phone_number": "11987654321", "template_name": "t",
            "pedido": 1234, "cupom": null
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"inbox_id": "7", "phone_number": "+5511987654321", "template_name": "t", "pedido": "1234"})
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let err = validate(json!({
            "phone_number": "abc",
            "header_attachment": "boleto.pdf",
            "button_param_x": "1",
            "items": ["a"]
        }))
        .unwrap_err();
        let fields: Vec<&str> = err.list().iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "inbox_id",
                "phone_number",
                "template_name",
                "header_attachment",
                "button_param_x",
                "items"
            ]
        );
    }
}
