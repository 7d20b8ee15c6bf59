//! When to call a provider again: 429, 5xx and connection failures, with exponential backoff and
//! full jitter, honouring `Retry-After`, and never past the invocation's deadline.
//!
//! A request that timed out waiting for its answer is not repeated: the provider may have acted
//! on it, and a second ticket or WhatsApp message is worse than a failed delivery that SQS or
//! the form builder retries later (where idempotency catches it).

use crate::failure::{Failure, Retry};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls in all, the first included.
    pub max_attempts: u32,
    /// The backoff before the second call; it doubles each time, up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        }
    }
}

/// Time kept back, after a wait, for the call itself and the answer.
const KEEP_FOR_THE_CALL: Duration = Duration::from_millis(500);

/// A `Retry-After` longer than this is not waited out inside the invocation: the failure is
/// answered (with the provider's `Retry-After`) and the sender or SQS tries again later.
const LONGEST_WAIT: Duration = Duration::from_secs(5);

impl RetryPolicy {
    /// How long to wait before call number `attempt + 1` after `failure`, or `None` when no
    /// further call should be made. `random` is a number in [0, 1) for the jitter.
    pub fn delay(
        &self,
        attempt: u32,
        failure: &Failure,
        deadline: Option<Instant>,
        random: f64,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts || failure.retry() != Retry::Now {
            return None;
        }
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_delay);
        let jittered = exponential.mul_f64(random.clamp(0.0, 1.0));
        let wait = match failure {
            Failure::ProviderUnavailable {
                retry_after_seconds: Some(seconds),
                ..
            } => Duration::from_secs(*seconds).max(jittered),
            _ => jittered,
        };
        if wait > LONGEST_WAIT {
            return None;
        }
        match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                (wait + KEEP_FOR_THE_CALL <= left).then_some(wait)
            }
            None => Some(wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable(status: Option<u16>, timed_out: bool, retry_after: Option<u64>) -> Failure {
        Failure::ProviderUnavailable {
            status,
            reason: String::new(),
            body: None,
            retry_after_seconds: retry_after,
            timed_out,
        }
    }

    #[test]
    fn what_is_retried() {
        let now = |failure: Failure| failure.retry() == Retry::Now;
        assert!(now(unavailable(Some(500), false, None)));
        assert!(now(unavailable(Some(503), false, None)));
        assert!(now(unavailable(Some(429), false, None)));
        assert!(now(unavailable(None, false, None)), "connection refused");
        assert!(
            !now(unavailable(None, true, None)),
            "a timeout may have been acted on"
        );
        let rejected = Failure::ProviderRejected {
            status: 422,
            message: String::new(),
            body: serde_json::Value::Null,
        };
        assert!(!now(rejected));
        assert!(!now(Failure::InvalidJson(String::new())));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        let policy = RetryPolicy {
            max_attempts: 10,
            ..RetryPolicy::default()
        };
        let failure = unavailable(Some(502), false, None);
        let at = |attempt, random| policy.delay(attempt, &failure, None, random).unwrap();
        assert_eq!(
            at(1, 0.999_999),
            Duration::from_millis(200).mul_f64(0.999_999)
        );
        assert_eq!(at(2, 0.5), Duration::from_millis(200));
        assert_eq!(at(3, 0.5), Duration::from_millis(400));
        assert_eq!(at(9, 1.0), Duration::from_secs(2), "capped");
        assert_eq!(at(3, 0.0), Duration::ZERO);
    }

    #[test]
    fn attempts_and_deadlines_bound_the_retries() {
        let policy = RetryPolicy::default();
        let failure = unavailable(Some(500), false, None);
        assert!(
            policy.delay(3, &failure, None, 0.5).is_none(),
            "three calls at most"
        );
        let soon = Instant::now() + Duration::from_millis(400);
        assert!(
            policy.delay(1, &failure, Some(soon), 0.5).is_none(),
            "no time for another call"
        );
        let later = Instant::now() + Duration::from_secs(30);
        assert!(policy.delay(1, &failure, Some(later), 0.5).is_some());
    }

    #[test]
    fn retry_after_is_honoured_when_there_is_time() {
        let policy = RetryPolicy::default();
        let failure = unavailable(Some(429), false, Some(2));
        assert_eq!(
            policy.delay(1, &failure, None, 0.1),
            Some(Duration::from_secs(2))
        );
        let later = Instant::now() + Duration::from_secs(30);
        assert_eq!(
            policy.delay(1, &failure, Some(later), 0.1),
            Some(Duration::from_secs(2))
        );
        let soon = Instant::now() + Duration::from_secs(2);
        assert!(policy.delay(1, &failure, Some(soon), 0.1).is_none());
        let long = unavailable(Some(429), false, Some(60));
        assert!(
            policy.delay(1, &long, None, 0.1).is_none(),
            "left to the sender or SQS"
        );
    }
}
