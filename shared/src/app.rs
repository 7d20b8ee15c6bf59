//! One function: its settings, its clients, and the path every event takes to the provider.
//!
//! `App` is built once per process (at init) and shared by every invocation; nothing in it is
//! global. [`App::deliver`] is the pipeline both triggers share: validate, read the connection,
//! call the provider, and once more with a freshly read secret if the provider says 401.

use crate::action::{Action, ValidationContext};
use crate::failure::Failure;
use crate::provider::{ProviderClient, ProviderResponse};
use crate::secrets::{ConnectionCache, Lease, SecretStore, SecretsManagerStore};
use crate::settings::Settings;
use crate::trigger::{self, Trigger};
use crate::webhooks::Setup;
use crate::{api_gateway, sqs_batch};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

pub type Error = lambda_runtime::Error;

pub struct App<A: Action> {
    pub(crate) settings: Settings,
    validation: ValidationContext,
    connection: ConnectionCache<Setup<A::Connection>>,
    provider: ProviderClient,
    _action: PhantomData<fn() -> A>,
}

/// What became of one payload, with the masked contact it was for (empty when the payload
/// was not valid), for the outcome log line.
#[derive(Debug)]
pub struct Report {
    pub contact: String,
    /// Provider calls made (0 when the payload never got that far).
    pub attempts: u32,
    pub result: Result<Delivered, Failure>,
}

impl Report {
    /// A payload that failed before any provider call.
    pub fn failed(failure: Failure) -> Self {
        Self {
            contact: String::new(),
            attempts: 0,
            result: Err(failure),
        }
    }
}

/// A delivery the provider accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub response: ProviderResponse,
}

impl<A: Action> App<A> {
    /// Wires a function from its settings and a secret store.
    pub fn new(settings: Settings, store: Arc<dyn SecretStore>) -> Result<Self, String> {
        let provider = ProviderClient::new(settings.connect_timeout, settings.request_timeout)?;
        Ok(Self {
            validation: ValidationContext {
                phone_region: settings.phone_region,
            },
            connection: ConnectionCache::new(
                store,
                settings.secret_id.clone(),
                settings.secret_max_age,
            ),
            provider,
            settings,
            _action: PhantomData,
        })
    }

    /// The function as deployed: settings from the environment, Secrets Manager through the
    /// SDK's standard configuration (region, credentials, `AWS_ENDPOINT_URL`).
    pub async fn from_env() -> Result<Self, Error> {
        let settings = Settings::from_env()?;
        let sdk_config = aws_config::load_from_env().await;
        let client = aws_sdk_secretsmanager::Client::new(&sdk_config);
        Ok(Self::new(
            settings,
            Arc::new(SecretsManagerStore::new(client)),
        )?)
    }

    /// Validates one payload and sends it to the provider.
    pub async fn deliver(&self, payload: &Value, deadline: Option<Instant>) -> Report {
        match A::validate(payload, &self.validation) {
            Ok(request) => {
                let mut attempts = 0;
                let result = self.send(&request, deadline, &mut attempts).await;
                Report {
                    contact: A::contact_for_log(&request),
                    attempts,
                    result,
                }
            }
            Err(problems) => Report::failed(Failure::Invalid(problems)),
        }
    }

    /// Reads the connection and calls the provider: again, with a freshly read secret, after a
    /// 401 (once); again after a retryable failure, as the retry policy allows. `attempts`
    /// counts the calls made.
    async fn send(
        &self,
        request: &A::Request,
        deadline: Option<Instant>,
        attempts: &mut u32,
    ) -> Result<Delivered, Failure> {
        let mut lease = self.connection.get().await?;
        let mut call = A::provider_request(request, &lease.connection.connection)?;
        let mut refreshed = false;
        loop {
            *attempts += 1;
            let failure = match self.provider.send(&call, deadline).await {
                Ok(response) if response.status == 401 && !refreshed => {
                    // The token may have been rotated since we read it: read it again, once.
                    refreshed = true;
                    lease = self.connection.refresh(lease.generation).await?;
                    call = A::provider_request(request, &lease.connection.connection)?;
                    continue;
                }
                Ok(response) => match response.into_result() {
                    Ok(response) => return self.accepted(response),
                    Err(failure) => failure,
                },
                Err(failure) => failure,
            };
            let wait = self
                .settings
                .retry
                .delay(*attempts, &failure, deadline, fastrand::f64());
            match wait {
                Some(wait) => {
                    tracing::info!(
                        action = A::NAME,
                        attempt = *attempts,
                        wait_ms = wait.as_millis() as u64,
                        "calling the provider again: {failure}"
                    );
                    tokio::time::sleep(wait).await;
                }
                None => return Err(failure),
            }
        }
    }

    /// A 2xx answer: delivered, unless the provider words a failure inside it.
    fn accepted(&self, response: ProviderResponse) -> Result<Delivered, Failure> {
        if let Some(message) = A::failure_in_success(&response) {
            return Err(Failure::ProviderRejected {
                status: response.status,
                message,
                body: response.body,
            });
        }
        Ok(Delivered { response })
    }

    /// The connection and webhook settings, read from the secret if not cached.
    pub(crate) async fn setup(&self) -> Result<Lease<Setup<A::Connection>>, Failure> {
        self.connection.get().await
    }

    /// The Lambda handler: one invocation, whichever trigger sent it.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let deadline = deadline_of(&event.context);
        match trigger::classify(event.payload) {
            Ok(Trigger::Http(request)) => Ok(api_gateway::handle(self, request, deadline).await),
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
    match &report.result {
        Ok(delivered) => tracing::info!(
            action = A::NAME,
            trigger,
            source,
            message_id,
            outcome = "delivered",
            provider_status = delivered.response.status,
            attempts = report.attempts,
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
            provider_status = failure.provider_status(),
            attempts = report.attempts,
            contact = %report.contact,
            duration_ms,
            "not delivered: {failure}"
        ),
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
    lambda_runtime::tracing::init_default_subscriber();
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
