//! Field-by-field validation of JSON: request bodies and connection secrets.
//!
//! serde stops at the first problem; a user fixing a form mapping wants every bad field at once.
//! [`Fields`] holds one JSON object, names each problem by the field's full path
//! (`message.content`, `template_fields[1].index`) and remembers which keys were read, so that
//! whatever is left over can be rejected by name (typo protection).
//!
//! Requests and secrets are declared once with [`declared`] (`#[declared]` on the struct, from
//! `shared/declare`), closed lists of values with [`crate::one_of!`]; the type of each
//! field (see `validate/field.rs`) says how it is read. A bad field holds a placeholder while
//! the rest is read, and nothing is built for a provider until [`Problems::into_result`] says
//! nothing was found.

use crate::phone::PhoneRegion;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt;

mod declare;
mod field;

/// `#[declared]`: a struct read field by field from a JSON object (see `shared/declare`).
pub use ponte_declare::declared;

pub use field::{
    AsText, Count, DeclaredObject, Email, Field, HttpUrl, Id, IdString, Nullable, PhoneUpTo,
    Remainder, TextMap, TextUpTo, Uuid, non_blank, read_key,
};

/// What validation needs besides the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidationContext {
    /// The region phone numbers without a country code are read in.
    pub phone_region: PhoneRegion,
}

/// Reads a whole request body as `T`, or every problem found in it.
pub fn read_body<T: Field>(body: &Value, cx: &ValidationContext) -> Result<T, Problems> {
    let mut problems = Problems::new();
    let read = T::read(body, "", cx, &mut problems);
    problems.into_result()?;
    read.ok_or_else(|| Problems::single("(body)", "could not be read"))
}

/// Reads the keys `T` declares from an object that holds others too (a connection secret keeps
/// webhook settings beside the credentials), or every problem found in them.
pub fn read_declared<T: DeclaredObject>(
    value: &Value,
    cx: &ValidationContext,
) -> Result<T, Problems> {
    let mut problems = Problems::new();
    let Some(mut fields) = Fields::object(value, "", &mut problems) else {
        return Err(problems);
    };
    let read = T::read_fields(&mut fields, cx, &mut problems);
    problems.into_result().map(|()| read)
}

/// One bad field: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub problem: String,
}

/// Problems kept per request: enough to fix a mapping, bounded for hostile bodies (a huge
/// array of bad items must not become a huge answer).
pub const MAX_PROBLEMS: usize = 50;

/// Every problem found in one request, in the order they were found (the first
/// [`MAX_PROBLEMS`], and how many more there were).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(Vec<FieldProblem>, usize);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.insert(self.position(), field, problem);
    }

    /// Where the next problem will go: for a problem that can only be decided later but
    /// belongs with its field, see [`Problems::insert`].
    pub fn position(&self) -> usize {
        self.0.len()
    }

    /// Records a problem at `position` (from [`Problems::position`]), so that problems stay in
    /// the order of the fields they name.
    pub fn insert(
        &mut self,
        position: usize,
        field: impl Into<String>,
        problem: impl Into<String>,
    ) {
        if self.0.len() >= MAX_PROBLEMS {
            self.1 += 1;
            return;
        }
        let problem = FieldProblem {
            field: field.into(),
            problem: problem.into(),
        };
        self.0.insert(position.min(self.0.len()), problem);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Problems found beyond the ones kept.
    pub fn more(&self) -> usize {
        self.1
    }

    pub fn list(&self) -> &[FieldProblem] {
        &self.0
    }

    /// `Ok(())` when nothing was recorded, else every problem.
    pub fn into_result(self) -> Result<(), Problems> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// A problem list holding one entry, for checks made outside a [`Fields`] reader.
    pub fn single(field: impl Into<String>, problem: impl Into<String>) -> Self {
        let mut problems = Self::new();
        problems.add(field, problem);
        problems
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .0
            .iter()
            .map(|p| format!("{}: {}", p.field, p.problem))
            .collect();
        if self.1 > 0 {
            parts.push(format!("and {} more problems", self.1));
        }
        f.write_str(&parts.join("; "))
    }
}

/// Reads the keys of one JSON object, recording problems under `path`.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: String,
    read: BTreeSet<&'a str>,
}

/// The JSON type name used in error messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> Fields<'a> {
    /// Reads `value` as an object; records a problem and returns `None` when it is not one.
    pub fn object(value: &'a Value, path: &str, problems: &mut Problems) -> Option<Self> {
        match value {
            Value::Object(map) => Some(Self {
                map,
                path: path.to_string(),
                read: BTreeSet::new(),
            }),
            other => {
                let field = if path.is_empty() { "(body)" } else { path };
                problems.add(
                    field,
                    format!("must be a JSON object, not {}", type_name(other)),
                );
                None
            }
        }
    }

    /// The full path of `key` inside this object, for messages.
    pub fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The raw value of `key`, marking it as read. JSON `null` counts as absent.
    pub fn take(&mut self, key: &'a str) -> Option<&'a Value> {
        self.read.insert(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// The raw value of `key` with `null` kept apart from absence (for fields the provider
    /// accepts as explicitly null).
    pub fn take_nullable(&mut self, key: &'a str) -> Option<&'a Value> {
        self.read.insert(key);
        self.map.get(key)
    }

    /// Whether `key` holds a value (not `null`), read or not: for rules about what was given,
    /// whether or not it was valid.
    pub fn given(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    /// Keys of this object that have not been read yet, in a stable order.
    pub fn unread_keys(&self) -> Vec<&'a str> {
        self.map
            .keys()
            .map(String::as_str)
            .filter(|k| !self.read.contains(k))
            .collect()
    }

    /// Rejects every key that was not read, naming it, unless `open` allows it.
    pub fn reject_unknown(&self, problems: &mut Problems, open: impl Fn(&str) -> bool) {
        for key in self.unread_keys() {
            if !open(key) {
                problems.add(self.path_of(key), "is not a known field");
            }
        }
    }

    /// An optional nested object, read with its own [`Fields`].
    pub fn optional_object(&mut self, key: &'a str, problems: &mut Problems) -> Option<Fields<'a>> {
        let path = self.path_of(key);
        let value = self.take(key)?;
        Fields::object(value, &path, problems)
    }
}

/// Text, numbers and booleans as the text a template would show; `None` for the rest.
pub fn scalar_as_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Records a problem when `s` is longer than `max` characters; true when it fits.
pub fn check_max_chars(path: &str, s: &str, max: usize, problems: &mut Problems) -> bool {
    let count = s.chars().count();
    if count > max {
        problems.add(
            path,
            format!("must be at most {max} characters, not {count}"),
        );
        false
    } else {
        true
    }
}

pub(crate) fn uuid_value(path: &str, s: &str, problems: &mut Problems) -> Option<String> {
    match uuid::Uuid::try_parse(s.trim()) {
        Ok(id) => Some(id.hyphenated().to_string()),
        Err(_) => {
            problems.add(path, format!("must be a uuid, not {s:?}"));
            None
        }
    }
}

/// A loose but useful e-mail check: one `@`, something before it, a dot in the domain.
pub fn check_email(path: &str, s: &str, problems: &mut Problems) -> bool {
    let s = s.trim();
    let ok = match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
        }
        None => false,
    };
    if !ok {
        problems.add(path, "must be an e-mail address");
    }
    ok
}

/// An absolute http(s) URL, as providers fetch attachments from it.
pub fn check_url(path: &str, s: &str, problems: &mut Problems) -> bool {
    let lower = s.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let ok = matches!(rest, Some(host) if !host.is_empty() && !host.starts_with('/'))
        && !s.contains(char::is_whitespace);
    if !ok {
        problems.add(path, "must be an http(s) URL");
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_every_problem_with_its_path() {
        let body = json!({"a": "", "n": "x", "inner": {"flag": 1}, "typo": true});
        let cx = ValidationContext::default();
        let mut problems = Problems::new();
        let mut f = Fields::object(&body, "", &mut problems).unwrap();
        let _: String = read_key(&mut f, "a", &cx, &mut problems);
        let _: String = read_key(&mut f, "missing", &cx, &mut problems);
        let _: Option<Id> = read_key(&mut f, "n", &cx, &mut problems);
        if let Some(mut inner) = f.optional_object("inner", &mut problems) {
            let _: Option<bool> = read_key(&mut inner, "flag", &cx, &mut problems);
        }
        f.reject_unknown(&mut problems, |_| false);
        let fields: Vec<&str> = problems.list().iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["a", "missing", "n", "inner.flag", "typo"]);
    }

    #[test]
    fn ids_accept_digit_strings_but_not_zero() {
        let body = json!({"a": "42", "b": 7, "c": 0, "d": "7a"});
        let cx = ValidationContext::default();
        let mut problems = Problems::new();
        let mut f = Fields::object(&body, "", &mut problems).unwrap();
        let mut id = |key| read_key::<Id>(&mut f, key, &cx, &mut problems).get();
        assert_eq!((id("a"), id("b")), (42, 7));
        id("c");
        id("d");
        assert_eq!(problems.list().len(), 2);
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let mut problems = Problems::new();
        assert!(check_max_chars("s", &"ç".repeat(300), 300, &mut problems));
        assert!(!check_max_chars("s", &"ç".repeat(301), 300, &mut problems));
        assert_eq!(
            problems.list()[0].problem,
            "must be at most 300 characters, not 301"
        );
    }

    #[test]
    fn problems_are_bounded() {
        let mut problems = Problems::new();
        for i in 0..10_000 {
            problems.add(format!("items[{i}]"), "is bad");
        }
        assert_eq!(
            (problems.list().len(), problems.more()),
            (MAX_PROBLEMS, 10_000 - MAX_PROBLEMS)
        );
        assert!(problems.to_string().ends_with("and 9950 more problems"));
    }

    #[test]
    fn emails_and_urls() {
        let mut problems = Problems::new();
        assert!(check_email("e", "maria@example.com.br", &mut problems));
        assert!(!check_email("e", "maria@", &mut problems));
        assert!(!check_email("e", "maria example.com", &mut problems));
        assert!(check_url(
            "u",
            "https://cdn.example.com/a.pdf",
            &mut problems
        ));
        assert!(!check_url("u", "ftp://x", &mut problems));
        assert!(!check_url("u", "https://", &mut problems));
        assert_eq!(problems.list().len(), 4);
    }
}
