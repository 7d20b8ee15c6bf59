//! What expressions read: one submission's answers, the webhook URL's query and the hidden
//! fields, looked up the way mappings always have (`crate::lookup`).
//!
//! - a bare name (`email`, `interesse`, `utm_source`) is an answer found by key, alias, hidden
//!   field, query parameter, label or role;
//! - `answers["Qual seu interesse?"]` finds one whose name is no identifier (a label);
//! - `query.inbox_id` and `hidden.utm_source` read only the URL's query or the hidden fields.
//!
//! The values are data: nothing here is ever compiled.

use crate::forms::{Answer, Submission};
use crate::lookup::{Context, lookup_answer};
use minijinja::value::{Enumerator, Object, Value};
use std::sync::Arc;

/// Names that are namespaces rather than answers.
pub const NAMESPACES: &[&str] = &["answers", "query", "hidden"];

/// One submission as expressions see it.
#[derive(Debug)]
pub struct Answers {
    submission: Submission,
    query: Vec<(String, String)>,
    signed: bool,
}

impl Answers {
    /// Made once per submission; every expression of its mapping and routes reads it.
    pub fn of(context: &Context<'_>) -> Arc<Self> {
        Arc::new(Self {
            submission: context.submission.clone(),
            query: context.query.to_vec(),
            signed: context.signed,
        })
    }

    fn answer(&self, name: &str) -> Option<Value> {
        let context = Context {
            submission: &self.submission,
            query: &self.query,
            signed: self.signed,
        };
        lookup_answer(name, &context).and_then(|answer| match answer {
            Answer::Text(text) => Some(Value::from(text)),
            Answer::List(items) => Some(Value::from(items)),
            Answer::Empty => None,
        })
    }
}

impl Object for Answers {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        match name {
            "answers" => Some(Value::from_dyn_object(self.clone())),
            "query" => Some(pairs(&self.query)),
            "hidden" => Some(pairs(&self.submission.hidden)),
            _ => self.answer(name),
        }
    }

    /// Listing the answers is not offered: a name is asked for, never discovered.
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::NonEnumerable
    }
}

/// Name-value pairs as a map (the first of a repeated name wins, as in lookups).
fn pairs(items: &[(String, String)]) -> Value {
    let mut map = std::collections::BTreeMap::new();
    for (k, v) in items.iter().rev() {
        map.insert(k.clone(), Value::from(v.clone()));
    }
    Value::from(map)
}
