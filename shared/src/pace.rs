//! The provider's pace: no more calls a second than the connection allows, counted across every
//! instance of every function that calls with that connection.
//!
//! Each call takes a turn. Turns are kept as one moment per connection (the "theoretical
//! arrival time" of GCRA, the cell-rate algorithm of ATM networks): each turn taken moves it on
//! by one interval (`1 / requests_per_second`), and a call goes when that moment is less than
//! half a second ahead of now, else it sleeps until it is. So an idle connection lets half a
//! second's worth of calls go at once (a batch of ten is not spaced out), which the providers'
//! limiters let through (a token bucket, or Chatwoot's per-minute window), and a longer burst
//! leaves at exactly the allowed rate, evenly spaced. The rate holds however many instances share the connection,
//! because the moment lives in the DynamoDB table the functions already share for idempotency
//! (one conditional update per call, `pace#<connection>` items that expire an hour after their
//! last use).
//!
//! A call waits for its turn only as long as its caller can ([`Patience`]): a turn further
//! away is not taken, and the call fails with [`Failure::Paced`] naming the wait. A form
//! sender's request is then kept on the function's queue (202) and an SQS record is returned
//! to its queue hidden for exactly that wait. A 429 from the provider holds every turn of the
//! connection until its `Retry-After` (one second when it says nothing), so the whole fleet
//! slows down, not only the call that was refused.
//!
//! Without a table (a local run), or when the table cannot be reached, turns are kept in the
//! instance's memory: the rate then holds per instance.

use crate::aws::LazyClient;
use crate::failure::Failure;
use crate::idempotency::now_ms;
use futures::FutureExt;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most a connection may allow: beyond it a turn would be shorter than a DynamoDB call.
pub const MAX_REQUESTS_PER_SECOND: f64 = 1000.0;

/// The fewest: one call an hour.
pub const MIN_REQUESTS_PER_SECOND: f64 = 1.0 / 3600.0;

/// How long a 429 without `Retry-After` holds the connection's turns.
const HOLD_WITHOUT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// How a connection's turns come: one every `interval_us`, and up to `tolerance_us` of them ahead
/// of time (a burst), in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    pub interval_us: u64,
    pub tolerance_us: u64,
}

impl Cadence {
    /// `requests_per_second`, with a burst of half a second's worth (one call when less than
    /// two a second are allowed). Half, not all of it: a provider that lets a second's worth
    /// through keeps the other half as headroom for the calls' own jitter on the way, which
    /// would otherwise meet its limit exactly and now and then draw a 429.
    pub fn of(requests_per_second: f64) -> Self {
        let rate = requests_per_second.clamp(MIN_REQUESTS_PER_SECOND, MAX_REQUESTS_PER_SECOND);
        let interval_us = (1_000_000.0 / rate).round() as u64;
        let burst = (rate / 2.0).floor().max(1.0) as u64;
        Self {
            interval_us,
            tolerance_us: (burst - 1) * interval_us,
        }
    }

    /// When the turn of a connection whose next moment is `next` comes, asked at `now`.
    fn turn(self, next: u64, now: u64) -> u64 {
        next.saturating_sub(self.tolerance_us).max(now)
    }
}

/// What a turn request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// The turn is ours, at this moment (microseconds since the epoch; now or later).
    At(u64),
    /// Every turn up to the latest we would take is gone: the next is free at this moment.
    Later(u64),
}

/// Where the turns of each connection are kept.
pub trait TurnStore: Send + Sync {
    /// Takes the next turn of `key` if it comes no later than `latest_us`, moving the
    /// connection's moment on by one interval.
    fn take<'a>(
        &'a self,
        key: &'a str,
        cadence: Cadence,
        now_us: u64,
        latest_us: u64,
    ) -> BoxFuture<'a, Result<Turn, String>>;

    /// Moves the connection's moment to `next_us` at least.
    fn hold<'a>(&'a self, key: &'a str, next_us: u64) -> BoxFuture<'a, Result<(), String>>;

    fn describe(&self) -> String;
}

/// Turns kept in this instance's memory.
#[derive(Default)]
pub struct InMemoryTurns {
    next: Mutex<HashMap<String, u64>>,
}

impl InMemoryTurns {
    fn take_now(&self, key: &str, cadence: Cadence, now_us: u64, latest_us: u64) -> Turn {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        // An idle connection's moment is now: no credit for the time it was idle.
        let moment = next.get(key).copied().unwrap_or(0).max(now_us);
        let at = cadence.turn(moment, now_us);
        if at <= latest_us {
            next.insert(key.to_string(), moment + cadence.interval_us);
            Turn::At(at)
        } else {
            Turn::Later(at)
        }
    }
}

impl TurnStore for InMemoryTurns {
    fn take<'a>(
        &'a self,
        key: &'a str,
        cadence: Cadence,
        now_us: u64,
        latest_us: u64,
    ) -> BoxFuture<'a, Result<Turn, String>> {
        let turn = self.take_now(key, cadence, now_us, latest_us);
        futures::future::ready(Ok(turn)).boxed()
    }

    fn hold<'a>(&'a self, key: &'a str, next_us: u64) -> BoxFuture<'a, Result<(), String>> {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let at = next.entry(key.to_string()).or_default();
        *at = (*at).max(next_us);
        futures::future::ready(Ok(())).boxed()
    }

    fn describe(&self) -> String {
        "this instance's memory".into()
    }
}

/// Turns kept in the DynamoDB table shared by the stack's functions (the idempotency table).
pub struct DynamoTurns {
    client: Arc<LazyClient<aws_sdk_dynamodb::Client>>,
    table: String,
}

impl DynamoTurns {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self::with_client(Arc::new(LazyClient::Ready(client)), table)
    }

    /// With the client the function's idempotency store uses: one client for the table.
    pub fn with_client(
        client: Arc<LazyClient<aws_sdk_dynamodb::Client>>,
        table: impl Into<String>,
    ) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// An update of connection `key`'s item that keeps it an hour past `at_us`.
    fn update(
        &self,
        key: &str,
        at_us: u64,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        use aws_sdk_dynamodb::types::AttributeValue;
        self.client
            .get()
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(format!("pace#{key}")))
            .expression_attribute_values(":exp", AttributeValue::N(expiration(at_us)))
    }
}

/// Pace items outlive their last use by an hour (the table's TTL attribute, in seconds).
fn expiration(now_us: u64) -> String {
    (now_us / 1_000_000 + 3600).to_string()
}

fn number(value: u64) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::N(value.to_string())
}

fn read_next(item: &HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) -> Option<u64> {
    item.get("next_us")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

impl TurnStore for DynamoTurns {
    fn take<'a>(
        &'a self,
        key: &'a str,
        cadence: Cadence,
        now_us: u64,
        latest_us: u64,
    ) -> BoxFuture<'a, Result<Turn, String>> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        // The moment may be this far ahead for the turn to come by `latest_us`.
        let reach = latest_us + cadence.tolerance_us;
        use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
        async move {
            // A few rounds at most: each lost race means another caller took a turn.
            for _ in 0..4 {
                // The usual case under load: the connection's moment is ahead of now and its
                // turn within reach. One atomic step takes it, however many callers do the same.
                let ahead = self
                    .update(key, now_us)
                    .update_expression("SET next_us = next_us + :interval, expiration = :exp")
                    .condition_expression("next_us BETWEEN :now AND :reach")
                    .expression_attribute_values(":interval", number(cadence.interval_us))
                    .expression_attribute_values(":now", number(now_us))
                    .expression_attribute_values(":reach", number(reach))
                    .return_values(ReturnValue::UpdatedNew)
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .send()
                    .await;
                let found = match ahead {
                    Ok(taken) => {
                        let next = taken.attributes().and_then(read_next).ok_or_else(|| {
                            format!("DynamoDB UpdateItem on {} returned no turn", self.table)
                        })?;
                        let moment = next.saturating_sub(cadence.interval_us);
                        return Ok(Turn::At(cadence.turn(moment, now_us)));
                    }
                    Err(error) => match error.into_service_error() {
                        UpdateItemError::ConditionalCheckFailedException(failed) => {
                            failed.item().and_then(read_next)
                        }
                        other => {
                            return Err(format!("DynamoDB UpdateItem on {}: {other}", self.table));
                        }
                    },
                };
                match found {
                    Some(next) if next > reach => {
                        return Ok(Turn::Later(cadence.turn(next, now_us)));
                    }
                    // Within reach after all (it moved between the two reads): take it.
                    Some(next) if next >= now_us => continue,
                    // Free now (the connection was idle, or is new): the turn is now.
                    _ => {}
                }
                let idle = self
                    .update(key, now_us)
                    .update_expression("SET next_us = :next, expiration = :exp")
                    .condition_expression("attribute_not_exists(next_us) OR next_us < :now")
                    .expression_attribute_values(":next", number(now_us + cadence.interval_us))
                    .expression_attribute_values(":now", number(now_us))
                    .send()
                    .await;
                match idle {
                    Ok(_) => return Ok(Turn::At(now_us)),
                    Err(error) => match error.into_service_error() {
                        // Someone took the free turn first: take the next one.
                        UpdateItemError::ConditionalCheckFailedException(_) => continue,
                        other => {
                            return Err(format!("DynamoDB UpdateItem on {}: {other}", self.table));
                        }
                    },
                }
            }
            Err(format!(
                "no turn after four rounds of contention in {}",
                self.table
            ))
        }
        .boxed()
    }

    fn hold<'a>(&'a self, key: &'a str, next_us: u64) -> BoxFuture<'a, Result<(), String>> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        async move {
            let held = self
                .update(key, next_us)
                .update_expression("SET next_us = :until, expiration = :exp")
                .condition_expression("attribute_not_exists(next_us) OR next_us < :until")
                .expression_attribute_values(":until", number(next_us))
                .send()
                .await;
            match held {
                Ok(_) => Ok(()),
                Err(error) => match error.into_service_error() {
                    // Already held as long or longer.
                    UpdateItemError::ConditionalCheckFailedException(_) => Ok(()),
                    other => Err(format!("DynamoDB UpdateItem on {}: {other}", self.table)),
                },
            }
        }
        .boxed()
    }

    fn describe(&self) -> String {
        format!("DynamoDB table {}", self.table)
    }
}

/// How long a call may wait for its turn: a sender on the line briefly, a queued record as long
/// as its invocation allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// At most this long (a form or a direct caller waiting for the answer).
    Brief(Duration),
    /// As long as the invocation leaves time for the call itself.
    Invocation,
}

/// The latest moment a turn may be taken: within the caller's patience, and, before the
/// invocation's deadline, early enough to leave the call its own timeout (or half of the time
/// left, when less than twice that is left).
pub fn latest_turn(
    now: Instant,
    patience: Patience,
    deadline: Option<Instant>,
    call_timeout: Duration,
) -> Duration {
    /// Without a deadline (a local run), a queued record still waits no more than this.
    const WITHOUT_DEADLINE: Duration = Duration::from_secs(20);
    let by_deadline = match deadline {
        Some(deadline) => {
            let left = deadline.saturating_duration_since(now);
            left.saturating_sub(call_timeout.min(left / 2))
        }
        None => WITHOUT_DEADLINE,
    };
    match patience {
        Patience::Brief(wait) => wait.min(by_deadline),
        Patience::Invocation => by_deadline,
    }
}

/// The pace of one function's provider calls.
pub struct Pace {
    store: Arc<dyn TurnStore>,
    /// Kept apart so that a table that cannot be reached slows the calls down to this instance's
    /// own pace rather than stopping them.
    fallback: InMemoryTurns,
}

impl Default for Pace {
    fn default() -> Self {
        Self::new(Arc::new(InMemoryTurns::default()))
    }
}

impl Pace {
    pub fn new(store: Arc<dyn TurnStore>) -> Self {
        Self {
            store,
            fallback: InMemoryTurns::default(),
        }
    }

    /// Waits for the connection's next turn, if it comes within `within`; else fails with
    /// [`Failure::Paced`], naming how long until a turn is free.
    pub async fn wait_turn(
        &self,
        key: &str,
        requests_per_second: f64,
        within: Duration,
    ) -> Result<(), Failure> {
        let cadence = Cadence::of(requests_per_second);
        let asked_at = now_us();
        let latest = asked_at + within.as_micros() as u64;
        let turn = match self.store.take(key, cadence, asked_at, latest).await {
            Ok(turn) => turn,
            Err(message) => {
                tracing::warn!(
                    "the provider's pace could not be kept in {} ({message}): this instance keeps its own",
                    self.store.describe()
                );
                self.fallback.take_now(key, cadence, asked_at, latest)
            }
        };
        match turn {
            Turn::At(at) => {
                let wait = Duration::from_micros(at.saturating_sub(now_us()));
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                Ok(())
            }
            Turn::Later(free) => Err(Failure::Paced {
                wait_seconds: Duration::from_micros(free.saturating_sub(asked_at))
                    .as_secs_f64()
                    .ceil()
                    .max(1.0) as u64,
            }),
        }
    }

    /// The provider refused a call for its rate (429): no turn of the connection before its
    /// `Retry-After`, here and in every other instance.
    pub async fn hold(&self, key: &str, requests_per_second: f64, retry_after: Option<Duration>) {
        let until = now_us() + retry_after.unwrap_or(HOLD_WITHOUT_RETRY_AFTER).as_micros() as u64;
        // The moment at which the first turn comes again is `until`.
        let next = until + Cadence::of(requests_per_second).tolerance_us;
        let _ = self.fallback.hold(key, next).await;
        if let Err(message) = self.store.hold(key, next).await {
            tracing::warn!(
                "the provider's 429 could not be shared through {} ({message}): only this instance waits",
                self.store.describe()
            );
        }
    }
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(now_ms() * 1000, |d| d.as_micros() as u64)
}

/// The name of a connection's turns: the provider's host and the credentials the call carries,
/// hashed, so that every function calling with the same credentials shares one pace and nothing
/// of the credentials is stored.
pub fn connection_key(url: &str, headers: &[(&'static str, String)]) -> String {
    use sha2::{Digest, Sha256};
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let mut hash = Sha256::new();
    hash.update(host.as_bytes());
    for (name, value) in headers {
        hash.update([0]);
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update(value.as_bytes());
    }
    hash.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVEN: Cadence = Cadence {
        interval_us: 100_000,
        tolerance_us: 0,
    };

    #[tokio::test]
    async fn turns_are_spaced_by_the_interval_and_refused_beyond_reach() {
        let turns = InMemoryTurns::default();
        let now = 1_000_000;
        let latest = now + 250_000;
        for at in [now, now + 100_000, now + 200_000] {
            assert_eq!(
                turns.take("c", EVEN, now, latest).await.unwrap(),
                Turn::At(at)
            );
        }
        for _ in 0..2 {
            assert_eq!(
                turns.take("c", EVEN, now, latest).await.unwrap(),
                Turn::Later(now + 300_000),
                "beyond reach: not taken, and a refused turn is not used up"
            );
        }
        // Another connection has its own turns.
        assert_eq!(
            turns.take("d", EVEN, now, now).await.unwrap(),
            Turn::At(now)
        );
        // An idle connection starts again from now, with no credit for the idle time.
        let later = now + 10_000_000;
        assert_eq!(
            turns.take("c", EVEN, later, later).await.unwrap(),
            Turn::At(later)
        );
        assert_eq!(
            turns.take("c", EVEN, later, later).await.unwrap(),
            Turn::Later(later + 100_000)
        );
    }

    #[tokio::test]
    async fn an_idle_connection_lets_half_a_seconds_worth_go_at_once_then_keeps_the_rate() {
        let cadence = Cadence::of(10.0);
        assert_eq!(
            cadence,
            Cadence {
                interval_us: 100_000,
                tolerance_us: 400_000
            }
        );
        let turns = InMemoryTurns::default();
        let now = 1_000_000;
        let mut taken = Vec::new();
        for _ in 0..8 {
            match turns
                .take("c", cadence, now, now + 10_000_000)
                .await
                .unwrap()
            {
                Turn::At(at) => taken.push(at - now),
                later => panic!("{later:?}"),
            }
        }
        assert_eq!(
            taken,
            [0, 0, 0, 0, 0, 100_000, 200_000, 300_000],
            "five at once, then one every 100 ms"
        );
    }

    #[tokio::test]
    async fn a_hold_moves_every_turn_past_it() {
        let turns = InMemoryTurns::default();
        turns.hold("c", 5_000_000).await.unwrap();
        assert_eq!(
            turns.take("c", EVEN, 1_000_000, 2_000_000).await.unwrap(),
            Turn::Later(5_000_000)
        );
        turns.hold("c", 3_000_000).await.unwrap();
        assert_eq!(
            turns.take("c", EVEN, 1_000_000, 6_000_000).await.unwrap(),
            Turn::At(5_000_000),
            "a shorter hold does not shorten a longer one"
        );
    }

    #[test]
    fn the_latest_turn_leaves_the_call_its_time() {
        let now = Instant::now();
        let call = Duration::from_secs(10);
        let lambda = Some(now + Duration::from_secs(30));
        assert_eq!(
            latest_turn(now, Patience::Invocation, lambda, call),
            Duration::from_secs(20)
        );
        assert_eq!(
            latest_turn(now, Patience::Brief(Duration::from_secs(2)), lambda, call),
            Duration::from_secs(2)
        );
        // A sender that waits 4 seconds: half of it for the turn, half for the call.
        let elementor = Some(now + Duration::from_secs(4));
        assert_eq!(
            latest_turn(
                now,
                Patience::Brief(Duration::from_secs(3)),
                elementor,
                call
            ),
            Duration::from_secs(2)
        );
        let past = Some(now);
        assert_eq!(
            latest_turn(now, Patience::Invocation, past, call),
            Duration::ZERO
        );
    }

    #[test]
    fn rates_become_cadences_within_bounds() {
        assert_eq!(Cadence::of(50.0).interval_us, 20_000);
        assert_eq!(Cadence::of(50.0).tolerance_us, 24 * 20_000);
        assert_eq!(
            Cadence::of(1.5),
            Cadence {
                interval_us: 666_667,
                tolerance_us: 0
            },
            "one at a time"
        );
        assert_eq!(
            Cadence::of(1e9).interval_us,
            1_000,
            "at most a thousand a second"
        );
        assert_eq!(
            Cadence::of(0.0).interval_us,
            3_600_000_000,
            "at least one an hour"
        );
    }

    #[test]
    fn a_connection_is_named_by_its_host_and_credentials_without_showing_them() {
        let token = |t: &str| vec![("api_access_token", t.to_string())];
        let a = connection_key(
            "https://chat.example.com/api/v1/accounts/1/x",
            &token("s3cr3t"),
        );
        let same = connection_key(
            "https://chat.example.com/api/v1/accounts/1/y",
            &token("s3cr3t"),
        );
        let other = connection_key(
            "https://chat.example.com/api/v1/accounts/1/x",
            &token("other"),
        );
        assert_eq!(a, same, "every call of one connection shares its pace");
        assert_ne!(a, other);
        assert!(!a.contains("s3cr3t") && a.len() == 24, "{a}");
    }

    #[tokio::test]
    async fn a_caller_waits_for_its_turn_or_is_told_how_long_until_one() {
        let pace = Pace::default();
        let started = Instant::now();
        // At two a second: one at once, then one every 500 ms.
        for _ in 0..2 {
            pace.wait_turn("c", 2.0, Duration::from_secs(1))
                .await
                .unwrap();
        }
        assert!(
            started.elapsed() >= Duration::from_millis(450),
            "the second turn of two a second waits: {:?}",
            started.elapsed()
        );
        pace.hold("c", 2.0, Some(Duration::from_secs(3))).await;
        match pace.wait_turn("c", 2.0, Duration::from_secs(1)).await {
            Err(Failure::Paced { wait_seconds }) => assert_eq!(wait_seconds, 3),
            other => panic!("{other:?}"),
        }
    }
}
