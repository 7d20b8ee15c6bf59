//! Typeform: `form_response` webhooks.
//!
//! Answers point to their question by `field.id`; the question's title and `ref` come from
//! `definition.fields`. Fields are keyed by `ref` (stable across edits; set it in the form's
//! question settings) with the id as an alias. The value sits under the key named by the
//! answer's `type`. Skipped questions have no answer and are simply absent.

use super::body::json_object;
use super::{Answer, Decoded, Submission};
use crate::failure::Failure;
use serde_json::{Map, Value};

pub fn decode(body: &[u8]) -> Result<Decoded, Failure> {
    let root = json_object(body, "Typeform")?;
    let response = root
        .get("form_response")
        .and_then(Value::as_object)
        .ok_or_else(|| super::not_from("Typeform", "it has no form_response"))?;
    let mut submission = Submission {
        id: root
            .get("event_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        submitted_at: text(response, "submitted_at"),
        form_name: response
            .get("definition")
            .and_then(|d| d.get("title"))
            .and_then(Value::as_str)
            .map(str::to_string),
        ..Submission::default()
    };
    let definitions: Vec<&Map<String, Value>> = response
        .get("definition")
        .and_then(|d| d.get("fields"))
        .and_then(Value::as_array)
        .map(|fields| fields.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let answers = response
        .get("answers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for answer in &answers {
        let Some(field) = answer.get("field") else {
            continue;
        };
        let id = field.get("id").and_then(Value::as_str).unwrap_or_default();
        let definition = definitions
            .iter()
            .find(|d| d.get("id").and_then(Value::as_str) == Some(id));
        let reference = field
            .get("ref")
            .and_then(Value::as_str)
            .or_else(|| {
                definition
                    .and_then(|d| d.get("ref"))
                    .and_then(Value::as_str)
            })
            .unwrap_or(id);
        let label = definition
            .and_then(|d| d.get("title"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = field
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let added = submission.field(reference, label, kind, value_of(answer));
        if reference != id && !id.is_empty() {
            added.aliases.push(id.to_string());
        }
    }
    for (key, value) in response
        .get("hidden")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(value) = crate::validate::scalar_as_string(value) {
            submission.hidden_field(key, value);
        }
    }
    for variable in response
        .get("variables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = variable
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = variable
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(value) = variable
            .get(kind)
            .and_then(crate::validate::scalar_as_string)
        {
            submission.hidden_field(format!("variables.{key}"), value);
        }
    }
    Ok(Decoded::Submissions(vec![submission]))
}

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The answer's value, read from the key its `type` names.
fn value_of(answer: &Value) -> Answer {
    let kind = answer
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let value = answer.get(kind).cloned().unwrap_or(Value::Null);
    match (kind, value) {
        ("choice", Value::Object(choice)) => Answer::text(
            choice
                .get("label")
                .or_else(|| choice.get("other"))
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ),
        ("choices", Value::Object(choices)) => {
            let mut labels: Vec<String> = choices
                .get("labels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            if let Some(other) = choices.get("other").and_then(Value::as_str) {
                labels.push(other.to_string());
            }
            Answer::list(labels)
        }
        ("boolean", Value::Bool(yes)) => Answer::text(if yes { "sim" } else { "não" }),
        ("payment", Value::Object(payment)) => Answer::text(
            payment
                .get("amount")
                .and_then(crate::validate::scalar_as_string)
                .unwrap_or_default(),
        ),
        (_, value) => crate::validate::scalar_as_string(&value)
            .map(Answer::text)
            .unwrap_or(Answer::Empty),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Submission {
        let body = include_bytes!("../../../tests/fixtures/forms/typeform.json");
        match decode(body).unwrap() {
            Decoded::Submissions(mut s) => s.remove(0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn answers_are_keyed_by_ref_with_titles_as_labels() {
        let s = sample();
        assert_eq!(s.id.as_deref(), Some("LtWXD3crgy"));
        let email = s
            .fields
            .iter()
            .find(|f| f.key == "readable_ref_email")
            .unwrap();
        assert_eq!(email.value, Answer::text("laura@example.com"));
        assert_eq!(email.kind, "email");
        assert!(
            email
                .label
                .starts_with("If you're OK with our city management")
        );
        assert_eq!(email.aliases, ["SMEUb7VJz92Q"]);
    }

    #[test]
    fn choices_booleans_and_hidden_fields() {
        let s = sample();
        let value = |key: &str| {
            s.fields
                .iter()
                .find(|f| f.key == key)
                .map(|f| f.value.display())
        };
        assert_eq!(
            value("readable_ref_multiple_choice").as_deref(),
            Some("London")
        );
        assert_eq!(
            value("readable_ref_picture_choice").as_deref(),
            Some("London, Sydney")
        );
        assert_eq!(value("readable_ref_yes_no").as_deref(), Some("não"));
        assert!(
            s.hidden
                .contains(&("user_id".to_string(), "abc123456".to_string()))
        );
    }

    #[test]
    fn bodies_that_are_not_typeform_are_refused() {
        assert_eq!(
            decode(br#"{"answers": []}"#).unwrap_err().kind(),
            "invalid_body"
        );
        assert_eq!(decode(b"[1]").unwrap_err().kind(), "invalid_body");
    }
}
