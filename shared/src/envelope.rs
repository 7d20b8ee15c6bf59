//! Unwrapping of SQS bodies that other AWS services wrapped.
//!
//! SNS → SQS without raw delivery puts the payload, as a JSON string, in `Message` of a
//! notification envelope; EventBridge → SQS puts it in `detail`. Either may carry the other
//! (an EventBridge rule feeding an SNS topic), so unwrapping repeats, a few levels at most.

use crate::failure::Failure;
use serde_json::Value;

/// An envelope the payload came in, with the id its sender gave the message: SNS's
/// `MessageId`, EventBridge's `id`. The id is the same however often the message is delivered,
/// and new when the sender publishes again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wrapper {
    Sns { message_id: Option<String> },
    EventBridge { id: Option<String> },
}

impl Wrapper {
    /// The envelope's id, with the kind of id it is (`sns`, `eventbridge`).
    pub fn id(&self) -> Option<(&'static str, &str)> {
        match self {
            Wrapper::Sns { message_id } => message_id.as_deref().map(|id| ("sns", id)),
            Wrapper::EventBridge { id } => id.as_deref().map(|id| ("eventbridge", id)),
        }
    }
}

/// The id of the outermost envelope that has one: the message as its first sender sent it.
pub fn outer_id(removed: &[Wrapper]) -> Option<(&'static str, &str)> {
    removed.iter().find_map(Wrapper::id)
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|id| !id.trim().is_empty())
        .map(str::to_string)
}

const MAX_LEVELS: usize = 3;

/// Returns the payload inside any SNS or EventBridge envelopes, and the envelopes removed.
pub fn unwrap(mut value: Value) -> Result<(Value, Vec<Wrapper>), Failure> {
    let mut removed = Vec::new();
    for _ in 0..MAX_LEVELS {
        if is_sns_notification(&value) {
            let message_id = text(&value, "MessageId");
            let message = value
                .get("Message")
                .and_then(Value::as_str)
                .unwrap_or_default();
            value = serde_json::from_str(message).map_err(|e| {
                Failure::InvalidJson(format!("the SNS notification's Message is not JSON: {e}"))
            })?;
            removed.push(Wrapper::Sns { message_id });
        } else if is_eventbridge_event(&value) {
            let id = text(&value, "id");
            value = value
                .as_object_mut()
                .and_then(|o| o.remove("detail"))
                .unwrap_or_default();
            removed.push(Wrapper::EventBridge { id });
        } else {
            break;
        }
    }
    Ok((value, removed))
}

fn is_sns_notification(value: &Value) -> bool {
    value.get("Type").and_then(Value::as_str) == Some("Notification")
        && value.get("Message").is_some_and(Value::is_string)
        && value.get("TopicArn").is_some()
}

fn is_eventbridge_event(value: &Value) -> bool {
    value.get("detail-type").is_some()
        && value.get("source").is_some()
        && value.get("detail").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_bodies_are_left_alone() {
        let body = json!({"inbox_id": "1", "Type": "Notification"});
        assert_eq!(unwrap(body.clone()).unwrap(), (body, vec![]));
    }

    #[test]
    fn sns_messages_are_decoded() {
        let body = json!({
            "Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-east-1:1:t",
            "Message": "{\"inbox_id\": \"1\"}"
        });
        assert_eq!(
            unwrap(body).unwrap(),
            (
                json!({"inbox_id": "1"}),
                vec![Wrapper::Sns {
                    message_id: Some("m".into())
                }]
            )
        );
    }

    #[test]
    fn eventbridge_inside_sns_is_unwrapped_twice() {
        let event = json!({"version": "0", "id": "eb-1", "detail-type": "Order shipped", "source": "shop", "detail": {"a": 1}});
        let body = json!({"Type": "Notification", "TopicArn": "t", "Message": event.to_string()});
        let (payload, removed) = unwrap(body).unwrap();
        assert_eq!(payload, json!({"a": 1}));
        assert_eq!(
            removed,
            vec![
                Wrapper::Sns { message_id: None },
                Wrapper::EventBridge {
                    id: Some("eb-1".into())
                }
            ]
        );
        // The outermost envelope with an id names the message.
        assert_eq!(outer_id(&removed), Some(("eventbridge", "eb-1")));
    }

    #[test]
    fn a_broken_sns_message_is_an_invalid_json_failure() {
        let body = json!({"Type": "Notification", "TopicArn": "t", "Message": "hello world"});
        assert_eq!(unwrap(body).unwrap_err().kind(), "invalid_json");
    }
}
