//! The SQS trigger: every record of a batch delivered concurrently (bounded). A record that
//! failed for good goes straight to the dead-letter queue when the function knows it (see
//! [`crate::dead_letters`]); every other record that did not succeed is listed in
//! `batchItemFailures`, so SQS retries it and, after the queue's `maxReceiveCount`, moves it to
//! the dead-letter queue itself. No record is dropped.

use crate::action::Action;
use crate::api_gateway::parse_json;
use crate::app::{App, Error, Report, log_outcome};
use crate::dead_letters::Reason;
use crate::envelope;
use crate::failure::Failure;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt;
use std::time::Instant;

pub async fn handle<A: Action>(
    app: &App<A>,
    batch: SqsEvent,
    deadline: Option<Instant>,
) -> Result<SqsBatchResponse, Error> {
    let concurrency = app.settings.batch_concurrency;
    let outcomes: Vec<(Option<String>, Result<(), Failure>)> = futures::stream::iter(batch.records)
        .map(|record| async move {
            let id = record.message_id.clone();
            let outcome = deliver_record(app, &record, deadline).await;
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

/// Delivers one record; `Ok` when it needs no retry (delivered, or dead-lettered at once).
async fn deliver_record<A: Action>(
    app: &App<A>,
    record: &SqsMessage,
    deadline: Option<Instant>,
) -> Result<(), Failure> {
    let started = Instant::now();
    let payload = match record.body.as_deref() {
        None => Err(Failure::InvalidBody("the record has no body".into())),
        Some(body) if body.len() > crate::api_gateway::MAX_BODY_BYTES => {
            Err(Failure::TooLarge(body.len()))
        }
        Some(body) => parse_json(body.as_bytes())
            .and_then(envelope::unwrap)
            .map(|(payload, _)| payload),
    };
    let report = match payload {
        Ok(payload) => app.deliver(&payload, deadline, None).await,
        Err(failure) => Report::failed(failure),
    };
    let message_id = record.message_id.as_deref();
    log_outcome::<A>("sqs", None, message_id, &report, started);
    let failure = match report.result {
        Ok(_) => return Ok(()),
        Err(failure) => failure,
    };
    let Some(dead_letters) = app.dead_letters.as_ref().filter(|_| failure.is_permanent()) else {
        return Err(failure);
    };
    let reason = Reason::new(A::NAME, &failure, message_id.unwrap_or(""));
    match dead_letters
        .send(record.body.as_deref().unwrap_or(""), &reason)
        .await
    {
        Ok(()) => {
            crate::metrics::Document::new(
                &[("function", A::NAME), ("error_kind", reason.kind)],
                &[("DeadLettered", "Count", 1.0)],
            )
            .emit();
            tracing::warn!(
                action = A::NAME,
                trigger = "sqs",
                message_id = message_id.unwrap_or(""),
                outcome = "dead_lettered",
                error_kind = reason.kind,
                "sent to the dead-letter queue at once: it can never succeed"
            );
            Ok(())
        }
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
