//! Cloud Chat: start a WhatsApp conversation from a template.
//!
//! `POST {base}/api/v1/accounts/{account_id}/conversations/create_proactive_whatsapp_conversation`
//! with the body of `docs/providers/cloudchat-proactive-whatsapp.md`. Besides its four named fields
//! the body is open: `button_param_0..N` and the template's own variables sit at the root, under
//! the names the template was configured with, so unknown keys are variables, not typos.

use super::cloudchat::CloudChatConnection;
use crate::action::{Action, ValidationContext};
use crate::mask;
use crate::phone::{Phone, PhoneFormat};
use crate::provider::ProviderRequest;
use crate::validate::{Fields, Problems, check_url, scalar_as_string};
use serde::Serialize;
use serde_json::{Map, Value, json};

pub struct CloudChatProactiveWhatsapp;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProactiveWhatsapp {
    pub inbox_id: String,
    /// E.164 with the country code, as the documentation insists.
    pub phone_number: String,
    pub template_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_attachment: Option<String>,
    /// `button_param_N` and the template variables, as text, at the root of the body.
    #[serde(flatten)]
    pub variables: Map<String, Value>,
}

/// `button_param_` followed by the button's 0-based position.
fn is_button_param(key: &str) -> bool {
    key.strip_prefix("button_param_")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl Action for CloudChatProactiveWhatsapp {
    const NAME: &'static str = "cloudchat-proactive-whatsapp";
    type Connection = CloudChatConnection;
    type Request = ProactiveWhatsapp;

    fn validate(body: &Value, ctx: &ValidationContext) -> Result<ProactiveWhatsapp, Problems> {
        let mut p = Problems::new();
        let Some(mut f) = Fields::object(body, "", &mut p) else {
            return Err(p);
        };
        let inbox_id = f.required_id_string("inbox_id", &mut p);
        let raw_phone = f.required_str("phone_number", &mut p);
        let phone_number = if raw_phone.is_empty() {
            String::new()
        } else {
            Phone::parse(&raw_phone, ctx.phone_region)
                .map(|phone| phone.to_format(PhoneFormat::E164))
                .unwrap_or_else(|why| {
                    p.add("phone_number", why);
                    String::new()
                })
        };
        let template_name = f.required_str("template_name", &mut p);
        let header_attachment = f
            .optional_str("header_attachment", &mut p)
            .filter(|url| check_url("header_attachment", url, &mut p));
        let mut variables = Map::new();
        for key in f.unread_keys() {
            let value = &body[key];
            if key.starts_with("button_param") && !is_button_param(key) {
                p.add(
                    key,
                    "button parameters are named button_param_0, button_param_1, …",
                );
                continue;
            }
            match scalar_as_string(value) {
                Some(text) => {
                    variables.insert(key.to_string(), Value::String(text));
                }
                None if value.is_null() => {}
                None => p.add(
                    key,
                    "template variables and button parameters must be text (or a number)",
                ),
            }
        }
        p.into_result()?;
        Ok(ProactiveWhatsapp {
            inbox_id,
            phone_number,
            template_name,
            header_attachment,
            variables,
        })
    }

    fn provider_request(
        request: &ProactiveWhatsapp,
        connection: &CloudChatConnection,
    ) -> Result<ProviderRequest, Problems> {
        Ok(ProviderRequest {
            url: connection.account_url("/conversations/create_proactive_whatsapp_conversation"),
            headers: connection.auth_headers(),
            body: serde_json::to_value(request).unwrap_or_default(),
        })
    }

    fn default_mapping() -> Value {
        json!({
            "inbox_id": "{{inbox_id}}",
            "phone_number": "{{phone}}",
            "template_name": "{{template_name}}"
        })
    }

    fn contact_for_log(request: &ProactiveWhatsapp) -> String {
        mask::phone(&request.phone_number)
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
            account_id: 9,
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
