//! Expressions in the operator's configuration: the text values of a mapping
//! (`"Olá {{ nome | first_name }}"`) and the `when` of a route (`interesse == 'Orçamento'`).
//!
//! They are Jinja expressions, evaluated by minijinja (a kept, sandboxed engine) with the
//! filters forms need ([`filters`]). What Ponte adds around the engine:
//!
//! - **Expressions only.** A text value is literal text and `{{ … }}`; statements (`{% … %}`:
//!   loops, assignments, macros) are refused at load, so no value can loop or recurse.
//! - **Bounded.** Every evaluation runs on [`FUEL`], which the engine charges per instruction and
//!   per byte it produces or reads, and a rendered value is at most [`MAX_RENDERED_BYTES`].
//! - **Answers are data.** Only the operator's configuration is ever compiled; a submission's
//!   answers are values the expressions read ([`answers`]), so an answer holding `{{ 7*7 }}` is
//!   sent as written.
//! - **Checked at load.** Syntax, unknown filters, tests and functions are problems of the
//!   secret, named with their path, found before any submission arrives ([`written`]).
//! - **Written as before.** `{{x?}}`, `{{x ?? texto}}` and `{{Seu nome}}` (names with spaces,
//!   accents or dashes) keep working: each is read as the expression it always meant.

pub mod answers;
mod engine;
pub mod filters;
mod written;

pub use answers::Answers;
pub use engine::{FUEL, MAX_RENDERED_BYTES};

use minijinja::value::Value;
use minijinja::{Environment, ErrorKind, Expression};
use std::fmt;
use std::sync::Arc;

/// A compiled expression and how the operator wrote it.
#[derive(Clone)]
struct Compiled {
    written: String,
    expression: Arc<Expression<'static, 'static>>,
}

impl Compiled {
    /// Compiles `written` (the inside of `{{ … }}`, or a whole `when`), after reading the
    /// placeholder forms that predate expressions.
    fn new(written: &str, environment: &'static Environment<'static>) -> Result<Self, String> {
        let source = written::translate(written);
        written::check_names(&source)?;
        let expression = environment
            .compile_expression_owned(source.into_owned())
            .map_err(|e| engine::explain(&e))?;
        Ok(Self {
            written: written.trim().to_string(),
            expression: Arc::new(expression),
        })
    }

    fn eval(&self, answers: &Arc<Answers>) -> Result<Value, minijinja::Error> {
        self.expression
            .eval(Value::from_dyn_object(answers.clone()))
    }
}

impl fmt::Debug for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{{ {} }}}}", self.written)
    }
}

impl PartialEq for Compiled {
    fn eq(&self, other: &Self) -> bool {
        self.written == other.written
    }
}

/// A part of a text value.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    Slot(Compiled),
}

/// A text value of a mapping: literal text and `{{ expressions }}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pieces: Vec<Piece>,
}

/// Why a text value could not be rendered for one submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Unrendered {
    /// An expression needs an answer the submission does not have: `{{ email }}`.
    Missing(String),
    /// An expression failed on what it was given (`phone` of a text that is no number, or out
    /// of fuel); the message says which and why.
    Failed(String),
}

impl Text {
    /// Compiles a text value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        for part in written::split(text)? {
            pieces.push(match part {
                written::Part::Literal(text) => Piece::Literal(text.to_string()),
                written::Part::Slot(inner) => Piece::Slot(Compiled::new(inner, &engine::TEXTS)?),
            });
        }
        Ok(Self { pieces })
    }

    /// Whether the value holds no expression (it is sent as written).
    pub fn is_literal(&self) -> bool {
        self.pieces.iter().all(|p| matches!(p, Piece::Literal(_)))
    }

    /// The text for one submission.
    pub fn render(&self, answers: &Arc<Answers>) -> Result<String, Unrendered> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Slot(compiled) => {
                    let value = compiled
                        .eval(answers)
                        .map_err(|e| unrendered(compiled, &e))?;
                    if value.is_undefined() {
                        return Err(missing(compiled));
                    }
                    engine::write_value(&mut out, &value).map_err(|why| {
                        Unrendered::Failed(format!("{{{{ {} }}}} {why}", compiled.written))
                    })?;
                }
            }
            if out.len() > MAX_RENDERED_BYTES {
                return Err(Unrendered::Failed(format!(
                    "renders longer than {MAX_RENDERED_BYTES} bytes"
                )));
            }
        }
        Ok(out)
    }
}

fn unrendered(compiled: &Compiled, error: &minijinja::Error) -> Unrendered {
    match error.kind() {
        ErrorKind::UndefinedError => missing(compiled),
        _ => Unrendered::Failed(format!(
            "{{{{ {} }}}}: {}",
            compiled.written,
            engine::explain(error)
        )),
    }
}

fn missing(compiled: &Compiled) -> Unrendered {
    Unrendered::Missing(format!(
        "needs the answer {{{{{}}}}}, which this submission does not have",
        compiled.written
    ))
}

/// A route's `when`: true or false for one submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition(Compiled);

impl Condition {
    pub fn parse(written: &str) -> Result<Self, String> {
        if written.trim().is_empty() {
            return Err(
                "is empty: leave `when` out for a route that takes every submission".into(),
            );
        }
        if written.contains("{{") || written.contains("{%") {
            return Err("is an expression already: write it without {{ }}".into());
        }
        Compiled::new(written, &engine::CONDITIONS).map(Self)
    }

    /// Whether the submission meets the condition; an error says why it could not be told
    /// (a missing answer is no error: it is simply not equal to anything).
    pub fn holds(&self, answers: &Arc<Answers>) -> Result<bool, String> {
        self.0
            .eval(answers)
            .map(|v| v.is_true())
            .map_err(|e| engine::explain(&e))
    }

    /// How the operator wrote it.
    pub fn written(&self) -> &str {
        &self.0.written
    }
}

#[cfg(test)]
mod tests;
