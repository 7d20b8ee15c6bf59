//! Declarative mappings from a form submission to an action's provider request.
//!
//! A mapping is the provider's JSON body written as a template: its text values may hold
//! placeholders that are filled from the submission, and everything else is sent as written.
//!
//! ```json
//! {"inbox_id": "3",
//!  "contact_email": "{{email?}}",
//!  "message": {"content": "Nome: {{name}}\nAssunto: {{subject ?? (sem assunto)}}"}}
//! ```
//!
//! - `{{x}}` needs an answer: without one the submission is refused with a 4xx naming `x`;
//! - `{{x?}}` may be unanswered: it is then empty, and a value left empty is dropped from its
//!   object (kept as `""` in arrays, where positions matter);
//! - `{{x ?? text}}` falls back to `text`.
//!
//! `x` is found, in this order, as: a special value (`all_fields`, `submission_id`, `source`,
//! `form_name`, `submitted_at`); a query parameter of the webhook URL (the operator's settings
//! win over anything a submission carries); a field's key or alias; a hidden field; a field's
//! label (ignoring case, accents and punctuation); and last a role — `name`, `email`, `phone`,
//! `message` or their Portuguese names find the field that plays it. Operator settings
//! ([`SETTINGS`]: `inbox_id`, `template_name`…) are looked up by their exact name only, never by
//! a label or a role, so that a question that happens to be called "Template name" fills nothing.

use crate::forms::{FormField, Submission, normalize_name};
use crate::validate::Problems;
use serde_json::{Map, Value};

/// A checked mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    template: Value,
}

/// One `{{ … }}` of a text value.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Slot {
        name: String,
        optional: bool,
        fallback: Option<String>,
    },
}

/// Splits a text value into literal text and placeholders.
fn pieces(text: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Piece::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| format!("a placeholder is not closed: {:?}", &rest[open..]))?;
        let inner = after[..close].trim();
        let (name, optional, fallback) = match inner.split_once("??") {
            Some((name, fallback)) => (name.trim(), true, Some(fallback.trim().to_string())),
            None => match inner.strip_suffix('?') {
                Some(name) => (name.trim(), true, None),
                None => (inner, false, None),
            },
        };
        if name.is_empty() || name.contains("{{") {
            return Err(format!("an empty or broken placeholder: {{{{{inner}}}}}"));
        }
        out.push(Piece::Slot {
            name: name.to_string(),
            optional,
            fallback,
        });
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return Err("a \"}}\" without its \"{{\"".into());
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_string()));
    }
    Ok(out)
}

/// What a submission and its webhook URL offer to a mapping.
pub struct Context<'a> {
    pub submission: &'a Submission,
    /// The webhook URL's query parameters (the token already taken out).
    pub query: &'a [(String, String)],
    /// Whether the submission's source signed it and the signature was verified: only then may
    /// its own fields carry operator settings ([`SETTINGS`]), which otherwise come from the URL
    /// or the mapping alone, never from what a visitor could type or edit.
    pub signed: bool,
}

impl Mapping {
    /// The mapping that writes an empty object.
    pub fn empty() -> Self {
        Self {
            template: Value::Object(Map::new()),
        }
    }

    /// Checks every placeholder of `template`; problems are located under `path`.
    pub fn parse(template: &Value, path: &str) -> Result<Self, Problems> {
        let mut problems = Problems::new();
        if !template.is_object() {
            problems.add(
                path,
                "a mapping is a JSON object shaped like the provider's request",
            );
        }
        check(template, path, &mut problems);
        problems.into_result()?;
        Ok(Self {
            template: template.clone(),
        })
    }

    /// The provider request for one submission; every missing answer is named.
    pub fn render(&self, context: &Context<'_>) -> Result<Value, Problems> {
        let mut problems = Problems::new();
        let rendered = render_value(&self.template, "", context, &mut problems);
        problems.into_result()?;
        Ok(rendered.unwrap_or(Value::Object(Map::new())))
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn check(value: &Value, path: &str, problems: &mut Problems) {
    match value {
        Value::String(text) => {
            if let Err(why) = pieces(text) {
                problems.add(path, why);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check(item, &format!("{path}[{i}]"), problems);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                check(item, &join(path, key), problems);
            }
        }
        _ => {}
    }
}

/// `None` when the value rendered empty and should be left out of its object.
fn render_value(
    value: &Value,
    path: &str,
    context: &Context<'_>,
    problems: &mut Problems,
) -> Option<Value> {
    match value {
        Value::String(text) => {
            let rendered = render_text(text, path, context, problems);
            if rendered.is_empty() && !text.is_empty() {
                None
            } else {
                Some(Value::String(rendered))
            }
        }
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    render_value(item, &format!("{path}[{i}]"), context, problems)
                        .unwrap_or_else(|| Value::String(String::new()))
                })
                .collect(),
        )),
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, item) in map {
                if let Some(rendered) = render_value(item, &join(path, key), context, problems) {
                    out.insert(key.clone(), rendered);
                }
            }
            Some(Value::Object(out))
        }
        other => Some(other.clone()),
    }
}

fn render_text(text: &str, path: &str, context: &Context<'_>, problems: &mut Problems) -> String {
    let Ok(pieces) = pieces(text) else {
        return text.to_string();
    };
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Slot {
                name,
                optional,
                fallback,
            } => match lookup(&name, context) {
                Some(value) => out.push_str(&value),
                None => match fallback {
                    Some(fallback) => out.push_str(&fallback),
                    None if optional => {}
                    None => problems.add(
                        if path.is_empty() { "(mapping)" } else { path },
                        format!(
                            "needs the answer {{{{{name}}}}}, which this submission does not have"
                        ),
                    ),
                },
            },
        }
    }
    out
}

/// Placeholder names that stand for the operator's settings: ids and names of provider objects.
pub const SETTINGS: &[&str] = &[
    "inbox_id",
    "channel_id",
    "account_id",
    "template_name",
    "template_language",
    "whatsapp_phone_id",
    "queue_id",
    "tag_id",
    "user_id",
];

/// The text for placeholder `name`, or `None` when the submission has no answer for it.
pub fn lookup(name: &str, context: &Context<'_>) -> Option<String> {
    let s = context.submission;
    let answered = |f: &&FormField| !f.value.is_empty();
    let special = match name {
        "all_fields" => Some(s.readable()),
        "submission_id" => s.id.clone(),
        "source" => s.source.map(|src| src.name().to_string()),
        "form_name" => s.form_name.clone(),
        "submitted_at" => s.submitted_at.clone(),
        _ => None,
    };
    if let Some(value) = special {
        return Some(value).filter(|v| !v.is_empty());
    }
    if let Some((_, value)) = context.query.iter().find(|(k, _)| k == name) {
        return Some(value.clone()).filter(|v| !v.is_empty());
    }
    if SETTINGS.contains(&name) && !context.signed {
        return None;
    }
    if let Some(field) = s
        .fields
        .iter()
        .find(|f| f.key == name || f.aliases.iter().any(|a| a == name))
    {
        return answered(&field).then(|| field.value.display());
    }
    if let Some((_, value)) = s.hidden.iter().find(|(k, _)| k == name) {
        return Some(value.clone());
    }
    if SETTINGS.contains(&name) {
        return None;
    }
    let wanted = normalize_name(name);
    if let Some(field) = s.fields.iter().find(|f| normalize_name(&f.label) == wanted) {
        return answered(&field).then(|| field.value.display());
    }
    Role::named(&wanted)
        .and_then(|role| role.find(s))
        .map(|field| field.value.display())
}

/// The parts of a contact that forms ask for under many names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Name,
    Email,
    Phone,
    Message,
}

impl Role {
    /// The role a placeholder name stands for (already normalized).
    pub fn named(normalized: &str) -> Option<Role> {
        match normalized {
            "name" | "nome" | "full name" | "nome completo" => Some(Role::Name),
            "email" | "e mail" | "mail" => Some(Role::Email),
            "phone" | "telefone" | "whatsapp" | "celular" | "tel" | "fone" => Some(Role::Phone),
            "message" | "mensagem" => Some(Role::Message),
            _ => None,
        }
    }

    /// Words in a field's key or label that mark it as playing this role.
    fn words(self) -> &'static [&'static str] {
        match self {
            Role::Name => &["name", "nome"],
            Role::Email => &["email", "mail"],
            Role::Phone => &[
                "phone", "telefone", "whatsapp", "whats", "celular", "tel", "fone", "mobile", "zap",
            ],
            Role::Message => &[
                "message",
                "mensagem",
                "comentario",
                "comentarios",
                "observacao",
                "observacoes",
                "duvida",
                "descricao",
                "comments",
            ],
        }
    }

    /// Field types that mark a field as playing this role.
    fn kinds(self) -> &'static [&'static str] {
        match self {
            Role::Email => &["email", "input_email"],
            Role::Phone => &["phone_number", "input_phone_number", "tel", "phone"],
            Role::Message => &["long_text", "textarea", "paragraph_text"],
            Role::Name => &[],
        }
    }

    /// The answered field that plays this role: by type first, then by a word of its key or
    /// label. Name fields that are about something else ("Nome da empresa") are passed over.
    pub fn find(self, submission: &Submission) -> Option<&FormField> {
        // A field that carries an operator setting (`template_name`) plays no role, though a
        // word of its key may say "name".
        let is_setting = |f: &FormField| {
            let key = normalize_name(&f.key).replace(' ', "_");
            SETTINGS.contains(&key.as_str())
        };
        let answered = submission
            .fields
            .iter()
            .filter(|f| !f.value.is_empty() && !is_setting(f));
        let by_kind = answered
            .clone()
            .find(|f| self.kinds().contains(&f.kind.as_str()));
        by_kind.or_else(|| {
            answered.clone().find(|f| {
                [&f.key, &f.label].iter().any(|text| {
                    let normalized = normalize_name(text);
                    let words: Vec<&str> = normalized.split(' ').collect();
                    let about_something_else = self == Role::Name
                        && words.iter().any(|w| {
                            ["empresa", "company", "mae", "pai", "responsavel"].contains(w)
                        });
                    !about_something_else && words.iter().any(|w| self.words().contains(w))
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::Answer;
    use serde_json::json;

    fn submission() -> Submission {
        let mut s = Submission {
            id: Some("evt-1".into()),
            form_name: Some("Contato".into()),
            ..Submission::default()
        };
        s.field("q1", "Seu nome", "short_text", Answer::text("Maria Souza"));
        s.field(
            "q2",
            "Seu melhor e-mail",
            "",
            Answer::text("maria@example.com"),
        );
        s.field("q3", "WhatsApp", "", Answer::text("(85) 98769-6383"));
        s.field("q4", "Nome da empresa", "", Answer::text("Loja da Maria"));
        s.field("q5", "Mensagem", "", Answer::text("Quero um orçamento"));
        s.field("q6", "Observações", "", Answer::Empty);
        s.hidden_field("utm_source", "google");
        s
    }

    #[test]
    fn a_field_that_names_a_setting_plays_no_role() {
        let mut s = Submission::default();
        s.field(
            "template_name",
            "template_name",
            "",
            Answer::text("boas_vindas"),
        );
        assert!(Role::Name.find(&s).is_none());
        s.field("nome", "Nome", "", Answer::text("Ana"));
        assert_eq!(Role::Name.find(&s).map(|f| f.key.as_str()), Some("nome"));
    }

    fn render(template: Value, query: &[(String, String)]) -> Result<Value, Problems> {
        let s = submission();
        Mapping::parse(&template, "mapping")
            .unwrap()
            .render(&Context {
                submission: &s,
                query,
                signed: true,
            })
    }

    #[test]
    fn placeholders_find_keys_labels_hidden_fields_query_and_roles() {
        let query = [("inbox_id".to_string(), "3".to_string())];
        let got = render(
            json!({
                "inbox_id": "{{inbox_id}}",
                "contact_email": "{{email}}",
                "contact_phone_number": "{{telefone}}",
                "message": {"content": "{{Seu nome}} ({{nome da empresa}}) via {{utm_source}}: {{message}}", "message_type": "incoming"},
                "custom_attributes": {"form": "{{form_name}}", "id": "{{submission_id}}", "n": 1}
            }),
            &query,
        )
        .unwrap();
        assert_eq!(
            got,
            json!({
                "inbox_id": "3",
                "contact_email": "maria@example.com",
                "contact_phone_number": "(85) 98769-6383",
                "message": {"content": "Maria Souza (Loja da Maria) via google: Quero um orçamento", "message_type": "incoming"},
                "custom_attributes": {"form": "Contato", "id": "evt-1", "n": 1}
            })
        );
    }

    #[test]
    fn the_operators_query_settings_win_over_submitted_fields() {
        let mut s = submission();
        s.field("inbox_id", "inbox_id", "", Answer::text("99"));
        s.hidden_field("template_name", "golpe");
        s.field("q7", "Template name", "", Answer::text("outro"));
        s.field("q8", "Channel id", "", Answer::text("66"));
        let query = [
            ("inbox_id".to_string(), "3".to_string()),
            ("template_name".to_string(), "boas_vindas".to_string()),
        ];
        let mapping = Mapping::parse(
            &json!({"i": "{{inbox_id}}", "t": "{{template_name}}", "c": "{{channel_id?}}"}),
            "mapping",
        )
        .unwrap();
        let context = Context {
            submission: &s,
            query: &query,
            signed: true,
        };
        assert_eq!(
            mapping.render(&context).unwrap(),
            json!({"i": "3", "t": "boas_vindas"}),
            "the query wins, and a question labelled \"Channel id\" is no setting"
        );
    }

    #[test]
    fn settings_come_from_an_unsigned_form_only_through_the_url() {
        let mut s = submission();
        s.hidden_field("inbox_id", "99");
        s.field(
            "template_name",
            "template_name",
            "",
            Answer::text("visitor_pick"),
        );
        let mapping = Mapping::parse(
            &json!({"i": "{{inbox_id?}}", "t": "{{template_name?}}"}),
            "m",
        )
        .unwrap();
        let unsigned = Context {
            submission: &s,
            query: &[],
            signed: false,
        };
        assert_eq!(mapping.render(&unsigned).unwrap(), json!({}));
        let signed = Context {
            signed: true,
            ..unsigned
        };
        assert_eq!(
            mapping.render(&signed).unwrap(),
            json!({"i": "99", "t": "visitor_pick"})
        );
        let query = [("inbox_id".to_string(), "3".to_string())];
        let from_url = Context {
            query: &query,
            ..unsigned
        };
        assert_eq!(mapping.render(&from_url).unwrap(), json!({"i": "3"}));
    }

    #[test]
    fn the_name_role_skips_names_of_other_things() {
        let got = render(json!({"n": "{{name}}"}), &[]).unwrap();
        assert_eq!(got, json!({"n": "Maria Souza"}));
    }

    #[test]
    fn optional_and_fallback_placeholders() {
        let got = render(
            json!({"obs": "{{Observações?}}", "a": "{{q6 ?? nenhuma}}", "vars": ["{{q6?}}", "{{q1}}"], "keep": ""}),
            &[],
        )
        .unwrap();
        assert_eq!(
            got,
            json!({"a": "nenhuma", "vars": ["", "Maria Souza"], "keep": ""})
        );
    }

    #[test]
    fn missing_answers_are_named_with_where_they_were_needed() {
        let err = render(
            json!({"inbox_id": "{{inbox_id}}", "x": {"y": "a {{cpf}} b"}}),
            &[],
        )
        .unwrap_err();
        let found: Vec<(&str, &str)> = err
            .list()
            .iter()
            .map(|p| (p.field.as_str(), p.problem.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "inbox_id",
                    "needs the answer {{inbox_id}}, which this submission does not have"
                ),
                (
                    "x.y",
                    "needs the answer {{cpf}}, which this submission does not have"
                )
            ]
        );
    }

    #[test]
    fn broken_templates_are_refused_when_loaded() {
        let err = Mapping::parse(
            &json!({"a": "{{name", "b": ["ok", "x}}"], "c": "{{ }}"}),
            "webhooks.typeform.mapping",
        )
        .unwrap_err();
        let fields: Vec<&str> = err.list().iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "webhooks.typeform.mapping.a",
                "webhooks.typeform.mapping.b[1]",
                "webhooks.typeform.mapping.c"
            ]
        );
        assert!(Mapping::parse(&json!(["x"]), "m").is_err());
    }

    #[test]
    fn the_readable_summary_is_all_answered_fields() {
        let got = render(json!({"c": "{{all_fields}}"}), &[]).unwrap();
        assert_eq!(
            got["c"],
            "Seu nome: Maria Souza\nSeu melhor e-mail: maria@example.com\nWhatsApp: (85) 98769-6383\nNome da empresa: Loja da Maria\nMensagem: Quero um orçamento"
        );
    }
}
