//! Nothing sent twice: every delivery claims a key before the provider is called.
//!
//! The scheme is the one Powertools for AWS Lambda uses. A claim writes the key as *in
//! progress* until the invocation's deadline, with a conditional write that fails if the key is
//! already taken; a success makes it *completed*, with the provider's answer, until it expires
//! (`IDEMPOTENCY_TTL_SECONDS`, seven days by default); a failure releases it so that a retry can
//! go through. A duplicate of a completed delivery gets the stored answer without a provider
//! call; a duplicate that arrives while the first is still in progress is told to come back later
//! (HTTP 409, or left for SQS to retry); an in-progress key left by a crashed invocation frees
//! itself at that invocation's deadline.
//!
//! Keys: the source's own id for the delivery (`Idempotency-Key` header of a direct call,
//! Typeform `event_id`, Tally `eventId`, JotForm `submissionID`, RD Station contact uuid and
//! time, Google Forms `responseId`), otherwise a SHA-256 of the provider request itself (URL and
//! body), which catches SQS redeliveries and repeated publishes alike. A key also covers the
//! endpoint's operator settings (the webhook URL's query), so one submission posted to two URLs
//! with different settings is two deliveries.
//!
//! A key is bound to what it protects: the completed record keeps a fingerprint of the provider
//! request, and the same key with a different request is refused (HTTP 409) without a word of
//! the first answer. Otherwise whoever guessed a key first could block the real delivery and
//! read back the answer to it.

use crate::aws::LazyClient;
use aws_config::SdkConfig;
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// What a claim found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The key is ours: call the provider.
    Fresh,
    /// Already delivered: here is the provider's answer from then.
    Completed(Stored),
    /// Another invocation is delivering it right now.
    InProgress,
}

/// What is kept with a completed key: enough to answer a duplicate, nothing about the contact.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Stored {
    /// The provider's HTTP status.
    pub status: u16,
    /// The ids in the provider's answer ([`Stored::ids_of`]), as it wrote them: what a
    /// duplicate gets in place of the provider's body.
    #[serde(default)]
    pub ids: Value,
    /// [`request_hash`] of the provider request the key was completed for.
    #[serde(default)]
    pub fingerprint: String,
}

impl Stored {
    /// The ids of a provider's answer, as an object; `null` when it named none.
    pub fn ids_of(body: &Value) -> Value {
        let ids: serde_json::Map<String, Value> = crate::provider::ID_KEYS
            .iter()
            .filter_map(|key| match body.get(*key) {
                Some(v @ (Value::String(_) | Value::Number(_))) => {
                    Some((key.to_string(), v.clone()))
                }
                _ => None,
            })
            .collect();
        if ids.is_empty() {
            Value::Null
        } else {
            Value::Object(ids)
        }
    }

    /// True when `fingerprint` is the request this key was completed for. Records written
    /// before fingerprints were kept have none, and match any request.
    pub fn is_for(&self, fingerprint: &str) -> bool {
        self.fingerprint.is_empty() || self.fingerprint == fingerprint
    }
}

/// The claim store failed or could not be reached: whether the delivery was made is unknown.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

impl From<String> for StoreError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

/// Where claims are kept.
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key`, in progress until `in_progress_until_ms` (epoch milliseconds).
    fn claim<'a>(
        &'a self,
        key: &'a str,
        in_progress_until_ms: u64,
    ) -> BoxFuture<'a, Result<Claim, StoreError>>;
    /// Marks `key` completed with the provider's answer, until `expires_at` (epoch seconds).
    fn complete<'a>(
        &'a self,
        key: &'a str,
        stored: &'a Stored,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Lets go of `key` after a failed delivery.
    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// A name for logs: where claims live.
    fn describe(&self) -> String;
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Ids longer than this are hashed into the key, so that a key stays far below DynamoDB's
/// limit whatever a body carries.
const MAX_ID_IN_KEY: usize = 128;

/// The key of a delivery: `<function>#<what it is>`, then `@<settings hash>` when the endpoint
/// has operator settings (`scope`, see [`scope_of`]).
pub fn key(function: &str, kind: &str, value: &str, scope: &str) -> String {
    let value = if value.len() > MAX_ID_IN_KEY {
        std::borrow::Cow::Owned(format!("sha256-{}", hex_sha256(&[value.as_bytes()])))
    } else {
        std::borrow::Cow::Borrowed(value)
    };
    if scope.is_empty() {
        format!("{function}#{kind}:{value}")
    } else {
        format!("{function}#{kind}:{value}@{scope}")
    }
}

/// Query parameters that are not the endpoint's settings: its credential, the dry-run switch, and
/// the source (already the key's kind).
const NOT_SETTINGS: &[&str] = &["token", "dry_run", "source"];

/// A short hash of an endpoint's operator settings: the webhook URL's query (`?inbox_id=3`,
/// `?mapping=orcamento`…), in any order, less [`NOT_SETTINGS`]. Empty when there are none, so
/// keys of routes without settings stay as they were.
pub fn scope_of(query: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = query
        .iter()
        .filter(|(name, _)| !NOT_SETTINGS.contains(&name.as_str()))
        .collect();
    if sorted.is_empty() {
        return String::new();
    }
    sorted.sort();
    let mut parts: Vec<&[u8]> = Vec::with_capacity(sorted.len() * 4);
    for (name, value) in sorted {
        parts.extend([name.as_bytes(), b"=", value.as_bytes(), b"\n"]);
    }
    hex_sha256(&parts)[..16].to_string()
}

fn hex_sha256(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The key for a delivery without an id of its own: a hash of what would be sent.
pub fn request_hash(url: &str, body: &Value) -> String {
    hex_sha256(&[url.as_bytes(), b"\n", body.to_string().as_bytes()])
}

#[derive(Debug, Clone)]
enum Record {
    InProgress { until_ms: u64 },
    Completed { stored: Stored, expires_at: u64 },
}

/// Claims in this container's memory: the default without a table. It protects against
/// retries that reach the same warm container only.
#[derive(Default)]
pub struct InMemoryStore {
    records: Mutex<HashMap<String, Record>>,
}

impl InMemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn records(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Record>>, String> {
        self.records
            .lock()
            .map_err(|_| "store poisoned".to_string())
    }
}

impl IdempotencyStore for InMemoryStore {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        in_progress_until_ms: u64,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(async move {
            let mut records = self.records()?;
            let now = now_ms();
            let claim = match records.get(key) {
                Some(Record::Completed { stored, expires_at }) if expires_at * 1000 > now => {
                    Claim::Completed(stored.clone())
                }
                Some(Record::InProgress { until_ms }) if *until_ms > now => Claim::InProgress,
                _ => Claim::Fresh,
            };
            if claim == Claim::Fresh {
                records.insert(
                    key.to_string(),
                    Record::InProgress {
                        until_ms: in_progress_until_ms,
                    },
                );
            }
            Ok(claim)
        })
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        stored: &'a Stored,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut records = self.records()?;
            records.insert(
                key.to_string(),
                Record::Completed {
                    stored: stored.clone(),
                    expires_at,
                },
            );
            Ok(())
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut records = self.records()?;
            records.remove(key);
            Ok(())
        })
    }

    fn describe(&self) -> String {
        "memory of this container".into()
    }
}

/// Claims in a DynamoDB table (`IDEMPOTENCY_TABLE`), shared by every container and function.
/// Items: `id` (the key), `status` (`INPROGRESS` or `COMPLETED`), `in_progress_expiry` (epoch
/// ms), `expiration` (epoch s, the table's TTL attribute) and `data` (the stored answer).
pub struct DynamoStore {
    client: Arc<LazyClient<aws_sdk_dynamodb::Client>>,
    table: String,
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self::with_client(Arc::new(LazyClient::Ready(client)), table)
    }

    pub fn from_config(config: &SdkConfig, table: impl Into<String>) -> Self {
        let client = LazyClient::from_config(config, aws_sdk_dynamodb::Client::new);
        Self::with_client(Arc::new(client), table)
    }

    /// With a client shared with the function's other users of the table ([`crate::pace`]).
    pub fn with_client(
        client: Arc<LazyClient<aws_sdk_dynamodb::Client>>,
        table: impl Into<String>,
    ) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

mod dynamo {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    pub fn s(value: &str) -> AttributeValue {
        AttributeValue::S(value.to_string())
    }

    pub fn n(value: u64) -> AttributeValue {
        AttributeValue::N(value.to_string())
    }

    pub fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or_default()
    }

    /// What an existing item means now.
    pub fn read(item: &HashMap<String, AttributeValue>) -> Claim {
        let now = now_ms();
        let status = item
            .get("status")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str);
        match status {
            Some("COMPLETED") if number(item, "expiration") * 1000 > now => {
                let stored = item
                    .get("data")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|d| serde_json::from_str(d).ok())
                    .unwrap_or(Stored {
                        status: 200,
                        ..Stored::default()
                    });
                Claim::Completed(stored)
            }
            Some("INPROGRESS") if number(item, "in_progress_expiry") > now => Claim::InProgress,
            // Expired between the write and the read: the next claim will take it.
            _ => Claim::InProgress,
        }
    }
}

impl IdempotencyStore for DynamoStore {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        in_progress_until_ms: u64,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
        Box::pin(
            async move {
            let now = now_ms();
            let written = self
                .client
                .get()
                .put_item()
                .table_name(&self.table)
                .item("id", dynamo::s(key))
                .item("status", dynamo::s("INPROGRESS"))
                .item("in_progress_expiry", dynamo::n(in_progress_until_ms))
                .item("expiration", dynamo::n(in_progress_until_ms / 1000 + 3600))
                .condition_expression(
                    // The same rules as `dynamo::read`: expired at `expiration` (seconds) or at
                    // `in_progress_expiry` (milliseconds), that moment included.
                    "attribute_not_exists(id) OR expiration <= :now_s OR (#status = :in_progress AND in_progress_expiry <= :now_ms)",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":now_s", dynamo::n(now / 1000))
                .expression_attribute_values(":now_ms", dynamo::n(now))
                .expression_attribute_values(":in_progress", dynamo::s("INPROGRESS"))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            match written {
                Ok(_) => Ok(Claim::Fresh),
                Err(err) => match err.into_service_error() {
                    PutItemError::ConditionalCheckFailedException(taken) => match taken.item() {
                        Some(item) => Ok(dynamo::read(item)),
                        None => {
                            let item = self
                                .client
                                .get()
                                .get_item()
                                .table_name(&self.table)
                                .key("id", dynamo::s(key))
                                .consistent_read(true)
                                .send()
                                .await
                                .map_err(|e| format!("DynamoDB GetItem on {}: {e}", self.table))?;
                            Ok(item.item().map_or(Claim::InProgress, dynamo::read))
                        }
                    },
                    other => Err(format!("DynamoDB PutItem on {}: {other}", self.table)),
                },
            }
            }
            .map(|result: Result<_, String>| result.map_err(StoreError)),
        )
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        stored: &'a Stored,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(
            async move {
                let data = serde_json::to_string(stored).map_err(|e| e.to_string())?;
                self.client
                    .get()
                    .put_item()
                    .table_name(&self.table)
                    .item("id", dynamo::s(key))
                    .item("status", dynamo::s("COMPLETED"))
                    .item("expiration", dynamo::n(expires_at))
                    .item("data", dynamo::s(&data))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        format!(
                            "DynamoDB PutItem on {}: {}",
                            self.table,
                            e.into_service_error()
                        )
                    })
            }
            .map(|result: Result<_, String>| result.map_err(StoreError)),
        )
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(
            async move {
                self.client
                    .get()
                    .delete_item()
                    .table_name(&self.table)
                    .key("id", dynamo::s(key))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        format!(
                            "DynamoDB DeleteItem on {}: {}",
                            self.table,
                            e.into_service_error()
                        )
                    })
            }
            .map(|result: Result<_, String>| result.map_err(StoreError)),
        )
    }

    fn describe(&self) -> String {
        format!("DynamoDB table {}", self.table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored() -> Stored {
        Stored {
            status: 200,
            ids: Stored::ids_of(&json!({"id": 7, "contact": {"email": "a@b.c"}})),
            fingerprint: "f1".into(),
        }
    }

    #[tokio::test]
    async fn a_key_is_fresh_then_in_progress_then_completed() {
        let store = InMemoryStore::new();
        let until = now_ms() + 60_000;
        assert_eq!(store.claim("k", until).await.unwrap(), Claim::Fresh);
        assert_eq!(store.claim("k", until).await.unwrap(), Claim::InProgress);
        store
            .complete("k", &stored(), now_ms() / 1000 + 3600)
            .await
            .unwrap();
        assert_eq!(
            store.claim("k", until).await.unwrap(),
            Claim::Completed(stored())
        );
    }

    #[tokio::test]
    async fn released_and_expired_keys_are_fresh_again() {
        let store = InMemoryStore::new();
        assert_eq!(
            store.claim("a", now_ms() + 60_000).await.unwrap(),
            Claim::Fresh
        );
        store.release("a").await.unwrap();
        assert_eq!(
            store.claim("a", now_ms() + 60_000).await.unwrap(),
            Claim::Fresh
        );
        // An in-progress claim left by a crashed invocation frees itself at its deadline.
        assert_eq!(store.claim("b", now_ms() - 1).await.unwrap(), Claim::Fresh);
        assert_eq!(
            store.claim("b", now_ms() + 60_000).await.unwrap(),
            Claim::Fresh
        );
        store
            .complete("c", &stored(), now_ms() / 1000 - 1)
            .await
            .unwrap();
        assert_eq!(
            store.claim("c", now_ms() + 60_000).await.unwrap(),
            Claim::Fresh
        );
    }

    #[test]
    fn request_hashes_depend_on_url_and_body() {
        let a = request_hash("https://x/a", &json!({"a": 1}));
        assert_eq!(a.len(), 64);
        assert_eq!(a, request_hash("https://x/a", &json!({"a": 1})));
        assert_ne!(a, request_hash("https://x/b", &json!({"a": 1})));
        assert_ne!(a, request_hash("https://x/a", &json!({"a": 2})));
    }

    #[test]
    fn keys_cover_settings_and_stay_short() {
        assert_eq!(
            key("wegly-create-chat", "typeform", "ev1", ""),
            "wegly-create-chat#typeform:ev1"
        );
        let three = scope_of(&[("inbox_id".into(), "3".into())]);
        let five = scope_of(&[("inbox_id".into(), "5".into())]);
        assert_ne!(three, five);
        assert_eq!(
            scope_of(&[("a".into(), "1".into()), ("b".into(), "2".into())]),
            scope_of(&[("b".into(), "2".into()), ("a".into(), "1".into())]),
            "the order of the query does not matter"
        );
        assert_ne!(
            key("f", "typeform", "ev1", &three),
            key("f", "typeform", "ev1", &five)
        );
        let long = key("f", "generic", &"x".repeat(5000), &three);
        assert!(long.len() < 120, "{long}");
    }

    #[test]
    fn stored_answers_keep_no_contact_and_know_their_request() {
        let s = stored();
        assert_eq!(s.ids, json!({"id": 7}));
        assert!(s.is_for("f1") && !s.is_for("f2"));
        let old: Stored =
            serde_json::from_str(r#"{"status": 200, "body": {"email": "a@b.c"}}"#).unwrap();
        assert!(old.is_for("anything") && old.ids.is_null());
        let written = serde_json::to_string(&s).unwrap();
        assert_eq!(
            written,
            r#"{"status":200,"ids":{"id":7},"fingerprint":"f1"}"#
        );
    }
}
