//! A provider action: its request, how it is validated, how the provider is called.
//!
//! Adding a provider action means one new implementation of [`Action`] in `actions/`, one
//! binary in `functions/` and one block in `template.yaml`; everything else is shared.

use crate::connection::Connection;
use crate::provider::{ProviderRequest, ProviderResponse};
use crate::validate::Problems;
use serde_json::Value;

pub use crate::validate::ValidationContext;

pub trait Action: Send + Sync + 'static {
    /// The function's name, as the binary is called (`cloudchat-create-conversation`).
    const NAME: &'static str;

    /// The connection secret this action reads.
    type Connection: Connection;

    /// The validated request, typed.
    type Request: Send + Sync + 'static;

    /// Checks the JSON body and reads it into the typed request, naming every bad field.
    fn validate(body: &Value, ctx: &ValidationContext) -> Result<Self::Request, Problems>;

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
    /// URL's query string or a hidden field of the same name.
    fn default_mapping() -> Value;
}
