//! Records that can never succeed go to the dead-letter queue at once, with the reason.
//!
//! Without this, an invalid record would be received `maxReceiveCount` times, failing the same
//! way each time, before SQS moved it. When the function knows its dead-letter queue
//! (`DEAD_LETTER_QUEUE_URL`, set by the template), a record that failed for good (invalid input,
//! a provider 4xx other than 401/403) is sent there with its reason as message attributes and
//! acknowledged. If that send fails, the record is reported as a batch item failure instead:
//! it is never dropped.

use crate::aws::{LazyClient, SdkSource};
use crate::failure::Failure;
use aws_sdk_sqs::types::MessageAttributeValue;
use futures::future::BoxFuture;
use std::sync::Arc;

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

/// Where dead letters go.
pub trait DeadLetterSink: Send + Sync {
    fn send<'a>(&'a self, body: &'a str, reason: &'a Reason) -> BoxFuture<'a, Result<(), String>>;
}

/// An SQS queue, through the SDK client built at init.
pub struct SqsDeadLetters {
    client: LazyClient<aws_sdk_sqs::Client>,
    queue_url: String,
}

impl SqsDeadLetters {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client: LazyClient::Ready(client),
            queue_url: queue_url.into(),
        }
    }

    pub fn from_source(source: Arc<SdkSource>, queue_url: impl Into<String>) -> Self {
        Self {
            client: LazyClient::from_source(source, aws_sdk_sqs::Client::new),
            queue_url: queue_url.into(),
        }
    }
}

fn text(value: &str) -> Result<MessageAttributeValue, String> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| e.to_string())
}

impl DeadLetterSink for SqsDeadLetters {
    fn send<'a>(&'a self, body: &'a str, reason: &'a Reason) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let mut request = self
                .client
                .get()
                .await
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(body)
                .message_attributes("ponte.function", text(reason.function)?)
                .message_attributes("ponte.error_kind", text(reason.kind)?)
                .message_attributes("ponte.error", text(&reason.message)?)
                .message_attributes("ponte.source_message_id", text(&reason.source_message_id)?);
            if let Some(status) = reason.provider_status {
                let number = MessageAttributeValue::builder()
                    .data_type("Number")
                    .string_value(status.to_string())
                    .build()
                    .map_err(|e| e.to_string())?;
                request = request.message_attributes("ponte.provider_status", number);
            }
            request
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("SQS SendMessage: {}", e.into_service_error()))
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
