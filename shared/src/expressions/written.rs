//! How the operator writes expressions: splitting a text value into literal text and
//! `{{ … }}`, reading the placeholder forms that predate expressions, and naming unknown
//! filters, tests and functions at load. Each pass is one walk over the text, linear in its
//! length.

use super::engine::{FILTERS, FUNCTIONS, TESTS};
use std::borrow::Cow;

/// A part of a text value.
#[derive(Debug, PartialEq)]
pub enum Part<'a> {
    Literal(&'a str),
    /// The inside of `{{ … }}`.
    Slot(&'a str),
}

/// Splits `text` into literal text and `{{ … }}`; a slot ends at the first `}}` outside a
/// quoted string. Statements (`{% … %}`) and an unclosed `{{` are refused.
pub fn split(text: &str) -> Result<Vec<Part<'_>>, String> {
    if text.contains("{%") {
        return Err(
            "statements ({% … %}) are not offered: a value is text with {{ expressions }}".into(),
        );
    }
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(literal(&rest[..open])?);
        }
        let after = &rest[open + 2..];
        let close = closing(after).ok_or_else(|| {
            format!(
                "a placeholder is not closed with }}}}: {:?}",
                clip(&rest[open..])
            )
        })?;
        let inner = &after[..close];
        if inner.trim().is_empty() {
            return Err("an empty {{ }}".into());
        }
        parts.push(Part::Slot(inner));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        parts.push(literal(rest)?);
    }
    Ok(parts)
}

/// Literal text; a `}}` in it is a `{{` forgotten (`{nome}}`), refused rather than sent.
fn literal(text: &str) -> Result<Part<'_>, String> {
    if text.contains("}}") {
        return Err("a \"}}\" without its \"{{\"".into());
    }
    Ok(Part::Literal(text))
}

/// Where the `}}` closing a slot starts: the first outside quotes, else (quotes left open, as a
/// label with an apostrophe may) the first at all.
fn closing(after: &str) -> Option<usize> {
    let mut quote = None;
    let bytes = after.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (Some(q), b'\\') if q == b'"' || q == b'\'' => i += 1,
            (Some(q), c) if c == q => quote = None,
            (None, c @ (b'"' | b'\'')) => quote = Some(c),
            (None, b'}') if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    after.find("}}")
}

fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Words of Jinja's expression syntax: a slot holding one is an expression, never a name.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "if", "else", "in", "is", "true", "false", "none", "True", "False", "None",
];

/// Characters that only an expression holds: a name never has them.
const OPERATORS: &[char] = &[
    '|', '~', '\'', '"', '[', ']', '+', '*', '%', '=', '<', '>', '{', '}', '`',
];

/// Whether `text` reads as the name of an answer rather than an expression: the key or label of
/// a field as written (`Seu nome`, `e-mail`, `Payment (name)`, `contato.email` — the dotted
/// keys of nested JSON bodies). An expression shows itself by an operator, a keyword, a call of
/// a function, or a namespace (`query.inbox_id`).
fn is_name(text: &str) -> bool {
    let text = text.trim();
    let namespace = text
        .split_once('.')
        .is_some_and(|(first, _)| super::answers::NAMESPACES.contains(&first.trim()));
    // `phone(ddi, ddd)`, `range(3)`: a word right against "(" is a call, where a label puts a
    // space (`Payment (name)`).
    let call = text
        .find('(')
        .is_some_and(|at| at > 0 && is_identifier(&text[..at]));
    !text.is_empty()
        && !namespace
        && !call
        && !text.contains(OPERATORS)
        && !text.split_whitespace().any(|w| KEYWORDS.contains(&w))
}

/// Whether Jinja reads `text` as one variable name.
fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A Jinja string literal holding `text`.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The expression a slot means. The forms written before expressions existed are read as they
/// always were: `x?` may be unanswered, `x ?? texto` falls back to the text, and a name that is
/// no identifier (`Seu nome`, `e-mail`) is looked up as a name, not computed (`e - mail`).
pub fn translate(inner: &str) -> Cow<'_, str> {
    let inner = inner.trim();
    if let Some((name, fallback)) = inner.split_once("??")
        && is_name(name)
    {
        return format!(
            "answers[{}] | default({})",
            quoted(name.trim()),
            quoted(fallback.trim())
        )
        .into();
    }
    if let Some(name) = inner.strip_suffix('?')
        && is_name(name)
    {
        return format!("answers[{}] | default(\"\")", quoted(name.trim())).into();
    }
    if is_name(inner) && !is_identifier(inner) {
        return format!("answers[{}]", quoted(inner)).into();
    }
    inner.into()
}

/// Names every filter, test and function the expression uses that Ponte does not offer, so a
/// typo (`frist_name`) is a problem of the secret, found at load.
pub fn check_names(source: &str) -> Result<(), String> {
    let mut unknown = Vec::new();
    let words = words_outside_quotes(source);
    for (i, (before, word)) in words.iter().enumerate() {
        if KEYWORDS.contains(word) {
            continue;
        }
        let called = words_call(source, word);
        let list: &[&str] = match (*before, words.get(i.wrapping_sub(1)).map(|w| w.1)) {
            ('|', _) => FILTERS,
            (_, Some("is")) | (_, Some("not")) if is_test_position(&words, i) => TESTS,
            ('.', _) => continue,
            _ if called => FUNCTIONS,
            _ => continue,
        };
        if !list.contains(word) {
            let kind = if std::ptr::eq(list, FILTERS) {
                format!("filter \"{word}\" (filters: {})", FILTERS.join(", "))
            } else if std::ptr::eq(list, TESTS) {
                format!("test \"{word}\" (tests: {})", TESTS.join(", "))
            } else {
                format!("function \"{word}\" (functions: {})", FUNCTIONS.join(", "))
            };
            unknown.push(kind);
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!("unknown {}", unknown.join("; unknown ")))
    }
}

/// Whether word `i` follows `is` or `is not`, as a test name does.
fn is_test_position(words: &[(char, &str)], i: usize) -> bool {
    match i.checked_sub(1).map(|j| words[j].1) {
        Some("is") => true,
        Some("not") => i >= 2 && words[i - 2].1 == "is",
        _ => false,
    }
}

/// Whether `word` is immediately followed by `(` somewhere in `source` (a call).
fn words_call(source: &str, word: &str) -> bool {
    let mut from = 0;
    while let Some(at) = source[from..].find(word) {
        let end = from + at + word.len();
        let starts_word = source[..from + at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if starts_word && source[end..].trim_start().starts_with('(') {
            return true;
        }
        from = end;
    }
    false
}

/// The identifiers of `source` outside string literals, each with the last non-space character
/// before it (`|` for a filter, `.` for an attribute).
fn words_outside_quotes(source: &str) -> Vec<(char, &str)> {
    let mut words = Vec::new();
    let mut quote = None;
    let mut before = ' ';
    let mut start = None;
    let mut escaped = false;
    for (i, c) in source.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
                before = c;
            }
            continue;
        }
        let in_word = c.is_ascii_alphanumeric() || c == '_';
        match (start, in_word) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                words.push((before, &source[s..i]));
                start = None;
                before = ' ';
            }
            _ => {}
        }
        if !in_word {
            if c == '"' || c == '\'' {
                quote = Some(c);
            }
            if !c.is_whitespace() {
                before = c;
            }
        }
    }
    if let Some(s) = start {
        words.push((before, &source[s..]));
    }
    words
        .into_iter()
        .filter(|(_, w)| !w.starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}
