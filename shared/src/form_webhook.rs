//! A form webhook from authenticity to provider: check the signature or token, decode the
//! source's body, render the mapping for each submission, deliver each (or, in a dry run, say
//! what each would send).

use crate::action::Action;
use crate::app::App;
use crate::authenticity::{self, Verdict};
use crate::failure::Failure;
use crate::forms::{self, Inbound, Source, Submission};
use crate::idempotency;
use crate::intake::Proof;
use crate::mapping::{Context, Mapping};
use crate::received::{Received, SubmissionPreview, SubmissionReport};
use crate::report::{DeliveryId, Report};
use crate::secrets::Lease;
use crate::webhooks::Setup;
use aws_smithy_types::date_time::{DateTime, Format};
use lambda_http::http::HeaderMap;
use std::time::{Duration, Instant};

/// A form webhook as the HTTP trigger received it (or as an intake record kept it).
pub struct FormRequest<'a> {
    pub source: Source,
    pub headers: &'a HeaderMap,
    pub query: &'a [(String, String)],
    pub body: &'a [u8],
    /// Map and validate each submission and say what would be sent, but send nothing.
    pub dry_run: bool,
    pub proof: Proof<'a>,
    /// When the request arrived, in seconds since the epoch (`None`: now). A signed delivery's
    /// age is measured at that time, so that a kept request is judged as it was when it came.
    pub received_at: Option<u64>,
}

/// Query parameters that configure Ponte rather than feed a mapping.
const RESERVED_QUERY: &[&str] = &["token", "source", "dry_run", "mapping"];

/// Checks, decodes, maps and delivers one form webhook (or, in a dry run, says what each
/// submission would send).
pub async fn deliver<A: Action>(
    app: &App<A>,
    request: FormRequest<'_>,
    deadline: Option<Instant>,
) -> Received {
    let source = request.source;
    let (setup, verdict) = match authenticate(
        app,
        source.name(),
        source.signature_header(),
        request.headers,
        request.query,
        request.body,
        request.proof,
    )
    .await
    {
        Ok(passed) => passed,
        Err(received) => return received,
    };
    let form = FormDelivery {
        app,
        request: &request,
        setup: &setup,
        verdict,
        deadline,
    };
    form.run().await.unwrap_or_else(Received::Failed)
}

/// One form webhook past its check, taken through its steps in order.
struct FormDelivery<'r, A: Action> {
    app: &'r App<A>,
    request: &'r FormRequest<'r>,
    setup: &'r Lease<Setup<A::Connection>>,
    verdict: Verdict,
    deadline: Option<Instant>,
}

impl<A: Action> FormDelivery<'_, A> {
    async fn run(&self) -> Result<Received, Failure> {
        let submissions = match self.decode()? {
            Inbound::Test(reason) => return Ok(Received::Test(reason)),
            Inbound::Submissions(submissions) => submissions,
        };
        self.refuse_too_many(&submissions)?;
        self.refuse_replayed(&submissions)?;
        let mapping = self.mapping()?;
        let query = self.mapping_query();
        let render = |submission| {
            mapping
                .render(&Context {
                    submission,
                    query: &query,
                })
                .map_err(Failure::Invalid)
        };
        if self.request.dry_run {
            let mut previews = Vec::with_capacity(submissions.len());
            for submission in &submissions {
                let result = match render(submission) {
                    Ok(payload) => self.app.preview(&payload).await,
                    Err(failure) => Err(failure),
                };
                previews.push(SubmissionPreview {
                    submission_id: submission.id.clone(),
                    result,
                });
            }
            return Ok(Received::Previewed(previews));
        }
        // The route's operator settings are part of each delivery's key: the same submission
        // sent to `?inbox_id=3` and to `?inbox_id=5` is two deliveries.
        let scope = idempotency::scope_of(self.request.query);
        let deadline = self.deadline();
        let mut reports = Vec::with_capacity(submissions.len());
        for submission in &submissions {
            let report = match render(submission) {
                Ok(payload) => {
                    let id = submission.id.as_deref().map(|value| DeliveryId {
                        kind: self.request.source.name(),
                        value,
                        scope: &scope,
                    });
                    self.app.deliver(&payload, deadline, id).await
                }
                Err(failure) => Report::failed(failure),
            };
            reports.push(SubmissionReport {
                submission_id: submission.id.clone(),
                report,
            });
        }
        Ok(Received::Delivered(reports))
    }

    /// The builder's body, read as that builder writes it: its submissions, or a test delivery.
    fn decode(&self) -> Result<Inbound, Failure> {
        let content_type = self
            .request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        forms::decode(self.request.source, self.request.body, content_type)
    }

    fn refuse_too_many(&self, submissions: &[Submission]) -> Result<(), Failure> {
        let max = self.app.settings().max_submissions_per_request;
        if submissions.len() > max {
            return Err(Failure::TooManySubmissions {
                count: submissions.len(),
                max,
            });
        }
        Ok(())
    }

    /// A signature proves who sent a body, not when: one older than the deliveries Ponte
    /// remembers could be a captured request played again.
    fn refuse_replayed(&self, submissions: &[Submission]) -> Result<(), Failure> {
        if self.verdict != Verdict::Verified || self.request.source.signature_header().is_none() {
            return Ok(());
        }
        let remembered = self.app.settings().signed_delivery_max_age;
        for submission in submissions {
            refuse_stale(submission, remembered, self.request.received_at)?;
        }
        Ok(())
    }

    /// The mapping for this request: named in the URL (`?mapping=orcamento`), else the
    /// source's own in the secret, else the action's built-in one.
    fn mapping(&self) -> Result<&Mapping, Failure> {
        let webhooks = &self.setup.secret.webhooks;
        let named = self.request.query.iter().find(|(k, _)| k == "mapping");
        match (named, webhooks.mapping_for(self.request.source)) {
            // A name that is not in `webhooks.mappings` is the secret's to fix, so the
            // builder's retry can succeed.
            (Some((_, name)), _) => webhooks
                .named_mapping(name)
                .map_err(Failure::UnknownMapping),
            (None, Some(mapping)) => Ok(mapping),
            (None, None) => self.app.built_in_mapping(),
        }
    }

    /// The query parameters a mapping may read: all but those that configure Ponte.
    fn mapping_query(&self) -> Vec<(String, String)> {
        self.request
            .query
            .iter()
            .filter(|(k, _)| !RESERVED_QUERY.contains(&k.as_str()))
            .cloned()
            .collect()
    }

    /// The invocation's deadline, or sooner when the builder waits less for its answer.
    fn deadline(&self) -> Option<Instant> {
        match (self.request.source.answer_within(), self.deadline) {
            (Some(within), Some(deadline)) => Some(deadline.min(Instant::now() + within)),
            (Some(within), None) => Some(Instant::now() + within),
            (None, deadline) => deadline,
        }
    }
}

/// Checks a request to `route` against its protection, as `proof` says: the connection (for
/// what comes next) and how the request got through, or what became of it. A secret that
/// cannot be read leaves the request unchecked, which is not the same as refused: it may
/// be kept and checked later.
pub(crate) async fn authenticate<A: Action>(
    app: &App<A>,
    route: &str,
    signature_header: Option<&str>,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &[u8],
    proof: Proof<'_>,
) -> Result<(Lease<Setup<A::Connection>>, Verdict), Received> {
    let setup = app.setup().await.map_err(Received::Unchecked)?;
    let protection = setup.secret.webhooks.protection(route);
    let verdict = match proof {
        Proof::Checked => Ok(Verdict::Verified),
        Proof::Presented => {
            authenticity::check(protection, route, signature_header, headers, query, body)
        }
        Proof::Given(token) => {
            authenticity::check_given(protection, route, signature_header, headers, token, body)
        }
    };
    match verdict {
        // A broken setting (a signing secret for a route that signs nothing) is the
        // secret's to fix: such a request is kept, unchecked, until it is.
        Err(failure @ Failure::Configuration(_)) => Err(Received::Unchecked(failure)),
        Err(failure) => Err(Received::Refused(failure)),
        Ok(verdict) => {
            if verdict == Verdict::Public {
                warn_public::<A>(route);
            }
            Ok((setup, verdict))
        }
    }
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

/// A public route is the operator's choice, said again on every request so that it is seen.
fn warn_public<A: Action>(route: &str) {
    tracing::warn!(
        action = A::NAME,
        source = route,
        "PUBLIC ROUTE: webhooks.{route}.public is true in the connection secret, so anyone who knows this URL can send to it"
    );
}
