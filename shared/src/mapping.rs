//! Declarative mappings from a form submission to an action's provider request.
//!
//! A mapping is the provider's JSON body written as a template: its text values may hold
//! `{{ expressions }}` ([`crate::expressions`]) that are filled from the submission, and
//! everything else is sent as written.
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
//! ([`crate::lookup::SETTINGS`]: `inbox_id`, `template_name`…) are looked up by their exact name only, never by
//! a label or a role, so that a question that happens to be called "Template name" fills nothing.

use crate::expressions::{Answers, Text, Unrendered};
pub use crate::lookup::Context;
use crate::validate::Problems;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A checked mapping: the provider's request with each text value compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    root: Node,
}

/// A mapping's JSON, its text values compiled once when the secret is read.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text {
        written: String,
        text: Text,
    },
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
    /// Numbers, booleans and null: sent as written.
    Fixed(Value),
}

impl Mapping {
    /// The mapping that writes an empty object.
    pub fn empty() -> Self {
        Self {
            root: Node::Object(Vec::new()),
        }
    }

    /// Compiles every text value of `template`; problems are located under `path`.
    pub fn parse(template: &Value, path: &str) -> Result<Self, Problems> {
        let mut problems = Problems::new();
        if !template.is_object() {
            problems.add(
                path,
                "a mapping is a JSON object shaped like the provider's request",
            );
        }
        let root = compile(template, path, &mut problems);
        problems.into_result()?;
        Ok(Self { root })
    }

    /// The provider request for one submission; every missing answer is named.
    pub fn render(&self, context: &Context<'_>) -> Result<Value, Problems> {
        self.render_for(&Answers::of(context))
    }

    /// The provider request for a submission already read for expressions.
    pub fn render_for(&self, answers: &Arc<Answers>) -> Result<Value, Problems> {
        let mut problems = Problems::new();
        let rendered = render_node(&self.root, "", answers, &mut problems);
        problems.into_result()?;
        Ok(rendered.unwrap_or(Value::Object(Map::new())))
    }
}

/// One text value of a mapping as it renders for a submission: where it goes, how the operator
/// wrote it, and what it became (or why it could not).
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    pub path: String,
    pub written: String,
    pub rendered: Result<String, String>,
}

impl Mapping {
    /// Every text value, rendered for `answers` as [`Mapping::render_for`] renders it: what the
    /// Studio shows beside each field of the request.
    pub fn leaves(&self, answers: &Arc<Answers>) -> Vec<Leaf> {
        let mut leaves = Vec::new();
        collect_leaves(&self.root, "", answers, &mut leaves);
        leaves
    }
}

fn collect_leaves(node: &Node, path: &str, answers: &Arc<Answers>, leaves: &mut Vec<Leaf>) {
    match node {
        Node::Text { written, text } => leaves.push(Leaf {
            path: path.to_string(),
            written: written.clone(),
            rendered: text
                .render(answers)
                .map_err(|(Unrendered::Missing(why) | Unrendered::Failed(why))| why),
        }),
        Node::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_leaves(item, &format!("{path}[{i}]"), answers, leaves);
            }
        }
        Node::Object(entries) => {
            for (key, item) in entries {
                collect_leaves(item, &join(path, key), answers, leaves);
            }
        }
        Node::Fixed(_) => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn compile(value: &Value, path: &str, problems: &mut Problems) -> Node {
    match value {
        Value::String(written) => match Text::parse(written) {
            Ok(text) => Node::Text {
                written: written.clone(),
                text,
            },
            Err(why) => {
                problems.add(path, why);
                Node::Fixed(Value::Null)
            }
        },
        Value::Array(items) => Node::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| compile(item, &format!("{path}[{i}]"), problems))
                .collect(),
        ),
        Value::Object(map) => Node::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), compile(item, &join(path, key), problems)))
                .collect(),
        ),
        other => Node::Fixed(other.clone()),
    }
}

/// `None` when the value rendered empty and should be left out of its object.
fn render_node(
    node: &Node,
    path: &str,
    answers: &Arc<Answers>,
    problems: &mut Problems,
) -> Option<Value> {
    match node {
        Node::Text { written, text } => {
            let rendered = match text.render(answers) {
                Ok(rendered) => rendered,
                Err(Unrendered::Missing(why) | Unrendered::Failed(why)) => {
                    problems.add(if path.is_empty() { "(mapping)" } else { path }, why);
                    String::new()
                }
            };
            if rendered.is_empty() && !written.is_empty() {
                None
            } else {
                Some(Value::String(rendered))
            }
        }
        Node::Array(items) => Some(Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    render_node(item, &format!("{path}[{i}]"), answers, problems)
                        .unwrap_or_else(|| Value::String(String::new()))
                })
                .collect(),
        )),
        Node::Object(entries) => {
            let mut out = Map::new();
            for (key, item) in entries {
                if let Some(rendered) = render_node(item, &join(path, key), answers, problems) {
                    out.insert(key.clone(), rendered);
                }
            }
            Some(Value::Object(out))
        }
        Node::Fixed(value) => Some(value.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::{Answer, Submission};
    use crate::lookup::Role;
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
