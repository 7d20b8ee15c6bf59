//! What a delivery did: its report (the outcome, the masked contact, the provider calls made),
//! what a dry run would send, and what identifies a delivery for idempotency. Made by the
//! delivery pipeline ([`crate::app`]), read by the triggers and the outcome log.

use crate::failure::Failure;
use crate::provider::ProviderResponse;
use serde_json::Value;

/// What identifies a delivery for idempotency, when its source gives it an id: the kind of id
/// (`idempotency-key`, a form source's name), the id, and the endpoint's operator settings
/// ([`idempotency::scope_of`], empty when it has none).
#[derive(Debug, Clone, Copy)]
pub struct DeliveryId<'a> {
    pub kind: &'a str,
    pub value: &'a str,
    pub scope: &'a str,
}

/// What became of one payload, with the masked contact it was for (empty when the payload
/// was not valid), for the outcome log line.
#[derive(Debug)]
pub struct Report {
    pub contact: String,
    pub trace: Trace,
    pub result: Result<Delivered, Failure>,
}

/// What a delivery did on its way, for its log line and metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// Provider calls made (0 when the payload never got that far).
    pub attempts: u32,
    /// The idempotency key the delivery claimed.
    pub idempotency_key: String,
    /// Milliseconds spent waiting for the provider, all calls together.
    pub provider_ms: u64,
    /// Milliseconds spent waiting for the connection's turns ([`crate::pace`]).
    pub paced_ms: u64,
}

impl Report {
    /// A payload that failed before any provider call.
    pub fn failed(failure: Failure) -> Self {
        Self {
            contact: String::new(),
            trace: Trace::default(),
            result: Err(failure),
        }
    }
}

/// What a delivery would send, without sending it (a dry run): the provider URL and JSON body.
/// The headers are left out, as they carry the token.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub url: String,
    pub body: Value,
}

/// A delivery the provider accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub response: ProviderResponse,
    /// True when this was a duplicate of an earlier delivery: the provider was not called, and
    /// `response` is its answer from then.
    pub duplicate: bool,
}
