//! The SQS trigger: every record of a batch delivered concurrently (bounded). A record that
//! failed for good goes straight to the dead-letter queue when the function knows it (see
//! [`crate::dead_letters`]); every other record that did not succeed is listed in
//! `batchItemFailures`, so SQS retries it and, after the queue's `maxReceiveCount`, moves it to
//! the dead-letter queue itself. No record is dropped. A record that only waits for its
//! connection's turn at the provider is queued again, due in its turn, rather than failed.
//!
//! A record that is an intake record (a request the HTTP trigger kept, [`crate::intake`]) is
//! run through the HTTP request's own path again, with its keys, so it is delivered once.

use crate::action::Action;
use crate::app::{App, Error};
use crate::dead_letters::{self, Reason};
use crate::envelope;
use crate::failure::Failure;
use crate::intake::{IntakeRecord, RecordKey};
use crate::json::parse;
use crate::limits::{MAX_BODY_BYTES, MAX_RECORD_BYTES};
use crate::outcome::{log_outcome, log_received};
use crate::pace::Patience;
use crate::queue::Attribute;
use crate::received::{Arrived, Disposition, Received, SubmissionPreview, disposition};
use crate::reception::{self, Arrival};
use crate::report::{DeliveryId, Report};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt;
use std::time::Instant;

pub async fn handle<A: Action>(
    app: &App<A>,
    batch: SqsEvent,
    deadline: Option<Instant>,
) -> Result<SqsBatchResponse, Error> {
    let concurrency = app.settings().batch_concurrency;
    let outcomes: Vec<(Option<String>, Result<(), Failure>)> = futures::stream::iter(batch.records)
        .map(|record| async move {
            let id = record.message_id.clone();
            let outcome = run_record(app, &record, deadline).await;
            (id, outcome)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;

    let mut answer = SqsBatchResponse::default();
    for (id, outcome) in outcomes {
        match (id, outcome) {
            (_, Ok(_)) => {}
            (Some(id), Err(_)) => answer.add_failure(id),
            // A failed record SQS cannot name cannot be retried alone: fail the whole batch so
            // that SQS delivers every record again rather than losing this one.
            (None, Err(failure)) => {
                return Err(format!(
                    "a record without messageId failed ({failure}); the whole batch will be retried"
                )
                .into());
            }
        }
    }
    Ok(answer)
}

/// Runs one record to its disposition; `Ok` when it needs no retry (delivered, or
/// dead-lettered at once).
async fn run_record<A: Action>(
    app: &App<A>,
    record: &SqsMessage,
    deadline: Option<Instant>,
) -> Result<(), Failure> {
    let started = Instant::now();
    let message_id = record.message_id.as_deref();
    let body = match record.body.as_deref() {
        None => Err(Failure::InvalidBody("the record has no body".into())),
        Some(body) if body.len() > MAX_RECORD_BYTES => Err(Failure::TooLarge(body.len())),
        Some(body) => parse(body.as_bytes()),
    };
    if let Some(kept) = body.as_ref().ok().and_then(IntakeRecord::from_message) {
        let forced = record
            .message_attributes
            .get(FORCE)
            .and_then(|a| a.string_value.as_deref())
            == Some("true");
        let received = match kept {
            Ok(kept) => run_kept(app, &kept, forced, deadline, false).await,
            Err(failure) => Received::Failed(failure),
        };
        log_received::<A>("sqs", None, message_id, &received, started);
        return dispose(app, record, received.disposition(Arrived::Kept)).await;
    }
    let unwrapped = body.and_then(|body| {
        let size = record.body.as_deref().map_or(0, str::len);
        if size > MAX_BODY_BYTES {
            return Err(Failure::TooLarge(size));
        }
        envelope::unwrap(body)
    });
    let report = match unwrapped {
        Ok((payload, envelopes)) => {
            let key = message_key(record, &envelopes);
            let id = key.as_ref().map(|(kind, value)| DeliveryId {
                kind,
                value,
                scope: "",
            });
            app.deliver(&payload, deadline, id, Patience::Invocation)
                .await
        }
        Err(failure) => Report::failed(failure),
    };
    log_outcome::<A>("sqs", None, message_id, &report, started);
    match &report.result {
        Ok(_) => Ok(()),
        Err(failure) => dispose(app, record, disposition(failure, Arrived::Queue)).await,
    }
}

/// Does what the record's disposition says: nothing, a retry by SQS (the failure, so that the
/// record is listed in `batchItemFailures`), or the dead-letter queue.
async fn dispose<A: Action>(
    app: &App<A>,
    record: &SqsMessage,
    disposition: Disposition<'_>,
) -> Result<(), Failure> {
    match disposition {
        Disposition::Done => Ok(()),
        Disposition::Later(Failure::Paced { wait_seconds })
            if requeue(app, record, *wait_seconds).await =>
        {
            Ok(())
        }
        Disposition::Later(failure) => {
            back_off(app, record, failure).await;
            Err(failure.clone())
        }
        Disposition::DeadLetter(failure) => dead_letter(app, record, failure.clone()).await,
    }
}

/// The longest SQS hides a message: twelve hours.
const LONGEST_VISIBILITY: u64 = 12 * 3600;

/// How long a message that failed for now on its `receives`-th receive stays out of sight:
/// the setting's first wait, doubled on each receive, up to twelve hours; at least what the
/// provider asked for (`Retry-After`). A message that only waits for the connection's next
/// turn at the provider ([`crate::pace`]) is hidden for exactly that wait: nothing failed.
pub fn backoff(first: std::time::Duration, receives: u32, failure: &Failure) -> u64 {
    if let Failure::Paced { wait_seconds } = failure {
        return (*wait_seconds).clamp(1, LONGEST_VISIBILITY);
    }
    let doubled = first
        .as_secs()
        .max(1)
        .saturating_mul(1u64 << receives.saturating_sub(1).min(20));
    let asked = failure.retry_after_seconds().unwrap_or(0);
    doubled.max(asked).min(LONGEST_VISIBILITY)
}

/// Hides a message that failed for now for longer on each receive, so that a long outage is
/// waited out instead of spending the receives before the dead-letter queue in minutes. When
/// it cannot (no queue to call, or SQS refuses), the queue's own visibility timeout applies.
async fn back_off<A: Action>(app: &App<A>, record: &SqsMessage, failure: &Failure) {
    let (Some(queues), Some(receipt)) = (app.queues(), record.receipt_handle.as_deref()) else {
        return;
    };
    let Some(queue) = queues.queue.as_deref() else {
        return;
    };
    let receives = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(1);
    let seconds = backoff(app.settings().queue_backoff, receives, failure);
    let changed = queues
        .sqs
        .get()
        .change_message_visibility()
        .queue_url(queue)
        .receipt_handle(receipt)
        .visibility_timeout(seconds as i32)
        .send()
        .await;
    match changed {
        Ok(_) => tracing::info!(
            action = A::NAME,
            message_id = record.message_id.as_deref().unwrap_or(""),
            receives,
            wait_s = seconds,
            "not delivered now ({failure}): tried again in {seconds} s"
        ),
        Err(error) => tracing::warn!(
            action = A::NAME,
            "could not set the message's visibility ({}): the queue's own timeout applies",
            error.into_service_error()
        ),
    }
}

/// The longest SQS delays a message it is sent: fifteen minutes.
const LONGEST_DELAY: u64 = 900;

/// Sends a record that only waits for its connection's next turn ([`crate::pace`]) back to the
/// function's queue as a new message, due when the turn is: the same body and attributes, and
/// the id that keeps it one delivery (`ponte.source_message_id`). The record itself then counts
/// as done, so waiting on the rate spends none of its receives before the dead-letter queue
/// (a returned message would spend one per return, and a long campaign at a low rate would
/// spend them all). `false` when it could not be sent: the record is then returned to its
/// queue hidden for the wait, as a failure would be. Should the invocation's answer be lost
/// after the send, both copies carry the same id and the delivery's claim lets one through.
async fn requeue<A: Action>(app: &App<A>, record: &SqsMessage, wait_seconds: u64) -> bool {
    let (Some(queues), Some(body)) = (app.queues(), record.body.as_deref()) else {
        return false;
    };
    let Some(queue) = queues.queue.as_deref() else {
        return false;
    };
    let delay = wait_seconds.clamp(1, LONGEST_DELAY);
    let mut request = queues
        .sqs
        .get()
        .send_message()
        .queue_url(queue)
        .message_body(body)
        .delay_seconds(delay as i32);
    for (name, attribute) in &record.message_attributes {
        if name == dead_letters::SOURCE_MESSAGE_ID {
            continue;
        }
        match attribute_value(attribute) {
            Some(value) => request = request.message_attributes(name, value),
            None => return false,
        }
    }
    if let Some(id) = original_message_id(record) {
        match Attribute::Text(&id).to_sqs() {
            Ok(value) => {
                request = request.message_attributes(dead_letters::SOURCE_MESSAGE_ID, value)
            }
            Err(_) => return false,
        }
    }
    match request.send().await {
        Ok(_) => {
            tracing::info!(
                action = A::NAME,
                message_id = record.message_id.as_deref().unwrap_or(""),
                wait_s = delay,
                "waiting for the connection's turn: queued again, due in {delay} s"
            );
            true
        }
        Err(error) => {
            tracing::warn!(
                action = A::NAME,
                "could not queue the record again ({}): it is returned to its queue instead",
                error.into_service_error()
            );
            false
        }
    }
}

/// A record's message attribute as SQS takes it on a send.
fn attribute_value(
    attribute: &aws_lambda_events::sqs::SqsMessageAttribute,
) -> Option<aws_sdk_sqs::types::MessageAttributeValue> {
    let mut value = aws_sdk_sqs::types::MessageAttributeValue::builder()
        .data_type(attribute.data_type.as_deref().unwrap_or("String"));
    if let Some(text) = &attribute.string_value {
        value = value.string_value(text);
    }
    if let Some(bytes) = &attribute.binary_value {
        value = value.binary_value(aws_smithy_types::Blob::new(bytes.0.clone()));
    }
    value.build().ok()
}

/// The id of the SQS message a record first was: `ponte.source_message_id` when Ponte sent it
/// again (a redrive, a record queued again for its turn), else its own.
fn original_message_id(record: &SqsMessage) -> Option<String> {
    record
        .message_attributes
        .get(dead_letters::SOURCE_MESSAGE_ID)
        .and_then(|a| a.string_value.clone())
        .or_else(|| record.message_id.clone())
        .filter(|id| !id.is_empty())
}

/// The id that makes a queue message one delivery however often SQS delivers it: the id its
/// first sender gave it (an SNS or EventBridge envelope's), else the id of the SQS message it
/// was sent as (kept as `ponte.source_message_id` when an operator redrove it from the
/// dead-letter queue, or when Ponte queued it again for its turn). The same payload published
/// again on purpose is a new delivery. A record with no id at all is known by its content.
fn message_key(
    record: &SqsMessage,
    envelopes: &[envelope::Wrapper],
) -> Option<(&'static str, String)> {
    if let Some((kind, id)) = envelope::outer_id(envelopes) {
        return Some((kind, id.to_string()));
    }
    original_message_id(record).map(|id| ("sqs", id))
}

/// Whether the record carries this stack's proof for this function: `Err(Some)` when it does
/// not, `Err(None)` when it cannot be told now.
async fn check_seal<A: Action>(
    app: &App<A>,
    kept: &IntakeRecord,
) -> Result<RecordKey, Option<Failure>> {
    match app.record_key().await {
        Ok(key) => kept.check_seal(A::NAME, &key).map(|()| key).map_err(Some),
        Err(Failure::SecretUnavailable(_)) => Err(None),
        Err(other) => Err(Some(other)),
    }
}

/// The attribute with which an operator forces a redriven letter to run however old it is
/// (`scripts/replay redrive --force`).
pub const FORCE: &str = "ponte.force";

/// A kept request older than any delivery Ponte remembers is not run: its lead may have been
/// sent already and forgotten since. Its age counts from its arrival, however often it was
/// queued or redriven. An operator who has checked may force it.
fn refuse_expired<A: Action>(
    app: &App<A>,
    kept: &IntakeRecord,
    forced: bool,
) -> Result<(), Failure> {
    let max = app.settings().record_max_age.as_secs();
    let age = (crate::idempotency::now_ms() / 1000).saturating_sub(kept.received_at_seconds());
    if age > max && !forced {
        return Err(Failure::RecordExpired {
            age_days: age / 86_400,
            max_days: max / 86_400,
        });
    }
    Ok(())
}

/// A kept request, run again as the HTTP trigger ran it, once it has shown this stack's proof
/// for this function and is young enough: checked as it was kept, its age measured at its
/// arrival, its deliveries keyed as they were then.
async fn run_kept<A: Action>(
    app: &App<A>,
    kept: &IntakeRecord,
    forced: bool,
    deadline: Option<Instant>,
    dry_run: bool,
) -> Received {
    let key = match check_seal(app, kept).await {
        // Not written by this stack for this function: it never runs.
        Err(Some(refused)) => return Received::Refused(refused),
        // The key cannot be read now: SQS tries again.
        Err(None) => {
            return Received::Unchecked(Failure::SecretUnavailable(
                "the record key could not be read".into(),
            ));
        }
        Ok(key) => key,
    };
    if let Err(expired) = refuse_expired(app, kept, forced) {
        return Received::Failed(expired);
    }
    let request = kept.to_request();
    let body = match reception::body_of(&request) {
        Ok(body) => body,
        Err(failure) => return Received::Failed(failure),
    };
    let arrival = Arrival {
        request: &request,
        body: &body,
        proof: kept.proof(&key),
        received_at: Some(kept.received_at_seconds()),
        request_id: &kept.request_id,
        dry_run,
        delivered: &kept.delivered,
        done: &kept.done,
    };
    reception::receive(app, arrival, deadline).await
}

/// What a record body would send now, with the current secret and mapping, or why it would not
/// (a dry run: nothing is sent, no key is claimed). For `scripts/replay --dry-run`.
pub async fn preview<A: Action>(app: &App<A>, body: &str) -> Received {
    let parsed = match parse(body.as_bytes()) {
        Ok(parsed) => parsed,
        Err(failure) => return Received::Failed(failure),
    };
    if let Some(kept) = IntakeRecord::from_message(&parsed) {
        return match kept {
            // As the queue would run it now: an expired record says so, unforced.
            Ok(kept) => run_kept(app, &kept, false, None, true).await,
            Err(failure) => Received::Failed(failure),
        };
    }
    let result = match envelope::unwrap(parsed) {
        Ok((payload, _)) => app.preview(&payload).await,
        Err(failure) => Err(failure),
    };
    Received::Previewed(vec![SubmissionPreview::here(None, result)])
}

/// Sends a record that can never succeed as it is to the dead-letter queue, with the reason;
/// `Ok` once it is there. Without a dead-letter queue, or when the send fails, the failure is
/// given back so that SQS retries the record (and moves it there itself in the end).
async fn dead_letter<A: Action>(
    app: &App<A>,
    record: &SqsMessage,
    failure: Failure,
) -> Result<(), Failure> {
    let message_id = record.message_id.as_deref();
    let Some(dead_letters) = app.dead_letters() else {
        return Err(failure);
    };
    let source = original_message_id(record).unwrap_or_default();
    let reason = Reason::new(A::NAME, &failure, &source);
    let body = record.body.as_deref().unwrap_or("");
    match dead_letters::send(dead_letters, body, &reason, "sqs").await {
        Ok(()) => Ok(()),
        Err(message) => {
            tracing::error!(
                action = A::NAME,
                message_id = message_id.unwrap_or(""),
                "could not send to the dead-letter queue ({message}); SQS will retry the record"
            );
            Err(failure)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_failing_message_waits_longer_on_each_receive_and_at_least_what_the_provider_asks() {
        let down = Failure::SecretUnavailable("throttled".into());
        let waits: Vec<u64> = (1..=14)
            .map(|n| backoff(Duration::from_secs(30), n, &down))
            .collect();
        assert_eq!(&waits[..4], [30, 60, 120, 240]);
        assert_eq!(waits[13], 12 * 3600, "never more than SQS allows");
        let total: u64 = waits.iter().sum();
        assert!(
            total > 24 * 3600,
            "the template's 14 receives span a day: {total} s"
        );
        let limited = Failure::ProviderUnavailable {
            status: Some(429),
            reason: String::new(),
            body: None,
            retry_after_seconds: Some(900),
            timed_out: false,
        };
        assert_eq!(backoff(Duration::from_secs(30), 1, &limited), 900);
        let paced = Failure::Paced { wait_seconds: 7 };
        assert_eq!(
            backoff(Duration::from_secs(30), 5, &paced),
            7,
            "a record waiting for its turn is hidden for that wait, however often it came"
        );
    }
}
