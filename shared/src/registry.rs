//! The registry of actions: the one list of Ponte's functions.
//!
//! Everything that iterates the functions reads it: the Lambda binaries are checked against it,
//! `ponte-registry` prints it for the template and events generators
//! (`scripts/make-template.py`, `scripts/make-events.py`), and the local run and the provider
//! sandbox take each function's name, route, example connection and example events from it. Adding an action is its module in `actions/`, its folder in `functions/`, and one
//! line in [`registry!`] below.

use crate::action::{Action, ExampleForm};
use crate::actions::{
    CloudChatCreateConversation, CloudChatProactiveWhatsapp, SacflowSendMessage, WeglyCreateChat,
};
use crate::connection::ProviderConnection;
use serde_json::Value;

/// What the rest of the house knows of an action without naming its types.
#[derive(Debug, Clone, Copy)]
pub struct Registered {
    /// [`Action::NAME`]: the binary, its folder in `functions/`, its secret.
    pub name: &'static str,
    /// The action's type, as Rust names it (`ponte::actions::…::CloudChatCreateConversation`):
    /// the function's `main.rs` runs it.
    pub action_type: fn() -> &'static str,
    /// [`Action::ROUTE`].
    pub route: &'static str,
    /// [`Action::STEM`].
    pub stem: &'static str,
    /// [`Action::PROVIDER_CALL`].
    pub provider_call: &'static str,
    /// [`Action::DOES`].
    pub does: &'static str,
    /// The provider's name ("Cloud Chat").
    pub provider: &'static str,
    /// [`ProviderConnection::SECRET_SHAPE`].
    pub secret_shape: &'static str,
    /// [`Action::EXAMPLE_FORM`].
    pub example_form: ExampleForm,
    /// [`Action::example_body`].
    pub example_body: fn() -> Value,
    /// [`ProviderConnection::example`] of the action's connection.
    pub example_connection: fn(&str) -> Value,
}

impl Registered {
    pub const fn of<A: Action>() -> Self
    where
        A::Connection: ProviderConnection,
    {
        Self {
            name: A::NAME,
            action_type: std::any::type_name::<A>,
            route: A::ROUTE,
            stem: A::STEM,
            provider_call: A::PROVIDER_CALL,
            does: A::DOES,
            provider: <A::Connection as ProviderConnection>::PROVIDER,
            secret_shape: <A::Connection as ProviderConnection>::SECRET_SHAPE,
            example_form: A::EXAMPLE_FORM,
            example_body: A::example_body,
            example_connection: <A::Connection as ProviderConnection>::example,
        }
    }

    /// The provider's contract in our own words, which the action follows.
    pub fn contract(&self) -> String {
        format!("docs/providers/{}.md", self.name)
    }
}

/// Work to do with one action's types, chosen by the action's name at run time (see [`visit`]).
pub trait ForAction {
    type Output;
    fn run<A: Action>(self) -> Self::Output
    where
        A::Connection: ProviderConnection;
}

/// The registered action called `name`.
pub fn find(name: &str) -> Option<&'static Registered> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// Declares [`ACTIONS`] and [`visit`] from one list of action types, so the two cannot differ.
macro_rules! registry {
    ($($action:ty),+ $(,)?) => {
        /// Every action, in the order the template and the local run list them.
        pub const ACTIONS: &[Registered] = &[$(Registered::of::<$action>()),+];

        /// Runs `work` with the types of the action called `name`; `None` when no action is
        /// called so.
        pub fn visit<W: ForAction>(name: &str, work: W) -> Option<W::Output> {
            $(
                if name == <$action as Action>::NAME {
                    return Some(work.run::<$action>());
                }
            )+
            None
        }
    };
}

registry! {
    CloudChatCreateConversation,
    CloudChatProactiveWhatsapp,
    WeglyCreateChat,
    SacflowSendMessage,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Connection;
    use crate::forms::Source;
    use std::collections::HashSet;

    #[test]
    fn names_routes_and_stems_are_unique() {
        for field in [
            |a: &Registered| a.name,
            |a: &Registered| a.route,
            |a: &Registered| a.stem,
        ] {
            let values: Vec<_> = ACTIONS.iter().map(field).collect();
            let unique: HashSet<_> = values.iter().collect();
            assert_eq!(values.len(), unique.len(), "{values:?}");
        }
    }

    #[test]
    fn visit_reaches_every_registered_action_by_its_name() {
        struct Name;
        impl ForAction for Name {
            type Output = &'static str;
            fn run<A: Action>(self) -> &'static str
            where
                A::Connection: ProviderConnection,
            {
                A::NAME
            }
        }
        for action in ACTIONS {
            assert_eq!(visit(action.name, Name), Some(action.name));
        }
        assert_eq!(visit("no-such-function", Name), None);
    }

    #[test]
    fn example_bodies_are_valid_requests() {
        struct Validate;
        impl ForAction for Validate {
            type Output = Result<(), String>;
            fn run<A: Action>(self) -> Result<(), String>
            where
                A::Connection: ProviderConnection,
            {
                let text = A::example_body().to_string().replace("{order}", "0042");
                let body: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                A::validate(&body, &Default::default())
                    .map(|_| ())
                    .map_err(|p| p.to_string())
            }
        }
        for action in ACTIONS {
            assert_eq!(
                visit(action.name, Validate),
                Some(Ok(())),
                "{}",
                action.name
            );
        }
    }

    /// `PROVIDER_CALL` says where the action's request goes: the sandbox serves it there.
    #[test]
    fn the_example_request_goes_to_the_declared_provider_call() {
        struct Url;
        impl ForAction for Url {
            type Output = String;
            fn run<A: Action>(self) -> String
            where
                A::Connection: ProviderConnection,
            {
                let text = A::example_body().to_string().replace("{order}", "1");
                let body: Value = serde_json::from_str(&text).unwrap();
                let request = A::validate(&body, &Default::default()).unwrap();
                let connection =
                    A::Connection::from_secret(&A::Connection::example("https://p.example"))
                        .unwrap();
                A::provider_request(&request, &connection).unwrap().url
            }
        }
        for action in ACTIONS {
            let url = visit(action.name, Url).unwrap();
            let path = url.strip_prefix("https://p.example").unwrap_or(&url);
            let (got, want): (Vec<_>, Vec<_>) = (
                path.split('/').collect(),
                action.provider_call.split('/').collect(),
            );
            let matches = got.len() == want.len()
                && got.iter().zip(&want).all(|(got, want)| {
                    got == want || (want.starts_with('{') && want.ends_with('}') && !got.is_empty())
                });
            assert!(
                matches,
                "{}: {url} is not {}",
                action.name, action.provider_call
            );
        }
    }

    #[test]
    fn example_forms_name_a_source() {
        for action in ACTIONS {
            let source = action.example_form.source;
            assert!(
                source.parse::<Source>().is_ok(),
                "{}: {source} is not a source",
                action.name
            );
        }
    }
}
