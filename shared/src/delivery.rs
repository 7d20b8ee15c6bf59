//! The delivery core: one payload to the provider, once. It validates the payload into the
//! action's typed request, reads the connection, claims the delivery's idempotency key, calls
//! the provider (again with a freshly read secret if it says 401, again as the retry policy
//! allows), and records the outcome under the key. It knows nothing of how the payload came:
//! webhooks, forms, intake records and dead letters are the triggers' business ([`crate::app`]).

use crate::action::{Action, ValidationContext};
use crate::connection::{Connection, HoldsConnection};
use crate::failure::Failure;
use crate::idempotency::{self, Claim, IdempotencyStore, InMemoryStore, Stored};
use crate::pace::{self, Pace, Patience};
use crate::provider::{ProviderClient, ProviderResponse};
use crate::report::{Delivered, DeliveryId, Preview, Report, Trace};
use crate::secrets::{ConnectionCache, Lease, SecretStore};
use crate::settings::Settings;
use serde_json::Value;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Delivers payloads of action `A` with the connection found in a secret of type `S` (the
/// connection itself, or the connection with whatever else the secret keeps beside it).
pub struct DeliveryCore<A: Action, S> {
    settings: Settings,
    validation: ValidationContext,
    connection: ConnectionCache<S>,
    provider: ProviderClient,
    idempotency: Arc<dyn IdempotencyStore>,
    /// The connection's turns at the provider, shared with every instance when a table is set.
    pace: Pace,
    _action: PhantomData<fn() -> A>,
}

impl<A: Action, S: Connection + HoldsConnection<A::Connection>> DeliveryCore<A, S> {
    /// The core of a function with these settings, reading its secret from `store`, with
    /// idempotency in memory (see [`DeliveryCore::with_idempotency`]).
    pub fn new(settings: Settings, store: Arc<dyn SecretStore>) -> Self {
        Self {
            idempotency: Arc::new(InMemoryStore::new()),
            pace: Pace::default(),
            validation: ValidationContext {
                phone_region: settings.phone_region,
            },
            connection: ConnectionCache::new(
                store,
                settings.secret_id.clone(),
                settings.secret_max_age,
            ),
            provider: ProviderClient::new(settings.connect_timeout, settings.request_timeout),
            settings,
            _action: PhantomData,
        }
    }

    pub fn with_idempotency(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.idempotency = store;
        self
    }

    /// Keeps the provider's pace in `store` (the stack's table), shared by every instance.
    pub fn with_pace(mut self, store: Arc<dyn pace::TurnStore>) -> Self {
        self.pace = Pace::new(store);
        self
    }

    /// Makes what the provider's client makes at start-up (see [`ProviderClient::prepare`]).
    pub fn prepare(&self) {
        self.provider.prepare();
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The secret, read from Secrets Manager if not cached.
    pub async fn secret(&self) -> Result<Lease<S>, Failure> {
        self.connection.get().await
    }

    /// Validates one payload and sends it to the provider, once per delivery: `id` is the
    /// delivery's own id when its source gives one (else the request itself identifies it);
    /// `patience` is how long it may wait for the connection's turn at the provider.
    pub async fn deliver(
        &self,
        payload: &Value,
        deadline: Option<Instant>,
        id: Option<DeliveryId<'_>>,
        patience: Patience,
    ) -> Report {
        match A::validate(payload, &self.validation) {
            Ok(request) => {
                let mut trace = Trace::default();
                let result = self
                    .send_once(&request, deadline, id, patience, &mut trace)
                    .await;
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
        let call = A::provider_request(&request, lease.secret.connection())?;
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
        patience: Patience,
        trace: &mut Trace,
    ) -> Result<Delivered, Failure> {
        let lease = self
            .connection
            .get()
            .instrument(tracing::info_span!("secret_read"))
            .await?;
        let call = A::provider_request(request, lease.secret.connection())?;
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
        let result = self
            .send(request, lease, call, deadline, patience, trace)
            .await;
        let recorded = match &result {
            Ok(delivered) => {
                let stored = Stored {
                    status: delivered.response.status,
                    ids: Stored::ids_of(&delivered.response.body),
                    fingerprint,
                };
                // A delivery with an id of its own is remembered as long as the id can come back;
                // one known only by its content, for the short window in which a repeat is a
                // retry rather than a new request.
                let ttl = self.settings.idempotency_ttl;
                let remembered = match id {
                    Some(_) => ttl,
                    None => self.settings.content_dedup_window.min(ttl),
                };
                let expires_at = idempotency::now_ms() / 1000 + remembered.as_secs();
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

    /// Calls the provider, each call in the connection's turn: again, with a freshly read
    /// secret, after a 401 (once); again after a retryable failure, as the retry policy allows.
    /// A 429 holds the connection's turns for its `Retry-After`. `trace` counts the calls and
    /// their time.
    async fn send(
        &self,
        request: &A::Request,
        mut lease: Lease<S>,
        mut call: crate::provider::ProviderRequest,
        deadline: Option<Instant>,
        patience: Patience,
        trace: &mut Trace,
    ) -> Result<Delivered, Failure> {
        let mut refreshed = false;
        loop {
            let connection = pace::connection_key(&call.url, &call.headers);
            let rate = lease.secret.requests_per_second();
            let within = pace::latest_turn(
                Instant::now(),
                patience,
                deadline,
                self.settings.request_timeout,
            );
            let waiting = Instant::now();
            self.pace
                .wait_turn(&connection, rate, within)
                .instrument(tracing::info_span!("pace"))
                .await?;
            trace.paced_ms += waiting.elapsed().as_millis() as u64;
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
                    call = A::provider_request(request, lease.secret.connection())?;
                    continue;
                }
                Ok(response) => match response.into_result() {
                    Ok(response) => return self.accepted(response),
                    Err(failure) => failure,
                },
                Err(failure) => failure,
            };
            let limited = failure.provider_status() == Some(429);
            if limited {
                let asked = failure.retry_after_seconds().map(Duration::from_secs);
                self.pace.hold(&connection, rate, asked).await;
            }
            let wait =
                self.settings
                    .retry
                    .delay(trace.attempts, &failure, deadline, fastrand::f64());
            match wait {
                // After a 429 the next call waits for the connection's turn, which the hold
                // has moved past the provider's `Retry-After`.
                Some(_) if limited => {}
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
}
