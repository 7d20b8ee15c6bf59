//! Elementor Pro forms: urlencoded webhooks, in either of the two shapes the form's "Advanced
//! Data" switch chooses.
//!
//! Off (the default): keys are the fields' labels (`Seu nome`), or `No Label <id>` for fields
//! without one, followed by page metadata (`Date`, `Page URL`, `Remote IP`…) and `form_id`,
//! `form_name`. On: `fields[<id>][value|title|type|raw_value]`, `form[id|name]` and
//! `meta[<key>][title|value]`. Fields are keyed by their id in both shapes where it is known.

use super::{Answer, Decoded, Submission};
use crate::failure::Failure;
use std::collections::BTreeMap;

/// Keys the simple shape adds after the fields: page metadata, not answers.
const SIMPLE_META: &[&str] = &[
    "Date",
    "Time",
    "Page URL",
    "User Agent",
    "Remote IP",
    "Powered by",
    "form_id",
    "form_name",
];

pub fn decode(body: &[u8], content_type: Option<&str>) -> Result<Decoded, Failure> {
    let pairs = match super::body::media_type(content_type).as_str() {
        "multipart/form-data" => super::body::multipart(body, content_type)?,
        _ => super::body::urlencoded(body)?,
    };
    if pairs.is_empty() {
        return Err(super::not_from("Elementor", "the body has no fields"));
    }
    let submission = if pairs.iter().any(|(k, _)| k.starts_with("fields[")) {
        advanced(&pairs)
    } else {
        simple(&pairs)
    };
    Ok(Decoded::Submissions(vec![submission]))
}

fn simple(pairs: &[(String, String)]) -> Submission {
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let mut submission = Submission {
        form_name: get("form_name"),
        ..Submission::default()
    };
    for (key, value) in pairs {
        if SIMPLE_META.contains(&key.as_str()) || is_tracking(key) {
            submission.hidden_field(key, value);
            continue;
        }
        let (id, label) = match key.strip_prefix("No Label ") {
            Some(id) => (id.to_string(), id.to_string()),
            None => (key.clone(), key.clone()),
        };
        submission.field(id, label, "", Answer::text(value.clone()));
    }
    submission
}

/// UTM and click ids: hidden fields most landing pages add.
fn is_tracking(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("utm_") || ["src", "fbclid", "gclid"].contains(&key.as_str())
}

/// `fields[email][value]` → `("fields", "email", "value")`.
fn bracketed(key: &str) -> Option<(&str, &str, &str)> {
    let (group, rest) = key.split_once('[')?;
    let (id, rest) = rest.split_once("][")?;
    let attribute = rest.strip_suffix(']')?;
    Some((group, id, attribute))
}

fn advanced(pairs: &[(String, String)]) -> Submission {
    let mut fields: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    // Ids in the order they first appear; the map says whether an id was seen.
    let mut order: Vec<&str> = Vec::new();
    let mut submission = Submission::default();
    for (key, value) in pairs {
        match bracketed(key) {
            Some(("fields", id, attribute)) => {
                let attributes = fields.entry(id).or_insert_with(|| {
                    order.push(id);
                    BTreeMap::new()
                });
                attributes.insert(attribute, value);
            }
            Some(("meta", id, "value")) => submission.hidden_field(id, value),
            None if key == "form[name]" => submission.form_name = Some(value.clone()),
            None if key == "form[id]" => submission.hidden_field("form_id", value),
            _ => {}
        }
    }
    for id in order {
        let attributes = &fields[id];
        let value = attributes.get("value").copied().unwrap_or_default();
        let kind = attributes.get("type").copied().unwrap_or_default();
        if kind == "hidden" || is_tracking(id) {
            submission.hidden_field(id, value);
            continue;
        }
        let label = attributes
            .get("title")
            .copied()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(id);
        submission.field(id, label, kind, Answer::text(value));
    }
    submission
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(body: &[u8]) -> Submission {
        match decode(body, Some("application/x-www-form-urlencoded")).unwrap() {
            Decoded::Submissions(mut s) => s.remove(0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn simple_mode_keys_are_labels_and_metadata_is_hidden() {
        let s = submission(include_bytes!(
            "../../../tests/fixtures/forms/elementor-simple.urlencoded.txt"
        ));
        let labels: Vec<&str> = s.fields.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(labels, ["Seu nome", "Seu melhor email", "Whatsapp"]);
        assert_eq!(s.fields[2].value, Answer::text("(85) 98769-6383"));
        assert_eq!(s.form_name.as_deref(), Some("Checkout pré populado"));
        assert!(
            s.hidden
                .iter()
                .any(|(k, v)| k == "utm_source" && v == "acesso")
        );
        assert!(s.hidden.iter().any(|(k, _)| k == "Page URL"));
    }

    #[test]
    fn advanced_mode_is_keyed_by_field_id() {
        let body = "form%5Bid%5D=1606c7c4&form%5Bname%5D=New+Form&fields%5Bname%5D%5Bid%5D=name&fields%5Bname%5D%5Btype%5D=text&fields%5Bname%5D%5Btitle%5D=&fields%5Bname%5D%5Bvalue%5D=teste&fields%5Bemail%5D%5Btype%5D=email&fields%5Bemail%5D%5Btitle%5D=E-mail&fields%5Bemail%5D%5Bvalue%5D=t%40example.com&fields%5Butm_source%5D%5Bvalue%5D=ig&meta%5Bpage_url%5D%5Bvalue%5D=https%3A%2F%2Fexample.com";
        let s = submission(body.as_bytes());
        assert_eq!(s.form_name.as_deref(), Some("New Form"));
        assert_eq!(
            (s.fields[0].key.as_str(), s.fields[0].label.as_str()),
            ("name", "name")
        );
        assert_eq!(
            (s.fields[1].label.as_str(), s.fields[1].kind.as_str()),
            ("E-mail", "email")
        );
        assert!(s.hidden.iter().any(|(k, v)| k == "utm_source" && v == "ig"));
        assert!(s.hidden.iter().any(|(k, _)| k == "page_url"));
    }

    #[test]
    fn fields_without_a_label_use_their_id() {
        let s = submission(
            b"form_name=New+Form&No+Label+name=Shara&No+Label+email=shara%40example.com",
        );
        assert_eq!(s.fields[0].key, "name");
        assert_eq!(s.fields[1].value, Answer::text("shara@example.com"));
    }
}
