//! How a name in a mapping or a route finds its answer in a submission: a special value, the
//! webhook URL's query, a field's key or alias, a hidden field, a field's label, or a role.

use crate::forms::{Answer, FormField, Submission, normalize_name};

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

/// The text for `name`, or `None` when the submission has no answer for it.
pub fn lookup(name: &str, context: &Context<'_>) -> Option<String> {
    lookup_answer(name, context).map(|answer| answer.display())
}

/// The answer for `name` (a multiple-choice answer as its list of choices), or `None` when the
/// submission has none.
pub fn lookup_answer(name: &str, context: &Context<'_>) -> Option<Answer> {
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
        return Some(Answer::text(value)).filter(|a| !a.is_empty());
    }
    if let Some((_, value)) = context.query.iter().find(|(k, _)| k == name) {
        return Some(Answer::text(value.clone())).filter(|a| !a.is_empty());
    }
    if SETTINGS.contains(&name) && !context.signed {
        return None;
    }
    if let Some(field) = s
        .fields
        .iter()
        .find(|f| f.key == name || f.aliases.iter().any(|a| a == name))
    {
        return answered(&field).then(|| field.value.clone());
    }
    if let Some((_, value)) = s.hidden.iter().find(|(k, _)| k == name) {
        return Some(Answer::Text(value.clone()));
    }
    if SETTINGS.contains(&name) {
        return None;
    }
    let wanted = normalize_name(name);
    if let Some(field) = s.fields.iter().find(|f| normalize_name(&f.label) == wanted) {
        return answered(&field).then(|| field.value.clone());
    }
    Role::named(&wanted)
        .and_then(|role| role.find(s))
        .map(|field| field.value.clone())
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
