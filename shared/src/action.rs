//! A provider action: its request, how it is validated, how the provider is called, and how the
//! rest of Ponte (the template, the example events, the local run) knows it.
//!
//! Adding a provider action is one new implementation of [`Action`] in `actions/` (with its
//! provider contract in `docs/providers/<name>.md`), its folder in `functions/`, and one line in
//! [`crate::registry`]; everything else reads the registry.

use crate::connection::Connection;
use crate::provider::{ProviderRequest, ProviderResponse};
use crate::validate::{Field, Problems, read_body};
use serde_json::Value;

pub use crate::validate::ValidationContext;

pub trait Action: Send + Sync + 'static {
    /// The function's name, as the binary is called (`cloudchat-create-conversation`). Its
    /// folder is `functions/<NAME>/`, its provider contract `docs/providers/<NAME>.md`.
    const NAME: &'static str;

    /// The function's HTTP API route (`/cloudchat/conversations`); form webhooks post to
    /// `<ROUTE>/<source>`.
    const ROUTE: &'static str;

    /// What begins the logical id of each of the function's resources and parameters in
    /// `template.yaml` (`CloudChatConversation` → `CloudChatConversationFunction`). Deployed
    /// stacks know their resources by these ids: once deployed, it never changes.
    const STEM: &'static str;

    /// The provider call's path after the connection's base URL, as the provider documents it,
    /// with `{name}` for a part the connection or the request fills in
    /// (`/api/v1/accounts/{account_id}/conversations`). The provider sandbox serves it.
    const PROVIDER_CALL: &'static str;

    /// One line saying what the function does per event, for the template.
    const DOES: &'static str;

    /// The form webhook among the example events (`events/<NAME>/<source>.json`).
    const EXAMPLE_FORM: ExampleForm;

    /// The connection secret this action reads.
    type Connection: Connection;

    /// The validated request, typed; declared with `#[declared]`, so it is read with
    /// every problem named at once.
    type Request: Field + Send + Sync + 'static;

    /// Checks the JSON body and reads it into the typed request, naming every bad field.
    fn validate(body: &Value, ctx: &ValidationContext) -> Result<Self::Request, Problems> {
        read_body(body, ctx)
    }

    /// Builds the HTTP call from a valid request and the connection. Problems here are fields
    /// that neither the event nor the connection filled in.
    fn provider_request(
        request: &Self::Request,
        connection: &Self::Connection,
    ) -> Result<ProviderRequest, Problems>;

    /// A 2xx answer that still means failure, as its provider words it (`None` when it is a
    /// success). Most providers need no such check.
    fn failure_in_success(_response: &ProviderResponse) -> Option<String> {
        None
    }

    /// A short reference to the contact, masked, for the outcome log line.
    fn contact_for_log(request: &Self::Request) -> String;

    /// The mapping used for form webhooks when the connection secret has none (see
    /// [`crate::mapping`]). Ids no form asks for (an inbox, a template) come from the webhook
    /// URL's query string (or a signed source's hidden field of the same name).
    fn default_mapping() -> Value;

    /// A body this action accepts, as a caller would send it: the example events in `events/`
    /// and the README's examples are made from it. Where a text holds `{order}`, each example
    /// event puts an order number of its own, so that the events are distinct deliveries.
    fn example_body() -> Value;
}

/// The form webhook an action's example events include: a recorded submission of `source`
/// (`tests/fixtures/forms/<fixture>`) posted to the function's form route with `query`, which
/// gives the ids the form does not ask for.
#[derive(Debug, Clone, Copy)]
pub struct ExampleForm {
    pub source: &'static str,
    pub fixture: &'static str,
    pub query: &'static [(&'static str, &'static str)],
}
