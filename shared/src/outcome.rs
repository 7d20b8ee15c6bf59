//! The outcome of each payload, told once: one log line (tokens never reach it, the contact
//! is masked) and its metrics, whichever trigger it came through.

use crate::action::Action;
use crate::failure::Failure;
use crate::metrics;
use crate::received::{Received, TargetReport};
use crate::report::{Preview, Report};
use std::time::Instant;

/// One log line per payload: what happened to it, through which trigger, how long it took.
/// Tokens never reach it; the contact is masked.
pub(crate) fn log_outcome<A: Action>(
    trigger: &'static str,
    source: Option<&str>,
    message_id: Option<&str>,
    report: &Report,
    started: Instant,
) {
    let duration_ms = started.elapsed().as_millis() as u64;
    let message_id = message_id.unwrap_or("");
    let source = source.unwrap_or("direct");
    let trace = &report.trace;
    match &report.result {
        Ok(delivered) => tracing::info!(
            action = A::NAME,
            trigger,
            source,
            message_id,
            outcome = if delivered.duplicate { "duplicate" } else { "delivered" },
            idempotency_key = %trace.idempotency_key,
            provider_status = delivered.response.status,
            provider_id = crate::provider::object_id(&delivered.response.body).unwrap_or_default(),
            provider_ms = trace.provider_ms,
            paced_ms = trace.paced_ms,
            attempts = trace.attempts,
            contact = %report.contact,
            duration_ms,
            "delivered to the provider"
        ),
        Err(failure) => tracing::warn!(
            action = A::NAME,
            trigger,
            source,
            message_id,
            outcome = failure.kind(),
            idempotency_key = %trace.idempotency_key,
            provider_status = failure.provider_status(),
            provider_ms = trace.provider_ms,
            paced_ms = trace.paced_ms,
            attempts = trace.attempts,
            contact = %report.contact,
            duration_ms,
            "not delivered: {failure}"
        ),
    }
    outcome_metrics::<A>(trigger, report).emit();
}

/// The EMF document of one outcome.
fn outcome_metrics<A: Action>(trigger: &str, report: &Report) -> metrics::Document {
    let (delivered, duplicate, failed) = match &report.result {
        Ok(d) if d.duplicate => (0.0, 1.0, 0.0),
        Ok(_) => (1.0, 0.0, 0.0),
        Err(_) => (0.0, 0.0, 1.0),
    };
    let retried = f64::from(report.trace.attempts.saturating_sub(1));
    let mut values = vec![
        ("Delivered", "Count", delivered),
        ("Duplicate", "Count", duplicate),
        ("Failed", "Count", failed),
        ("Retried", "Count", retried),
    ];
    if report.trace.attempts > 0 {
        values.push((
            "ProviderLatency",
            "Milliseconds",
            report.trace.provider_ms as f64,
        ));
    }
    let mut document =
        metrics::Document::new(&[("function", A::NAME), ("trigger", trigger)], &values);
    if let Err(failure) = &report.result {
        document.add(
            &[("function", A::NAME), ("error_kind", failure.kind())],
            &[("FailedByKind", "Count", 1.0)],
        );
    }
    document
}

/// One log line per submission (or per request that got no further than its check).
pub(crate) fn log_received<A: Action>(
    trigger: &'static str,
    source: Option<&str>,
    message_id: Option<&str>,
    received: &Received,
    started: Instant,
) {
    match received {
        Received::Refused(failure) | Received::Unchecked(failure) | Received::Failed(failure) => {
            let report = Report::failed(failure.clone());
            log_outcome::<A>(trigger, source, message_id, &report, started);
        }
        Received::Test(reason) => tracing::info!(
            action = A::NAME,
            source = source.unwrap_or_default(),
            outcome = "test",
            "test delivery: {reason}"
        ),
        Received::Previewed(previews) => {
            for p in previews {
                if let Some(result) = &p.result {
                    log_preview::<A>(source, result);
                }
            }
        }
        Received::Attempted(reports) => {
            for r in reports {
                if let Some(report) = &r.report {
                    log_outcome::<A>(trigger, source, message_id, report, started);
                }
                if r.skipped {
                    log_skipped::<A>(trigger, source, r.route.as_deref());
                }
                for target in &r.targets {
                    log_hand_over::<A>(trigger, source, target);
                }
            }
        }
    }
}

/// A submission its route skipped: one log line and a `Skipped` count, by route.
fn log_skipped<A: Action>(trigger: &'static str, source: Option<&str>, route: Option<&str>) {
    let route = route.unwrap_or_default();
    tracing::info!(
        action = A::NAME,
        trigger,
        source = source.unwrap_or("direct"),
        outcome = "skipped",
        route,
        "skipped by route {route}: nothing was sent"
    );
    metrics::Document::new(
        &[("function", A::NAME), ("route", route)],
        &[("Skipped", "Count", 1.0)],
    )
    .emit();
}

/// A hand-over to another function: one log line, and a `HandedOver` or `HandOverFailed` count.
fn log_hand_over<A: Action>(trigger: &'static str, source: Option<&str>, target: &TargetReport) {
    let source = source.unwrap_or("direct");
    let (function, mapping) = (target.function.as_str(), target.mapping.as_str());
    let name = match &target.result {
        Ok(message_id) => {
            tracing::info!(
                action = A::NAME,
                trigger,
                source,
                outcome = "handed_over",
                to = function,
                mapping,
                message_id = message_id.as_str(),
                "handed to {function} (mapping {mapping})"
            );
            "HandedOver"
        }
        Err(failure) => {
            tracing::warn!(
                action = A::NAME,
                trigger,
                source,
                outcome = failure.kind(),
                to = function,
                mapping,
                "not handed to {function}: {failure}"
            );
            "HandOverFailed"
        }
    };
    metrics::Document::new(
        &[("function", A::NAME), ("to", function)],
        &[(name, "Count", 1.0)],
    )
    .emit();
}

fn log_preview<A: Action>(source: Option<&str>, result: &Result<Preview, Failure>) {
    tracing::info!(
        action = A::NAME,
        trigger = "http",
        source = source.unwrap_or_default(),
        outcome = "dry_run",
        error_kind = result.as_ref().err().map(Failure::kind).unwrap_or_default(),
        "dry run: nothing was sent"
    );
}
