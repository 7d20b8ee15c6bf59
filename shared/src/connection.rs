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
/// paths can be appended as they are written in the provider's documentation. It must be
/// `https://`: the token travels with every call. Plain `http://` is accepted for loopback hosts
/// only (a local stand-in of the provider).
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
            if crate::validate::check_url(&path, &url, problems)
                && !url.trim().to_ascii_lowercase().starts_with("https://")
                && !is_loopback(&url)
            {
                problems.add(
                    &path,
                    "must be an https:// URL (http:// only for 127.0.0.1, localhost or [::1])",
                );
            }
            url.trim().trim_end_matches('/').to_string()
        }
    }
}

/// True for an `http://` URL whose host is this machine.
fn is_loopback(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host == "localhost",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(url: &str) -> Result<String, Problems> {
        let secret = serde_json::json!({ "base_url": url });
        let mut problems = Problems::new();
        let mut f = Fields::object(&secret, "", &mut problems).unwrap();
        let got = base_url(&mut f, "base_url", "https://default", &mut problems);
        problems.into_result().map(|()| got)
    }

    #[test]
    fn base_urls_are_https_or_loopback() {
        assert_eq!(
            base("https://chat.example.com/").unwrap(),
            "https://chat.example.com"
        );
        for local in [
            "http://127.0.0.1:9000",
            "http://localhost:8080/x",
            "http://[::1]:80",
        ] {
            assert!(base(local).is_ok(), "{local}");
        }
        for remote in [
            "http://chat.example.com",
            "http://127.0.0.1.example.com",
            "http://localhost@evil.example.com",
            "http://10.0.0.1",
            "ftp://x",
        ] {
            assert!(base(remote).is_err(), "{remote}");
        }
    }

    #[test]
    fn tokens_do_not_debug_print() {
        let token = Token::new("s3cr3t-value");
        assert_eq!(format!("{token:?}"), "Token(***)");
        assert_eq!(token.expose(), "s3cr3t-value");
    }
}
