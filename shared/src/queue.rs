//! An SQS queue Ponte writes to: a function's dead-letter queue, and its own trigger queue for
//! requests it keeps to deliver later ([`crate::intake`]).

use crate::aws::LazyClient;
use aws_config::SdkConfig;
use aws_sdk_sqs::types::MessageAttributeValue;

/// SQS did not take a message: the queue could not be reached, or refused it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct QueueError(pub String);

/// A message attribute's value.
pub enum Attribute<'a> {
    Text(&'a str),
    Number(u64),
}

impl Attribute<'_> {
    /// The value as SQS takes it on a send.
    pub fn to_sqs(&self) -> Result<MessageAttributeValue, QueueError> {
        let (data_type, text) = match self {
            Attribute::Text(text) => ("String", text.to_string()),
            Attribute::Number(number) => ("Number", number.to_string()),
        };
        MessageAttributeValue::builder()
            .data_type(data_type)
            .string_value(text)
            .build()
            .map_err(|e| QueueError(e.to_string()))
    }
}

/// One queue, through an SDK client built on first use (or given ready-made).
pub struct SqsQueue {
    client: LazyClient<aws_sdk_sqs::Client>,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client: LazyClient::Ready(client),
            queue_url: queue_url.into(),
        }
    }

    pub fn from_config(config: &SdkConfig, queue_url: impl Into<String>) -> Self {
        Self {
            client: LazyClient::from_config(config, aws_sdk_sqs::Client::new),
            queue_url: queue_url.into(),
        }
    }

    /// Sends one message with its attributes; the id SQS gave it.
    pub async fn send(
        &self,
        body: &str,
        attributes: &[(&str, Attribute<'_>)],
    ) -> Result<String, QueueError> {
        let mut request = self
            .client
            .get()
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body);
        for (name, value) in attributes {
            request = request.message_attributes(*name, value.to_sqs()?);
        }
        let sent = request
            .send()
            .await
            .map_err(|e| QueueError(format!("SQS SendMessage: {}", e.into_service_error())))?;
        Ok(sent.message_id().unwrap_or_default().to_string())
    }
}

/// A function's own two queues, through one SQS client (made on first use when deployed): its
/// trigger queue, whose failing messages it hides for longer on each receive
/// ([`crate::sqs_batch`]), and its dead-letter queue, which an operator's replay command
/// ([`crate::replay`]) reads and redrives from.
pub struct FunctionQueues {
    pub sqs: LazyClient<aws_sdk_sqs::Client>,
    pub dead_letters: String,
    /// Without it, letters can be listed and tried but not redriven.
    pub queue: Option<String>,
}
