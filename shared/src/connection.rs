//! What a provider connection secret holds, and the pieces every connection shares.

use crate::validate::{
    DeclaredObject, Field, Problems, ValidationContext, check_url, non_blank, read_declared,
};
use serde_json::Value;
use std::fmt;
use std::marker::PhantomData;

/// A provider connection read from the JSON value of a Secrets Manager secret.
pub trait Connection: Sized + Send + Sync + 'static {
    /// The provider's name, for messages ("Cloud Chat").
    const PROVIDER: &'static str;

    /// The calls a second the provider allows one connection, unless its secret says
    /// (`requests_per_second`, see [`crate::pace`]); a cautious figure unless it is known.
    const REQUESTS_PER_SECOND: f64 = 10.0;

    /// Reads the connection; problems name the secret's keys, never their values.
    fn from_secret(value: &Value) -> Result<Self, Problems>;
}

/// A secret's contents that hold a provider connection of type `C`, with whatever else the
/// secret keeps beside it: what the delivery core reads, knowing nothing of the rest.
pub trait HoldsConnection<C> {
    fn connection(&self) -> &C;

    /// The calls a second this connection may make ([`crate::pace`]).
    fn requests_per_second(&self) -> f64;
}

/// A provider's connection secret, declared with `#[declared]`: its keys are read from the
/// secret (the others are webhook settings, read apart), and it says how an operator writes it.
pub trait ProviderConnection: DeclaredObject + Send + Sync + 'static {
    /// The provider's name, for messages ("Cloud Chat").
    const PROVIDER: &'static str;

    /// The calls a second the provider allows one connection: what it documents, or a
    /// cautious figure where it documents none (the secret's `requests_per_second` overrides it).
    const REQUESTS_PER_SECOND: f64;

    /// The secret's keys as the operator writes them, for the template's descriptions
    /// (`{"token": "...", "base_url": "https://..."}`).
    const SECRET_SHAPE: &'static str;

    /// A connection to the provider (or a stand-in of it) at `base_url`, with placeholder
    /// credentials: what the local run stores in its Secrets Manager.
    fn example(base_url: &str) -> Value;
}

impl<T: ProviderConnection> Connection for T {
    const PROVIDER: &'static str = <T as ProviderConnection>::PROVIDER;
    const REQUESTS_PER_SECOND: f64 = <T as ProviderConnection>::REQUESTS_PER_SECOND;

    fn from_secret(value: &Value) -> Result<Self, Problems> {
        read_declared(value, &ValidationContext::default())
    }
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

/// A required token: a non-blank string, trimmed (a secret pasted with a newline still works).
impl Field for Token {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        non_blank(value, at, p).map(|token| Token::new(token.trim()))
    }

    fn placeholder() -> Self {
        Token::new("")
    }
}

/// A provider that is reached at one address unless the connection names another.
pub trait Hosted {
    const DEFAULT_BASE_URL: &'static str;
}

/// The address of the provider behind connection `C`: the secret's `base_url`, or the
/// provider's own when the secret has none. The trailing slash is dropped so paths can be
/// appended as the provider's documentation writes them. It must be `https://`: the token
/// travels with every call. Plain `http://` is accepted for loopback hosts only (a local
/// stand-in of the provider).
pub struct BaseUrl<C>(String, PhantomData<fn() -> C>);

impl<C> BaseUrl<C> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A base URL written in code (tests, local tools), taken as it is.
impl<C> From<&str> for BaseUrl<C> {
    fn from(url: &str) -> Self {
        Self(url.trim_end_matches('/').to_string(), PhantomData)
    }
}

impl<C> fmt::Display for BaseUrl<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<C> fmt::Debug for BaseUrl<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<C> Clone for BaseUrl<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<C: Hosted> Field for BaseUrl<C> {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        let typed = non_blank(value, at, p)?;
        let url = typed.trim();
        if check_url(at, typed, p)
            && !url.to_ascii_lowercase().starts_with("https://")
            && !is_loopback(url)
        {
            p.add(
                at,
                "must be an https:// URL (http:// only for 127.0.0.1, localhost or [::1])",
            );
        }
        Some(Self::from(url))
    }

    fn missing(_at: &str, _null: bool, _p: &mut Problems) -> Option<Self> {
        Some(Self::from(C::DEFAULT_BASE_URL))
    }

    fn placeholder() -> Self {
        Self::from(C::DEFAULT_BASE_URL)
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

    use crate::validate::{Fields, read_key};

    struct Somewhere;

    impl Hosted for Somewhere {
        const DEFAULT_BASE_URL: &'static str = "https://default.example.com";
    }

    fn read(secret: serde_json::Value) -> Result<String, Problems> {
        let mut problems = Problems::new();
        let mut f = Fields::object(&secret, "", &mut problems).unwrap();
        let cx = ValidationContext::default();
        let got: BaseUrl<Somewhere> = read_key(&mut f, "base_url", &cx, &mut problems);
        problems.into_result().map(|()| got.to_string())
    }

    fn base(url: &str) -> Result<String, Problems> {
        read(serde_json::json!({ "base_url": url }))
    }

    #[test]
    fn a_missing_base_url_is_the_providers_own() {
        assert_eq!(
            read(serde_json::json!({})).unwrap(),
            "https://default.example.com"
        );
        assert_eq!(
            read(serde_json::json!({"base_url": null})).unwrap(),
            "https://default.example.com"
        );
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
