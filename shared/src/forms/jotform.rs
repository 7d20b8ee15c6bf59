//! JotForm: multipart webhooks whose answers are the JSON string in the `rawRequest` part.
//!
//! Answer keys look like `q3_studentsName`; the part after the number is the field's unique
//! name, used as the key (`q3_studentsName` stays an alias). Compound answers (name, phone,
//! address, date) are objects joined into one text. Text is HTML-escaped (`&quot;`) and is
//! unescaped. The `pretty` part is never read. `preview: "true"` marks a test submission.

use super::{Answer, Decoded, Submission};
use crate::failure::Failure;
use crate::validate::scalar_as_string;
use serde_json::{Map, Value};

/// rawRequest keys that are JotForm's own bookkeeping, not answers.
const INTERNAL: &[&str] = &[
    "slug",
    "jsExecutionTracker",
    "submitSource",
    "buildDate",
    "uploadServerUrl",
    "eventObserver",
    "timeToSubmit",
    "temp_upload",
    "file_server",
    "validatedNewRequiredFieldIDs",
    "path",
    "preview",
    "event_id",
    "submitDate",
    "website",
];

pub fn decode(body: &[u8], content_type: Option<&str>) -> Result<Decoded, Failure> {
    let parts = match super::body::media_type(content_type).as_str() {
        "application/x-www-form-urlencoded" => super::body::urlencoded(body)?,
        _ => super::body::multipart(body, content_type)?,
    };
    let part = |name: &str| {
        parts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let raw = part("rawRequest")
        .ok_or_else(|| super::not_from("JotForm", "it has no rawRequest part"))?;
    let answers: Map<String, Value> = match serde_json::from_str(&raw) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(super::not_from(
                "JotForm",
                "rawRequest is not a JSON object",
            ));
        }
    };
    if answers.get("preview").and_then(Value::as_str) == Some("true") {
        return Ok(Decoded::Test(
            "a JotForm preview submission (preview: true)".into(),
        ));
    }
    let mut submission = Submission {
        id: part("submissionID"),
        form_name: part("formTitle").map(|t| unescape_html(&t)),
        ..Submission::default()
    };
    for (key, value) in &answers {
        if INTERNAL.contains(&key.as_str()) {
            continue;
        }
        let name = unique_name(key);
        let answer = value_of(value);
        let added = submission.field(name, label_of(name), "", answer);
        if name != key {
            added.aliases.push(key.clone());
        }
    }
    Ok(Decoded::Submissions(vec![submission]))
}

/// `q3_studentsName` → `studentsName`; other keys stay as they are.
fn unique_name(key: &str) -> &str {
    key.strip_prefix('q')
        .and_then(|rest| rest.split_once('_'))
        .filter(|(number, name)| {
            !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()
        })
        .map_or(key, |(_, name)| name)
}

/// `studentsName` → `students Name`: the closest thing to a label rawRequest has.
fn label_of(name: &str) -> String {
    let mut label = String::new();
    for (i, c) in name.chars().enumerate() {
        if i > 0 && c.is_uppercase() {
            label.push(' ');
        }
        label.push(if c == '_' { ' ' } else { c });
    }
    label
}

fn value_of(value: &Value) -> Answer {
    match value {
        Value::Object(parts) => compound(parts),
        Value::Array(items) => Answer::list(
            items
                .iter()
                .filter_map(scalar_as_string)
                .map(|s| unescape_html(&s))
                .collect(),
        ),
        other => Answer::text(unescape_html(&scalar_as_string(other).unwrap_or_default())),
    }
}

/// Name `{first, last}`, phone `{full}` or `{area, phone}`, date `{day, month, year}`, address
/// lines: one text, or unanswered when every part is blank.
fn compound(parts: &Map<String, Value>) -> Answer {
    let get = |k: &str| {
        parts
            .get(k)
            .and_then(scalar_as_string)
            .map(|s| unescape_html(s.trim()))
            .unwrap_or_default()
    };
    if parts.contains_key("full") {
        return Answer::text(get("full"));
    }
    if parts.contains_key("area") && parts.contains_key("phone") {
        return Answer::text(
            format!("{} {}", get("area"), get("phone"))
                .trim()
                .to_string(),
        );
    }
    if ["day", "month", "year"]
        .iter()
        .all(|k| parts.contains_key(*k))
    {
        let (d, m, y) = (get("day"), get("month"), get("year"));
        return if d.is_empty() || m.is_empty() || y.is_empty() {
            Answer::Empty
        } else {
            Answer::text(format!("{y}-{m:0>2}-{d:0>2}"))
        };
    }
    let order = [
        "prefix",
        "first",
        "middle",
        "last",
        "suffix",
        "addr_line1",
        "addr_line2",
        "city",
        "state",
        "postal",
        "country",
    ];
    let known: Vec<String> = order
        .iter()
        .map(|k| get(k))
        .filter(|v| !v.is_empty())
        .collect();
    if order.iter().any(|k| parts.contains_key(*k)) {
        let separator = if parts.contains_key("addr_line1") {
            ", "
        } else {
            " "
        };
        return Answer::text(known.join(separator));
    }
    // Anything else (appointments, tables): its parts as "key: value", blanks left out.
    Answer::text(
        parts
            .iter()
            .filter_map(|(k, v)| {
                scalar_as_string(v)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| format!("{k}: {v}"))
            })
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// JotForm escapes text as HTML; undo its entities. A kept decoder does it, in one pass, and
/// never splits a character (text beside an entity is often Portuguese: `Preço &amp; condições`).
pub fn unescape_html(text: &str) -> String {
    html_escape::decode_html_entities(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTENT_TYPE: &str =
        "multipart/form-data; boundary=------------------------J1JNT4vbVO4FCC1qLG4HSv";

    fn sample() -> Vec<u8> {
        include_bytes!("../../../tests/fixtures/forms/jotform.multipart.txt").to_vec()
    }

    #[test]
    fn a_preview_submission_is_a_test_delivery() {
        assert!(matches!(
            decode(&sample(), Some(CONTENT_TYPE)).unwrap(),
            Decoded::Test(_)
        ));
    }

    #[test]
    fn answers_are_read_from_raw_request() {
        let body = String::from_utf8(sample())
            .unwrap()
            .replace(r#""preview":"true","#, "");
        let Decoded::Submissions(s) = decode(body.as_bytes(), Some(CONTENT_TYPE)).unwrap() else {
            panic!("expected a submission")
        };
        let s = &s[0];
        assert_eq!(s.id.as_deref(), Some("6084250982513018472"));
        assert_eq!(s.form_name.as_deref(), Some("Tutor Appointment Form"));
        let field = |key: &str| s.fields.iter().find(|f| f.key == key).unwrap();
        assert_eq!(field("studentsName").value, Answer::text("Niloth P"));
        assert_eq!(field("studentsName").aliases, ["q3_studentsName"]);
        assert_eq!(field("studentsName").label, "students Name");
        assert_eq!(field("subjectFor").value, Answer::text("Math"));
        assert!(field("date").value.is_empty());
        assert!(field("description").value.is_empty());
        assert!(
            s.fields
                .iter()
                .all(|f| f.key != "jsExecutionTracker" && f.key != "pretty")
        );
    }

    #[test]
    fn html_entities_are_unescaped() {
        assert_eq!(
            unescape_html("Eu &quot;preciso&quot; &amp; quero &#233;&#x21;"),
            "Eu \"preciso\" & quero é!"
        );
        assert_eq!(unescape_html("R&D & co &bogus;"), "R&D & co &bogus;");
    }

    #[test]
    fn compound_answers_become_one_text() {
        let phone = serde_json::json!({"area": "11", "phone": "98765-4321"});
        assert_eq!(value_of(&phone), Answer::text("11 98765-4321"));
        let date = serde_json::json!({"day": "5", "month": "3", "year": "2026"});
        assert_eq!(value_of(&date), Answer::text("2026-03-05"));
        let address =
            serde_json::json!({"addr_line1": "Rua A, 10", "city": "Fortaleza", "state": "CE"});
        assert_eq!(value_of(&address), Answer::text("Rua A, 10, Fortaleza, CE"));
    }

    #[test]
    fn a_body_without_raw_request_is_refused() {
        let body = "--b\r\nContent-Disposition: form-data; name=\"formID\"\r\n\r\n1\r\n--b--\r\n";
        let err = decode(body.as_bytes(), Some("multipart/form-data; boundary=b")).unwrap_err();
        assert!(err.to_string().contains("rawRequest"), "{err}");
    }
}
