//! Tally: `FORM_RESPONSE` webhooks.
//!
//! Fields carry a stable `key` and their `label`. Choice answers are arrays of option ids, read
//! back into the options' texts; checkboxes also send one boolean field per option (its key is
//! the parent's key plus `_<option id>`), which are left out as they repeat the parent. Unanswered
//! fields are `null`. Hidden and calculated fields go to the hidden values.

use super::body::json_object;
use super::{Answer, Decoded, Submission};
use crate::failure::Failure;
use crate::validate::scalar_as_string;
use serde_json::Value;
use std::collections::HashMap;

pub fn decode(body: &[u8]) -> Result<Decoded, Failure> {
    let root = json_object(body, "Tally")?;
    let data = root
        .get("data")
        .and_then(Value::as_object)
        .ok_or_else(|| super::not_from("Tally", "it has no data"))?;
    let fields = data
        .get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| super::not_from("Tally", "it has no data.fields"))?;
    let text = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_string);
    let mut submission = Submission {
        id: root
            .get("eventId")
            .and_then(Value::as_str)
            .map(str::to_string),
        submitted_at: text("createdAt"),
        form_name: text("formName"),
        ..Submission::default()
    };
    let keys: Vec<&str> = fields
        .iter()
        .filter_map(|f| f.get("key").and_then(Value::as_str))
        .collect();
    for field in fields {
        let key = field.get("key").and_then(Value::as_str).unwrap_or_default();
        let label = field
            .get("label")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = field
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let is_option_flag = kind == "CHECKBOXES"
            && field.get("value").is_some_and(Value::is_boolean)
            && keys
                .iter()
                .any(|k| key.len() > k.len() && key.starts_with(&format!("{k}_")));
        if is_option_flag {
            continue;
        }
        let value = value_of(field);
        if kind == "HIDDEN_FIELDS" || kind == "CALCULATED_FIELDS" {
            submission.hidden_field(label, value.display());
            continue;
        }
        submission.field(key, label, kind, value);
    }
    Ok(Decoded::Submissions(vec![submission]))
}

/// A choice field's option texts by id: built once per field, so that reading many chosen ids
/// stays linear in the field's size.
fn option_texts(field: &Value) -> HashMap<&str, &str> {
    let options = field.get("options").and_then(Value::as_array);
    options
        .into_iter()
        .flatten()
        .filter_map(|o| Some((o.get("id")?.as_str()?, o.get("text")?.as_str()?)))
        .collect()
}

fn value_of(field: &Value) -> Answer {
    let value = field.get("value").cloned().unwrap_or(Value::Null);
    match value {
        Value::Null => Answer::Empty,
        Value::Bool(yes) => Answer::text(if yes { "sim" } else { "não" }),
        Value::Array(items) => {
            let options = option_texts(field);
            Answer::list(
                items
                    .iter()
                    .map(|item| match item {
                        // Choices: option ids, read back into their texts.
                        Value::String(id) => options
                            .get(id.as_str())
                            .map_or_else(|| id.clone(), |t| t.to_string()),
                        // Uploads and signatures: their links.
                        Value::Object(file) => file
                            .get("url")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        other => scalar_as_string(other).unwrap_or_default(),
                    })
                    .collect(),
            )
        }
        Value::Object(_) => Answer::text(value.to_string()),
        scalar => Answer::text(scalar_as_string(&scalar).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Submission {
        let body = include_bytes!("../../../tests/fixtures/forms/tally.json");
        match decode(body).unwrap() {
            Decoded::Submissions(mut s) => s.remove(0),
            other => panic!("{other:?}"),
        }
    }

    fn value(s: &Submission, label: &str) -> String {
        s.fields
            .iter()
            .find(|f| f.label == label)
            .map(|f| f.value.display())
            .unwrap_or_else(|| panic!("no field {label}"))
    }

    #[test]
    fn choices_are_read_as_option_texts() {
        let s = sample();
        assert_eq!(
            s.id.as_deref(),
            Some("a4cb511e-d513-4fa5-baee-b815d718dfd1")
        );
        assert_eq!(value(&s, "Multiple choice"), "In progress");
        assert_eq!(value(&s, "Checkboxes"), "Swimming, Skiing");
        assert_eq!(value(&s, "Ranking"), "Pear, Apple, Banana");
        assert_eq!(value(&s, "Phone number"), "+32491223344");
        assert!(s.fields.iter().all(|f| f.label != "Checkboxes (Soccer)"));
    }

    #[test]
    fn hidden_and_calculated_fields_are_kept_apart() {
        let s = sample();
        assert!(
            s.hidden
                .contains(&("utm_campaign".to_string(), "newsletter".to_string()))
        );
        assert!(s.fields.iter().all(|f| f.label != "utm_campaign"));
    }

    #[test]
    fn null_answers_are_unanswered() {
        let body = br#"{"eventId": "e", "data": {"fields": [{"key": "q1", "label": "Obs", "type": "TEXTAREA", "value": null}]}}"#;
        let Decoded::Submissions(s) = decode(body).unwrap() else {
            panic!()
        };
        assert!(s[0].fields[0].value.is_empty());
    }
}
