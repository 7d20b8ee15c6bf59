//! Every way one delivery can fail, and what each means for the caller.
//!
//! One enum serves both triggers: the HTTP trigger turns a failure into a status code and a JSON
//! body, the SQS trigger into a batch item failure. Messages never carry tokens; personal data
//! the caller sent may come back to that caller in the body, but the logs only get the kind.

use crate::validate::Problems;
use serde_json::{Value, json};

/// Whether, and when, a failed delivery may succeed if tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Now, within the invocation: the provider did not act on the call.
    Now,
    /// Later, unchanged: something Ponte depends on is briefly unavailable, or the outcome of
    /// the first try is not yet known.
    Later,
    /// Once an operator has fixed the setup (a secret, a mapping, the provider token).
    AfterAFix,
    /// Never: the input itself is wrong, or the provider refused it.
    Never,
}

impl Retry {
    /// True when a later try of the very same delivery may succeed without anyone acting.
    pub fn may_succeed_later(self) -> bool {
        matches!(self, Retry::Now | Retry::Later)
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum Failure {
    /// The body could not be read as JSON (or was empty).
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(String),
    /// The body could not be read at all (bad base64 from API Gateway, no body in a record).
    #[error("the body cannot be read: {0}")]
    InvalidBody(String),
    /// The body is JSON but not a valid request for this action.
    #[error("the request is invalid: {0}")]
    Invalid(Problems),
    /// The body is larger than Ponte accepts (see [`crate::limits::MAX_BODY_BYTES`]).
    #[error("the body is {0} bytes; the most Ponte accepts is {max}", max = crate::limits::MAX_BODY_BYTES)]
    TooLarge(usize),
    /// The request could not be kept on the queue to be delivered later (see
    /// [`crate::intake::largest_record`]).
    #[error("the request would take {0} bytes to keep on the function's queue; the most is {max}: send a smaller body or a shorter query string", max = crate::limits::MAX_RECORD_BYTES)]
    TooLargeToKeep(usize),
    /// One webhook carrying more submissions than a request may deliver.
    #[error("the body carries {count} submissions; the most one request may deliver is {max}")]
    TooManySubmissions { count: usize, max: usize },
    /// An `Idempotency-Key` that cannot be one (too long, not printable).
    #[error("the Idempotency-Key header {0}")]
    InvalidIdempotencyKey(String),
    /// A key that already names another request: nothing of that request is told.
    #[error(
        "this idempotency key was used for a different request; use a new key for a new request"
    )]
    KeyReused,
    /// A signed delivery older than the deliveries Ponte remembers: a replay, or a builder
    /// retrying for longer than Ponte could tell it from a duplicate.
    #[error(
        "this delivery was submitted {age_days} days ago; deliveries older than {max_days} days are refused"
    )]
    Stale { age_days: u64, max_days: u64 },
    /// A kept request (an intake record) older than any delivery Ponte remembers: run now, it
    /// could send a lead a second time. An operator may force it (`scripts/replay --force`).
    #[error(
        "this request arrived {age_days} days ago; kept requests older than {max_days} days are not run, as their deliveries may have been forgotten (redrive it with --force to run it anyway)"
    )]
    RecordExpired { age_days: u64, max_days: u64 },
    /// A direct call whose body says it is not JSON.
    #[error("the Content-Type is {0:?}: send the provider's request as application/json")]
    UnsupportedMediaType(String),
    /// A webhook without the signature or token its source's settings require.
    #[error("not authorized: {0}")]
    Unauthorized(String),
    /// The webhook URL names a form source that does not exist.
    #[error("{0}")]
    UnknownSource(String),
    /// The same delivery is being made by another invocation right now.
    #[error("this delivery is already in progress; try again shortly")]
    InProgress,
    /// The idempotency store could not be reached: without it a retry could send twice, so the
    /// delivery is refused for now (fail closed).
    #[error("the idempotency store is unavailable: {0}")]
    IdempotencyUnavailable(String),
    /// Anything but POST on the HTTP trigger.
    #[error("method {0} is not allowed: send a POST with a JSON body")]
    MethodNotAllowed(String),
    /// The function is set up wrongly (no SECRET_ID, secret missing, malformed or denied).
    #[error("configuration error: {0}")]
    Configuration(String),
    /// The webhook URL asks for a mapping the connection secret does not have. Told to the
    /// caller, who has proved who they are by then; a 500, so that builders that retry deliver
    /// once the secret is fixed.
    #[error("configuration error: {0}")]
    UnknownMapping(String),
    /// Another function's queue did not take a submission a route hands it (`also`); trying
    /// again later may work, and the target's own key keeps it from being sent twice.
    #[error("the submission could not be handed to {function}: {reason}")]
    HandOverUnavailable { function: String, reason: String },
    /// Secrets Manager could not be reached or failed; trying again later may work.
    #[error(
        "the provider's allowance for this connection is taken for the next {wait_seconds} s; nothing was sent"
    )]
    Paced { wait_seconds: u64 },
    #[error("the connection secret could not be read: {0}")]
    SecretUnavailable(String),
    /// The provider answered with a 4xx (other than 429): the same request will fail again.
    #[error("the provider refused the request (HTTP {status}): {message}")]
    ProviderRejected {
        status: u16,
        message: String,
        body: Value,
    },
    /// The provider answered 5xx or 429, or could not be reached in time; trying again may work.
    #[error("the provider is unavailable: {reason}")]
    ProviderUnavailable {
        status: Option<u16>,
        reason: String,
        body: Option<Value>,
        retry_after_seconds: Option<u64>,
        timed_out: bool,
    },
}

impl Failure {
    /// A short, stable name for logs, metrics and the JSON answer.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::InvalidJson(_) => "invalid_json",
            Failure::InvalidBody(_) => "invalid_body",
            Failure::Invalid(_) => "validation",
            Failure::MethodNotAllowed(_) => "method_not_allowed",
            Failure::Unauthorized(_) => "unauthorized",
            Failure::TooLarge(_) | Failure::TooLargeToKeep(_) => "too_large",
            Failure::TooManySubmissions { .. } => "too_many_submissions",
            Failure::InvalidIdempotencyKey(_) => "invalid_idempotency_key",
            Failure::KeyReused => "idempotency_key_reused",
            Failure::Stale { .. } => "stale_delivery",
            Failure::RecordExpired { .. } => "record_expired",
            Failure::UnsupportedMediaType(_) => "unsupported_media_type",
            Failure::InProgress => "in_progress",
            Failure::IdempotencyUnavailable(_) => "idempotency_unavailable",
            Failure::UnknownSource(_) => "unknown_source",
            Failure::Configuration(_) | Failure::UnknownMapping(_) => "configuration",
            Failure::SecretUnavailable(_) => "secret_unavailable",
            Failure::HandOverUnavailable { .. } => "hand_over_unavailable",
            Failure::Paced { .. } => "paced",
            Failure::ProviderRejected { .. } => "provider_rejected",
            Failure::ProviderUnavailable {
                timed_out: true, ..
            } => "provider_timeout",
            Failure::ProviderUnavailable { .. } => "provider_unavailable",
        }
    }

    /// The status the HTTP trigger answers with. Never a bare 500: a configuration error is a
    /// 500 with a body that says what to fix.
    pub fn http_status(&self) -> u16 {
        match self {
            Failure::InvalidJson(_) | Failure::InvalidBody(_) | Failure::Invalid(_) => 400,
            Failure::MethodNotAllowed(_) => 405,
            Failure::Unauthorized(_) => 401,
            Failure::TooLarge(_)
            | Failure::TooLargeToKeep(_)
            | Failure::TooManySubmissions { .. } => 413,
            Failure::InvalidIdempotencyKey(_)
            | Failure::Stale { .. }
            | Failure::RecordExpired { .. } => 400,
            Failure::KeyReused => 409,
            Failure::UnsupportedMediaType(_) => 415,
            Failure::InProgress => 409,
            Failure::IdempotencyUnavailable(_) => 503,
            Failure::UnknownSource(_) => 404,
            Failure::Configuration(_) | Failure::UnknownMapping(_) => 500,
            Failure::SecretUnavailable(_)
            | Failure::HandOverUnavailable { .. }
            | Failure::Paced { .. } => 503,
            Failure::ProviderRejected { .. } => 422,
            Failure::ProviderUnavailable {
                timed_out: true, ..
            } => 504,
            Failure::ProviderUnavailable {
                status: Some(429), ..
            } => 503,
            Failure::ProviderUnavailable { .. } => 502,
        }
    }

    /// Whether, and when, the same delivery may succeed: the one answer every retrying part of
    /// Ponte (the provider call, the SQS trigger, the durable intake) acts on.
    pub fn retry(&self) -> Retry {
        match self {
            // No answer at all (refused or dropped connections), a rate limit or a server error:
            // nothing was acted on, so calling again cannot duplicate anything.
            Failure::ProviderUnavailable {
                status: Some(status),
                ..
            } if *status == 429 || (500..=599).contains(status) => Retry::Now,
            Failure::ProviderUnavailable {
                status: None,
                timed_out: false,
                ..
            } => Retry::Now,
            // A timeout may have been acted on: only the idempotent redelivery may try again.
            Failure::ProviderUnavailable { .. }
            | Failure::SecretUnavailable(_)
            | Failure::HandOverUnavailable { .. }
            | Failure::Paced { .. }
            | Failure::InProgress
            | Failure::IdempotencyUnavailable(_) => Retry::Later,
            // Our credentials, or the setup: the same delivery succeeds once an operator fixes it.
            Failure::ProviderRejected {
                status: 401 | 403, ..
            }
            | Failure::Configuration(_)
            | Failure::UnknownMapping(_)
            | Failure::Unauthorized(_)
            | Failure::MethodNotAllowed(_) => Retry::AfterAFix,
            Failure::InvalidJson(_)
            | Failure::InvalidBody(_)
            | Failure::Invalid(_)
            | Failure::TooLarge(_)
            | Failure::TooLargeToKeep(_)
            | Failure::TooManySubmissions { .. }
            | Failure::InvalidIdempotencyKey(_)
            | Failure::KeyReused
            | Failure::Stale { .. }
            | Failure::RecordExpired { .. }
            | Failure::UnsupportedMediaType(_)
            | Failure::UnknownSource(_)
            | Failure::ProviderRejected { .. } => Retry::Never,
        }
    }

    /// The provider's HTTP status, when the provider answered.
    /// How long to wait before trying again, when it is known: the provider's `Retry-After`,
    /// or the time until the connection's next turn ([`crate::pace`]).
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Failure::ProviderUnavailable {
                retry_after_seconds,
                ..
            } => *retry_after_seconds,
            Failure::Paced { wait_seconds } => Some(*wait_seconds),
            _ => None,
        }
    }

    pub fn provider_status(&self) -> Option<u16> {
        match self {
            Failure::ProviderRejected { status, .. } => Some(*status),
            Failure::ProviderUnavailable { status, .. } => *status,
            _ => None,
        }
    }

    /// What a caller is told. Failures of Ponte's own setup (the secret, its store, the
    /// idempotency table) are told by kind only: their messages name ARNs, accounts and tables,
    /// which belong in the log (under the request id the answer carries), not in the answer to
    /// whoever called.
    pub fn public_message(&self) -> String {
        match self {
            Failure::Configuration(_) => {
                "the function is not configured correctly; its log has the details".into()
            }
            Failure::SecretUnavailable(_) => {
                "the connection secret could not be read; try again later".into()
            }
            Failure::IdempotencyUnavailable(_) => {
                "the idempotency store is unavailable; try again later".into()
            }
            other => other.to_string(),
        }
    }

    /// `{"kind", "message", "fields"?}` for the JSON answer.
    pub fn to_json(&self) -> Value {
        let mut error = json!({ "kind": self.kind(), "message": self.public_message() });
        if let Failure::Invalid(problems) = self {
            error["fields"] = json!(problems.list());
            if problems.more() > 0 {
                error["more_problems"] = json!(problems.more());
            }
        }
        error
    }

    /// The provider's answer `{"status", "body"}`, when there was one.
    pub fn provider_json(&self) -> Option<Value> {
        match self {
            Failure::ProviderRejected { status, body, .. } => {
                Some(json!({ "status": status, "body": body }))
            }
            Failure::ProviderUnavailable {
                status: Some(status),
                body,
                ..
            } => Some(json!({ "status": status, "body": body })),
            _ => None,
        }
    }
}

impl From<Problems> for Failure {
    fn from(problems: Problems) -> Self {
        Failure::Invalid(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_contract() {
        let unavailable = |status, timed_out| Failure::ProviderUnavailable {
            status,
            reason: String::new(),
            body: None,
            retry_after_seconds: None,
            timed_out,
        };
        assert_eq!(Failure::InvalidJson("x".into()).http_status(), 400);
        assert_eq!(unavailable(Some(500), false).http_status(), 502);
        assert_eq!(unavailable(Some(429), false).http_status(), 503);
        assert_eq!(unavailable(None, true).http_status(), 504);
        assert_eq!(unavailable(None, false).http_status(), 502);
        assert_eq!(unavailable(None, false).retry(), Retry::Now);
        assert_eq!(unavailable(None, true).retry(), Retry::Later);
        assert_eq!(unavailable(Some(400), false).retry(), Retry::Later);
        let rejected = Failure::ProviderRejected {
            status: 404,
            message: "Resource could not be found".into(),
            body: json!({"error": "Resource could not be found"}),
        };
        assert_eq!(rejected.http_status(), 422);
        assert_eq!(rejected.retry(), Retry::Never);
        let token_refused = Failure::ProviderRejected {
            status: 401,
            message: String::new(),
            body: json!(null),
        };
        assert_eq!(token_refused.retry(), Retry::AfterAFix);
        assert_eq!(
            Failure::SecretUnavailable(String::new()).retry(),
            Retry::Later
        );
        assert_eq!(
            Failure::Configuration(String::new()).retry(),
            Retry::AfterAFix
        );
        assert_eq!(rejected.provider_json().unwrap()["status"], 404);
    }

    #[test]
    fn callers_are_not_told_where_the_setup_lives() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ponte/x-AbCdEf";
        for failure in [
            Failure::Configuration(format!("the secret {arn} does not exist")),
            Failure::SecretUnavailable(format!("{arn}: throttled")),
            Failure::IdempotencyUnavailable("table ponte-Idempotency-1X: timeout".into()),
        ] {
            let json = failure.to_json().to_string();
            assert!(
                !json.contains("123456789012") && !json.contains("ponte-Idempotency"),
                "{json}"
            );
            assert!(
                failure.to_string().contains("arn:aws") || failure.to_string().contains("table")
            );
        }
    }

    #[test]
    fn validation_failures_list_their_fields() {
        let failure = Failure::from(Problems::single("inbox_id", "is required"));
        let json = failure.to_json();
        assert_eq!(json["kind"], "validation");
        assert_eq!(json["fields"][0]["field"], "inbox_id");
    }
}
