//! A function's two queues in moto, and draining one as Lambda's event source mapping would.

use super::{failed_ids, moto_endpoint, sqs, unique_name};
use lambda_runtime::{Context, LambdaEvent};
use ponte::aws::LazyClient;
use ponte::queue::{FunctionQueues, SqsQueue};
use ponte::{Action, App};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Settings for a function wired to its queues in these tests: one provider call per delivery,
/// the secret read on every event (so that a fix is seen at once), and deliveries remembered.
pub fn deployed_settings(secret: &str) -> ponte::Settings {
    ponte::Settings {
        secret_id: Some(secret.to_string()),
        secret_max_age: Duration::ZERO,
        retry: ponte::retry::RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        },
        idempotency_ttl: Duration::from_secs(3600),
        ..ponte::Settings::default()
    }
}

/// A function's two queues in moto.
pub struct Queues {
    pub sqs: aws_sdk_sqs::Client,
    pub queue: String,
    pub dead_letters: String,
}

impl Queues {
    /// `app` keeping requests on this trigger queue and dead letters on this dead-letter queue,
    /// as the stack wires a function to its own two queues.
    pub fn wire<A: Action>(&self, app: App<A>) -> App<A> {
        app.with_intake(Arc::new(SqsQueue::new(self.sqs.clone(), &self.queue)))
            .with_dead_letters(Arc::new(SqsQueue::new(
                self.sqs.clone(),
                &self.dead_letters,
            )))
            .with_queues(FunctionQueues {
                sqs: LazyClient::Ready(self.sqs.clone()),
                dead_letters: self.dead_letters.clone(),
                queue: Some(self.queue.clone()),
            })
    }

    pub async fn new() -> Self {
        let sqs =
            aws_sdk_sqs::Client::new(&ponte_devtools::moto::sdk_config(&moto_endpoint()).await);
        let mut urls = Vec::new();
        for kind in ["queue", "dlq"] {
            let created = sqs
                .create_queue()
                .queue_name(unique_name(kind).replace('/', "-"))
                .send()
                .await
                .unwrap();
            urls.push(created.queue_url().unwrap().to_string());
        }
        let dead_letters = urls.pop().unwrap();
        let queue = urls.pop().unwrap();
        Self {
            sqs,
            queue,
            dead_letters,
        }
    }

    /// Every message on `queue_url`, removed from it: (message id, body, its attributes as the
    /// SQS event carries them).
    pub async fn take(&self, queue_url: &str) -> Vec<(String, String, Value)> {
        let mut taken = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
                .unwrap();
            if received.messages().is_empty() {
                return taken;
            }
            for m in received.messages() {
                self.sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
                let attributes: serde_json::Map<String, Value> = m
                    .message_attributes()
                    .into_iter()
                    .flatten()
                    .map(|(name, value)| {
                        let value = json!({"stringValue": value.string_value(), "dataType": value.data_type()});
                        (name.clone(), value)
                    })
                    .collect();
                taken.push((
                    m.message_id().unwrap().to_string(),
                    m.body().unwrap().to_string(),
                    Value::Object(attributes),
                ));
            }
        }
    }

    /// Runs every message of the function's queue through its SQS trigger, as Lambda's event
    /// source mapping would: a record reported as failed comes back, as SQS makes it visible
    /// again, and is run again (two posts of one lead may be in flight together: one is
    /// delivered, the other is told it is in progress and done next time). The ids still
    /// failing after five rounds.
    pub async fn drain<A: Action>(&self, app: &App<A>) -> Vec<String> {
        let mut messages = self.take(&self.queue).await;
        assert!(!messages.is_empty(), "nothing was queued");
        for _round in 0..5 {
            let records: Vec<(&str, &str)> = messages
                .iter()
                .map(|(id, body, _)| (id.as_str(), body.as_str()))
                .collect();
            let mut event = sqs(&records);
            for (record, (_, _, attributes)) in event["Records"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .zip(&messages)
            {
                record["messageAttributes"] = attributes.clone();
            }
            let answer = app
                .handle(LambdaEvent::new(event, Context::default()))
                .await
                .unwrap();
            let failed = failed_ids(&answer);
            messages.retain(|(id, _, _)| failed.contains(id));
            if messages.is_empty() {
                break;
            }
        }
        messages.into_iter().map(|(id, _, _)| id).collect()
    }
}
