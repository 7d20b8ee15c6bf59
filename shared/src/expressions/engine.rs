//! The one minijinja environment every expression is compiled in: its filters, tests and
//! functions, its limits, and how values are written into text.

use super::filters;
use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, UndefinedBehavior};
use std::fmt::Write;
use std::sync::LazyLock;

/// The work one evaluation may do. minijinja charges one fuel per instruction and one per 64
/// bytes produced or read, so this is some thousands of steps over a few megabytes: far more
/// than any mapping of a form needs (a 256 KB submission read whole by a few filters fits),
/// far less than what would slow a function down.
pub const FUEL: u64 = 100_000;

/// The longest text one value of a mapping renders to: a whole request body's worth.
pub const MAX_RENDERED_BYTES: usize = crate::limits::MAX_BODY_BYTES;

/// Filters by name: what the environment registers and what a configuration may name.
pub const FILTERS: &[&str] = &[
    "default",
    "d",
    "trim",
    "upper",
    "lower",
    "capitalize",
    "replace",
    "length",
    "first",
    "last",
    "join",
    "split",
    "int",
    "string",
    "first_name",
    "title",
    "digits",
    "truncate",
    "date",
    "phone",
];
/// Tests by name (`x is defined`).
pub const TESTS: &[&str] = &[
    "defined",
    "undefined",
    "none",
    "string",
    "number",
    "sequence",
    "startingwith",
    "endingwith",
];
/// Functions by name (`phone_from(ddi, ddd, numero)`): not `phone`, which is an answer's name.
pub const FUNCTIONS: &[&str] = &["phone_from"];

/// Where the text values of mappings are compiled: a missing answer cannot be printed (it is a
/// missing answer, named to the caller), though it can be tested (`{{ x if x else 'y' }}`).
pub static TEXTS: LazyLock<Environment<'static>> =
    LazyLock::new(|| environment(UndefinedBehavior::SemiStrict));

/// Where routes' `when` are compiled: a missing answer is simply nothing, so
/// `interesse == 'Orçamento'` is false and `'teste' in email` is false without one.
pub static CONDITIONS: LazyLock<Environment<'static>> =
    LazyLock::new(|| environment(UndefinedBehavior::Chainable));

fn environment(undefined: UndefinedBehavior) -> Environment<'static> {
    // Empty: no globals, no `range`, no loaders; only what is registered below.
    let mut env = Environment::empty();
    env.set_undefined_behavior(undefined);
    env.set_fuel(Some(FUEL));
    use minijinja::filters as kept;
    env.add_filter("default", kept::default);
    env.add_filter("d", kept::default);
    env.add_filter("trim", kept::trim);
    env.add_filter("upper", kept::upper);
    env.add_filter("lower", kept::lower);
    env.add_filter("capitalize", kept::capitalize);
    env.add_filter("replace", kept::replace);
    env.add_filter("length", kept::length);
    env.add_filter("first", kept::first);
    env.add_filter("last", kept::last);
    env.add_filter("join", kept::join);
    env.add_filter("split", kept::split);
    env.add_filter("int", kept::int);
    env.add_filter("string", kept::string);
    env.add_filter("first_name", filters::first_name);
    env.add_filter("title", filters::title);
    env.add_filter("digits", filters::digits);
    env.add_filter("truncate", filters::truncate);
    env.add_filter("date", filters::date);
    env.add_filter("phone", filters::phone);
    use minijinja::tests as is;
    env.add_test("defined", is::is_defined);
    env.add_test("undefined", is::is_undefined);
    env.add_test("none", is::is_none);
    env.add_test("string", is::is_string);
    env.add_test("number", is::is_number);
    env.add_test("sequence", is::is_sequence);
    env.add_test("startingwith", is::is_startingwith);
    env.add_test("endingwith", is::is_endingwith);
    env.add_function("phone_from", filters::phone_from);
    env
}

/// Writes a value as a form writes answers: a multiple-choice answer as its choices separated
/// by commas, `none` as nothing. An undefined value is a missing answer, refused.
pub fn write_value(out: &mut String, value: &Value) -> Result<(), String> {
    match value.kind() {
        ValueKind::Undefined => return Err("has no value".into()),
        ValueKind::None => {}
        ValueKind::String => out.push_str(value.as_str().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => {
            let items = value.try_iter().map_err(|e| explain(&e))?;
            for (i, item) in items.enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, &item)?;
            }
        }
        _ => {
            let _ = write!(out, "{value}");
        }
    }
    Ok(())
}

/// An engine error in one line, without the engine's source excerpt.
pub fn explain(error: &Error) -> String {
    match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    }
}
