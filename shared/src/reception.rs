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
use crate::expressions::Answers;
use crate::failure::Failure;
use crate::fan_out::{self, HandOver};
use crate::forms::{self, Decoded, Submission};
use crate::idempotency;
use crate::intake::Proof;
use crate::limits::MAX_RECORD_BYTES;
use crate::mapping::{Context, Mapping};
use crate::pace::Patience;
use crate::received::{Received, SubmissionPreview, SubmissionReport, TargetReport, part_done};
use crate::report::{DeliveryId, Report};
use crate::routes::{Routes, Target, Then};
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
    /// The Lambda request id of the invocation it arrived with (in a kept request's record),
    /// carried on to what it is handed to.
    pub request_id: &'a str,
    /// Map and validate each delivery and say what would be sent, but send nothing.
    pub dry_run: bool,
    /// Submissions a kept request had already delivered: they are not sent again.
    pub delivered: &'a [String],
    /// Parts of its submissions a kept request had already done ([`crate::received::part_done`]): the delivery
    /// here, and each hand-over. They are not done again.
    pub done: &'a [String],
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

/// What the request asks for one submission (or a direct call): the provider request it maps
/// to here (or why it does not), the functions it is handed to, and the id that makes it one
/// delivery however often it arrives.
struct Delivery {
    submission_id: Option<String>,
    /// The route that took it, when the endpoint has routes.
    route: Option<String>,
    /// The provider request this function sends, or why it cannot; `None`: nothing is sent
    /// from here (its route skips it, or only hands it over).
    payload: Option<Result<Value, Failure>>,
    skipped: bool,
    /// Other functions of the stack it is handed to (a route's `also`).
    also: Vec<Target>,
    /// The delivery's own id (`kind`, `value`): the caller's `Idempotency-Key`, or the source's
    /// submission id. Without one, the request itself identifies it.
    id: Option<(&'static str, String)>,
    /// The other submissions of the body, by id: a hand-over is for this one alone.
    others: Vec<String>,
}

impl Delivery {
    fn direct(payload: Value, id: Option<(&'static str, String)>) -> Self {
        Self {
            submission_id: None,
            route: None,
            payload: Some(Ok(payload)),
            skipped: false,
            also: Vec::new(),
            id,
            others: Vec::new(),
        }
    }
}

/// The deliveries the body asks for: a direct call is one; a form webhook is one per
/// submission, each through the endpoint's mapping or the route it takes.
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
            return Ok(vec![Delivery::direct(
                payload,
                key.map(|key| ("idempotency-key", key)),
            )]);
        }
        Body::Form(Decoded::Test(reason)) => return Err(Received::Test(reason)),
        Body::Form(Decoded::Submissions(submissions)) => submissions,
    };
    let failed = Received::Failed;
    refuse_too_many(app, &submissions).map_err(failed)?;
    refuse_replayed(app, endpoint, arrival, verdict, &submissions).map_err(failed)?;
    let plan = plan_of(app, endpoint, arrival.request, setup).map_err(failed)?;
    let query = mapping_query(arrival.request);
    let kind = endpoint.name();
    let signed = verdict == Verdict::Verified && endpoint.signature_header().is_some();
    let already = |s: &&Submission| {
        s.id.as_ref()
            .is_some_and(|id| arrival.delivered.contains(id))
    };
    let ids: Vec<&String> = submissions.iter().filter_map(|s| s.id.as_ref()).collect();
    let webhooks = &setup.secret.webhooks;
    Ok(submissions
        .iter()
        .filter(|s| !already(s))
        .map(|submission| {
            let answers = Answers::of(&Context {
                submission,
                query: &query,
                signed,
            });
            let render = |mapping: &Mapping| mapping.render_for(&answers).map_err(Failure::Invalid);
            let mut delivery = Delivery {
                submission_id: submission.id.clone(),
                route: None,
                payload: None,
                skipped: false,
                also: Vec::new(),
                id: submission.id.clone().map(|id| (kind, id)),
                others: Vec::new(),
            };
            match plan {
                Plan::Mapping(mapping) => delivery.payload = Some(render(mapping)),
                Plan::Routes(routes) => match routes.choose(&answers) {
                    Err(unroutable) => {
                        delivery.payload = Some(Err(Failure::Configuration(unroutable.0)));
                    }
                    Ok(route) => {
                        delivery.route = Some(route.name.clone());
                        match &route.then {
                            Then::Skip => delivery.skipped = true,
                            Then::Deliver { mapping, also } => {
                                delivery.payload = mapping.as_ref().map(|name| {
                                    webhooks
                                        .named_mapping(name)
                                        .map_err(Failure::UnknownMapping)
                                        .and_then(render)
                                });
                                delivery.also = also.clone();
                                delivery.others = ids
                                    .iter()
                                    .filter(|id| Some(**id) != submission.id.as_ref())
                                    .map(|id| id.to_string())
                                    .collect();
                            }
                        }
                    }
                },
            }
            delivery
        })
        .collect())
}

/// Sends each delivery once and hands each submission to the functions its route names (or,
/// in a dry run, says what each would send and where it would be handed).
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
                Some(Ok(payload)) => Some(app.preview(&payload).await),
                Some(Err(failure)) => Some(Err(failure)),
                None => None,
            };
            previews.push(SubmissionPreview {
                submission_id: delivery.submission_id,
                route: delivery.route,
                result,
                skipped: delivery.skipped,
                targets: delivery
                    .also
                    .into_iter()
                    .map(|t| (t.function, t.mapping))
                    .collect(),
            });
        }
        return Received::Previewed(previews);
    }
    // The endpoint's operator settings are part of each delivery's key: the same submission
    // sent to `?inbox_id=3` and to `?inbox_id=5` is two deliveries.
    let scope = idempotency::scope_of(&arrival.request.query);
    let (deadline, patience) = waits(app, endpoint, arrival, deadline);
    let mut reports = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        let here_done = arrival
            .done
            .contains(&part_done(None, delivery.submission_id.as_deref()));
        let report = match &delivery.payload {
            _ if here_done => None,
            Some(Ok(payload)) => {
                let id = delivery.id.as_ref().map(|(kind, value)| DeliveryId {
                    kind,
                    value,
                    scope: &scope,
                });
                Some(app.deliver(payload, deadline, id, patience).await)
            }
            Some(Err(failure)) => Some(Report::failed(failure.clone())),
            None => None,
        };
        let targets = hand_over_each(app, arrival, &delivery).await;
        reports.push(SubmissionReport {
            submission_id: delivery.submission_id,
            route: delivery.route,
            report,
            skipped: delivery.skipped,
            targets,
        });
    }
    Received::Attempted(reports)
}

/// Hands one submission to each function its route names, except where a kept request had
/// already handed it.
async fn hand_over_each<A: Action>(
    app: &App<A>,
    arrival: &Arrival<'_>,
    delivery: &Delivery,
) -> Vec<TargetReport> {
    if delivery.also.is_empty() {
        return Vec::new();
    }
    let key = app.record_key().await;
    let what = HandOver {
        request: arrival.request,
        body: arrival.body,
        received_at: arrival
            .received_at
            .unwrap_or_else(|| idempotency::now_ms() / 1000),
        request_id: arrival.request_id,
        not_for: delivery.others.clone(),
    };
    let mut targets = Vec::with_capacity(delivery.also.len());
    for target in &delivery.also {
        let part = part_done(
            Some((&target.function, &target.mapping)),
            delivery.submission_id.as_deref(),
        );
        let result = if arrival.done.contains(&part) {
            Ok(String::new())
        } else {
            match &key {
                Ok(key) => {
                    fan_out::hand_over(
                        app.hand_over_queues(),
                        key,
                        &what,
                        &target.function,
                        &target.mapping,
                    )
                    .await
                }
                Err(failure) => Err(failure.clone()),
            }
        };
        targets.push(TargetReport {
            function: target.function.clone(),
            mapping: target.mapping.clone(),
            result,
        });
    }
    targets
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

/// How a form request's submissions are mapped.
#[derive(Clone, Copy)]
pub(crate) enum Plan<'s> {
    /// Each with this mapping.
    Mapping(&'s Mapping),
    /// Each as the first route that takes it says.
    Routes(&'s Routes),
}

/// The plan for a form request: the mapping named in the URL (`?mapping=orcamento`, which
/// bypasses routes), else the source's routes or mapping, else the shared ones, else the
/// action's built-in mapping.
pub(crate) fn plan_of<'s, A: Action>(
    app: &'s App<A>,
    endpoint: Endpoint,
    request: &HttpRequest,
    setup: &'s Lease<Setup<A::Connection>>,
) -> Result<Plan<'s>, Failure> {
    let webhooks = &setup.secret.webhooks;
    if let Some((_, name)) = request.query.iter().find(|(k, _)| k == "mapping") {
        // A name that is not in `webhooks.mappings` is the secret's to fix, so the builder's
        // retry can succeed.
        return webhooks
            .named_mapping(name)
            .map(Plan::Mapping)
            .map_err(Failure::UnknownMapping);
    }
    let Some(source) = endpoint.source() else {
        return app.built_in_mapping().map(Plan::Mapping);
    };
    // The source's own routes or mapping come before the shared ones (`routes_for` says which).
    if let Some(routes) = webhooks.routes_for(source) {
        return Ok(Plan::Routes(routes));
    }
    match webhooks.mapping_for(source) {
        Some(mapping) => Ok(Plan::Mapping(mapping)),
        None => app.built_in_mapping().map(Plan::Mapping),
    }
}

/// Query parameters that configure Ponte rather than feed a mapping.
const RESERVED_QUERY: &[&str] = &["token", "source", "dry_run", "mapping"];

/// The query parameters a mapping may read: all but those that configure Ponte.
pub(crate) fn mapping_query(request: &HttpRequest) -> Vec<(String, String)> {
    request
        .query
        .iter()
        .filter(|(k, _)| !RESERVED_QUERY.contains(&k.as_str()))
        .cloned()
        .collect()
}

/// How long a request's deliveries may take, and wait for their turn at the provider: a sender
/// on the line is answered within what it waits (the invocation's deadline, or sooner when the
/// source says) and waits briefly for a turn; a kept request, whose sender has long been
/// answered, has its whole invocation.
fn waits<A: Action>(
    app: &App<A>,
    endpoint: Endpoint,
    arrival: &Arrival<'_>,
    deadline: Option<Instant>,
) -> (Option<Instant>, Patience) {
    if arrival.received_at.is_some() {
        return (deadline, Patience::Invocation);
    }
    let answer_by = match (endpoint.answer_within(), deadline) {
        (Some(within), Some(deadline)) => Some(deadline.min(Instant::now() + within)),
        (Some(within), None) => Some(Instant::now() + within),
        (None, deadline) => deadline,
    };
    (answer_by, Patience::Brief(app.settings().http_pace_wait))
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
