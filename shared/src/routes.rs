//! Routes: the operator's rules for what a submission becomes. Kept in the connection secret,
//! under a source (`webhooks.elementor.routes`) or for every source (`webhooks.routes`):
//!
//! ```json
//! "routes": [
//!   {"name": "testes", "when": "'teste' in (email or '')", "skip": true},
//!   {"name": "vendas", "when": "interesse == 'Orçamento'", "mapping": "vendas",
//!    "also": [{"function": "cloudchat-proactive-whatsapp", "mapping": "boas_vindas"}]},
//!   {"name": "resto", "mapping": "suporte"}
//! ]
//! ```
//!
//! The first route whose `when` holds (a route without one takes every submission) says what
//! to do: skip the submission, deliver it here with a mapping of `webhooks.mappings`, and/or
//! hand it to other functions of the stack (`also`), each with a mapping of its own secret.
//! A list must end in a route without `when`, so that no submission falls through unseen.

use crate::expressions::{Answers, Condition};
use crate::validate::declared;
use crate::validate::{Field, Problems, ValidationContext};
use serde_json::Value;
use std::sync::Arc;

/// The most routes one list may hold, and the most targets one route may name: far beyond a
/// form's needs, and a bound on the work a submission can cause.
pub const MAX_ROUTES: usize = 200;
pub const MAX_TARGETS: usize = 10;

/// One route as written in the secret.
#[declared]
#[derive(Debug, Clone)]
struct Written {
    name: String,
    when: Option<Condition>,
    skip: Option<bool>,
    mapping: Option<String>,
    also: Option<Vec<Target>>,
}

/// Another function of the stack, and the mapping (of that function's own secret) it delivers
/// the submission with.
#[declared]
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub function: String,
    pub mapping: String,
}

/// A `when`, compiled when the secret is read.
impl Field for Condition {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        let Some(text) = value.as_str() else {
            p.add(
                at,
                "must be a text: a condition such as interesse == 'Orçamento'",
            );
            return None;
        };
        Condition::parse(text).map_err(|why| p.add(at, why)).ok()
    }

    fn placeholder() -> Self {
        Condition::parse("true").expect("a literal condition compiles")
    }
}

/// What a route does with the submissions it takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Then {
    /// Nothing is sent: answered with `"skipped": true` and counted.
    Skip,
    /// Delivered here with the named mapping (when given) and handed to each target.
    Deliver {
        mapping: Option<String>,
        also: Vec<Target>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub name: String,
    pub when: Option<Condition>,
    pub then: Then,
}

/// An ordered list of routes, checked to end in a catch-all.
#[derive(Debug, Clone, PartialEq)]
pub struct Routes(Vec<Route>);

/// A route list kept in the secret; its problems are located under its path
/// (`webhooks.elementor.routes[1].when`).
impl Field for Routes {
    fn read(value: &Value, at: &str, cx: &ValidationContext, p: &mut Problems) -> Option<Self> {
        let Some(items) = value.as_array() else {
            p.add(at, "must be a list of routes");
            return None;
        };
        if items.is_empty() || items.len() > MAX_ROUTES {
            p.add(at, format!("must hold 1 to {MAX_ROUTES} routes"));
            return None;
        }
        let before = p.position();
        // Each route with its place in the list, so that problems name the place as written.
        let mut routes = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("{at}[{i}]");
            if let Some(written) = Written::read(item, &path, cx, p) {
                routes.push((i, route(written, &path, p)));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, route) in &routes {
            if !seen.insert(route.name.as_str()) {
                p.add(
                    format!("{at}[{i}].name"),
                    format!("\"{}\" names another route already", route.name),
                );
            }
        }
        // Told only of a list read without problems: a `when` that did not compile reads as none.
        let catch_all = routes.iter().find(|(_, r)| r.when.is_none());
        match catch_all {
            _ if p.position() != before => {}
            None => p.add(
                at,
                "has no route without `when`: add a last one (such as {\"name\": \"resto\", \"mapping\": \"…\"}) so that no submission falls through",
            ),
            Some((last, route)) if last + 1 < items.len() => p.add(
                format!("{at}[{}]", last + 1),
                format!(
                    "can never be reached: route \"{}\" before it has no `when` and takes every submission",
                    route.name
                ),
            ),
            _ => {}
        }
        let routes = routes.into_iter().map(|(_, r)| r).collect();
        (p.position() == before).then_some(Routes(routes))
    }

    fn placeholder() -> Self {
        Routes(Vec::new())
    }
}

fn route(written: Written, path: &str, p: &mut Problems) -> Route {
    let name = written.name.trim().to_string();
    if name.is_empty() {
        p.add(format!("{path}.name"), "must not be empty");
    }
    let also = written.also.unwrap_or_default();
    if also.len() > MAX_TARGETS {
        p.add(
            format!("{path}.also"),
            format!("names at most {MAX_TARGETS} functions"),
        );
    }
    for (i, target) in also.iter().enumerate() {
        let at = format!("{path}.also[{i}]");
        if !crate::registry::ACTIONS
            .iter()
            .any(|a| a.name == target.function)
        {
            let names: Vec<&str> = crate::registry::ACTIONS.iter().map(|a| a.name).collect();
            p.add(
                format!("{at}.function"),
                format!(
                    "\"{}\" is not a function of this stack: {}",
                    target.function,
                    names.join(", ")
                ),
            );
        }
        if target.mapping.trim().is_empty() {
            p.add(
                format!("{at}.mapping"),
                "must name a mapping of that function's secret",
            );
        }
    }
    let then = match written.skip {
        Some(true) => {
            if written.mapping.is_some() || !also.is_empty() {
                p.add(
                    format!("{path}.skip"),
                    "a skipping route sends nothing: leave out mapping and also",
                );
            }
            Then::Skip
        }
        _ => {
            if written.mapping.is_none() && also.is_empty() {
                p.add(
                    path,
                    "says nothing to do: give it a mapping, functions under also, or \"skip\": true",
                );
            }
            Then::Deliver {
                mapping: written.mapping,
                also,
            }
        }
    };
    Route {
        name,
        when: written.when,
        then,
    }
}

/// Why no route could be chosen for a submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Unroutable(pub String);

impl Routes {
    /// The routes, in the order they are tried.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.0.iter()
    }

    /// The first route whose `when` holds for the submission.
    pub fn choose(&self, answers: &Arc<Answers>) -> Result<&Route, Unroutable> {
        for route in &self.0 {
            let holds = match &route.when {
                None => true,
                Some(when) => when.holds(answers).map_err(|why| {
                    Unroutable(format!(
                        "route \"{}\": its when ({}) could not be told: {why}",
                        route.name,
                        when.written()
                    ))
                })?,
            };
            if holds {
                return Ok(route);
            }
        }
        // A list is checked to end in a catch-all when read; an empty placeholder never runs.
        Err(Unroutable("no route takes this submission".into()))
    }

    /// The mappings of `webhooks.mappings` the routes name, with where each is named.
    pub fn mappings_named(&self, at: &str) -> Vec<(String, &str)> {
        self.0
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match &r.then {
                Then::Deliver {
                    mapping: Some(m), ..
                } => Some((format!("{at}[{i}].mapping"), m.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Every function the routes may hand submissions to.
    pub fn functions(&self) -> impl Iterator<Item = &str> {
        self.0.iter().flat_map(|r| match &r.then {
            Then::Deliver { also, .. } => also.iter().map(|t| t.function.as_str()).collect(),
            Then::Skip => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::{Answer, Submission};
    use crate::lookup::Context;
    use serde_json::json;

    fn read(value: Value) -> Result<Routes, Vec<(String, String)>> {
        let mut p = Problems::new();
        let routes = Routes::read(
            &value,
            "webhooks.elementor.routes",
            &ValidationContext::default(),
            &mut p,
        );
        if p.is_empty() {
            Ok(routes.unwrap())
        } else {
            Err(p
                .list()
                .iter()
                .map(|x| (x.field.clone(), x.problem.clone()))
                .collect())
        }
    }

    fn answers(email: &str, interesse: &str) -> Arc<Answers> {
        let mut s = Submission::default();
        s.field("email", "E-mail", "email", Answer::text(email));
        s.field("interesse", "Interesse", "", Answer::text(interesse));
        Answers::of(&Context {
            submission: &s,
            query: &[],
            signed: false,
        })
    }

    #[test]
    fn the_first_route_that_holds_wins() {
        let routes = read(json!([
            {"name": "testes", "when": "'teste' in (email or '')", "skip": true},
            {"name": "vendas", "when": "interesse == 'Orçamento'", "mapping": "vendas",
             "also": [{"function": "cloudchat-proactive-whatsapp", "mapping": "boas_vindas"}]},
            {"name": "resto", "mapping": "suporte"}
        ]))
        .unwrap();
        let chosen = |e, i| routes.choose(&answers(e, i)).unwrap().name.clone();
        assert_eq!(chosen("teste@x.com", "Orçamento"), "testes");
        assert_eq!(chosen("maria@x.com", "Orçamento"), "vendas");
        assert_eq!(chosen("maria@x.com", "Suporte"), "resto");
        assert_eq!(chosen("", ""), "resto");
        let vendas = routes.choose(&answers("a@b.c", "Orçamento")).unwrap();
        assert_eq!(
            vendas.then,
            Then::Deliver {
                mapping: Some("vendas".into()),
                also: vec![Target {
                    function: "cloudchat-proactive-whatsapp".into(),
                    mapping: "boas_vindas".into()
                }]
            }
        );
        assert_eq!(
            routes.functions().collect::<Vec<_>>(),
            ["cloudchat-proactive-whatsapp"]
        );
    }

    #[test]
    fn mistakes_are_named_with_their_path() {
        let err = read(json!([
            {"name": "a", "when": "interesse == ", "mapping": "x"},
            {"name": "b", "when": "x | frist_name", "mapping": "x"},
            {"name": "a", "mapping": "x", "also": [{"function": "zapier", "mapping": "m"}]},
            {"name": "d", "skip": true, "mapping": "x"},
            {"name": "e"}
        ]))
        .unwrap_err();
        let fields: Vec<&str> = err.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "webhooks.elementor.routes[0].when",
                "webhooks.elementor.routes[1].when",
                "webhooks.elementor.routes[2].also[0].function",
                "webhooks.elementor.routes[3].skip",
                "webhooks.elementor.routes[4]",
                "webhooks.elementor.routes[2].name",
            ],
            "{err:?}"
        );
        assert!(
            err[1].1.contains("unknown filter \"frist_name\""),
            "{err:?}"
        );
        assert!(
            err[2].1.contains("cloudchat-create-conversation"),
            "{err:?}"
        );
        let err = read(json!([
            {"name": "a", "mapping": "x"},
            {"name": "b", "when": "x == 'y'", "skip": true}
        ]))
        .unwrap_err();
        assert_eq!(err[0].0, "webhooks.elementor.routes[1]");
        assert!(
            err[0].1.contains("can never be reached: route \"a\""),
            "{err:?}"
        );
    }

    #[test]
    fn a_list_without_a_catch_all_is_refused() {
        let err = read(json!([{"name": "a", "when": "x == 'y'", "mapping": "m"}])).unwrap_err();
        assert_eq!(err[0].0, "webhooks.elementor.routes");
        assert!(err[0].1.contains("falls through"));
        assert!(read(json!([])).is_err() && read(json!({})).is_err());
    }
}
