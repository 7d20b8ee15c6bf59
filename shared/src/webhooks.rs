//! Webhook settings, kept in the connection secret beside the provider credentials:
//!
//! ```json
//! {"api_access_token": "…", "account_id": "1",
//!  "webhook_token": "…one token for every endpoint without settings of its own…",
//!  "webhooks": {
//!    "typeform": {"signing_secret": "…", "mapping": {"inbox_id": "3", "contact_email": "{{email}}"}},
//!    "jotform":  {"token": "…"},
//!    "direct":   {"token": "…"},
//!    "mapping":  {…one mapping for every source without its own…},
//!    "mappings": {"orcamento": {…}, "contato": {…}}}}
//! ```
//!
//! Named mappings serve several forms of one builder: the URL picks one with `?mapping=<name>`.
//!
//! Closed by default: an endpoint (`direct` or a source) is open only to callers that prove who
//! they are, with its own `signing_secret` or `token`, or else with the secret's `webhook_token`
//! (the stack generates one). An endpoint with none of these answers 401 and sends nothing, unless
//! the operator opted in with `"public": true` under it.
//!
//! Why the secret: webhook signing secrets and tokens must live in Secrets Manager anyway; the
//! function already reads (and caches) that secret; a change is one `put-secret-value`, picked
//! up within the secret's max age, with no redeploy; Secrets Manager keeps earlier versions to
//! roll back to; and a secret holds 64 KB where all of a function's environment holds 4 KB.

use crate::connection::{Connection, Token};
use crate::forms::{SOURCES, Source};
use crate::mapping::Mapping;
use crate::routes::Routes;
use crate::validate::declared;
use crate::validate::{Field, Fields, Problems, ValidationContext, read_key};
use serde_json::Value;

/// The webhook key of direct JSON calls (no form source in the URL).
pub const DIRECT: &str = "direct";

/// One endpoint's settings: `webhooks.<source>` (or `webhooks.direct`).
#[declared]
#[derive(Debug, Clone, Default)]
pub struct SourceSettings {
    /// The HMAC-SHA256 key the source signs its bodies with (Typeform, Tally, Google Forms).
    pub signing_secret: Option<Token>,
    /// A token the webhook URL (`?token=`) or an `X-Ponte-Token` header must carry.
    pub token: Option<Token>,
    /// `"public": true`: the operator accepts callers that prove nothing.
    pub public: Option<bool>,
    pub mapping: Option<Mapping>,
    /// What each submission becomes ([`crate::routes`]); stands instead of `mapping`.
    pub routes: Option<Routes>,
}

impl SourceSettings {
    /// True when these settings say how callers are checked (or that they are not).
    fn guards(&self) -> bool {
        self.signing_secret.is_some() || self.token.is_some() || self.is_public()
    }

    /// Whether the operator opted this endpoint in to anonymous callers.
    pub fn is_public(&self) -> bool {
        self.public == Some(true)
    }
}

/// A mapping kept in the secret, its problems located under its key.
impl Field for Mapping {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        parse_mapping(value, at, p)
    }

    fn placeholder() -> Self {
        Mapping::empty()
    }
}

/// How callers of one endpoint must prove who they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct Protection<'a> {
    /// The HMAC-SHA256 key of a signing source.
    pub signing_secret: Option<&'a Token>,
    /// A token the caller must present.
    pub token: Option<&'a Token>,
    /// Nothing to present: the operator opted in to anonymous callers.
    pub public: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Webhooks {
    /// `webhook_token` at the secret's top level: the token of every endpoint without settings of
    /// its own.
    default_token: Option<Token>,
    sources: Vec<(String, SourceSettings)>,
    mapping: Option<Mapping>,
    named: Vec<(String, Mapping)>,
    /// `webhooks.routes`: the routes of every source without its own.
    routes: Option<Routes>,
}

impl Webhooks {
    /// Reads the `webhooks` key of a connection secret (absent: no settings).
    pub fn from_secret(secret: &Value) -> Result<Self, Problems> {
        let mut problems = Problems::new();
        let mut webhooks = Webhooks::default();
        match secret.get("webhook_token") {
            None | Some(Value::Null) => {}
            Some(Value::String(token)) if !token.trim().is_empty() => {
                webhooks.default_token = Some(Token::new(token.trim()));
            }
            Some(_) => problems.add("webhook_token", "must be a non-empty string"),
        }
        let Some(value) = secret.get("webhooks").filter(|v| !v.is_null()) else {
            problems.into_result()?;
            return Ok(webhooks);
        };
        let Some(mut f) = Fields::object(value, "webhooks", &mut problems) else {
            return Err(problems);
        };
        if let Some(template) = f.take("mapping") {
            webhooks.mapping = parse_mapping(template, "webhooks.mapping", &mut problems);
        }
        webhooks.routes = read_key(
            &mut f,
            "routes",
            &ValidationContext::default(),
            &mut problems,
        );
        if webhooks.routes.is_some() && webhooks.mapping.is_some() {
            problems.add(
                "webhooks.mapping",
                "cannot stand beside webhooks.routes: the routes name the mappings they deliver with",
            );
        }
        if let Some(mut named) = f.optional_object("mappings", &mut problems) {
            for name in named.unread_keys() {
                let path = format!("webhooks.mappings.{name}");
                if let Some(template) = named.take(name)
                    && let Some(mapping) = parse_mapping(template, &path, &mut problems)
                {
                    webhooks.named.push((name.to_string(), mapping));
                }
            }
        }
        for key in f.unread_keys() {
            let path = format!("webhooks.{key}");
            if key != DIRECT && key.parse::<Source>().is_err() {
                problems.add(
                    &path,
                    format!("is not a source: use direct, {}", SOURCES.join(", ")),
                );
                continue;
            }
            let name = key
                .parse::<Source>()
                .map_or(DIRECT.to_string(), |s| s.name().to_string());
            let settings: Option<SourceSettings> =
                read_key(&mut f, key, &ValidationContext::default(), &mut problems);
            let Some(settings) = settings else {
                continue;
            };
            let signing_secret = settings.signing_secret.is_some();
            if settings.is_public() && (signing_secret || settings.token.is_some()) {
                problems.add(
                    format!("{path}.public"),
                    "cannot stand beside a token or signing_secret: an endpoint is checked or public",
                );
            }
            if signing_secret && name == DIRECT {
                problems.add(
                    format!("{path}.signing_secret"),
                    "direct calls are not signed, so this would verify nothing: set a token instead",
                );
            }
            if signing_secret && name != DIRECT {
                let signs = name
                    .parse::<Source>()
                    .ok()
                    .and_then(Source::signature_header)
                    .is_some();
                if !signs {
                    problems.add(
                        format!("{path}.signing_secret"),
                        format!("{name} signs nothing: protect it with a token instead"),
                    );
                }
            }
            if settings.routes.is_some() && settings.mapping.is_some() {
                problems.add(
                    format!("{path}.mapping"),
                    "cannot stand beside routes: the routes name the mappings they deliver with",
                );
            }
            webhooks.sources.push((name, settings));
        }
        webhooks.check_route_mappings(&mut problems);
        problems.into_result()?;
        Ok(webhooks)
    }

    /// Every mapping a route names must be under `webhooks.mappings`.
    fn check_route_mappings(&self, problems: &mut Problems) {
        let lists = self
            .sources
            .iter()
            .filter_map(|(name, s)| Some((format!("webhooks.{name}.routes"), s.routes.as_ref()?)))
            .chain(
                self.routes
                    .iter()
                    .map(|r| ("webhooks.routes".to_string(), r)),
            );
        let named: std::collections::HashSet<&str> =
            self.named.iter().map(|(n, _)| n.as_str()).collect();
        for (at, routes) in lists {
            for (path, name) in routes.mappings_named(&at) {
                if !named.contains(name) {
                    let known: Vec<&str> = self.named.iter().map(|(n, _)| n.as_str()).collect();
                    let known = if known.is_empty() {
                        "there is no webhooks.mappings".to_string()
                    } else {
                        format!("webhooks.mappings has {}", known.join(", "))
                    };
                    problems.add(path, format!("\"{name}\" is not a mapping: {known}"));
                }
            }
        }
    }

    /// The routes for `source`: its own, else the shared ones (a source's own `mapping` stands
    /// instead of the shared routes).
    pub fn routes_for(&self, source: Source) -> Option<&Routes> {
        let own = self.settings(source.name());
        match own.and_then(|s| s.routes.as_ref()) {
            Some(routes) => Some(routes),
            None if own.is_some_and(|s| s.mapping.is_some()) => None,
            None => self.routes.as_ref(),
        }
    }

    /// The settings of `key` (`direct` or a source name).
    pub fn settings(&self, key: &str) -> Option<&SourceSettings> {
        self.sources.iter().find(|(k, _)| k == key).map(|(_, s)| s)
    }

    /// How callers of endpoint `key` (`direct` or a source name) prove who they are: the endpoint's
    /// own settings when they say, else the secret's `webhook_token`; neither is a closed endpoint
    /// (every field empty and not public).
    pub fn protection(&self, key: &str) -> Protection<'_> {
        match self.settings(key).filter(|s| s.guards()) {
            Some(own) => Protection {
                signing_secret: own.signing_secret.as_ref(),
                token: own.token.as_ref(),
                public: own.is_public(),
            },
            None => Protection {
                signing_secret: None,
                token: self.default_token.as_ref(),
                public: false,
            },
        }
    }

    /// The mapping for `source`: its own, else the shared one.
    pub fn mapping_for(&self, source: Source) -> Option<&Mapping> {
        self.settings(source.name())
            .and_then(|s| s.mapping.as_ref())
            .or(self.mapping.as_ref())
    }

    /// The mapping named `name` under `webhooks.mappings`, or why there is none.
    pub fn named_mapping(&self, name: &str) -> Result<&Mapping, String> {
        match self.named.iter().find(|(n, _)| n == name) {
            Some((_, mapping)) => Ok(mapping),
            None if self.named.is_empty() => Err(format!(
                "the URL asks for mapping \"{name}\", but the connection secret has no webhooks.mappings"
            )),
            None => {
                let names: Vec<&str> = self.named.iter().map(|(n, _)| n.as_str()).collect();
                Err(format!(
                    "the URL asks for mapping \"{name}\", but webhooks.mappings has only {}",
                    names.join(", ")
                ))
            }
        }
    }
}

/// Parses a mapping template found at `path`, adding its problems to `problems`.
fn parse_mapping(template: &Value, path: &str, problems: &mut Problems) -> Option<Mapping> {
    match Mapping::parse(template, path) {
        Ok(mapping) => Some(mapping),
        Err(more) => {
            more.list()
                .iter()
                .for_each(|p| problems.add(&p.field, &p.problem));
            None
        }
    }
}

/// A provider connection together with the webhook settings stored beside it.
#[derive(Debug)]
pub struct Setup<C> {
    pub connection: C,
    pub webhooks: Webhooks,
    /// The secret's `requests_per_second`, else the provider's own figure.
    pub requests_per_second: f64,
}

impl<C> crate::connection::HoldsConnection<C> for Setup<C> {
    fn connection(&self) -> &C {
        &self.connection
    }

    fn requests_per_second(&self) -> f64 {
        self.requests_per_second
    }
}

/// The secret's `requests_per_second`: a positive number within what [`crate::pace`] keeps.
fn read_rate(secret: &Value, default: f64, problems: &mut Problems) -> f64 {
    use crate::pace::{MAX_REQUESTS_PER_SECOND, MIN_REQUESTS_PER_SECOND};
    match secret.get("requests_per_second") {
        None | Some(Value::Null) => default,
        Some(value) => match value.as_f64() {
            Some(rate) if (MIN_REQUESTS_PER_SECOND..=MAX_REQUESTS_PER_SECOND).contains(&rate) => {
                rate
            }
            _ => {
                problems.add(
                    "requests_per_second",
                    format!(
                        "must be the calls a second the provider allows this connection: a number from one an hour ({MIN_REQUESTS_PER_SECOND:.5}) to {MAX_REQUESTS_PER_SECOND}"
                    ),
                );
                default
            }
        },
    }
}

impl<C: Connection> Connection for Setup<C> {
    const PROVIDER: &'static str = C::PROVIDER;

    fn from_secret(value: &Value) -> Result<Self, Problems> {
        let connection = C::from_secret(value);
        let webhooks = Webhooks::from_secret(value);
        let mut problems = Problems::new();
        let requests_per_second = read_rate(value, C::REQUESTS_PER_SECOND, &mut problems);
        match (connection, webhooks) {
            (Ok(connection), Ok(webhooks)) if problems.is_empty() => Ok(Self {
                connection,
                webhooks,
                requests_per_second,
            }),
            (connection, webhooks) => {
                for p in connection.err().iter().chain(webhooks.err().iter()) {
                    p.list()
                        .iter()
                        .for_each(|p| problems.add(&p.field, &p.problem));
                }
                Err(problems)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_are_read_per_source() {
        let w = Webhooks::from_secret(&json!({"webhooks": {
            "typeform": {"signing_secret": "s", "mapping": {"inbox_id": "1"}},
            "jotform": {"token": "t"},
            "google_forms": {"signing_secret": "g"},
            "direct": {"token": "d"},
            "mapping": {"inbox_id": "2"}
        }}))
        .unwrap();
        assert!(w.settings("typeform").unwrap().signing_secret.is_some());
        assert!(w.settings("google-forms").unwrap().signing_secret.is_some());
        assert_eq!(
            w.settings("direct")
                .unwrap()
                .token
                .as_ref()
                .unwrap()
                .expose(),
            "d"
        );
        assert!(w.mapping_for(Source::Typeform).is_some());
        assert!(
            w.mapping_for(Source::Elementor).is_some(),
            "the shared mapping"
        );
        assert!(w.settings("tally").is_none());
    }

    #[test]
    fn named_mappings_are_found_by_name_and_a_missing_one_is_explained() {
        let w = Webhooks::from_secret(&json!({"webhooks": {
            "mappings": {"orcamento": {"inbox_id": "5"}, "contato": {"inbox_id": "3"}}
        }}))
        .unwrap();
        assert!(w.named_mapping("orcamento").is_ok() && w.named_mapping("contato").is_ok());
        assert_eq!(
            w.named_mapping("vendas").unwrap_err(),
            "the URL asks for mapping \"vendas\", but webhooks.mappings has only orcamento, contato"
        );
        let none = Webhooks::from_secret(&json!({"webhooks": {}})).unwrap();
        assert!(
            none.named_mapping("x")
                .unwrap_err()
                .contains("has no webhooks.mappings")
        );
    }

    #[test]
    fn endpoints_are_protected_by_their_own_settings_else_the_webhook_token_else_closed() {
        let w = Webhooks::from_secret(&json!({
            "webhook_token": " everywhere ",
            "webhooks": {
                "typeform": {"signing_secret": "s"},
                "elementor": {"public": true},
                "tally": {"mapping": {"inbox_id": "1"}}
            }
        }))
        .unwrap();
        let typeform = w.protection("typeform");
        assert!(typeform.signing_secret.is_some() && typeform.token.is_none());
        assert!(w.protection("elementor").public);
        for endpoint in ["tally", "direct", "generic"] {
            let p = w.protection(endpoint);
            assert_eq!(p.token.map(Token::expose), Some("everywhere"), "{endpoint}");
            assert!(!p.public && p.signing_secret.is_none());
        }
        let empty = Webhooks::from_secret(&json!({})).unwrap();
        let nothing = empty.protection("direct");
        assert!(nothing.token.is_none() && nothing.signing_secret.is_none() && !nothing.public);
    }

    #[test]
    fn settings_that_verify_nothing_are_refused() {
        let err = Webhooks::from_secret(&json!({
            "webhook_token": 7,
            "webhooks": {
                "direct": {"signing_secret": "x"},
                "jotform": {"token": "t", "public": true}
            }
        }))
        .unwrap_err();
        let fields: Vec<&str> = err.list().iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "webhook_token",
                "webhooks.direct.signing_secret",
                "webhooks.jotform.public"
            ]
        );
    }

    #[test]
    fn routes_name_mappings_that_exist_and_stand_instead_of_a_mapping() {
        let err = Webhooks::from_secret(&json!({"webhooks": {
            "elementor": {"mapping": {"a": "b"}, "routes": [{"name": "r", "mapping": "vendas"}]},
            "routes": [{"name": "x", "when": "a == 'b'", "mapping": "suporte"}, {"name": "y", "skip": true}],
            "mappings": {"suporte": {"inbox_id": "3"}}
        }}))
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
                    "webhooks.elementor.mapping",
                    "cannot stand beside routes: the routes name the mappings they deliver with"
                ),
                (
                    "webhooks.elementor.routes[0].mapping",
                    "\"vendas\" is not a mapping: webhooks.mappings has suporte"
                ),
            ]
        );
        let w = Webhooks::from_secret(&json!({"webhooks": {
            "typeform": {"mapping": {"inbox_id": "1"}},
            "routes": [{"name": "todos", "mapping": "suporte"}],
            "mappings": {"suporte": {"inbox_id": "3"}}
        }}))
        .unwrap();
        assert!(w.routes_for(Source::Tally).is_some(), "the shared routes");
        assert!(
            w.routes_for(Source::Typeform).is_none(),
            "a source's own mapping stands instead of the shared routes"
        );
    }

    #[test]
    fn no_webhooks_key_means_no_settings() {
        let w = Webhooks::from_secret(&json!({"token": "x"})).unwrap();
        assert!(w.settings("typeform").is_none() && w.mapping_for(Source::Tally).is_none());
    }

    #[test]
    fn problems_say_where() {
        let err = Webhooks::from_secret(&json!({"webhooks": {
            "wix": {},
            "jotform": {"signing_secret": "x", "tokn": "y"},
            "typeform": {"mapping": {"a": "{{oops"}},
            "mappings": {"ok": {"a": "{{x}}"}, "broken": {"b": "{{}}"}}
        }}))
        .unwrap_err();
        let fields: Vec<&str> = err.list().iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "webhooks.mappings.broken.b",
                "webhooks.wix",
                "webhooks.jotform.tokn",
                "webhooks.jotform.signing_secret",
                "webhooks.typeform.mapping.a"
            ]
        );
    }
}
