//! The credentials of the local connections, and how each action's example form webhook presents
//! them: what `scripts/run-local` stores in its moto server and what the form events in
//! `events/` carry, so the two always agree. Nothing here is a real credential.

use ponte::action::ExampleForm;
use ponte::authenticity;
use ponte::forms::Source;
use serde_json::{Value, json};

/// The `webhook_token` of the local secrets, which the direct-call events in `events/` carry.
pub const LOCAL_WEBHOOK_TOKEN: &str = "local-webhook-token";

/// The secret a signing source signs with locally (`local-typeform-secret`).
fn local_signing_secret(source: &str) -> String {
    format!("local-{source}-secret")
}

/// The token a source that does not sign presents locally (`local-rdstation-token`).
fn local_token(source: &str) -> String {
    format!("local-{source}-token")
}

fn signature_header(form: &ExampleForm) -> Option<&'static str> {
    form.source
        .parse::<Source>()
        .ok()
        .and_then(Source::signature_header)
}

/// The `webhooks` part of the local connection: how the example form's source proves itself.
pub fn local_webhooks(form: &ExampleForm) -> Value {
    let source = form.source;
    match signature_header(form) {
        Some(_) => json!({ source: {"signing_secret": local_signing_secret(source)} }),
        None => json!({ source: {"token": local_token(source)} }),
    }
}

/// The example form's query string: the ids the form does not ask for, and the token when its
/// source does not sign.
pub fn form_query(form: &ExampleForm) -> Vec<(String, String)> {
    let mut query: Vec<(String, String)> = form
        .query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if signature_header(form).is_none() {
        query.insert(0, ("token".into(), local_token(form.source)));
    }
    query
}

/// The headers the builder sends with `body`: its user agent and, for a signing source, the
/// signature as that builder writes it.
pub fn form_headers(form: &ExampleForm, body: &str) -> Vec<(String, String)> {
    let user_agent = match form.source {
        "typeform" => "Typeform Webhooks",
        "tally" => "Tally Webhooks",
        "google-forms" => "Mozilla/5.0 (compatible; Google-Apps-Script)",
        "rdstation" => "RD Station Webhooks",
        "jotform" => "JotForm",
        _ => "Mozilla/5.0",
    };
    let mut headers = vec![("user-agent".to_string(), user_agent.to_string())];
    if let Some(header) = signature_header(form) {
        let signature = authenticity::sign(
            local_signing_secret(form.source).as_bytes(),
            body.as_bytes(),
        );
        // Tally sends the bare base64, without the `sha256=` prefix the others write.
        let signature = match form.source {
            "tally" => signature.trim_start_matches("sha256=").to_string(),
            _ => signature,
        };
        headers.push((header.to_string(), signature));
    }
    headers
}

/// The function a sales lead is also handed to in the routes example.
pub const WELCOME_FUNCTION: &str = "cloudchat-proactive-whatsapp";

/// The `webhooks` of the routes example (docs/mappings.md), for the ticket function: Elementor
/// leads behind `token`; test submissions skipped, sales leads to inbox 5 and handed to
/// [`WELCOME_FUNCTION`] with its `boas_vindas`, the rest to inbox 3. The local run and
/// `tests/fan_out.rs` both use it.
pub fn sales_routes(token: &str) -> Value {
    json!({
        "elementor": {"token": token, "routes": [
            {"name": "testes", "when": "'teste' in (email or '')", "skip": true},
            {"name": "vendas", "when": "interesse == 'Orçamento'", "mapping": "vendas",
             "also": [{"function": WELCOME_FUNCTION, "mapping": "boas_vindas"}]},
            {"name": "resto", "mapping": "suporte"}
        ]},
        "mappings": {
            "vendas": {"inbox_id": "5", "contact_email": "{{email}}",
                       "message": {"content": "Olá {{ nome | first_name }}: {{ interesse }}"}},
            "suporte": {"inbox_id": "3", "contact_email": "{{email}}",
                        "message": {"content": "{{all_fields}}"}}
        }
    })
}

/// The `webhooks` of [`WELCOME_FUNCTION`] in the routes example: the `boas_vindas` mapping.
pub fn welcome_mapping() -> Value {
    json!({"mappings": {"boas_vindas": {
        "inbox_id": "9", "phone_number": "{{ whatsapp | phone }}",
        "template_name": "boas_vindas", "nome": "{{ nome | first_name }}"
    }}})
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: ExampleForm = ExampleForm {
        source: "tally",
        fixture: "tally.json",
        query: &[("template_name", "x")],
    };
    const TOKENED: ExampleForm = ExampleForm {
        source: "rdstation",
        fixture: "rdstation-converted.json",
        query: &[("channel_id", "1")],
    };

    #[test]
    fn a_signed_form_carries_a_signature_the_local_secret_verifies() {
        let headers = form_headers(&SIGNED, "{}");
        let (_, signature) = headers
            .iter()
            .find(|(k, _)| k == "tally-signature")
            .expect("a signature header");
        assert!(!signature.starts_with("sha256="));
        assert!(authenticity::signature_matches(
            local_webhooks(&SIGNED)["tally"]["signing_secret"]
                .as_str()
                .unwrap()
                .as_bytes(),
            b"{}",
            signature
        ));
        assert!(form_query(&SIGNED).iter().all(|(k, _)| k != "token"));
    }

    #[test]
    fn a_form_that_does_not_sign_presents_the_local_token() {
        let token = local_webhooks(&TOKENED)["rdstation"]["token"].clone();
        assert_eq!(
            form_query(&TOKENED)[0],
            ("token".to_string(), token.as_str().unwrap().to_string())
        );
        assert_eq!(form_headers(&TOKENED, "{}").len(), 1);
    }
}
