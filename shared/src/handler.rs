//! The top of the house: the Lambda runtime loop, one invocation's dispatch to its trigger,
//! and the deadline it must answer by. Everything else sits below: the triggers
//! ([`crate::api_gateway`], [`crate::sqs_batch`]), the reception of HTTP requests, the delivery
//! pipeline ([`crate::app`]), the outcome log, and the body limits at the bottom.

use crate::action::Action;
use crate::app::{App, Error};
use crate::metrics;
use crate::trigger::{self, Trigger};
use crate::{api_gateway, replay, sqs_batch};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tracing::Instrument;

impl<A: Action> App<A> {
    /// The Lambda handler: one invocation, whichever trigger sent it.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let cold_start = self.take_cold_start();
        if cold_start {
            metrics::Document::new(&[("function", A::NAME)], &[("ColdStart", "Count", 1.0)]).emit();
        }
        let span = tracing::info_span!("invocation", function = A::NAME, cold_start);
        self.dispatch(event).instrument(span).await
    }

    async fn dispatch(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let deadline = deadline_of(&event.context);
        let request_id = event.context.request_id;
        // An operator's replay command, sent with a direct invoke: no trigger's event has its
        // shape.
        match replay::command_of(&event.payload) {
            // Boxed: an operator's command is rare, and its future would otherwise deepen the
            // type of every invocation's future past the compiler's layout limit.
            Some(Ok(command)) => return Ok(Box::pin(replay::run(self, command)).await),
            Some(Err(message)) => return Ok(serde_json::json!({"ok": false, "error": message})),
            None => {}
        }
        match trigger::classify(event.payload) {
            Ok(Trigger::Http(request)) => {
                Ok(api_gateway::handle(self, request, deadline, &request_id).await)
            }
            Ok(Trigger::Sqs(batch)) => {
                let answer = sqs_batch::handle(self, batch, deadline).await?;
                Ok(serde_json::to_value(answer)?)
            }
            Err(message) => {
                tracing::error!(action = A::NAME, "{message}");
                Err(message.into())
            }
        }
    }
}

/// Deadlines below this (September 2001, in epoch milliseconds) are not points in time.
const EARLIEST_DEADLINE_MS: u64 = 1_000_000_000_000;

/// When this invocation must have answered, as an `Instant`; `None` when the runtime gave no
/// usable deadline: a hand-made context (0), or an emulator that sends a duration where Lambda
/// sends an epoch time (`cargo lambda watch` sends `600000`). The configured timeouts then
/// bound the provider call alone.
pub fn deadline_of(context: &Context) -> Option<Instant> {
    if context.deadline < EARLIEST_DEADLINE_MS {
        return None;
    }
    let left = context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Some(Instant::now() + left)
}

/// What a function's `main` calls: logs, clients, then the Lambda runtime loop.
pub async fn run<A: Action>() -> Result<(), Error> {
    crate::logging::init();
    let app = Arc::new(App::<A>::from_env().await?);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<Value>| {
            let app = app.clone();
            async move { app.handle(event).await }
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(deadline: u64) -> Context {
        let mut context = Context::default();
        context.deadline = deadline;
        context
    }

    #[test]
    fn deadlines_are_epoch_milliseconds_or_unknown() {
        assert!(deadline_of(&context(0)).is_none());
        assert!(
            deadline_of(&context(600_000)).is_none(),
            "a duration, as cargo lambda sends"
        );
        let in_ten_seconds = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
            + 10_000;
        let left = deadline_of(&context(in_ten_seconds)).unwrap() - Instant::now();
        assert!(
            left > Duration::from_secs(8) && left <= Duration::from_secs(10),
            "{left:?}"
        );
    }
}
