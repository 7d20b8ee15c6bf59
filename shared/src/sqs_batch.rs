//! The SQS trigger: every record of a batch delivered concurrently (bounded), and every record
//! that did not succeed listed in `batchItemFailures`, so SQS retries it and, after the queue's
//! `maxReceiveCount`, moves it to the dead-letter queue. No record is dropped.

use crate::action::Action;
use crate::api_gateway::parse_json;
use crate::app::{App, Delivered, Error, Report, log_outcome};
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
    let outcomes: Vec<(Option<String>, Result<Delivered, Failure>)> =
        futures::stream::iter(batch.records)
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

async fn deliver_record<A: Action>(
    app: &App<A>,
    record: &SqsMessage,
    deadline: Option<Instant>,
) -> Result<Delivered, Failure> {
    let started = Instant::now();
    let payload = match record.body.as_deref() {
        None => Err(Failure::InvalidBody("the record has no body".into())),
        Some(body) => parse_json(body.as_bytes())
            .and_then(envelope::unwrap)
            .map(|(payload, _)| payload),
    };
    let report = match payload {
        Ok(payload) => app.deliver(&payload, deadline).await,
        Err(failure) => Report::failed(failure),
    };
    log_outcome::<A>("sqs", None, record.message_id.as_deref(), &report, started);
    report.result
}
