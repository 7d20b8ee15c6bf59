//! Records that can never succeed go to the dead-letter queue at once, with the reason.
//!
//! Without this, an invalid record would be received `maxReceiveCount` times, failing the same
//! way each time, before SQS moved it. When the function knows its dead-letter queue
//! (`DEAD_LETTER_QUEUE_URL`, set by the template), a record that failed for good (invalid input,
//! a provider 4xx other than 401/403) is sent there with its reason as message attributes and
//! acknowledged. If that send fails, the record is reported as a batch item failure instead:
//! it is never dropped.

use crate::failure::Failure;
use crate::queue::{Attribute, QueueError, SqsQueue};
use futures::future::BoxFuture;

/// The attribute naming the message a letter was (an SQS message id, or the Lambda request id of
/// an HTTP request): a redriven letter carries it back, so it is the same delivery.
pub const SOURCE_MESSAGE_ID: &str = "ponte.source_message_id";

/// Why a record was dead-lettered, written as message attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub function: &'static str,
    pub kind: &'static str,
    pub message: String,
    pub provider_status: Option<u16>,
    pub source_message_id: String,
}

impl Reason {
    pub fn new(function: &'static str, failure: &Failure, source_message_id: &str) -> Self {
        let mut message = failure.to_string();
        if message.chars().count() > 1000 {
            message = message.chars().take(1000).collect::<String>() + "…";
        }
        Self {
            function,
            kind: failure.kind(),
            message,
            provider_status: failure.provider_status(),
            source_message_id: source_message_id.to_string(),
        }
    }
}

/// Sends `body` to the dead-letter queue with its reason, and says so in the log and the
/// `DeadLettered` metric; the error when the send failed (the caller decides what then).
pub(crate) async fn send(
    sink: &dyn DeadLetterSink,
    body: &str,
    reason: &Reason,
    trigger: &'static str,
) -> Result<(), QueueError> {
    sink.send(body, reason).await?;
    crate::metrics::Document::new(
        &[("function", reason.function), ("error_kind", reason.kind)],
        &[("DeadLettered", "Count", 1.0)],
    )
    .emit();
    tracing::warn!(
        action = reason.function,
        trigger,
        message_id = %reason.source_message_id,
        outcome = "dead_lettered",
        error_kind = reason.kind,
        "kept in the dead-letter queue with its reason: it cannot succeed until its cause is fixed"
    );
    Ok(())
}

/// Where dead letters go.
pub trait DeadLetterSink: Send + Sync {
    fn send<'a>(
        &'a self,
        body: &'a str,
        reason: &'a Reason,
    ) -> BoxFuture<'a, Result<(), QueueError>>;
}

impl DeadLetterSink for SqsQueue {
    fn send<'a>(
        &'a self,
        body: &'a str,
        reason: &'a Reason,
    ) -> BoxFuture<'a, Result<(), QueueError>> {
        Box::pin(async move {
            let mut attributes = vec![
                ("ponte.function", Attribute::Text(reason.function)),
                ("ponte.error_kind", Attribute::Text(reason.kind)),
                ("ponte.error", Attribute::Text(&reason.message)),
                (
                    SOURCE_MESSAGE_ID,
                    Attribute::Text(&reason.source_message_id),
                ),
            ];
            if let Some(status) = reason.provider_status {
                attributes.push(("ponte.provider_status", Attribute::Number(status.into())));
            }
            SqsQueue::send(self, body, &attributes).await.map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_carry_the_kind_status_and_a_bounded_message() {
        let failure = Failure::ProviderRejected {
            status: 422,
            message: "x".repeat(2000),
            body: serde_json::Value::Null,
        };
        let reason = Reason::new("wegly-create-chat", &failure, "m-1");
        assert_eq!(
            (reason.kind, reason.provider_status),
            ("provider_rejected", Some(422))
        );
        assert_eq!(reason.message.chars().count(), 1001);
    }
}
