//! Provider connections from Secrets Manager: read lazily, kept for a max age, read again at
//! once when the provider says the token is no longer good.
//!
//! The store is a port ([`SecretStore`]) with the AWS adapter ([`SecretsManagerStore`]) and an
//! in-memory one ([`StaticSecretStore`]). [`ConnectionCache`] holds one parsed connection; it
//! is shared by the records of an SQS batch, so it fetches once for all of them.

use crate::aws::LazyClient;
use crate::connection::Connection;
use crate::failure::Failure;
use aws_config::SdkConfig;
use futures::future::BoxFuture;
use serde_json::Value;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Why a secret could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The secret does not exist, is not allowed to this function, or holds no text.
    #[error("{0}")]
    Misconfigured(String),
    /// The store failed or could not be reached; it may work later.
    #[error("{0}")]
    Unavailable(String),
}

/// Where secret strings come from.
pub trait SecretStore: Send + Sync {
    fn read<'a>(&'a self, secret_id: &'a str) -> BoxFuture<'a, Result<String, SecretError>>;
}

/// AWS Secrets Manager, through one SDK client per process (built on first use when made
/// from the process's SDK configuration).
pub struct SecretsManagerStore {
    client: LazyClient<aws_sdk_secretsmanager::Client>,
}

impl SecretsManagerStore {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self {
            client: LazyClient::Ready(client),
        }
    }

    pub fn from_config(config: &SdkConfig) -> Self {
        Self {
            client: LazyClient::from_config(config, aws_sdk_secretsmanager::Client::new),
        }
    }
}

impl SecretStore for SecretsManagerStore {
    fn read<'a>(&'a self, secret_id: &'a str) -> BoxFuture<'a, Result<String, SecretError>> {
        Box::pin(async move {
            let output = self
                .client
                .get()
                .get_secret_value()
                .secret_id(secret_id)
                .send()
                .await
                .map_err(|err| classify_sdk_error(secret_id, err))?;
            output.secret_string().map(str::to_string).ok_or_else(|| {
                SecretError::Misconfigured(format!(
                    "secret {secret_id} has no SecretString (binary secrets are not supported)"
                ))
            })
        })
    }
}

fn classify_sdk_error<R: std::fmt::Debug + Send + Sync + 'static>(
    secret_id: &str,
    err: aws_sdk_secretsmanager::error::SdkError<
        aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError,
        R,
    >,
) -> SecretError {
    use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError as E;
    let code = err.code().unwrap_or("").to_string();
    let detail = err.message().unwrap_or("").to_string();
    match err.into_service_error() {
        E::ResourceNotFoundException(_) => {
            SecretError::Misconfigured(format!("secret {secret_id} does not exist"))
        }
        E::InvalidParameterException(_) | E::InvalidRequestException(_) => {
            SecretError::Misconfigured(format!("secret {secret_id} cannot be read: {detail}"))
        }
        E::DecryptionFailure(_) => SecretError::Misconfigured(format!(
            "secret {secret_id} cannot be decrypted with its KMS key"
        )),
        _ if code == "AccessDeniedException" => SecretError::Misconfigured(format!(
            "this function is not allowed to read secret {secret_id}"
        )),
        other => {
            let shown = if code.is_empty() {
                other.to_string()
            } else {
                format!("{code}: {detail}")
            };
            SecretError::Unavailable(format!("Secrets Manager failed for {secret_id}: {shown}"))
        }
    }
}

/// Secrets held in memory: for tests of this crate and for wiring a function without AWS.
#[derive(Default)]
pub struct StaticSecretStore {
    values: StdMutex<HashMap<String, String>>,
    reads: StdMutex<usize>,
}

impl StaticSecretStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&self, secret_id: &str, value: &str) {
        if let Ok(mut values) = self.values.lock() {
            values.insert(secret_id.to_string(), value.to_string());
        }
    }

    /// How many times a secret was read: the cache's behaviour is observable through it.
    pub fn reads(&self) -> usize {
        self.reads.lock().map(|r| *r).unwrap_or_default()
    }
}

impl SecretStore for StaticSecretStore {
    fn read<'a>(&'a self, secret_id: &'a str) -> BoxFuture<'a, Result<String, SecretError>> {
        Box::pin(async move {
            if let Ok(mut reads) = self.reads.lock() {
                *reads += 1;
            }
            let values = self
                .values
                .lock()
                .map_err(|_| SecretError::Unavailable("store poisoned".into()))?;
            values.get(secret_id).cloned().ok_or_else(|| {
                SecretError::Misconfigured(format!("secret {secret_id} does not exist"))
            })
        })
    }
}

/// The connection handed to one delivery, with the generation it came from so that a 401 can
/// ask for a fresher one without every concurrent record re-reading the secret.
#[derive(Debug)]
pub struct Lease<C> {
    /// The secret's contents, parsed.
    pub secret: Arc<C>,
    pub generation: u64,
}

struct Cached<C> {
    secret: Arc<C>,
    generation: u64,
    fetched_at: Instant,
}

/// One connection secret, parsed, cached for `max_age`.
pub struct ConnectionCache<C> {
    store: Arc<dyn SecretStore>,
    secret_id: Option<String>,
    max_age: Duration,
    state: Mutex<Option<Cached<C>>>,
    _connection: PhantomData<fn() -> C>,
}

impl<C: Connection> ConnectionCache<C> {
    /// `secret_id` is `None` when SECRET_ID is unset: every delivery then fails with a
    /// configuration error that says so, rather than the function failing to start.
    pub fn new(store: Arc<dyn SecretStore>, secret_id: Option<String>, max_age: Duration) -> Self {
        Self {
            store,
            secret_id,
            max_age,
            state: Mutex::new(None),
            _connection: PhantomData,
        }
    }

    /// The cached connection, read first if there is none or it is older than the max age.
    /// When Secrets Manager cannot be reached, a warm function goes on with the secret it last
    /// read (callers are still checked, and leads still delivered, through the outage), and
    /// tries again after [`STALE_RETRY`].
    pub async fn get(&self) -> Result<Lease<C>, Failure> {
        let mut state = self.state.lock().await;
        if let Some(cached) = state.as_ref()
            && cached.fetched_at.elapsed() < self.max_age
        {
            return Ok(lease(cached));
        }
        match self.fetch_into(&mut state).await {
            Err(failure @ Failure::SecretUnavailable(_)) => match state.as_mut() {
                Some(cached) => {
                    tracing::warn!(
                        "Secrets Manager could not be read ({failure}): going on with the secret read {} s ago",
                        cached.fetched_at.elapsed().as_secs()
                    );
                    let retry_in = STALE_RETRY.min(self.max_age);
                    let now = Instant::now();
                    cached.fetched_at = now
                        .checked_sub(self.max_age.saturating_sub(retry_in))
                        .unwrap_or(now);
                    Ok(lease(cached))
                }
                None => Err(failure),
            },
            other => other,
        }
    }

    /// Called after the provider refused the token of `seen_generation`: reads the secret again
    /// unless another delivery already did since.
    pub async fn refresh(&self, seen_generation: u64) -> Result<Lease<C>, Failure> {
        let mut state = self.state.lock().await;
        if let Some(cached) = state.as_ref()
            && cached.generation != seen_generation
        {
            return Ok(lease(cached));
        }
        self.fetch_into(&mut state).await
    }

    async fn fetch_into(&self, state: &mut Option<Cached<C>>) -> Result<Lease<C>, Failure> {
        let secret_id = self.secret_id.as_deref().ok_or_else(|| {
            Failure::Configuration(
                "SECRET_ID is not set: point it at the Secrets Manager secret that holds the provider connection"
                    .into(),
            )
        })?;
        let text = self.store.read(secret_id).await.map_err(|err| match err {
            SecretError::Misconfigured(m) => Failure::Configuration(m),
            SecretError::Unavailable(m) => Failure::SecretUnavailable(m),
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|_| {
            Failure::Configuration(format!(
                "secret {secret_id} is not a JSON object (see the README for the {} connection)",
                C::PROVIDER
            ))
        })?;
        let connection = C::from_secret(&value).map_err(|problems| {
            Failure::Configuration(format!(
                "secret {secret_id} is not a valid {} connection: {problems}",
                C::PROVIDER
            ))
        })?;
        let generation = state.as_ref().map_or(1, |c| c.generation + 1);
        let cached = Cached {
            secret: Arc::new(connection),
            generation,
            fetched_at: Instant::now(),
        };
        let leased = lease(&cached);
        *state = Some(cached);
        Ok(leased)
    }
}

/// How long a function that could not read its secret goes on with the one it had before it
/// tries Secrets Manager again: each try costs the event that makes it a timeout.
pub const STALE_RETRY: Duration = Duration::from_secs(30);

fn lease<C>(cached: &Cached<C>) -> Lease<C> {
    Lease {
        secret: cached.secret.clone(),
        generation: cached.generation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{Fields, Problems, ValidationContext, read_key};

    #[derive(Debug)]
    struct Demo {
        token: String,
    }

    impl Connection for Demo {
        const PROVIDER: &'static str = "Demo";
        fn from_secret(value: &Value) -> Result<Self, Problems> {
            let cx = ValidationContext::default();
            let mut problems = Problems::new();
            let token = Fields::object(value, "", &mut problems)
                .map(|mut f| read_key(&mut f, "token", &cx, &mut problems))
                .unwrap_or_default();
            problems.into_result().map(|_| Demo { token })
        }
    }

    fn cache(store: &Arc<StaticSecretStore>, max_age: Duration) -> ConnectionCache<Demo> {
        ConnectionCache::new(store.clone(), Some("demo".into()), max_age)
    }

    #[tokio::test]
    async fn reads_once_then_serves_from_memory() {
        let store = Arc::new(StaticSecretStore::new());
        store.put("demo", r#"{"token":"a"}"#);
        let cache = cache(&store, Duration::from_secs(300));
        assert_eq!(
            store.reads(),
            0,
            "nothing is read before the first delivery"
        );
        for _ in 0..3 {
            assert_eq!(cache.get().await.unwrap().secret.token, "a");
        }
        assert_eq!(store.reads(), 1);
    }

    #[tokio::test]
    async fn a_warm_function_goes_on_with_its_last_secret_while_secrets_manager_is_down() {
        struct Flaky {
            down: std::sync::atomic::AtomicBool,
        }
        impl SecretStore for Flaky {
            fn read<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<String, SecretError>> {
                let down = self.down.load(std::sync::atomic::Ordering::SeqCst);
                Box::pin(async move {
                    if down {
                        Err(SecretError::Unavailable("throttled".into()))
                    } else {
                        Ok(r#"{"token":"a"}"#.into())
                    }
                })
            }
        }
        let store = Arc::new(Flaky { down: true.into() });
        let cache: ConnectionCache<Demo> =
            ConnectionCache::new(store.clone(), Some("demo".into()), Duration::ZERO);
        // Cold and down: nothing to go on with.
        assert!(matches!(
            cache.get().await,
            Err(Failure::SecretUnavailable(_))
        ));
        store.down.store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(cache.get().await.unwrap().secret.token, "a");
        // Warm and down: the last secret read.
        store.down.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(cache.get().await.unwrap().secret.token, "a");
    }

    #[tokio::test]
    async fn reads_again_after_the_max_age() {
        let store = Arc::new(StaticSecretStore::new());
        store.put("demo", r#"{"token":"a"}"#);
        let cache = cache(&store, Duration::ZERO);
        cache.get().await.unwrap();
        store.put("demo", r#"{"token":"b"}"#);
        assert_eq!(cache.get().await.unwrap().secret.token, "b");
        assert_eq!(store.reads(), 2);
    }

    #[tokio::test]
    async fn a_refresh_reads_once_for_all_who_saw_the_old_token() {
        let store = Arc::new(StaticSecretStore::new());
        store.put("demo", r#"{"token":"old"}"#);
        let cache = cache(&store, Duration::from_secs(300));
        let first = cache.get().await.unwrap();
        store.put("demo", r#"{"token":"new"}"#);
        let a = cache.refresh(first.generation).await.unwrap();
        let b = cache.refresh(first.generation).await.unwrap();
        assert_eq!(
            (a.secret.token.as_str(), b.generation),
            ("new", a.generation)
        );
        assert_eq!(store.reads(), 2);
    }

    #[tokio::test]
    async fn bad_secrets_are_configuration_errors_naming_the_key() {
        let store = Arc::new(StaticSecretStore::new());
        let cache = cache(&store, Duration::from_secs(300));
        let missing = cache.get().await.unwrap_err();
        assert!(matches!(missing, Failure::Configuration(ref m) if m.contains("does not exist")));
        store.put("demo", "not json");
        assert!(matches!(
            cache.get().await.unwrap_err(),
            Failure::Configuration(_)
        ));
        store.put("demo", r#"{"tokn":"x"}"#);
        let err = cache.get().await.unwrap_err().to_string();
        assert!(err.contains("token: is required"), "{err}");
        let unset: ConnectionCache<Demo> =
            ConnectionCache::new(store.clone(), None, Duration::from_secs(1));
        assert!(
            unset
                .get()
                .await
                .unwrap_err()
                .to_string()
                .contains("SECRET_ID")
        );
    }
}
