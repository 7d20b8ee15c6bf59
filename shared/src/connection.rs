//! What a provider connection secret holds, and the pieces every connection shares.

use crate::validate::{Fields, Problems};
use serde_json::Value;
use std::fmt;

/// A provider connection read from the JSON value of a Secrets Manager secret.
pub trait Connection: Sized + Send + Sync + 'static {
    /// The provider's name, for messages ("Cloud Chat").
    const PROVIDER: &'static str;

    /// Reads the connection; problems name the secret's keys, never their values.
    fn from_secret(value: &Value) -> Result<Self, Problems>;
}

/// A credential. Its `Debug` never shows it, so a connection can be debug-printed safely.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, for the one header that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Reads the required token under `key`.
pub fn required_token<'a>(fields: &mut Fields<'a>, key: &'a str, problems: &mut Problems) -> Token {
    Token::new(fields.required_str(key, problems).trim())
}

/// Reads an optional base URL, falling back to `default`; the trailing slash is dropped so
/// paths can be appended as they are written in the provider's documentation.
pub fn base_url<'a>(
    fields: &mut Fields<'a>,
    key: &'a str,
    default: &str,
    problems: &mut Problems,
) -> String {
    let path = fields.path_of(key);
    match fields.optional_str(key, problems) {
        None => default.to_string(),
        Some(url) => {
            crate::validate::check_url(&path, &url, problems);
            url.trim().trim_end_matches('/').to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_do_not_debug_print() {
        let token = Token::new("s3cr3t-value");
        assert_eq!(format!("{token:?}"), "Token(***)");
        assert_eq!(token.expose(), "s3cr3t-value");
    }
}
