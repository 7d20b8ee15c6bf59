//! One function: its settings, its clients, and the path every event takes to the provider.
//!
//! `App` is built once per process (at init) and shared by every invocation; nothing in it is
//! global. [`App::deliver`] is the pipeline both triggers share: validate, read the connection,
//! claim the delivery's idempotency key, call the provider (again with a freshly read secret if
//! it says 401, again as the retry policy allows), and record the outcome under the key.

use crate::action::{Action, ValidationContext};
use crate::dead_letters::DeadLetterSink;
use crate::failure::Failure;
use crate::idempotency::{self, Claim, DynamoStore, IdempotencyStore, InMemoryStore, Stored};
use crate::intake::IntakeQueue;
use crate::provider::{ProviderClient, ProviderResponse};
use crate::queue::SqsQueue;
use crate::report::{Delivered, DeliveryId, Preview, Report, Trace};
use crate::secrets::{ConnectionCache, Lease, SecretStore, SecretsManagerStore};
use crate::settings::Settings;
use crate::webhooks::Setup;
use serde_json::Value;
use std::marker::PhantomData;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tracing::Instrument;

pub type Error = lambda_runtime::Error;

pub struct App<A: Action> {
    settings: Settings,
    validation: ValidationContext,
    connection: ConnectionCache<Setup<A::Connection>>,
    provider: ProviderClient,
    idempotency: Arc<dyn IdempotencyStore>,
    dead_letters: Option<Arc<dyn DeadLetterSink>>,
    /// The function's own trigger queue, where requests that may succeed later are kept.
    intake: Option<Arc<dyn IntakeQueue>>,
    /// True until the first invocation of this process has started.
    cold: AtomicBool,
    /// The action's built-in form mapping, checked once, on the first form webhook.
    default_mapping: OnceLock<Result<crate::mapping::Mapping, String>>,
    _action: PhantomData<fn() -> A>,
}

impl<A: Action> App<A> {
    /// Wires a function from its settings and a secret store, with idempotency in memory and
    /// no dead-letter queue (see [`App::with_idempotency`], [`App::with_dead_letters`]).
    pub fn new(settings: Settings, store: Arc<dyn SecretStore>) -> Self {
        Self {
            idempotency: Arc::new(InMemoryStore::new()),
            dead_letters: None,
            intake: None,
            cold: AtomicBool::new(true),
            validation: ValidationContext {
                phone_region: settings.phone_region,
            },
            connection: ConnectionCache::new(
                store,
                settings.secret_id.clone(),
                settings.secret_max_age,
            ),
            provider: ProviderClient::new(settings.connect_timeout, settings.request_timeout),
            default_mapping: OnceLock::new(),
            settings,
            _action: PhantomData,
        }
    }

    pub fn with_idempotency(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.idempotency = store;
        self
    }

    pub fn with_dead_letters(mut self, sink: Arc<dyn DeadLetterSink>) -> Self {
        self.dead_letters = Some(sink);
        self
    }

    /// Requests that cannot be delivered now are queued here (see [`crate::intake`]).
    pub fn with_intake(mut self, queue: Arc<dyn IntakeQueue>) -> Self {
        self.intake = Some(queue);
        self
    }

    /// The function as deployed: settings from the environment, AWS clients through the SDK's
    /// standard configuration (region, credentials, `AWS_ENDPOINT_URL`).
    ///
    /// The SDK configuration and the provider's HTTP client are made here, at init, where AWS
    /// advises and a minimal Lambda does it: every cold start pays them once, and doing it now
    /// keeps them out of the first lead's answer. What needs the network (the secret, the
    /// idempotency table) waits for the first event that needs it.
    pub async fn from_env() -> Result<Self, Error> {
        let settings = Settings::from_env()?;
        let aws = crate::aws::load_config().await;
        let table = settings.idempotency_table.clone();
        let queue = settings.dead_letter_queue_url.clone();
        let intake = settings.intake_queue_url.clone();
        let mut app = Self::new(settings, Arc::new(SecretsManagerStore::from_config(&aws)));
        match table {
            Some(table) => {
                app = app.with_idempotency(Arc::new(DynamoStore::from_config(&aws, table)));
            }
            None => tracing::info!(
                action = A::NAME,
                "IDEMPOTENCY_TABLE is not set: duplicates are caught only within this container"
            ),
        }
        if let Some(queue) = queue {
            app = app.with_dead_letters(Arc::new(SqsQueue::from_config(&aws, queue)));
        }
        match intake {
            Some(queue) => app = app.with_intake(Arc::new(SqsQueue::from_config(&aws, queue))),
            None => tracing::info!(
                action = A::NAME,
                "INTAKE_QUEUE_URL is not set: HTTP requests that cannot be delivered now are answered with an error, not queued"
            ),
        }
        app.provider.prepare();
        Ok(app)
    }

    /// Validates one payload and sends it to the provider, once per delivery: `id` is the
    /// delivery's own id when its source gives one (else the request itself identifies it).
    pub async fn deliver(
        &self,
        payload: &Value,
        deadline: Option<Instant>,
        id: Option<DeliveryId<'_>>,
    ) -> Report {
        match A::validate(payload, &self.validation) {
            Ok(request) => {
                let mut trace = Trace::default();
                let result = self.send_once(&request, deadline, id, &mut trace).await;
                Report {
                    contact: A::contact_for_log(&request),
                    trace,
                    result,
                }
            }
            Err(problems) => Report::failed(Failure::Invalid(problems)),
        }
    }

    /// A dry run of [`App::deliver`]: validates the payload and builds the provider request
    /// from the connection, as a delivery would, then stops. No key is claimed, nothing is sent.
    pub async fn preview(&self, payload: &Value) -> Result<Preview, Failure> {
        let request = A::validate(payload, &self.validation).map_err(Failure::Invalid)?;
        let lease = self
            .connection
            .get()
            .instrument(tracing::info_span!("secret_read"))
            .await?;
        let call = A::provider_request(&request, &lease.secret.connection)?;
        Ok(Preview {
            url: call.url,
            body: call.body,
        })
    }

    /// Claims the delivery's key, sends unless it was delivered before, and records the outcome.
    async fn send_once(
        &self,
        request: &A::Request,
        deadline: Option<Instant>,
        id: Option<DeliveryId<'_>>,
        trace: &mut Trace,
    ) -> Result<Delivered, Failure> {
        let lease = self
            .connection
            .get()
            .instrument(tracing::info_span!("secret_read"))
            .await?;
        let call = A::provider_request(request, &lease.secret.connection)?;
        let fingerprint = idempotency::request_hash(&call.url, &call.body);
        let key = match id {
            Some(id) => idempotency::key(A::NAME, id.kind, id.value, id.scope),
            None => idempotency::key(A::NAME, "request", &fingerprint, ""),
        };
        let in_progress_until = match deadline {
            Some(deadline) => {
                idempotency::now_ms()
                    + deadline
                        .saturating_duration_since(Instant::now())
                        .as_millis() as u64
            }
            None => idempotency::now_ms() + 2 * self.settings.request_timeout.as_millis() as u64,
        };
        trace.idempotency_key = key.clone();
        let claim = self
            .idempotency
            .claim(&key, in_progress_until)
            .instrument(tracing::info_span!("idempotency_claim"))
            .await;
        match claim {
            Err(error) => return Err(Failure::IdempotencyUnavailable(error.to_string())),
            Ok(Claim::InProgress) => return Err(Failure::InProgress),
            // The key names another request: say nothing of it.
            Ok(Claim::Completed(stored)) if !stored.is_for(&fingerprint) => {
                return Err(Failure::KeyReused);
            }
            Ok(Claim::Completed(stored)) => {
                return Ok(Delivered {
                    response: ProviderResponse {
                        status: stored.status,
                        body: stored.ids,
                        retry_after_seconds: None,
                    },
                    duplicate: true,
                });
            }
            Ok(Claim::Fresh) => {}
        }
        let result = self.send(request, lease, call, deadline, trace).await;
        let recorded = match &result {
            Ok(delivered) => {
                let stored = Stored {
                    status: delivered.response.status,
                    ids: Stored::ids_of(&delivered.response.body),
                    fingerprint,
                };
                let expires_at =
                    idempotency::now_ms() / 1000 + self.settings.idempotency_ttl.as_secs();
                self.idempotency.complete(&key, &stored, expires_at).await
            }
            Err(_) => self.idempotency.release(&key).await,
        };
        if let Err(message) = recorded {
            // The provider's outcome stands; only a later duplicate may now slip through (after a
            // success) or wait for the in-progress claim to expire (after a failure).
            tracing::error!(
                action = A::NAME,
                "could not record the delivery in {}: {message}",
                self.idempotency.describe()
            );
        }
        result
    }

    /// Calls the provider: again, with a freshly read secret, after a 401 (once); again after
    /// a retryable failure, as the retry policy allows. `trace` counts the calls and their time.
    async fn send(
        &self,
        request: &A::Request,
        mut lease: Lease<Setup<A::Connection>>,
        mut call: crate::provider::ProviderRequest,
        deadline: Option<Instant>,
        trace: &mut Trace,
    ) -> Result<Delivered, Failure> {
        let mut refreshed = false;
        loop {
            trace.attempts += 1;
            let called = Instant::now();
            let answer = self
                .provider
                .send(&call, deadline)
                .instrument(tracing::info_span!(
                    "provider_call",
                    attempt = trace.attempts
                ))
                .await;
            trace.provider_ms += called.elapsed().as_millis() as u64;
            let failure = match answer {
                Ok(response) if response.status == 401 && !refreshed => {
                    // The token may have been rotated since we read it: read it again, once.
                    refreshed = true;
                    lease = self.connection.refresh(lease.generation).await?;
                    call = A::provider_request(request, &lease.secret.connection)?;
                    continue;
                }
                Ok(response) => match response.into_result() {
                    Ok(response) => return self.accepted(response),
                    Err(failure) => failure,
                },
                Err(failure) => failure,
            };
            let wait =
                self.settings
                    .retry
                    .delay(trace.attempts, &failure, deadline, fastrand::f64());
            match wait {
                Some(wait) => {
                    tracing::info!(
                        action = A::NAME,
                        attempt = trace.attempts,
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
        Ok(Delivered {
            response,
            duplicate: false,
        })
    }

    /// The function's settings, as read from the environment.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Where deliveries that failed for good are kept, when configured.
    pub fn dead_letters(&self) -> Option<&dyn DeadLetterSink> {
        self.dead_letters.as_deref()
    }

    /// The function's own trigger queue, where requests that may succeed later are kept, when
    /// configured.
    pub fn intake(&self) -> Option<&dyn IntakeQueue> {
        self.intake.as_deref()
    }

    /// The action's built-in form mapping, parsed once, on the first form webhook that needs it.
    pub fn built_in_mapping(&self) -> Result<&crate::mapping::Mapping, Failure> {
        self.default_mapping
            .get_or_init(|| {
                crate::mapping::Mapping::parse(&A::default_mapping(), "default mapping")
                    .map_err(|p| format!("the built-in mapping is broken: {p}"))
            })
            .as_ref()
            .map_err(|message| Failure::Configuration(message.clone()))
    }

    /// True for the first invocation of this process, and only the first time it is asked.
    pub(crate) fn take_cold_start(&self) -> bool {
        self.cold.swap(false, std::sync::atomic::Ordering::SeqCst)
    }

    /// The connection and webhook settings, read from the secret if not cached.
    pub(crate) async fn setup(&self) -> Result<Lease<Setup<A::Connection>>, Failure> {
        self.connection.get().await
    }
}
