//! One HTTP request from its URL to what became of it, as its stages: the path a fresh request
//! takes on the HTTP trigger, and the path a kept one ([`crate::intake`]) takes again from the
//! queue.
//!
//! [`receive`] reads top to bottom: **endpoint** (a direct call or a form source, from the URL) →
//! **admit** (method and media type) → **authenticate** (signature or token, against the
//! connection secret) → **decode** (the provider's request, or the source's submissions) →
//! **map** (each submission through its mapping, each with its delivery id) → **deliver each**
//! (or, in a dry run, say what each would send). A stage that ends the request early says what
//! became of it; what is kept and what is answered is decided after, from that
//! ([`crate::received::Received::disposition`]).

use crate::action::Action;
use crate::app::App;
use crate::authenticity::{self, Verdict};
use crate::endpoint::Endpoint;
use crate::failure::Failure;
use crate::forms::{self, Decoded, Submission};
use crate::idempotency;
use crate::intake::Proof;
use crate::limits::MAX_RECORD_BYTES;
use crate::mapping::{Context, Mapping};
use crate::received::{Received, SubmissionPreview, SubmissionReport};
use crate::report::{DeliveryId, Report};
use crate::secrets::Lease;
use crate::trigger::HttpRequest;
use crate::webhooks::Setup;
use aws_smithy_types::date_time::{DateTime, Format};
use base64::Engine;
use lambda_http::http::HeaderMap;
use serde_json::Value;
use std::time::{Duration, Instant};

/// A request and what is known of it besides its bytes.
pub struct Arrival<'a> {
    pub request: &'a HttpRequest,
    /// The body, decoded from API Gateway's encoding (signatures are over exactly these bytes).
    pub body: &'a [u8],
    pub proof: Proof<'a>,
    /// When it arrived, in seconds since the epoch (`None`: now). A signed delivery's age is
    /// measured at that time, so that a kept request is judged as it was when it came.
    pub received_at: Option<u64>,
    /// Map and validate each delivery and say what would be sent, but send nothing.
    pub dry_run: bool,
    /// Submissions a kept request had already delivered: they are not sent again.
    pub delivered: &'a [String],
}

/// A stage's result: `Err` when the request ends there, with what became of it.
type Stage<T> = Result<T, Received>;

/// Runs one request through its stages.
pub async fn receive<A: Action>(
    app: &App<A>,
    arrival: Arrival<'_>,
    deadline: Option<Instant>,
) -> Received {
    stages(app, &arrival, deadline)
        .await
        .unwrap_or_else(|ended| ended)
}

async fn stages<A: Action>(
    app: &App<A>,
    arrival: &Arrival<'_>,
    deadline: Option<Instant>,
) -> Stage<Received> {
    let endpoint = Endpoint::of(arrival.request).map_err(Received::Refused)?;
    admit(endpoint, arrival.request)?;
    refuse_unkeepable(app, arrival)?;
    let (setup, verdict) = authenticate(app, endpoint, arrival).await?;
    let decoded = decode(endpoint, arrival).map_err(Received::Failed)?;
    let deliveries = map(app, endpoint, arrival, &setup, verdict, decoded)?;
    Ok(deliver_each(app, endpoint, arrival, deliveries, deadline).await)
}

/// What an endpoint takes: a form endpoint answers a builder's URL check (GET or HEAD) and takes
/// POST; a direct call takes a POST of JSON.
fn admit(endpoint: Endpoint, request: &HttpRequest) -> Stage<()> {
    let method = request.method.to_ascii_uppercase();
    match endpoint {
        Endpoint::Form(_) if method == "GET" || method == "HEAD" => Err(Received::Test(
            "a URL check: send submissions here with POST".into(),
        )),
        _ if method != "POST" => Err(Received::Refused(Failure::MethodNotAllowed(
            request.method.clone(),
        ))),
        Endpoint::Direct => require_json(request).map_err(Received::Refused),
        Endpoint::Form(_) => Ok(()),
    }
}

/// A request that may have to be kept to be delivered later must fit on the queue as a record
/// (and be taken from it: the SQS trigger reads records up to [`MAX_RECORD_BYTES`]); one that
/// would not is refused now, with 413, rather than accepted and then lost.
fn refuse_unkeepable<A: Action>(app: &App<A>, arrival: &Arrival<'_>) -> Stage<()> {
    let record = crate::intake::largest_record(arrival.request, arrival.body.len());
    if app.intake().is_some() && record > MAX_RECORD_BYTES {
        return Err(Received::Refused(Failure::TooLargeToKeep(record)));
    }
    Ok(())
}

/// Checks the request against its endpoint's protection, as its proof says: the connection (for
/// what comes next) and how the request got through. A secret that cannot be read leaves the
/// request unchecked, which is not the same as refused: it may be kept and checked later.
pub(crate) async fn authenticate<A: Action>(
    app: &App<A>,
    endpoint: Endpoint,
    arrival: &Arrival<'_>,
) -> Stage<(Lease<Setup<A::Connection>>, Verdict)> {
    let request = arrival.request;
    let setup = match app.setup().await {
        Ok(setup) => setup,
        // Kept for a later check only when it may pass then: the secret is out of reach for now
        // (not broken), and the request presents something to check. A caller that presents
        // nothing is answered, and nothing of it is kept.
        Err(failure @ Failure::SecretUnavailable(_))
            if arrival.proof != Proof::Presented || presents_credential(endpoint, request) =>
        {
            return Err(Received::Unchecked(failure));
        }
        Err(failure) => return Err(Received::Refused(failure)),
    };
    let protection = setup.secret.webhooks.protection(endpoint.name());
    let (name, signature, headers) = (
        endpoint.name(),
        endpoint.signature_header(),
        &request.headers,
    );
    let verdict = match arrival.proof {
        Proof::Checked => Ok(Verdict::Verified),
        Proof::Presented => authenticity::check(
            protection,
            name,
            signature,
            headers,
            &request.query,
            arrival.body,
        ),
        Proof::Given(token) => {
            authenticity::check_given(protection, name, signature, headers, token, arrival.body)
        }
    };
    match verdict {
        // A broken setting (a signing secret for an endpoint that signs nothing) is the secret's to
        // fix: the request is answered with it and logged, and kept nowhere, since it proved
        // nothing (a flood of strangers must not fill the dead-letter queue).
        Err(failure) => Err(Received::Refused(failure)),
        Ok(verdict) => {
            if verdict == Verdict::Public {
                warn_public::<A>(endpoint);
            }
            Ok((setup, verdict))
        }
    }
}

/// Whether the request carries a token or, on an endpoint whose source signs, a signature.
fn presents_credential(endpoint: Endpoint, request: &HttpRequest) -> bool {
    authenticity::presented_token(&request.headers, &request.query).is_some_and(|t| !t.is_empty())
        || endpoint
            .signature_header()
            .is_some_and(|header| request.headers.contains_key(header))
}

/// A request's body, read as its endpoint writes it.
enum Body {
    /// A direct call: the provider's request, and the caller's `Idempotency-Key` if it gave one.
    Direct { payload: Value, key: Option<String> },
    /// A form webhook: the builder's submissions, or its test delivery.
    Form(Decoded),
}

fn decode(endpoint: Endpoint, arrival: &Arrival<'_>) -> Result<Body, Failure> {
    let headers = &arrival.request.headers;
    match endpoint {
        // A caller names a delivery with an Idempotency-Key header (as Stripe's API does).
        Endpoint::Direct => Ok(Body::Direct {
            key: idempotency_key(headers)?,
            payload: crate::json::parse(arrival.body)?,
        }),
        Endpoint::Form(source) => {
            let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
            forms::decode(source, arrival.body, content_type).map(Body::Form)
        }
    }
}

/// One delivery the request asks for: the provider request a submission maps to (or why it
/// does not), and the id that makes it one delivery however often it arrives.
struct Delivery {
    submission_id: Option<String>,
    payload: Result<Value, Failure>,
    /// The delivery's own id (`kind`, `value`): the caller's `Idempotency-Key`, or the source's
    /// submission id. Without one, the request itself identifies it.
    id: Option<(&'static str, String)>,
}

/// The deliveries the body asks for: a direct call is one; a form webhook is one per
/// submission, each through the endpoint's mapping.
fn map<A: Action>(
    app: &App<A>,
    endpoint: Endpoint,
    arrival: &Arrival<'_>,
    setup: &Lease<Setup<A::Connection>>,
    verdict: Verdict,
    body: Body,
) -> Stage<Vec<Delivery>> {
    let submissions = match body {
        Body::Direct { payload, key } => {
            return Ok(vec![Delivery {
                submission_id: None,
                payload: Ok(payload),
                id: key.map(|key| ("idempotency-key", key)),
            }]);
        }
        Body::Form(Decoded::Test(reason)) => return Err(Received::Test(reason)),
        Body::Form(Decoded::Submissions(submissions)) => submissions,
    };
    let failed = Received::Failed;
    refuse_too_many(app, &submissions).map_err(failed)?;
    refuse_replayed(app, endpoint, arrival, verdict, &submissions).map_err(failed)?;
    let mapping = mapping_of(app, endpoint, arrival.request, setup).map_err(failed)?;
    let query = mapping_query(arrival.request);
    let kind = endpoint.name();
    let signed = verdict == Verdict::Verified && endpoint.signature_header().is_some();
    let already = |s: &&Submission| {
        s.id.as_ref()
            .is_some_and(|id| arrival.delivered.contains(id))
    };
    Ok(submissions
        .iter()
        .filter(|s| !already(s))
        .map(|submission| Delivery {
            submission_id: submission.id.clone(),
            payload: mapping
                .render(&Context {
                    submission,
                    query: &query,
                    signed,
                })
                .map_err(Failure::Invalid),
            id: submission.id.clone().map(|id| (kind, id)),
        })
        .collect())
}

/// Sends each delivery once (or, in a dry run, says what each would send).
async fn deliver_each<A: Action>(
    app: &App<A>,
    endpoint: Endpoint,
    arrival: &Arrival<'_>,
    deliveries: Vec<Delivery>,
    deadline: Option<Instant>,
) -> Received {
    if arrival.dry_run {
        let mut previews = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let result = match delivery.payload {
                Ok(payload) => app.preview(&payload).await,
                Err(failure) => Err(failure),
            };
            previews.push(SubmissionPreview {
                submission_id: delivery.submission_id,
                result,
            });
        }
        return Received::Previewed(previews);
    }
    // The endpoint's operator settings are part of each delivery's key: the same submission sent
    // to `?inbox_id=3` and to `?inbox_id=5` is two deliveries.
    let scope = idempotency::scope_of(&arrival.request.query);
    let deadline = answer_by(endpoint, deadline);
    let mut reports = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        let report = match &delivery.payload {
            Ok(payload) => {
                let id = delivery.id.as_ref().map(|(kind, value)| DeliveryId {
                    kind,
                    value,
                    scope: &scope,
                });
                app.deliver(payload, deadline, id).await
            }
            Err(failure) => Report::failed(failure.clone()),
        };
        reports.push(SubmissionReport {
            submission_id: delivery.submission_id,
            report,
        });
    }
    Received::Attempted(reports)
}

/// The longest `Idempotency-Key` accepted: room for any UUID, hash or composed id.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The caller's `Idempotency-Key`, trimmed (none, or blank: the request identifies itself).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Failure> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| Failure::InvalidIdempotencyKey("must be printable ASCII".into()))?
        .trim();
    if key.len() > MAX_IDEMPOTENCY_KEY {
        return Err(Failure::InvalidIdempotencyKey(format!(
            "is {} characters long; the most accepted is {MAX_IDEMPOTENCY_KEY}",
            key.len()
        )));
    }
    Ok(Some(key.to_string()).filter(|k| !k.is_empty()))
}

/// A direct call's body is the provider's JSON request: a Content-Type that says otherwise is
/// refused (none at all is accepted, as some callers send none).
fn require_json(request: &HttpRequest) -> Result<(), Failure> {
    let given = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = crate::forms::body::media_type(Some(given));
    if media.is_empty() || media == "application/json" || media.ends_with("+json") {
        Ok(())
    } else {
        Err(Failure::UnsupportedMediaType(given.to_string()))
    }
}

fn refuse_too_many<A: Action>(app: &App<A>, submissions: &[Submission]) -> Result<(), Failure> {
    let max = app.settings().max_submissions_per_request;
    if submissions.len() > max {
        return Err(Failure::TooManySubmissions {
            count: submissions.len(),
            max,
        });
    }
    Ok(())
}

/// A signature proves who sent a body, not when: one older than the deliveries Ponte remembers
/// could be a captured request played again.
fn refuse_replayed<A: Action>(
    app: &App<A>,
    endpoint: Endpoint,
    arrival: &Arrival<'_>,
    verdict: Verdict,
    submissions: &[Submission],
) -> Result<(), Failure> {
    if verdict != Verdict::Verified || endpoint.signature_header().is_none() {
        return Ok(());
    }
    let remembered = app.settings().signed_delivery_max_age;
    for submission in submissions {
        refuse_stale(submission, remembered, arrival.received_at)?;
    }
    Ok(())
}

/// Refuses a submission stamped longer ago than `remembered`; one without a readable time
/// passes (the signature still stands).
fn refuse_stale(
    submission: &Submission,
    remembered: Duration,
    received_at: Option<u64>,
) -> Result<(), Failure> {
    let Some(at) = submission.submitted_at.as_deref().and_then(epoch_seconds) else {
        return Ok(());
    };
    let now = received_at.unwrap_or_else(|| idempotency::now_ms() / 1000);
    let age = now.saturating_sub(at);
    if age > remembered.as_secs() {
        return Err(Failure::Stale {
            age_days: age / 86_400,
            max_days: remembered.as_secs() / 86_400,
        });
    }
    Ok(())
}

/// Seconds since the epoch of an RFC 3339 time (`2026-11-21T12:00:00Z`,
/// `2026-11-21T09:00:00.000-03:00`).
fn epoch_seconds(text: &str) -> Option<u64> {
    let at = DateTime::from_str(text.trim(), Format::DateTime).ok()?;
    u64::try_from(at.secs()).ok()
}

/// The mapping for a form request: named in the URL (`?mapping=orcamento`), else the source's
/// own in the secret, else the action's built-in one.
fn mapping_of<'s, A: Action>(
    app: &'s App<A>,
    endpoint: Endpoint,
    request: &HttpRequest,
    setup: &'s Lease<Setup<A::Connection>>,
) -> Result<&'s Mapping, Failure> {
    let webhooks = &setup.secret.webhooks;
    let named = request.query.iter().find(|(k, _)| k == "mapping");
    match (
        named,
        endpoint.source().and_then(|s| webhooks.mapping_for(s)),
    ) {
        // A name that is not in `webhooks.mappings` is the secret's to fix, so the builder's
        // retry can succeed.
        (Some((_, name)), _) => webhooks
            .named_mapping(name)
            .map_err(Failure::UnknownMapping),
        (None, Some(mapping)) => Ok(mapping),
        (None, None) => app.built_in_mapping(),
    }
}

/// Query parameters that configure Ponte rather than feed a mapping.
const RESERVED_QUERY: &[&str] = &["token", "source", "dry_run", "mapping"];

/// The query parameters a mapping may read: all but those that configure Ponte.
fn mapping_query(request: &HttpRequest) -> Vec<(String, String)> {
    request
        .query
        .iter()
        .filter(|(k, _)| !RESERVED_QUERY.contains(&k.as_str()))
        .cloned()
        .collect()
}

/// The invocation's deadline, or sooner when the sender waits less for its answer.
fn answer_by(endpoint: Endpoint, deadline: Option<Instant>) -> Option<Instant> {
    match (endpoint.answer_within(), deadline) {
        (Some(within), Some(deadline)) => Some(deadline.min(Instant::now() + within)),
        (Some(within), None) => Some(Instant::now() + within),
        (None, deadline) => deadline,
    }
}

/// A public endpoint is the operator's choice, said again on every request so that it is seen.
fn warn_public<A: Action>(endpoint: Endpoint) {
    tracing::warn!(
        action = A::NAME,
        source = endpoint.name(),
        "PUBLIC ROUTE: webhooks.{endpoint}.public is true in the connection secret, so anyone who knows this URL can send to it"
    );
}

/// The raw body bytes, base64-decoded when API Gateway encoded them (signatures are computed
/// over exactly these bytes).
pub fn body_of(request: &HttpRequest) -> Result<Vec<u8>, Failure> {
    let raw = request.body.as_deref().unwrap_or_default();
    let bytes = if request.is_base64_encoded {
        // Checked before decoding, too: base64 is a third larger than what it encodes.
        if raw.len() / 4 * 3 > crate::limits::MAX_BODY_BYTES {
            return Err(Failure::TooLarge(raw.len() / 4 * 3));
        }
        base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .map_err(|_| {
                Failure::InvalidBody("isBase64Encoded is true but the body is not base64".into())
            })?
    } else {
        raw.as_bytes().to_vec()
    };
    if bytes.len() > crate::limits::MAX_BODY_BYTES {
        return Err(Failure::TooLarge(bytes.len()));
    }
    Ok(bytes)
}
