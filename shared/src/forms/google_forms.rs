//! Google Forms, through the Apps Script forwarder in `docs/google-forms-forwarder.gs`
//! (Google Forms has no webhook of its own). The script posts
//! `{formId, formTitle, responseId, submittedAt, respondentEmail, answers: [{itemId, title, type,
//! answer}]}` and signs it like Typeform does, in `X-Ponte-Signature`.

use super::body::json_object;
use super::{Answer, Decoded, Submission};
use crate::failure::Failure;
use crate::validate::scalar_as_string;
use serde_json::Value;

pub fn decode(body: &[u8]) -> Result<Decoded, Failure> {
    let root = json_object(body, "Google Forms forwarder")?;
    let answers = root
        .get("answers")
        .and_then(Value::as_array)
        .ok_or_else(|| super::not_from("Google Forms forwarder", "it has no answers"))?;
    let text = |key: &str| root.get(key).and_then(Value::as_str).map(str::to_string);
    let mut submission = Submission {
        id: text("responseId"),
        submitted_at: text("submittedAt"),
        form_name: text("formTitle"),
        ..Submission::default()
    };
    if let Some(email) = text("respondentEmail").filter(|e| !e.is_empty()) {
        submission.field("respondentEmail", "E-mail", "email", Answer::text(email));
    }
    for answer in answers {
        let title = answer
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let item = answer
            .get("itemId")
            .and_then(scalar_as_string)
            .unwrap_or_default();
        let kind = answer
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let value = match answer.get("answer") {
            Some(Value::Array(items)) => {
                Answer::list(items.iter().filter_map(scalar_as_string).collect())
            }
            Some(value) => Answer::text(scalar_as_string(value).unwrap_or_default()),
            None => Answer::Empty,
        };
        let key = if item.is_empty() {
            title.to_string()
        } else {
            item
        };
        submission.field(key, title, kind, value);
    }
    Ok(Decoded::Submissions(vec![submission]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forwarders_body_is_read() {
        let body = include_bytes!("../../../tests/fixtures/forms/google-forms.json");
        let Decoded::Submissions(s) = decode(body).unwrap() else {
            panic!()
        };
        let s = &s[0];
        assert_eq!(s.id.as_deref(), Some("2_ABaOnuEXAMPLERESPONSEID"));
        assert_eq!(s.fields[0].label, "Nome completo");
        assert_eq!(s.fields[0].key, "123456789");
        assert_eq!(
            s.fields[4].value.display(),
            "Plano Básico, Integração WhatsApp"
        );
        assert!(
            s.readable()
                .contains("Mensagem: Não consigo acessar o painel desde ontem.\nPodem me ligar?")
        );
    }
}
