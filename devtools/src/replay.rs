//! Dead letters, read and sent back: what `scripts/replay` does, as a library its tests call.
//!
//! Letters are read with ReceiveMessage under a short visibility timeout and released again
//! (visibility 0) unless they are redriven: a redriven letter is sent to the function's own
//! queue and only then deleted from the dead-letter queue, so a failure between the two leaves
//! it in both places (delivered once all the same: its keys make the second a duplicate),
//! never in neither. SQS's own StartMessageMoveTask moves a whole queue without choosing;
//! this chooses by reason and count.

use aws_sdk_sqs::Client;
use std::collections::BTreeMap;

/// The most letters one run reads.
pub const MAX_LETTERS: usize = 10_000;

/// How long read letters stay hidden from others while a run looks at them.
const VISIBILITY_SECONDS: i32 = 120;

/// One dead letter as read from the queue.
#[derive(Debug, Clone)]
pub struct Letter {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// `ponte.error_kind`, or `unknown` for a letter SQS moved itself (after maxReceiveCount).
    pub kind: String,
    /// `ponte.error`, when Ponte wrote it.
    pub error: String,
}

/// Reads up to `max` letters from `queue_url`; they stay hidden until released or deleted.
pub async fn read(sqs: &Client, queue_url: &str, max: usize) -> Result<Vec<Letter>, String> {
    let mut letters = Vec::new();
    while letters.len() < max {
        let batch = (max - letters.len()).min(10) as i32;
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(batch)
            .visibility_timeout(VISIBILITY_SECONDS)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| format!("ReceiveMessage: {}", e.into_service_error()))?;
        if received.messages().is_empty() {
            break;
        }
        for message in received.messages() {
            let attribute = |name: &str| {
                message
                    .message_attributes()
                    .and_then(|a| a.get(name))
                    .and_then(|a| a.string_value())
                    .map(str::to_string)
            };
            letters.push(Letter {
                message_id: message.message_id().unwrap_or_default().to_string(),
                receipt_handle: message.receipt_handle().unwrap_or_default().to_string(),
                body: message.body().unwrap_or_default().to_string(),
                kind: attribute("ponte.error_kind").unwrap_or_else(|| "unknown".into()),
                error: attribute("ponte.error").unwrap_or_default(),
            });
        }
    }
    Ok(letters)
}

/// Makes letters visible again to the next reader.
pub async fn release(sqs: &Client, queue_url: &str, letters: &[Letter]) -> Result<(), String> {
    for letter in letters {
        sqs.change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(&letter.receipt_handle)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| format!("ChangeMessageVisibility: {}", e.into_service_error()))?;
    }
    Ok(())
}

/// How many letters there are of each reason.
pub fn by_reason(letters: &[Letter]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for letter in letters {
        *counts.entry(letter.kind.as_str()).or_insert(0) += 1;
    }
    counts
}

/// Splits letters into those chosen (of reason `reason`, if given; at most `limit`) and the rest.
pub fn choose(
    letters: Vec<Letter>,
    reason: Option<&str>,
    limit: Option<usize>,
) -> (Vec<Letter>, Vec<Letter>) {
    let limit = limit.unwrap_or(usize::MAX);
    let mut chosen = Vec::new();
    let mut rest = Vec::new();
    for letter in letters {
        if chosen.len() < limit && reason.is_none_or(|r| r == letter.kind) {
            chosen.push(letter);
        } else {
            rest.push(letter);
        }
    }
    (chosen, rest)
}

/// Sends each letter to the function's queue, then deletes it from the dead-letter queue; the
/// number sent. A letter that could not be sent is left where it was.
pub async fn redrive(
    sqs: &Client,
    dead_letter_queue_url: &str,
    queue_url: &str,
    letters: &[Letter],
) -> Result<usize, String> {
    let mut sent = 0;
    for letter in letters {
        sqs.send_message()
            .queue_url(queue_url)
            .message_body(&letter.body)
            .send()
            .await
            .map_err(|e| format!("SendMessage: {}", e.into_service_error()))?;
        sqs.delete_message()
            .queue_url(dead_letter_queue_url)
            .receipt_handle(&letter.receipt_handle)
            .send()
            .await
            .map_err(|e| format!("DeleteMessage: {}", e.into_service_error()))?;
        sent += 1;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(kind: &str) -> Letter {
        Letter {
            message_id: String::new(),
            receipt_handle: String::new(),
            body: String::new(),
            kind: kind.into(),
            error: String::new(),
        }
    }

    #[test]
    fn letters_are_chosen_by_reason_and_count() {
        let letters = vec![
            letter("validation"),
            letter("configuration"),
            letter("validation"),
        ];
        assert_eq!(
            by_reason(&letters).into_iter().collect::<Vec<_>>(),
            [("configuration", 1), ("validation", 2)]
        );
        let (chosen, rest) = choose(letters.clone(), Some("validation"), Some(1));
        assert_eq!((chosen.len(), rest.len()), (1, 2));
        assert_eq!(chosen[0].kind, "validation");
        let (all, none) = choose(letters, None, None);
        assert_eq!((all.len(), none.len()), (3, 0));
    }
}
