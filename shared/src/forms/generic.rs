//! Any other builder: a JSON object, an urlencoded form or a multipart form of field names and
//! values. The body's `Content-Type` says which (JSON when it says nothing). Nested JSON objects
//! become dotted keys (`contato.email`).

use super::{Answer, Decoded, Submission};
use crate::failure::Failure;
use crate::validate::scalar_as_string;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Nesting deeper than this is kept as JSON text rather than followed.
const MAX_DEPTH: usize = 4;

pub fn decode(body: &[u8], content_type: Option<&str>) -> Result<Decoded, Failure> {
    let mut submission = Submission::default();
    match super::body::media_type(content_type).as_str() {
        "application/x-www-form-urlencoded" => {
            add_pairs(&mut submission, super::body::urlencoded(body)?)
        }
        "multipart/form-data" => {
            add_pairs(&mut submission, super::body::multipart(body, content_type)?)
        }
        _ => {
            let object = super::body::json_object(body, "generic JSON")?;
            add_fields(&mut submission, &object, "");
        }
    }
    Ok(Decoded::Submissions(vec![submission]))
}

fn add_pairs(submission: &mut Submission, pairs: Vec<(String, String)>) {
    // Values grouped by key, keys in the order they first appear: one pass with an index, so a
    // body of many fields, or of one field repeated many times, is read in linear time.
    let mut position: HashMap<String, usize> = HashMap::new();
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for (key, value) in pairs {
        match position.get(&key) {
            Some(&at) => grouped[at].1.push(value),
            None => {
                position.insert(key.clone(), grouped.len());
                grouped.push((key, vec![value]));
            }
        }
    }
    for (key, mut values) in grouped {
        // Repeated keys (checkboxes) collect into a list.
        let answer = if values.len() == 1 {
            Answer::text(values.remove(0))
        } else {
            Answer::list(values)
        };
        submission.field(key.clone(), key, "", answer);
    }
}

/// Adds every key of `object` as a field, nested objects as `prefix.key`.
pub(crate) fn add_fields(submission: &mut Submission, object: &Map<String, Value>, prefix: &str) {
    add_level(submission, object, prefix, 0);
}

fn add_level(submission: &mut Submission, object: &Map<String, Value>, prefix: &str, depth: usize) {
    for (key, value) in object {
        let key = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let answer = match value {
            Value::Object(inner) if depth < MAX_DEPTH => {
                add_level(submission, inner, &key, depth + 1);
                continue;
            }
            Value::Array(items) => Answer::list(
                items
                    .iter()
                    .map(|i| scalar_as_string(i).unwrap_or_else(|| i.to_string()))
                    .collect(),
            ),
            Value::Null => Answer::Empty,
            other => Answer::text(scalar_as_string(other).unwrap_or_else(|| other.to_string())),
        };
        submission.field(key.clone(), key, "", answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(body: &[u8], content_type: Option<&str>) -> Vec<(String, String)> {
        let Decoded::Submissions(s) = decode(body, content_type).unwrap() else {
            panic!()
        };
        s[0].fields
            .iter()
            .map(|f| (f.key.clone(), f.value.display()))
            .collect()
    }

    #[test]
    fn json_objects_are_flattened() {
        let got = fields(
            br#"{"nome": "Ana", "contato": {"email": "a@example.com"}, "n": 3, "x": null}"#,
            None,
        );
        assert_eq!(
            got,
            vec![
                ("nome".into(), "Ana".into()),
                ("contato.email".into(), "a@example.com".into()),
                ("n".into(), "3".into()),
                ("x".into(), "".into())
            ]
        );
    }

    #[test]
    fn urlencoded_repeats_become_lists() {
        let got = fields(
            b"nome=Ana&interesse=A&interesse=B",
            Some("application/x-www-form-urlencoded"),
        );
        assert_eq!(
            got,
            vec![
                ("nome".into(), "Ana".into()),
                ("interesse".into(), "A, B".into())
            ]
        );
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(decode(b"[1, 2]", Some("application/json")).is_err());
        assert!(decode(b"{", None).is_err());
    }
}
