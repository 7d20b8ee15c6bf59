//! What became of one HTTP request (fresh, or kept and run again from the queue), and whether
//! it must be kept: the one place that decides what is queued, what is a dead letter, and what
//! is let go.

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
    /// One report per submission (one for a direct call).
    Delivered(Vec<SubmissionReport>),
}

#[derive(Debug)]
pub struct SubmissionReport {
    pub submission_id: Option<String>,
    pub report: Report,
}

#[derive(Debug)]
pub struct SubmissionPreview {
    pub submission_id: Option<String>,
    pub result: Result<Preview, Failure>,
}

/// What must be done so that nothing that got past the check is lost.
#[derive(Debug)]
pub enum Keep<'a> {
    /// Delivered, a test, a dry run, or refused at the door.
    Nothing,
    /// It may succeed later as it is: queue it (when fresh) or let SQS retry it (when queued).
    Later(&'a Failure),
    /// It cannot succeed until someone changes something: a dead letter, with this reason.
    DeadLetter(&'a Failure),
}

impl Received {
    /// Whether the request must be kept, and why. A request with several submissions is kept
    /// whole, for later when any of them may succeed later (the ones delivered meanwhile are
    /// duplicates then, and are not sent again).
    pub fn keep(&self) -> Keep<'_> {
        match self {
            Received::Refused(_) | Received::Test(_) | Received::Previewed(_) => Keep::Nothing,
            Received::Unchecked(failure) | Received::Failed(failure) => Keep::of(failure),
            Received::Delivered(reports) => {
                let failures = || {
                    reports
                        .iter()
                        .filter_map(|r| r.report.result.as_ref().err())
                };
                failures()
                    .find(|failure| failure.retry().may_succeed_later())
                    .or_else(|| failures().next())
                    .map_or(Keep::Nothing, Keep::of)
            }
        }
    }
}

impl<'a> Keep<'a> {
    fn of(failure: &'a Failure) -> Self {
        if failure.retry().may_succeed_later() {
            Keep::Later(failure)
        } else {
            Keep::DeadLetter(failure)
        }
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
        SubmissionReport {
            submission_id: None,
            report,
        }
    }

    fn down() -> Failure {
        Failure::SecretUnavailable("throttled".into())
    }

    fn invalid() -> Failure {
        Failure::Invalid(Problems::single("inbox_id", "is required"))
    }

    #[test]
    fn what_passed_the_check_and_failed_is_kept() {
        assert!(matches!(Received::Refused(down()).keep(), Keep::Nothing));
        assert!(matches!(Received::Test("t".into()).keep(), Keep::Nothing));
        assert!(matches!(Received::Unchecked(down()).keep(), Keep::Later(_)));
        let config = Failure::Configuration("no SECRET_ID".into());
        assert!(matches!(
            Received::Unchecked(config).keep(),
            Keep::DeadLetter(_)
        ));
        assert!(matches!(
            Received::Failed(invalid()).keep(),
            Keep::DeadLetter(f) if f.kind() == "validation"
        ));
        assert!(matches!(
            Received::Delivered(vec![report(Ok(()))]).keep(),
            Keep::Nothing
        ));
    }

    #[test]
    fn a_request_any_of_whose_submissions_may_succeed_later_is_kept_for_later() {
        let mixed = Received::Delivered(vec![
            report(Ok(())),
            report(Err(invalid())),
            report(Err(down())),
        ]);
        assert!(matches!(mixed.keep(), Keep::Later(f) if f.kind() == "secret_unavailable"));
        let refused = Received::Delivered(vec![report(Ok(())), report(Err(invalid()))]);
        assert!(matches!(refused.keep(), Keep::DeadLetter(f) if f.kind() == "validation"));
    }
}
