//! The function's settings, from environment variables. Only `SECRET_ID` matters for a real
//! deployment, and even that is checked on the first event rather than at start-up.

use crate::phone::PhoneRegion;
use crate::retry::RetryPolicy;
use std::time::Duration;

/// Seven days: longer than any form builder retries, so a replayed signed delivery is either
/// remembered or refused as too old.
/// Fifteen days: a day more than a kept request may wait ([`DEFAULT_RECORD_MAX_AGE_SECONDS`]),
/// so that no copy of a delivery outlives its memory.
pub const DEFAULT_IDEMPOTENCY_TTL_SECONDS: u64 = 15 * 24 * 3600;

/// Fourteen days: the dead-letter queue's retention in the template, the longest a kept request
/// waits before an operator replays it.
pub const DEFAULT_RECORD_MAX_AGE_SECONDS: u64 = 14 * 24 * 3600;

/// Seven days: how old a signed form delivery may be.
pub const DEFAULT_SIGNED_DELIVERY_MAX_AGE_SECONDS: u64 = 7 * 24 * 3600;

/// Ten minutes: long enough for a sender's retries, short enough that the same request sent
/// again on purpose (a reminder, a republished message) is delivered again.
pub const DEFAULT_CONTENT_DEDUP_WINDOW_SECONDS: u64 = 600;

#[derive(Debug, Clone)]
pub struct Settings {
    /// `SECRET_ID`: name or ARN of the connection secret.
    pub secret_id: Option<String>,
    /// `SECRET_MAX_AGE_SECONDS` (300): how long a read secret is trusted.
    pub secret_max_age: Duration,
    /// `PHONE_DEFAULT_REGION` (BR): the region of numbers written without a country code.
    pub phone_region: PhoneRegion,
    /// `BATCH_CONCURRENCY` (10): records of one SQS batch processed at the same time.
    pub batch_concurrency: usize,
    /// `PROVIDER_CONNECT_TIMEOUT_MS` (3000).
    pub connect_timeout: Duration,
    /// `PROVIDER_TIMEOUT_MS` (10000): one provider call, all included; never more than the
    /// invocation has left.
    pub request_timeout: Duration,
    /// `PROVIDER_MAX_ATTEMPTS` (3): calls of one delivery when the provider fails transiently.
    pub retry: RetryPolicy,
    /// `IDEMPOTENCY_TABLE`: the DynamoDB table of delivery claims; unset, claims are kept in
    /// the container's memory.
    pub idempotency_table: Option<String>,
    /// `IDEMPOTENCY_TTL_SECONDS` (1296000, 15 days): how long a completed delivery is
    /// remembered. At least `RECORD_MAX_AGE_SECONDS` and `SIGNED_DELIVERY_MAX_AGE_SECONDS`, so
    /// that a delivery is remembered as long as any copy of it can still be run (0 turns
    /// remembering off, for tests).
    pub idempotency_ttl: Duration,
    /// `RECORD_MAX_AGE_SECONDS` (1209600, 14 days): the oldest a kept request (an intake
    /// record) may be, counted from its arrival, and still be run; an older one is a dead letter
    /// `record_expired` unless an operator forces it.
    pub record_max_age: Duration,
    /// `CONTENT_DEDUP_WINDOW_SECONDS` (600, 10 minutes): how long a delivery without an id of
    /// its own (a direct call without `Idempotency-Key`, a form that numbers nothing) is
    /// remembered by its content. Within it, the same request again is a duplicate; after it,
    /// the same request is sent again, as a weekly reminder should be.
    pub content_dedup_window: Duration,
    /// `QUEUE_BACKOFF_SECONDS` (30): how long a queue message that failed for now first stays
    /// out of sight; each receive doubles it, up to SQS's twelve hours, and a provider's
    /// `Retry-After` is waited at least. With the template's `MaxReceiveCount` (14) that is more
    /// than a day of retries before a message becomes a dead letter.
    pub queue_backoff: Duration,
    /// `HTTP_PACE_WAIT_MS` (2000): how long a request whose sender waits on the line may wait
    /// for the connection's turn at the provider ([`crate::pace`]); a turn further away keeps
    /// the request on the function's queue (202) to be sent in its turn.
    pub http_pace_wait: Duration,
    /// `SIGNED_DELIVERY_MAX_AGE_SECONDS` (604800, 7 days): a signed form delivery submitted
    /// longer ago is refused at the HTTP edge: past the idempotency TTL it could no longer be
    /// told from a captured request played again.
    pub signed_delivery_max_age: Duration,
    /// `MAX_SUBMISSIONS_PER_REQUEST` (100): the most submissions one webhook body may deliver
    /// (RD Station's legacy `leads` carries several); more is a 413 and nothing is sent.
    pub max_submissions_per_request: usize,
    /// `DEAD_LETTER_QUEUE_URL`: where SQS records that can never succeed go at once.
    pub dead_letter_queue_url: Option<String>,
    /// `RECORD_KEY_SECRET_ID`: the stack's secret (`{"record_key": "…"}`) that records on the
    /// functions' queues are sealed with ([`crate::intake::RecordKey`]). Required with
    /// `INTAKE_QUEUE_URL`.
    pub record_key_secret_id: Option<String>,
    /// `INTAKE_QUEUE_URL`: the function's own trigger queue, where HTTP requests that cannot be
    /// delivered now are kept to be delivered from the queue (see [`crate::intake`]).
    pub intake_queue_url: Option<String>,
    /// `FAN_OUT_QUEUES`: the trigger queues of the other functions of the stack, as
    /// `<function>=<queue URL>` separated by commas: where a route's `also` hands submissions
    /// (see [`crate::fan_out`]). The stack sets it.
    pub fan_out_queues: Vec<(String, String)>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            secret_id: None,
            secret_max_age: Duration::from_secs(300),
            phone_region: PhoneRegion::default(),
            batch_concurrency: 10,
            connect_timeout: Duration::from_millis(3000),
            request_timeout: Duration::from_millis(10_000),
            retry: RetryPolicy::default(),
            idempotency_table: None,
            idempotency_ttl: Duration::from_secs(DEFAULT_IDEMPOTENCY_TTL_SECONDS),
            record_max_age: Duration::from_secs(DEFAULT_RECORD_MAX_AGE_SECONDS),
            content_dedup_window: Duration::from_secs(DEFAULT_CONTENT_DEDUP_WINDOW_SECONDS),
            queue_backoff: Duration::from_secs(30),
            http_pace_wait: Duration::from_millis(2000),
            signed_delivery_max_age: Duration::from_secs(DEFAULT_SIGNED_DELIVERY_MAX_AGE_SECONDS),
            max_submissions_per_request: 100,
            dead_letter_queue_url: None,
            record_key_secret_id: None,
            intake_queue_url: None,
            fan_out_queues: Vec::new(),
        }
    }
}

/// Reads `FAN_OUT_QUEUES` (`wegly-create-chat=https://sqs…,sacflow-send-message=https://sqs…`).
fn fan_out_queues(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, url)) if !name.trim().is_empty() && !url.trim().is_empty() => {
                Ok((name.trim().to_string(), url.trim().to_string()))
            }
            _ => Err(format!(
                "FAN_OUT_QUEUES: {pair:?} is not <function>=<queue URL>"
            )),
        })
        .collect()
}

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`; an unparsable value is an error naming the variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let defaults = Self::default();
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let number = |name: &str, default: u64| -> Result<u64, String> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .map_err(|_| format!("{name} must be a whole number, not {v:?}")),
            }
        };
        let phone_region = match get("PHONE_DEFAULT_REGION") {
            None => defaults.phone_region,
            Some(v) => v
                .parse()
                .map_err(|e| format!("PHONE_DEFAULT_REGION: {e}"))?,
        };
        let batch_concurrency = number("BATCH_CONCURRENCY", 10)?;
        if batch_concurrency == 0 {
            return Err("BATCH_CONCURRENCY must be at least 1".into());
        }
        Self {
            secret_id: get("SECRET_ID"),
            secret_max_age: Duration::from_secs(number("SECRET_MAX_AGE_SECONDS", 300)?),
            phone_region,
            batch_concurrency: batch_concurrency as usize,
            connect_timeout: Duration::from_millis(number("PROVIDER_CONNECT_TIMEOUT_MS", 3000)?),
            request_timeout: Duration::from_millis(number("PROVIDER_TIMEOUT_MS", 10_000)?),
            retry: RetryPolicy {
                max_attempts: number("PROVIDER_MAX_ATTEMPTS", 3)?.clamp(1, 10) as u32,
                ..RetryPolicy::default()
            },
            idempotency_table: get("IDEMPOTENCY_TABLE"),
            idempotency_ttl: Duration::from_secs(number(
                "IDEMPOTENCY_TTL_SECONDS",
                DEFAULT_IDEMPOTENCY_TTL_SECONDS,
            )?),
            content_dedup_window: Duration::from_secs(number(
                "CONTENT_DEDUP_WINDOW_SECONDS",
                DEFAULT_CONTENT_DEDUP_WINDOW_SECONDS,
            )?),
            record_max_age: Duration::from_secs(number(
                "RECORD_MAX_AGE_SECONDS",
                DEFAULT_RECORD_MAX_AGE_SECONDS,
            )?),
            queue_backoff: Duration::from_secs(number("QUEUE_BACKOFF_SECONDS", 30)?.max(1)),
            http_pace_wait: Duration::from_millis(number("HTTP_PACE_WAIT_MS", 2000)?),
            signed_delivery_max_age: Duration::from_secs(number(
                "SIGNED_DELIVERY_MAX_AGE_SECONDS",
                DEFAULT_SIGNED_DELIVERY_MAX_AGE_SECONDS,
            )?),
            max_submissions_per_request: number("MAX_SUBMISSIONS_PER_REQUEST", 100)?.max(1)
                as usize,
            dead_letter_queue_url: get("DEAD_LETTER_QUEUE_URL"),
            record_key_secret_id: get("RECORD_KEY_SECRET_ID"),
            intake_queue_url: get("INTAKE_QUEUE_URL"),
            fan_out_queues: fan_out_queues(get("FAN_OUT_QUEUES").as_deref().unwrap_or(""))?,
        }
        .with_memory_checked()
    }

    /// A delivery must be remembered as long as any copy of it can still be run: a kept request
    /// until it is too old to run, a signed delivery until it is too old to take. A shorter
    /// memory would let a late copy send a lead twice, so it is refused at start-up.
    fn with_memory_checked(self) -> Result<Self, String> {
        let ttl = self.idempotency_ttl.as_secs();
        let (record, signed) = (
            self.record_max_age.as_secs(),
            self.signed_delivery_max_age.as_secs(),
        );
        let minimum = record.max(signed);
        if ttl != 0 && ttl < minimum {
            let longest = if record >= signed {
                "RECORD_MAX_AGE_SECONDS"
            } else {
                "SIGNED_DELIVERY_MAX_AGE_SECONDS"
            };
            return Err(format!(
                "IDEMPOTENCY_TTL_SECONDS is {ttl}; it must be at least {minimum} ({longest}), so that a delivery is remembered as long as a copy of it can still be run (or 0, to remember nothing)"
            ));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn nothing_is_required() {
        let s = from(&[]).unwrap();
        assert_eq!(s.secret_id, None);
        assert_eq!(s.secret_max_age, Duration::from_secs(300));
        assert_eq!(s.phone_region.code(), "BR");
        assert_eq!(s.idempotency_ttl, Duration::from_secs(15 * 24 * 3600));
        assert_eq!(s.record_max_age, Duration::from_secs(14 * 24 * 3600));
        assert_eq!(s.max_submissions_per_request, 100);
    }

    #[test]
    fn a_memory_shorter_than_a_copy_can_live_is_refused_naming_the_minimum() {
        let short = from(&[("IDEMPOTENCY_TTL_SECONDS", "604800")]).unwrap_err();
        assert!(
            short.contains("at least 1209600 (RECORD_MAX_AGE_SECONDS)"),
            "{short}"
        );
        let signed = from(&[
            ("IDEMPOTENCY_TTL_SECONDS", "1296000"),
            ("SIGNED_DELIVERY_MAX_AGE_SECONDS", "3153600000"),
        ])
        .unwrap_err();
        assert!(
            signed.contains("SIGNED_DELIVERY_MAX_AGE_SECONDS"),
            "{signed}"
        );
        assert!(from(&[("IDEMPOTENCY_TTL_SECONDS", "0")]).is_ok());
        assert!(from(&[("IDEMPOTENCY_TTL_SECONDS", "1209600")]).is_ok());
    }

    #[test]
    fn values_are_read_and_bad_ones_named() {
        let s = from(&[
            ("SECRET_ID", "ponte/x"),
            ("SECRET_MAX_AGE_SECONDS", "5"),
            ("PHONE_DEFAULT_REGION", "pt"),
        ])
        .unwrap();
        assert_eq!(s.secret_id.as_deref(), Some("ponte/x"));
        assert_eq!(s.secret_max_age, Duration::from_secs(5));
        assert_eq!(s.phone_region.code(), "PT");
        assert!(
            from(&[("PROVIDER_TIMEOUT_MS", "soon")])
                .unwrap_err()
                .contains("PROVIDER_TIMEOUT_MS")
        );
        assert!(from(&[("BATCH_CONCURRENCY", "0")]).is_err());
    }
}
