//! One function: its settings, its clients, and what it keeps.
//!
//! `App` is built once per process (at init) and shared by every invocation; nothing in it is
//! global. It is the delivery core ([`crate::delivery`]), which takes a payload to the provider
//! once, and what only the triggers need around it: where requests are queued and dead letters
//! kept, and the action's built-in form mapping.

use crate::action::Action;
use crate::aws::LazyClient;
use crate::dead_letters::DeadLetterSink;
use crate::delivery::DeliveryCore;
use crate::failure::Failure;
use crate::fan_out::HandOverQueues;
use crate::idempotency::{DynamoStore, IdempotencyStore};
use crate::intake::IntakeQueue;
use crate::intake::RecordKey;
use crate::pace::{DynamoTurns, Patience, TurnStore};
use crate::queue::{FunctionQueues, SqsQueue};
use crate::report::{DeliveryId, Preview, Report};
use crate::secrets::{ConnectionCache, Lease, SecretStore, SecretsManagerStore};
use crate::settings::Settings;
use crate::webhooks::Setup;
use serde_json::Value;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

pub type Error = lambda_runtime::Error;

/// Where the record key comes from: given, or the stack's secret.
enum RecordKeys {
    Fixed(RecordKey),
    Secret(ConnectionCache<RecordKey>),
}

pub struct App<A: Action> {
    /// Reads the connection and its webhook settings from one secret.
    core: DeliveryCore<A, Setup<A::Connection>>,
    dead_letters: Option<Arc<dyn DeadLetterSink>>,
    /// The function's own trigger queue, where requests that may succeed later are kept.
    intake: Option<Arc<dyn IntakeQueue>>,
    /// True until the first invocation of this process has started.
    cold: AtomicBool,
    /// The action's built-in form mapping, checked once, on the first form webhook.
    default_mapping: OnceLock<Result<crate::mapping::Mapping, String>>,
    /// Its own queues, for backing off failing messages and for replay commands.
    queues: Option<FunctionQueues>,
    /// What records on its queues are sealed and checked with.
    record_key: Option<RecordKeys>,
    /// The other functions' queues, where routes hand submissions (`also`).
    hand_over: HandOverQueues,
}

impl<A: Action> App<A> {
    /// Wires a function from its settings and a secret store, with idempotency in memory and
    /// no dead-letter queue (see [`App::with_idempotency`], [`App::with_dead_letters`]).
    pub fn new(settings: Settings, store: Arc<dyn SecretStore>) -> Self {
        Self {
            core: DeliveryCore::new(settings, store),
            dead_letters: None,
            intake: None,
            cold: AtomicBool::new(true),
            default_mapping: OnceLock::new(),
            queues: None,
            record_key: None,
            hand_over: HandOverQueues::default(),
        }
    }

    /// Where routes hand submissions to other functions of the stack (see [`crate::fan_out`]).
    pub fn with_hand_over(mut self, queues: HandOverQueues) -> Self {
        self.hand_over = queues;
        self
    }

    pub(crate) fn hand_over_queues(&self) -> &HandOverQueues {
        &self.hand_over
    }

    /// Seals and checks records with this key (tests, and functions wired by hand).
    pub fn with_record_key(mut self, key: RecordKey) -> Self {
        self.record_key = Some(RecordKeys::Fixed(key));
        self
    }

    /// The stack's record key: `Configuration` when the function has none, `SecretUnavailable`
    /// when it cannot be read now.
    pub(crate) async fn record_key(&self) -> Result<RecordKey, Failure> {
        match &self.record_key {
            Some(RecordKeys::Fixed(key)) => Ok(key.clone()),
            Some(RecordKeys::Secret(cache)) => Ok(cache.get().await?.secret.as_ref().clone()),
            None => Err(Failure::Configuration(
                "RECORD_KEY_SECRET_ID is not set: records on the function's queue cannot carry proof (the stack sets it)".into(),
            )),
        }
    }

    /// The function's own queues (see [`FunctionQueues`]).
    pub fn with_queues(mut self, queues: FunctionQueues) -> Self {
        self.queues = Some(queues);
        self
    }

    pub(crate) fn queues(&self) -> Option<&FunctionQueues> {
        self.queues.as_ref()
    }

    /// Keeps the provider's pace in `store`, shared by every instance (see [`crate::pace`]).
    pub fn with_pace(mut self, store: Arc<dyn TurnStore>) -> Self {
        self.core = self.core.with_pace(store);
        self
    }

    pub fn with_idempotency(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.core = self.core.with_idempotency(store);
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
        let record_key = settings.record_key_secret_id.clone();
        let fan_out = settings.fan_out_queues.clone();
        let secret_max_age = settings.secret_max_age;
        if intake.is_some() && record_key.is_none() {
            return Err("INTAKE_QUEUE_URL is set but RECORD_KEY_SECRET_ID is not: records kept on the queue must carry proof that this stack wrote them (the stack sets both)".into());
        }
        let secrets: Arc<dyn SecretStore> = Arc::new(SecretsManagerStore::from_config(&aws));
        let mut app = Self::new(settings, secrets.clone());
        if let Some(id) = record_key {
            app.record_key = Some(RecordKeys::Secret(ConnectionCache::new(
                secrets,
                Some(id),
                secret_max_age,
            )));
        }
        match table {
            Some(table) => {
                let client = Arc::new(LazyClient::from_config(&aws, aws_sdk_dynamodb::Client::new));
                let claims = DynamoStore::with_client(client.clone(), &table);
                app = app.with_idempotency(Arc::new(claims));
                app = app.with_pace(Arc::new(DynamoTurns::with_client(client, table)));
            }
            None => tracing::info!(
                action = A::NAME,
                "IDEMPOTENCY_TABLE is not set: duplicates are caught, and the provider's pace kept, only within this container"
            ),
        }
        if let Some(queue) = queue {
            app = app.with_dead_letters(Arc::new(SqsQueue::from_config(&aws, queue.clone())));
            app = app.with_queues(FunctionQueues {
                sqs: LazyClient::from_config(&aws, aws_sdk_sqs::Client::new),
                dead_letters: queue,
                queue: intake.clone(),
            });
        }
        match intake {
            Some(queue) => app = app.with_intake(Arc::new(SqsQueue::from_config(&aws, queue))),
            None => tracing::info!(
                action = A::NAME,
                "INTAKE_QUEUE_URL is not set: HTTP requests that cannot be delivered now are answered with an error, not queued"
            ),
        }
        let hand_over = fan_out
            .into_iter()
            .map(|(function, url)| {
                let queue: Arc<dyn IntakeQueue> = Arc::new(SqsQueue::from_config(&aws, url));
                (function, queue)
            })
            .collect();
        app = app.with_hand_over(HandOverQueues::new(hand_over));
        app.core.prepare();
        Ok(app)
    }

    /// Validates one payload and sends it to the provider, once per delivery (see
    /// [`DeliveryCore::deliver`]).
    pub async fn deliver(
        &self,
        payload: &Value,
        deadline: Option<Instant>,
        id: Option<DeliveryId<'_>>,
        patience: Patience,
    ) -> Report {
        self.core.deliver(payload, deadline, id, patience).await
    }

    /// What a delivery would send, without sending it (see [`DeliveryCore::preview`]).
    pub async fn preview(&self, payload: &Value) -> Result<Preview, Failure> {
        self.core.preview(payload).await
    }

    /// The function's settings, as read from the environment.
    pub fn settings(&self) -> &Settings {
        self.core.settings()
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
        self.core.secret().await
    }
}
