//! RD Station Marketing: the `WEBHOOK.CONVERTED` (and `WEBHOOK.MARKED_OPPORTUNITY`) payload with
//! one `contact`, and the legacy payload `{"leads": [...]}` with one or more leads, each of which
//! becomes its own submission.
//!
//! The contact's properties are the fields (`name`, `email`, `mobile_phone`, custom fields
//! `cf_*`…). A delivery is identified by the contact's uuid and the event's timestamp. A body
//! with no contact and no leads is RD Station checking the URL: a test delivery.

use super::body::json;
use super::{Answer, Decoded, Submission};
use crate::failure::Failure;
use crate::validate::scalar_as_string;
use serde_json::{Map, Value};

/// Contact properties worth a readable label.
const LABELS: &[(&str, &str)] = &[
    ("name", "Nome"),
    ("email", "E-mail"),
    ("mobile_phone", "Celular"),
    ("personal_phone", "Telefone"),
    ("job_title", "Cargo"),
    ("city", "Cidade"),
    ("state", "Estado"),
    ("website", "Site"),
    ("company", "Empresa"),
    ("tags", "Tags"),
];

/// Properties that describe the lead's place in RD Station rather than answers.
const HIDDEN: &[&str] = &[
    "uuid",
    "id",
    "funnel",
    "legal_bases",
    "first_conversion",
    "last_conversion",
    "lead_stage",
    "opportunity",
    "fit_score",
    "interest",
    "number_conversions",
    "user",
    "public_url",
    "custom_fields",
    "created_at",
    "bio",
    "facebook",
    "linkedin",
    "twitter",
];

pub fn decode(body: &[u8]) -> Result<Decoded, Failure> {
    let root = match json(body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Err(super::not_from(
                "RD Station",
                "the body is not a JSON object",
            ));
        }
        // RD Station's URL check may come with an empty body.
        Err(Failure::InvalidJson(ref m)) if m.contains("empty") => {
            return Ok(Decoded::Test(
                "an empty RD Station delivery (URL check)".into(),
            ));
        }
        Err(failure) => return Err(failure),
    };
    if let Some(contact) = root.get("contact").and_then(Value::as_object) {
        let timestamp = root
            .get("event_timestamp")
            .or_else(|| root.get("timestamp"))
            .and_then(Value::as_str);
        return Ok(Decoded::Submissions(vec![lead(contact, timestamp)]));
    }
    if let Some(leads) = root.get("leads").and_then(Value::as_array) {
        let submissions: Vec<Submission> = leads
            .iter()
            .filter_map(Value::as_object)
            .map(|l| {
                lead(
                    l,
                    l.get("last_conversion")
                        .and_then(|c| c.get("created_at"))
                        .and_then(Value::as_str),
                )
            })
            .collect();
        if submissions.is_empty() {
            return Ok(Decoded::Test(
                "an RD Station delivery without leads (URL check)".into(),
            ));
        }
        return Ok(Decoded::Submissions(submissions));
    }
    if root.is_empty() || root.contains_key("event_type") {
        return Ok(Decoded::Test(
            "an RD Station delivery without a contact (URL check)".into(),
        ));
    }
    Err(super::not_from(
        "RD Station",
        "it has neither contact nor leads",
    ))
}

fn lead(contact: &Map<String, Value>, timestamp: Option<&str>) -> Submission {
    let uuid = contact
        .get("uuid")
        .or_else(|| contact.get("id"))
        .and_then(scalar_as_string);
    let mut submission = Submission {
        id: uuid.map(|u| match timestamp {
            Some(t) => format!("{u}@{t}"),
            None => u,
        }),
        submitted_at: timestamp.map(str::to_string),
        ..Submission::default()
    };
    for (key, value) in contact {
        if HIDDEN.contains(&key.as_str()) {
            if let Some(text) = scalar_as_string(value) {
                submission.hidden_field(key, text);
            }
            continue;
        }
        let label = LABELS
            .iter()
            .find(|(k, _)| k == key)
            .map_or(key.as_str(), |(_, label)| label);
        let answer = match value {
            Value::Array(items) => {
                Answer::list(items.iter().filter_map(scalar_as_string).collect())
            }
            Value::Object(o) => {
                Answer::text(o.get("name").and_then(scalar_as_string).unwrap_or_default())
            }
            other => Answer::text(scalar_as_string(other).unwrap_or_default()),
        };
        let kind = if key.contains("phone") {
            "phone"
        } else if key == "email" {
            "email"
        } else {
            ""
        };
        submission.field(key.clone(), label, kind, answer);
    }
    // The legacy payload nests custom fields; they are answers too.
    for (key, value) in contact
        .get("custom_fields")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let answer = match value {
            Value::Array(items) => {
                Answer::list(items.iter().filter_map(scalar_as_string).collect())
            }
            other => Answer::text(scalar_as_string(other).unwrap_or_default()),
        };
        submission.field(key.clone(), key.clone(), "", answer);
    }
    submission
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_converted_contact_is_one_submission() {
        let body = include_bytes!("../../../tests/fixtures/forms/rdstation-converted.json");
        let Decoded::Submissions(s) = decode(body).unwrap() else {
            panic!()
        };
        assert_eq!(s.len(), 1);
        let s = &s[0];
        assert_eq!(
            s.id.as_deref(),
            Some("c2f3d2b3-7250-4d27-97f4-eef38be32f7f@2018-03-13T14:07:04.254-03:00")
        );
        let field = |key: &str| s.fields.iter().find(|f| f.key == key).unwrap();
        assert_eq!(
            field("email").value,
            Answer::text("ana.souza@example.com.br")
        );
        assert_eq!(field("mobile_phone").label, "Celular");
        assert_eq!(field("company").value, Answer::text("Company Example 0"));
        assert_eq!(
            field("cf_custom_field_example").value.display(),
            "Option1, Option2"
        );
        assert!(s.hidden.iter().any(|(k, _)| k == "uuid"));
    }

    #[test]
    fn legacy_leads_are_one_submission_each() {
        let body = br#"{"leads": [{"id": "1", "email": "a@example.com", "name": "A", "custom_fields": {"Interesse": "Plano"}}, {"id": "2", "email": "b@example.com"}]}"#;
        let Decoded::Submissions(s) = decode(body).unwrap() else {
            panic!()
        };
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].id.as_deref(), Some("2"));
        assert!(
            s[0].fields
                .iter()
                .any(|f| f.key == "Interesse" && f.value.display() == "Plano")
        );
    }

    #[test]
    fn url_checks_are_test_deliveries() {
        for body in [&b""[..], b"{}", br#"{"leads": []}"#] {
            assert!(
                matches!(decode(body).unwrap(), Decoded::Test(_)),
                "{body:?}"
            );
        }
        assert!(decode(br#"{"other": 1}"#).is_err());
    }
}
