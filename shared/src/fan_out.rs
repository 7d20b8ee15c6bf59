//! Fan-out: a route's `also` hands a submission to other functions of the stack.
//!
//! The request, already authenticated here, goes to the other function's own trigger queue as
//! an intake record sealed for that function under the stack's record key: the proof that
//! function checks before it runs it (a per-connection key would prove nothing to it, as its
//! secret is another). It runs the record as any kept request, with its own secret and the
//! mapping the route names (`?mapping=` in the record's query), under its own idempotency key
//! (its name, the submission id and that mapping), so a record handed over twice is delivered
//! once; what fails for good becomes a dead letter of that function, with its reason.

use crate::failure::Failure;
use crate::intake::{IntakeQueue, IntakeRecord, RecordKey};
use crate::trigger::HttpRequest;
use std::sync::Arc;

/// The trigger queues of the other functions of the stack, by function name.
#[derive(Default, Clone)]
pub struct HandOverQueues(Vec<(String, Arc<dyn IntakeQueue>)>);

impl HandOverQueues {
    pub fn new(queues: Vec<(String, Arc<dyn IntakeQueue>)>) -> Self {
        Self(queues)
    }

    fn of(&self, function: &str) -> Result<&dyn IntakeQueue, Failure> {
        self.0
            .iter()
            .find(|(name, _)| name == function)
            .map(|(_, queue)| queue.as_ref())
            .ok_or_else(|| {
                let names: Vec<&str> = self.0.iter().map(|(n, _)| n.as_str()).collect();
                Failure::Configuration(format!(
                    "a route hands submissions to {function}, but FAN_OUT_QUEUES names no queue for it ({}); the stack sets it for every function",
                    if names.is_empty() { "it is empty".to_string() } else { format!("it has {}", names.join(", ")) }
                ))
            })
    }
}

/// One submission's request, as it is handed over.
pub struct HandOver<'a> {
    pub request: &'a HttpRequest,
    pub body: &'a [u8],
    /// When the request arrived, in seconds since the epoch.
    pub received_at: u64,
    pub request_id: &'a str,
    /// Submissions of the body the route did not take, by id.
    pub not_for: Vec<String>,
}

/// Queues the request for `function` with its `mapping`; the id SQS gave the message.
pub async fn hand_over(
    queues: &HandOverQueues,
    key: &RecordKey,
    what: &HandOver<'_>,
    function: &str,
    mapping: &str,
) -> Result<String, Failure> {
    let queue = queues.of(function)?;
    let record = IntakeRecord::handed_over(
        what.request,
        what.body,
        what.received_at,
        what.request_id,
        mapping,
        what.not_for.clone(),
    )
    .sealed(function, key);
    queue
        .queue(&record)
        .await
        .map_err(|e| Failure::HandOverUnavailable {
            function: function.to_string(),
            reason: e.to_string(),
        })
}
