//! Form-builder webhooks: each source's body decoded into one normalized [`Submission`].
//!
//! The source is never guessed: it is named by the webhook URL (`…/typeform`, or
//! `?source=typeform`). Each source module reads its builder's own format, and the
//! [`crate::mapping`] turns the submission into the action's provider request.

pub mod body;
pub mod cf7;
pub mod elementor;
pub mod generic;
pub mod google_forms;
pub mod jotform;
pub mod rdstation;
pub mod tally;
pub mod typeform;

use crate::failure::Failure;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Where a webhook comes from, as named in its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Typeform,
    Tally,
    Jotform,
    GoogleForms,
    Elementor,
    RdStation,
    Cf7,
    /// Any other builder: a JSON, urlencoded or multipart body of field names and values.
    Generic,
}

pub const SOURCES: &[&str] = &[
    "typeform",
    "tally",
    "jotform",
    "google-forms",
    "elementor",
    "rdstation",
    "cf7",
    "generic",
];

impl FromStr for Source {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(
            match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "typeform" => Source::Typeform,
                "tally" => Source::Tally,
                "jotform" => Source::Jotform,
                "google-forms" | "googleforms" => Source::GoogleForms,
                "elementor" => Source::Elementor,
                "rdstation" | "rd-station" => Source::RdStation,
                "cf7" | "contact-form-7" => Source::Cf7,
                "generic" => Source::Generic,
                _ => {
                    return Err(format!(
                        "unknown source {s:?}: use one of {}",
                        SOURCES.join(", ")
                    ));
                }
            },
        )
    }
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Typeform => "typeform",
            Source::Tally => "tally",
            Source::Jotform => "jotform",
            Source::GoogleForms => "google-forms",
            Source::Elementor => "elementor",
            Source::RdStation => "rdstation",
            Source::Cf7 => "cf7",
            Source::Generic => "generic",
        }
    }

    /// The header carrying an HMAC-SHA256 signature of the raw body, for sources that sign.
    pub fn signature_header(self) -> Option<&'static str> {
        match self {
            Source::Typeform => Some("typeform-signature"),
            Source::Tally => Some("tally-signature"),
            Source::GoogleForms => Some("x-ponte-signature"),
            _ => None,
        }
    }

    /// How long the builder waits for an answer before it gives up and retries, when it says.
    /// The provider call is cut short to answer within it.
    pub fn answer_within(self) -> Option<Duration> {
        match self {
            // Tally waits 10 seconds; keep one back for the answer itself.
            Source::Tally => Some(Duration::from_secs(9)),
            // Elementor Pro's webhook action posts with WordPress's HTTP API and sets no
            // timeout, so WordPress's default of 5 seconds holds.
            Source::Elementor => Some(Duration::from_secs(4)),
            _ => None,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One answer of a submission.
#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    /// The builder's stable key (Typeform `ref`, Tally `key`, JotForm field name…).
    pub key: String,
    /// Other names the field can be referenced by in a mapping (ids, names without prefixes).
    pub aliases: Vec<String>,
    /// The question as the person filling the form saw it.
    pub label: String,
    /// The builder's field type (`email`, `INPUT_PHONE_NUMBER`, `tel`…), lower-cased.
    pub kind: String,
    pub value: Answer,
}

/// An answer's value. Choices are resolved to their texts; unanswered fields are `Empty`.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Text(String),
    List(Vec<String>),
    Empty,
}

impl Answer {
    /// Text from an optional string: blank counts as unanswered.
    pub fn text(value: impl Into<String>) -> Self {
        let value = value.into();
        if value.trim().is_empty() {
            Answer::Empty
        } else {
            Answer::Text(value)
        }
    }

    pub fn list(values: Vec<String>) -> Self {
        let values: Vec<String> = values
            .into_iter()
            .filter(|v| !v.trim().is_empty())
            .collect();
        if values.is_empty() {
            Answer::Empty
        } else {
            Answer::List(values)
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Answer::Empty)
    }

    /// The answer as one line of text (lists joined with ", ").
    pub fn display(&self) -> String {
        match self {
            Answer::Text(text) => text.clone(),
            Answer::List(items) => items.join(", "),
            Answer::Empty => String::new(),
        }
    }
}

/// One form submission, whatever builder sent it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Submission {
    pub source: Option<Source>,
    /// The builder's own id of this submission or delivery, when it sends one.
    pub id: Option<String>,
    pub submitted_at: Option<String>,
    pub form_name: Option<String>,
    /// The answers, in the form's order.
    pub fields: Vec<FormField>,
    /// Hidden fields, UTM parameters and page metadata: usable in a mapping, left out of the
    /// readable summary.
    pub hidden: Vec<(String, String)>,
}

/// What a webhook body turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// Several submissions can arrive in one body (RD Station's legacy `leads`).
    Submissions(Vec<Submission>),
    /// A builder's test delivery: answered with success, nothing is sent.
    Test(String),
}

impl Submission {
    pub fn field(
        &mut self,
        key: impl Into<String>,
        label: impl Into<String>,
        kind: impl Into<String>,
        value: Answer,
    ) -> &mut FormField {
        self.fields.push(FormField {
            key: key.into(),
            aliases: Vec::new(),
            label: label.into(),
            kind: kind.into().to_ascii_lowercase(),
            value,
        });
        let last = self.fields.len() - 1;
        &mut self.fields[last]
    }

    pub fn hidden_field(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let value = value.into();
        if !value.trim().is_empty() {
            self.hidden.push((key.into(), value));
        }
    }

    /// "Label: answer" lines for every answered field: the default message text.
    pub fn readable(&self) -> String {
        self.fields
            .iter()
            .filter(|f| !f.value.is_empty())
            .map(|f| {
                let label = if f.label.trim().is_empty() {
                    &f.key
                } else {
                    &f.label
                };
                format!("{}: {}", label.trim(), f.value.display())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Lower-case, accents removed, runs of anything but letters and digits made one space:
/// `"Seu melhor E-mail:"` → `"seu melhor e mail"`.
pub fn normalize_name(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = fold_accent(c);
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

fn fold_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        other => other,
    }
}

/// Decodes `body` as `source` sends it. `content_type` is the request's header, if any.
pub fn decode(source: Source, body: &[u8], content_type: Option<&str>) -> Result<Decoded, Failure> {
    let mut inbound = match source {
        Source::Typeform => typeform::decode(body)?,
        Source::Tally => tally::decode(body)?,
        Source::Jotform => jotform::decode(body, content_type)?,
        Source::GoogleForms => google_forms::decode(body)?,
        Source::Elementor => elementor::decode(body, content_type)?,
        Source::RdStation => rdstation::decode(body)?,
        Source::Cf7 => cf7::decode(body)?,
        Source::Generic => generic::decode(body, content_type)?,
    };
    if let Decoded::Submissions(submissions) = &mut inbound {
        for submission in submissions {
            submission.source = Some(source);
        }
    }
    Ok(inbound)
}

/// The failure for a body that is not what `source` sends.
pub(crate) fn not_from(source: &str, why: impl fmt::Display) -> Failure {
    Failure::InvalidBody(format!("not a {source} webhook body: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized_for_matching() {
        assert_eq!(normalize_name("Seu melhor E-mail:"), "seu melhor e mail");
        assert_eq!(
            normalize_name("  Telefone / WhatsApp "),
            "telefone whatsapp"
        );
        assert_eq!(normalize_name("Observações"), "observacoes");
        assert_eq!(normalize_name("your-name"), "your name");
    }

    #[test]
    fn sources_are_named_explicitly() {
        assert_eq!(
            "google_forms".parse::<Source>().unwrap(),
            Source::GoogleForms
        );
        assert_eq!("RDStation".parse::<Source>().unwrap(), Source::RdStation);
        assert!(
            "wix"
                .parse::<Source>()
                .unwrap_err()
                .contains("typeform, tally")
        );
    }

    #[test]
    fn the_readable_summary_skips_unanswered_fields() {
        let mut s = Submission::default();
        s.field("name", "Nome", "text", Answer::text("Maria"));
        s.field("obs", "Observações", "text", Answer::Empty);
        s.field(
            "interests",
            "Interesses",
            "checkbox",
            Answer::list(vec!["A".into(), "B".into()]),
        );
        assert_eq!(s.readable(), "Nome: Maria\nInteresses: A, B");
    }
}
