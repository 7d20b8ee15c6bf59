//! Wegly: create (or reuse) a chat with a WhatsApp template.
//!
//! `POST {base}/integrations/external/chats` with the body of `docs/providers/wegly-create-chat.md`,
//! `Authorization: Bearer <token>`, and an `Origin` header when the key is restricted to a domain.

use crate::action::{Action, ValidationContext};
use crate::connection::{Connection, Token, base_url, required_token};
use crate::mask;
use crate::phone::{Phone, PhoneFormat};
use crate::provider::ProviderRequest;
use crate::validate::{Fields, Problems, check_max_chars};
use serde::Serialize;
use serde_json::{Value, json};

pub struct WeglyCreateChat;

pub const DEFAULT_BASE_URL: &str = "https://api.wegly.com.br";
pub const STATUSES: &[&str] = &["OPEN", "RESOLVED", "SNOOZED"];
pub const WA_CONTACT_ID_MAX: usize = 50;
pub const REMOTE_PROFILE_NAME_MAX: usize = 255;

/// `{"token": "…", "base_url": "…", "origin": "…", "wa_contact_id_format": "national"}`
#[derive(Debug, Clone)]
pub struct WeglyConnection {
    pub token: Token,
    pub base_url: String,
    /// Sent as the `Origin` header, for keys restricted to an allowed domain.
    pub origin: Option<String>,
    /// How `wa_contact_id` is written: national digits (the documentation's `11999999999`,
    /// the default) or international digits (`5511999999999`).
    pub wa_contact_id_format: PhoneFormat,
}

impl Connection for WeglyConnection {
    const PROVIDER: &'static str = "Wegly";

    fn from_secret(value: &Value) -> Result<Self, Problems> {
        let mut problems = Problems::new();
        let Some(mut f) = Fields::object(value, "", &mut problems) else {
            return Err(problems);
        };
        let token = required_token(&mut f, "token", &mut problems);
        let base_url = base_url(&mut f, "base_url", DEFAULT_BASE_URL, &mut problems);
        let origin = f.optional_str("origin", &mut problems);
        let wa_contact_id_format = match f.optional_enum(
            "wa_contact_id_format",
            &["national", "international"],
            &mut problems,
        ) {
            Some("international") => PhoneFormat::InternationalDigits,
            _ => PhoneFormat::NationalDigits,
        };
        problems.into_result()?;
        Ok(Self {
            token,
            base_url,
            origin,
            wa_contact_id_format,
        })
    }
}

/// The validated request. `wa_contact_id` is kept parsed and written when the connection says
/// how; the fields that accept `null` keep an explicit `null`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateChat {
    pub whatsapp_phone_id: String,
    pub wa_contact: Phone,
    pub template: Template,
    pub template_fields: Option<Vec<TemplateField>>,
    pub person_contact_id: Option<String>,
    pub remote_profile_name: Option<Value>,
    pub crm_person_id: Option<Value>,
    pub assigned_agent_id: Option<Value>,
    pub status: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Template {
    pub name: String,
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateField {
    pub component: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub button_index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_index: Option<u64>,
    pub value: String,
}

/// The body as Wegly documents it.
#[derive(Serialize)]
struct Body<'a> {
    whatsapp_phone_id: &'a str,
    wa_contact_id: String,
    template: &'a Template,
    #[serde(skip_serializing_if = "Option::is_none")]
    template_fields: Option<&'a Vec<TemplateField>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    person_contact_id: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_profile_name: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crm_person_id: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assigned_agent_id: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

fn read_template_field(mut f: Fields<'_>, p: &mut Problems) -> Option<TemplateField> {
    let component = f.required_str("component", p).trim().to_ascii_uppercase();
    let kind = f.required_str("type", p).trim().to_ascii_uppercase();
    let index = f.optional_count("index", p);
    let button_index = f.optional_count("button_index", p);
    let card_index = f.optional_count("card_index", p);
    let value = match f.take("value") {
        Some(v) => crate::validate::scalar_as_string(v).unwrap_or_else(|| {
            p.add(f.path_of("value"), "must be text");
            String::new()
        }),
        None => {
            p.add(f.path_of("value"), "is required");
            String::new()
        }
    };
    f.reject_unknown(p, |_| false);
    Some(TemplateField {
        component,
        kind,
        index,
        button_index,
        card_index,
        value,
    })
}

impl Action for WeglyCreateChat {
    const NAME: &'static str = "wegly-create-chat";
    type Connection = WeglyConnection;
    type Request = CreateChat;

    fn validate(body: &Value, ctx: &ValidationContext) -> Result<CreateChat, Problems> {
        let mut p = Problems::new();
        let Some(mut f) = Fields::object(body, "", &mut p) else {
            return Err(p);
        };
        let whatsapp_phone_id = f.required_uuid("whatsapp_phone_id", &mut p);
        let raw_contact = f.required_str("wa_contact_id", &mut p);
        let wa_contact = if raw_contact.is_empty() {
            None
        } else if check_max_chars("wa_contact_id", &raw_contact, WA_CONTACT_ID_MAX, &mut p) {
            Phone::parse(&raw_contact, ctx.phone_region)
                .map_err(|why| p.add("wa_contact_id", why))
                .ok()
        } else {
            None
        };
        let template = match f.required_object("template", &mut p) {
            Some(mut t) => {
                let name = t.required_str("name", &mut p);
                let language = t.required_str("language", &mut p);
                t.reject_unknown(&mut p, |_| false);
                Template { name, language }
            }
            None => Template {
                name: String::new(),
                language: String::new(),
            },
        };
        let template_fields =
            f.optional_object_array("template_fields", &mut p, read_template_field);
        let person_contact_id = f.optional_uuid("person_contact_id", &mut p);
        let remote_profile_name = match f.take_nullable("remote_profile_name") {
            None => None,
            Some(Value::Null) => Some(Value::Null),
            Some(Value::String(name)) => {
                check_max_chars("remote_profile_name", name, REMOTE_PROFILE_NAME_MAX, &mut p);
                Some(Value::String(name.clone()))
            }
            Some(_) => {
                p.add("remote_profile_name", "must be text or null");
                None
            }
        };
        let crm_person_id = f.nullable_uuid("crm_person_id", &mut p);
        let assigned_agent_id = f.nullable_uuid("assigned_agent_id", &mut p);
        let status = f.optional_enum("status", STATUSES, &mut p);
        f.reject_unknown(&mut p, |_| false);
        p.into_result()?;
        let Some(wa_contact) = wa_contact else {
            return Err(Problems::single("wa_contact_id", "is required"));
        };
        Ok(CreateChat {
            whatsapp_phone_id,
            wa_contact,
            template,
            template_fields,
            person_contact_id,
            remote_profile_name,
            crm_person_id,
            assigned_agent_id,
            status,
        })
    }

    fn provider_request(
        request: &CreateChat,
        connection: &WeglyConnection,
    ) -> Result<ProviderRequest, Problems> {
        let body = Body {
            whatsapp_phone_id: &request.whatsapp_phone_id,
            wa_contact_id: request
                .wa_contact
                .to_format(connection.wa_contact_id_format),
            template: &request.template,
            template_fields: request.template_fields.as_ref(),
            person_contact_id: request.person_contact_id.as_ref(),
            remote_profile_name: request.remote_profile_name.as_ref(),
            crm_person_id: request.crm_person_id.as_ref(),
            assigned_agent_id: request.assigned_agent_id.as_ref(),
            status: request.status,
        };
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
            body: serde_json::to_value(body).unwrap_or_default(),
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

    fn contact_for_log(request: &CreateChat) -> String {
        mask::phone(&request.wa_contact.to_format(PhoneFormat::E164))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    }

    #[test]
    fn the_connection_needs_a_token() {
        let err = WeglyConnection::from_secret(&json!({"base_url": "x"})).unwrap_err();
        let fields: Vec<&str> = err.list().iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["token", "base_url"]);
    }
}
