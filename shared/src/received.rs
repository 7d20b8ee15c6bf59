//! What became of one request (fresh, or kept and run again from the queue), and its
//! disposition: the one place that decides, for both triggers, what is let go, what is tried
//! again later, and what becomes a dead letter.

use crate::failure::Failure;
use crate::report::{Preview, Report};

/// What became of a request, told by how far it got.
#[derive(Debug)]
pub enum Received {
    /// Turned away before its sender proved who it is: nothing of it is kept.
    Refused(Failure),
    /// Its check could not run, as the connection secret could not be read.
    Unchecked(Failure),
    /// It passed the check, then failed as a whole (its body, its keys, its mapping).
    Failed(Failure),
    /// A builder's test delivery or URL check: nothing was sent.
    Test(String),
    /// A dry run: what each submission would have sent, or why it could not be.
    Previewed(Vec<SubmissionPreview>),
    /// Each delivery was attempted: one report per submission (one for a direct call), each
    /// delivered or failed.
    Attempted(Vec<SubmissionReport>),
}

/// What became of one submission.
#[derive(Debug)]
pub struct SubmissionReport {
    pub submission_id: Option<String>,
    /// The route that took it, when its endpoint has routes.
    pub route: Option<String>,
    /// Its delivery by this function: `None` when its route skipped it or hands it only to
    /// other functions.
    pub report: Option<Report>,
    /// True when its route said to skip it: nothing was sent.
    pub skipped: bool,
    /// What became of each hand-over to another function (a route's `also`).
    pub targets: Vec<TargetReport>,
}

/// One hand-over of a submission to another function of the stack.
#[derive(Debug)]
pub struct TargetReport {
    pub function: String,
    pub mapping: String,
    /// The id of the message on that function's queue, or why it is not there.
    pub result: Result<String, Failure>,
}

impl SubmissionReport {
    /// A submission delivered (or not) by this function alone.
    pub fn here(submission_id: Option<String>, report: Report) -> Self {
        Self {
            submission_id,
            route: None,
            report: Some(report),
            skipped: false,
            targets: Vec::new(),
        }
    }

    /// The parts of the submission done (see [`part_done`]).
    pub fn parts_done(&self) -> Vec<String> {
        let id = self.submission_id.as_deref();
        let here = self
            .report
            .as_ref()
            .filter(|r| r.result.is_ok())
            .map(|_| part_done(None, id));
        let handed = self
            .targets
            .iter()
            .filter(|t| t.result.is_ok())
            .map(|t| part_done(Some((&t.function, &t.mapping)), id));
        here.into_iter().chain(handed).collect()
    }

    /// Every failure of the submission: its delivery here, then its hand-overs.
    pub fn failures(&self) -> impl Iterator<Item = &Failure> {
        let here = self.report.iter().filter_map(|r| r.result.as_ref().err());
        here.chain(self.targets.iter().filter_map(|t| t.result.as_ref().err()))
    }
}

/// How a kept request remembers a part of a submission it did: `here@<submission id>` for the
/// delivery by this function, `<function>/<mapping>@<submission id>` for a hand-over (`target`,
/// a function and its mapping). The id is empty for a submission without one.
pub fn part_done(target: Option<(&str, &str)>, submission_id: Option<&str>) -> String {
    let id = submission_id.unwrap_or_default();
    match target {
        None => format!("here@{id}"),
        Some((function, mapping)) => format!("{function}/{mapping}@{id}"),
    }
}

/// What a submission would become, without anything sent (a dry run).
#[derive(Debug)]
pub struct SubmissionPreview {
    pub submission_id: Option<String>,
    pub route: Option<String>,
    /// The request this function would send, or why it could not; `None` when its route skips
    /// it or hands it only to other functions.
    pub result: Option<Result<Preview, Failure>>,
    pub skipped: bool,
    /// The functions it would be handed to, each with its mapping.
    pub targets: Vec<(String, String)>,
}

impl SubmissionPreview {
    /// What one payload would send through this function alone.
    pub fn here(submission_id: Option<String>, result: Result<Preview, Failure>) -> Self {
        Self {
            submission_id,
            route: None,
            result: Some(result),
            skipped: false,
            targets: Vec::new(),
        }
    }
}

/// What is done with a request so that nothing that got past the check is lost.
#[derive(Debug)]
pub enum Disposition<'a> {
    /// Delivered, a duplicate, a test, a dry run, or refused at the door: nothing to keep.
    Done,
    /// It may succeed later as it is: queued (a fresh HTTP request), or left to SQS to retry
    /// (a queue message).
    Later(&'a Failure),
    /// It cannot succeed until someone changes something: a dead letter, with this reason.
    DeadLetter(&'a Failure),
}

/// How the request reached the function: the only thing besides the failure that the decision
/// reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrived {
    /// A fresh HTTP request.
    Http,
    /// An intake record: an HTTP request the function kept, run again from its queue.
    Kept,
    /// Any other SQS message: another AWS service's payload.
    Queue,
}

impl Received {
    /// The request's disposition. A request with several submissions is disposed of whole:
    /// tried later when any of them may succeed later (the ones delivered meanwhile are
    /// duplicates then, and are not sent again).
    pub fn disposition(&self, arrived: Arrived) -> Disposition<'_> {
        match self {
            // A kept request whose late check failed never proved who sent it: it is not
            // sent, and not dropped either, so that an operator sees it.
            Received::Refused(failure) if arrived == Arrived::Kept => {
                Disposition::DeadLetter(failure)
            }
            Received::Refused(_) | Received::Test(_) | Received::Previewed(_) => Disposition::Done,
            Received::Unchecked(failure) | Received::Failed(failure) => {
                disposition(failure, arrived)
            }
            Received::Attempted(reports) => {
                let failures = || reports.iter().flat_map(SubmissionReport::failures);
                failures()
                    .find(|failure| failure.retry().may_succeed_later())
                    .or_else(|| failures().next())
                    .map_or(Disposition::Done, |failure| disposition(failure, arrived))
            }
        }
    }
}

/// The disposition of one failure. What may succeed as it is waits; what never can is a dead
/// letter. What needs a fix (a secret's setting, the provider's 401) differs by how it came: an
/// HTTP request, or a record of one, becomes a dead letter at once, since its sender is gone
/// and the operator replays it after the fix; another service's queue message is retried by
/// SQS until its `maxReceiveCount`, so that a fix made meanwhile delivers it with nobody's help.
pub fn disposition(failure: &Failure, arrived: Arrived) -> Disposition<'_> {
    let retry = failure.retry();
    let waits = match arrived {
        Arrived::Http | Arrived::Kept => retry.may_succeed_later(),
        Arrived::Queue => retry != crate::failure::Retry::Never,
    };
    if waits {
        Disposition::Later(failure)
    } else {
        Disposition::DeadLetter(failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Problems;

    fn report(result: Result<(), Failure>) -> SubmissionReport {
        let report = match result {
            Ok(()) => Report {
                contact: String::new(),
                trace: Default::default(),
                result: Ok(crate::report::Delivered {
                    response: crate::provider::ProviderResponse {
                        status: 200,
                        body: serde_json::json!({"id": 1}),
                        retry_after_seconds: None,
                    },
                    duplicate: false,
                }),
            },
            Err(failure) => Report::failed(failure),
        };
        SubmissionReport::here(None, report)
    }

    fn down() -> Failure {
        Failure::SecretUnavailable("throttled".into())
    }

    fn invalid() -> Failure {
        Failure::Invalid(Problems::single("inbox_id", "is required"))
    }

    #[test]
    fn what_passed_the_check_and_failed_is_kept() {
        assert!(matches!(
            Received::Refused(down()).disposition(Arrived::Http),
            Disposition::Done
        ));
        assert!(matches!(
            Received::Test("t".into()).disposition(Arrived::Http),
            Disposition::Done
        ));
        assert!(matches!(
            Received::Unchecked(down()).disposition(Arrived::Http),
            Disposition::Later(_)
        ));
        let config = Failure::Configuration("no SECRET_ID".into());
        assert!(matches!(
            Received::Unchecked(config).disposition(Arrived::Http),
            Disposition::DeadLetter(_)
        ));
        assert!(matches!(
            Received::Failed(invalid()).disposition(Arrived::Http),
            Disposition::DeadLetter(f) if f.kind() == "validation"
        ));
        assert!(matches!(
            Received::Attempted(vec![report(Ok(()))]).disposition(Arrived::Http),
            Disposition::Done
        ));
    }

    #[test]
    fn a_request_any_of_whose_submissions_may_succeed_later_is_kept_for_later() {
        let mixed = Received::Attempted(vec![
            report(Ok(())),
            report(Err(invalid())),
            report(Err(down())),
        ]);
        assert!(
            matches!(mixed.disposition(Arrived::Http), Disposition::Later(f) if f.kind() == "secret_unavailable")
        );
        let refused = Received::Attempted(vec![report(Ok(())), report(Err(invalid()))]);
        assert!(
            matches!(refused.disposition(Arrived::Http), Disposition::DeadLetter(f) if f.kind() == "validation")
        );
    }

    #[test]
    fn what_needs_a_fix_is_a_dead_letter_from_http_and_retried_from_another_service() {
        let config = Failure::Configuration("no SECRET_ID".into());
        assert!(matches!(
            disposition(&config, Arrived::Http),
            Disposition::DeadLetter(_)
        ));
        assert!(matches!(
            disposition(&config, Arrived::Kept),
            Disposition::DeadLetter(_)
        ));
        assert!(matches!(
            disposition(&config, Arrived::Queue),
            Disposition::Later(_)
        ));
        for arrived in [Arrived::Http, Arrived::Kept, Arrived::Queue] {
            assert!(matches!(
                disposition(&invalid(), arrived),
                Disposition::DeadLetter(_)
            ));
            assert!(matches!(
                disposition(&down(), arrived),
                Disposition::Later(_)
            ));
        }
    }

    #[test]
    fn a_kept_request_that_fails_its_late_check_is_a_dead_letter() {
        let refused = Received::Refused(Failure::Unauthorized("bad token".into()));
        assert!(matches!(
            refused.disposition(Arrived::Http),
            Disposition::Done
        ));
        assert!(matches!(
            refused.disposition(Arrived::Kept),
            Disposition::DeadLetter(_)
        ));
    }
}
