//! Requests kept to deliver later: the intake record.
//!
//! Form builders do not retry, so a webhook answered with a 5xx is a lead lost. When a request
//! cannot be delivered now (the provider, the secret or the idempotency store is unavailable),
//! the function puts an intake record on its own trigger queue (`INTAKE_QUEUE_URL`) and answers
//! that it was queued; when it can never be delivered as it is (a mapping or validation error,
//! a configuration error), the record goes to the dead-letter queue with its reason, to be
//! replayed once the cause is fixed (`scripts/replay`). Either way the SQS trigger runs the
//! record through the same path as a fresh request, with the same idempotency keys, so a lead
//! is sent once however often it is queued, retried or replayed.
//!
//! A record holds what that path needs and nothing it does not: the source, the query less its
//! token, the headers the decoders and keys read (and the signature, for a record whose check
//! could not run yet), the raw body, when it arrived, and why it was kept. A token never goes
//! into a record: a request kept before its check could run (the secret could not be read)
//! carries the token's SHA-256 instead, and is checked against the secret when it is run.

use crate::authenticity::{self, GivenToken};
use crate::failure::Failure;
use crate::queue::{Attribute, QueueError, SqsQueue};
use crate::trigger::{HttpOrigin, HttpRequest};
use aws_smithy_types::date_time::{DateTime, Format};
use base64::Engine;
use futures::future::BoxFuture;
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The most a record of a request of `body_len` bytes can take on the queue: its body in base64,
/// its query and the headers it keeps, and room for the rest (ids, times, keys, its seal).
pub fn largest_record(request: &HttpRequest, body_len: usize) -> usize {
    let query: usize = request
        .query
        .iter()
        .map(|(k, v)| k.len() + v.len() + 8)
        .sum();
    let headers: usize = KEPT_HEADERS
        .iter()
        .filter_map(|name| request.headers.get(*name))
        .map(|value| value.len() + 32)
        .sum();
    body_len.div_ceil(3) * 4 + query + headers + 4 * 1024
}

/// The key an intake record's JSON sits under in a queue message.
pub const MARKER: &str = "ponte_intake";

/// Headers a record keeps: what decoding reads (`content-type`), what names a delivery
/// (`idempotency-key`), and the signatures a later check verifies. Never a token.
const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "idempotency-key",
    "typeform-signature",
    "tally-signature",
    "x-ponte-signature",
];

/// Query parameters a record never keeps: the credential, and switches of the request itself.
const DROPPED_QUERY: &[&str] = &["token", "dry_run"];

/// The reason a record handed to another function carries (`ponte.error_kind` on the queue).
pub const HANDED_OVER: &str = "handed_over";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntakeRecord {
    /// The form source the URL named; none for a direct call.
    pub source: Option<String>,
    /// The query string, less its token.
    pub query: Vec<(String, String)>,
    /// The [`KEPT_HEADERS`] the request had.
    pub headers: BTreeMap<String, String>,
    /// The body exactly as received, so that signatures and decoders see the same bytes.
    pub body_base64: String,
    /// When the request arrived (RFC 3339): a signed delivery's age is measured at this time.
    pub received_at: String,
    /// The Lambda request id of the invocation that received it, as its log lines carry.
    pub request_id: String,
    /// True when the request passed the authenticity check when it arrived.
    pub authenticated: bool,
    /// For a request kept before its check could run: its token's SHA-256, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_hmac: Option<String>,
    /// The idempotency keys its deliveries claimed when it arrived, for finding them in logs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub idempotency_keys: Vec<String>,
    /// The kind of failure it was kept for (`provider_unavailable`, `validation`…).
    pub reason: String,
    /// The submissions of a body of several (RD Station's legacy `leads`) already delivered when
    /// it was kept: run again, even after their deliveries are forgotten, they are not sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delivered: Vec<String>,
    /// Parts of its submissions done when it was kept (`crate::reception::part_done`): the
    /// delivery here, and each hand-over to another function. Run again, they are not redone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub done: Vec<String>,
    /// The function that kept it, and the only one that runs it.
    #[serde(default)]
    pub function: String,
    /// Hex HMAC-SHA256, under the stack's record key, of the record with this field empty:
    /// proof that a function of the stack wrote it. A record without it, or with one that does
    /// not match, never runs (being on the queue proves nothing: SNS subscriptions and anyone
    /// allowed `sqs:SendMessage` can put a message there).
    #[serde(default)]
    pub seal: String,
}

/// The stack's record key (`RECORD_KEY_SECRET_ID`, a secret the template generates and every
/// function may read): what records are sealed with, so that any function of the stack can
/// check a record another wrote.
#[derive(Clone)]
pub struct RecordKey(pub Vec<u8>);

impl std::fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordKey(***)")
    }
}

impl crate::connection::Connection for RecordKey {
    const PROVIDER: &'static str = "record key";

    fn from_secret(value: &Value) -> Result<Self, crate::validate::Problems> {
        match value
            .get("record_key")
            .and_then(Value::as_str)
            .map(str::trim)
        {
            Some(key) if key.len() >= 32 => Ok(RecordKey(key.as_bytes().to_vec())),
            _ => Err(crate::validate::Problems::single(
                "record_key",
                "must be a text of at least 32 characters",
            )),
        }
    }
}

impl IntakeRecord {
    /// The record of `request` (whose body decoded to `body`), kept for `failure`. An
    /// unchecked request's token is kept as its digest under `key` (none without a key: such a
    /// record cannot be sealed, so it never runs anyway).
    pub fn of(
        request: &HttpRequest,
        body: &[u8],
        authenticated: bool,
        request_id: &str,
        failure: &Failure,
        key: Option<&RecordKey>,
    ) -> Self {
        let headers = KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                let value = request.headers.get(*name)?.to_str().ok()?;
                Some((name.to_string(), value.to_string()))
            })
            .collect();
        let query = request
            .query
            .iter()
            .filter(|(name, _)| !DROPPED_QUERY.contains(&name.as_str()))
            .cloned()
            .collect();
        let token_hmac = if authenticated {
            None
        } else {
            authenticity::presented_token(&request.headers, &request.query)
                .zip(key)
                .map(|(token, key)| authenticity::token_digest(&key.0, token))
        };
        Self {
            source: request.source.clone(),
            query,
            headers,
            body_base64: base64::engine::general_purpose::STANDARD.encode(body),
            received_at: now_rfc3339(),
            request_id: request_id.to_string(),
            authenticated,
            token_hmac,
            idempotency_keys: Vec::new(),
            reason: failure.kind().to_string(),
            delivered: Vec::new(),
            done: Vec::new(),
            function: String::new(),
            seal: String::new(),
        }
    }

    /// The record that hands an authenticated request to another function of the stack (a
    /// route's `also`, see [`crate::fan_out`]): that function runs it with `mapping` of its own
    /// secret, as of when the request arrived, and leaves out the submissions in `not_for`
    /// (those of a body of several that the route did not take). Seal it for that function.
    pub fn handed_over(
        request: &HttpRequest,
        body: &[u8],
        received_at: u64,
        request_id: &str,
        mapping: &str,
        not_for: Vec<String>,
    ) -> Self {
        let mut record = Self::of(
            request,
            body,
            true,
            request_id,
            &Failure::Configuration(String::new()),
            None,
        );
        record.reason = HANDED_OVER.to_string();
        record.received_at = DateTime::from_secs(received_at as i64)
            .fmt(Format::DateTime)
            .unwrap_or_else(|_| now_rfc3339());
        record.query.retain(|(name, _)| name != "mapping");
        record.query.push(("mapping".into(), mapping.to_string()));
        record.delivered = not_for;
        record
    }

    /// The record, sealed by `function` under `key` (see [`IntakeRecord::seal`]).
    pub fn sealed(mut self, function: &str, key: &RecordKey) -> Self {
        self.function = function.to_string();
        self.seal = self.seal_under(key);
        self
    }

    /// Whether the record was sealed under `key` for `function`; `Unauthorized` says why not.
    pub fn check_seal(&self, function: &str, key: &RecordKey) -> Result<(), Failure> {
        if self.seal.is_empty() {
            return Err(Failure::Unauthorized(
                "the record carries no proof that a function of this stack kept it".into(),
            ));
        }
        if self.function != function {
            return Err(Failure::Unauthorized(format!(
                "the record was kept for {:?}, not {function}",
                self.function
            )));
        }
        let expected = self.seal_under(key);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            self.seal.as_bytes(),
        )) {
            return Err(Failure::Unauthorized(
                "the record's proof does not match: it was changed, or not written by this stack"
                    .into(),
            ));
        }
        Ok(())
    }

    fn seal_under(&self, key: &RecordKey) -> String {
        use hmac::{Hmac, KeyInit, Mac};
        let unsealed = IntakeRecord {
            seal: String::new(),
            ..self.clone()
        };
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(&key.0).expect("HMAC takes keys of any length");
        mac.update(&serde_json::to_vec(&unsealed).unwrap_or_default());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The queue message body: `{"ponte_intake": {…}}`.
    pub fn to_message(&self) -> String {
        serde_json::json!({ MARKER: self }).to_string()
    }

    /// The record in a queue message, if the message is one: `None` for any other body.
    pub fn from_message(body: &Value) -> Option<Result<Self, Failure>> {
        let record = body.as_object().filter(|o| o.len() == 1)?.get(MARKER)?;
        Some(
            serde_json::from_value(record.clone())
                .map_err(|e| Failure::InvalidBody(format!("a broken intake record: {e}"))),
        )
    }

    /// The request again, as the HTTP trigger would have read it.
    pub fn to_request(&self) -> HttpRequest {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        }
        HttpRequest {
            origin: HttpOrigin::HttpV2,
            method: "POST".into(),
            headers,
            query: self.query.clone(),
            source: self.source.clone(),
            body: Some(self.body_base64.clone()),
            is_base64_encoded: true,
        }
    }

    /// How the record proves who sent it.
    /// How the kept request proves its sender, its token's digest read under `key`.
    pub fn proof<'a>(&'a self, key: &'a RecordKey) -> Proof<'a> {
        if self.authenticated {
            Proof::Checked
        } else {
            Proof::Given(self.token_hmac.as_deref().map(|digest| GivenToken::Keyed {
                digest,
                key: &key.0,
            }))
        }
    }

    /// Seconds since the epoch of [`IntakeRecord::received_at`] (now, if unreadable).
    pub fn received_at_seconds(&self) -> u64 {
        DateTime::from_str(&self.received_at, Format::DateTime)
            .ok()
            .and_then(|at| u64::try_from(at.secs()).ok())
            .unwrap_or_else(|| crate::idempotency::now_ms() / 1000)
    }
}

/// How a request proves who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof<'a> {
    /// A request as it arrives: its signature and token are checked against the secret.
    Presented,
    /// A record kept before its check could run: its signature headers, and its token as kept.
    Given(Option<GivenToken<'a>>),
    /// A record kept after it passed the check when it arrived.
    Checked,
}

fn now_rfc3339() -> String {
    let now = DateTime::from_millis(crate::idempotency::now_ms() as i64);
    now.fmt(Format::DateTime).unwrap_or_default()
}

/// Where intake records are queued: the function's own trigger queue.
pub trait IntakeQueue: Send + Sync {
    /// Queues one record; the id of the queued message.
    fn queue<'a>(&'a self, record: &'a IntakeRecord) -> BoxFuture<'a, Result<String, QueueError>>;
}

impl IntakeQueue for SqsQueue {
    fn queue<'a>(&'a self, record: &'a IntakeRecord) -> BoxFuture<'a, Result<String, QueueError>> {
        Box::pin(async move {
            let attributes = [
                ("ponte.intake", Attribute::Text("1")),
                ("ponte.error_kind", Attribute::Text(&record.reason)),
            ];
            self.send(&record.to_message(), &attributes).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &[(&str, &str)], headers: &[(&str, &str)]) -> HttpRequest {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        HttpRequest {
            origin: HttpOrigin::RestV1,
            method: "POST".into(),
            headers: map,
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            source: Some("elementor".into()),
            body: None,
            is_base64_encoded: false,
        }
    }

    #[test]
    fn a_record_keeps_no_token_and_gives_the_request_back() {
        let request = request(
            &[("token", "s3cret"), ("inbox_id", "3"), ("dry_run", "false")],
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-ponte-token", "s3cret"),
                ("authorization", "Bearer s3cret"),
                ("user-agent", "WordPress"),
            ],
        );
        let failure = Failure::SecretUnavailable("throttled".into());
        let body = "fields[name][value]=Ana".as_bytes();
        let key = RecordKey(vec![1; 32]);
        let record = IntakeRecord::of(&request, body, true, "req-1", &failure, Some(&key));
        let message = record.to_message();
        assert!(!message.contains("s3cret"), "{message}");
        assert_eq!(record.query, vec![("inbox_id".into(), "3".into())]);
        assert_eq!(record.reason, "secret_unavailable");

        let parsed: Value = serde_json::from_str(&message).unwrap();
        let back = IntakeRecord::from_message(&parsed).unwrap().unwrap();
        assert_eq!(back, record);
        assert_eq!(back.proof(&key), Proof::Checked);
        let again = back.to_request();
        assert_eq!(again.source.as_deref(), Some("elementor"));
        assert_eq!(
            again.headers["content-type"],
            "application/x-www-form-urlencoded"
        );
        assert!(again.headers.get("authorization").is_none());
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(again.body.unwrap())
            .unwrap();
        assert_eq!(decoded, body);
        let age = crate::idempotency::now_ms() / 1000 - back.received_at_seconds();
        assert!(age < 5, "{age}");
    }

    #[test]
    fn an_unchecked_record_carries_the_digest_of_its_token() {
        let request = request(&[("token", "s3cret")], &[]);
        let failure = Failure::SecretUnavailable("throttled".into());
        let key = RecordKey(vec![2; 32]);
        let record = IntakeRecord::of(&request, b"{}", false, "req-2", &failure, Some(&key));
        let digest = authenticity::token_digest(&key.0, "s3cret");
        assert_eq!(record.token_hmac.as_deref(), Some(digest.as_str()));
        assert_eq!(
            record.proof(&key),
            Proof::Given(Some(GivenToken::Keyed {
                digest: &digest,
                key: &key.0
            }))
        );
        assert!(!record.to_message().contains("s3cret"));
        // Without the key, nothing of the token is kept.
        let unkeyed = IntakeRecord::of(&request, b"{}", false, "req-2", &failure, None);
        assert_eq!(unkeyed.token_hmac, None);
    }

    #[test]
    fn only_intake_messages_are_taken_for_records() {
        let payload = serde_json::json!({"inbox_id": "1", "ponte_intake": {}});
        assert!(IntakeRecord::from_message(&payload).is_none());
        assert!(IntakeRecord::from_message(&serde_json::json!([1])).is_none());
        let broken = serde_json::json!({"ponte_intake": {"source": 3}});
        let failure = IntakeRecord::from_message(&broken).unwrap().unwrap_err();
        assert_eq!(failure.kind(), "invalid_body");
    }
}
