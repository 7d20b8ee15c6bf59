//! `scripts/replay`: lists a function's dead letters by reason, tries them against the current
//! secret and mapping without sending anything (`--dry-run`), and sends the chosen ones back to
//! the function's queue (`--redrive`), where its SQS trigger delivers them, once each.
//!
//! AWS is reached through the SDK's standard configuration, as the AWS CLI is: profiles,
//! `AWS_REGION`, credentials, and `AWS_ENDPOINT_URL` (a local moto server).

use ponte::connection::ProviderConnection;
use ponte::received::Received;
use ponte::registry::{self, ForAction};
use ponte::secrets::SecretsManagerStore;
use ponte::{Action, App, Settings};
use ponte_devtools::replay::{self, Letter};
use std::process::ExitCode;
use std::sync::Arc;

/// The usage text, naming every function of the registry.
fn usage() -> String {
    USAGE.replace("{functions}", &registry::names().join(", "))
}

const USAGE: &str = "\
usage: scripts/replay FUNCTION --dead-letter-queue URL [--dry-run --secret-id ID | --redrive --queue URL] [--reason KIND] [--limit N]

Lists FUNCTION's dead letters, grouped by reason (the ponte.error_kind attribute).

  FUNCTION                 the function whose letters these are: {functions}
  --dead-letter-queue URL  the function's dead-letter queue (stack output <Function>DeadLetterQueueUrl;
                           or PONTE_DEAD_LETTER_QUEUE_URL)
  --dry-run                for each chosen letter, what it would send now with the current secret
                           and mapping, or why it would not; nothing is sent, nothing is moved
  --secret-id ID           the function's connection secret, for --dry-run (stack output
                           <Function>SecretId; or SECRET_ID)
  --redrive                send the chosen letters to the function's queue, which delivers them
                           (a lead already delivered is not sent again), and delete them here
  --queue URL              the function's queue, for --redrive (stack output <Function>QueueUrl;
                           or PONTE_QUEUE_URL)
  --reason KIND            choose only letters of this reason (validation, configuration, ...)
  --limit N                choose at most N letters
  -h, --help               this text

Exit status: 0 when done, 1 when a dry run found letters that would still fail, 2 on an error.";

#[derive(Debug, Default)]
struct Args {
    function: String,
    dead_letter_queue: Option<String>,
    queue: Option<String>,
    secret_id: Option<String>,
    dry_run: bool,
    redrive: bool,
    reason: Option<String>,
    limit: Option<usize>,
}

#[derive(Debug)]
enum Parsed {
    Help,
    Run(Args),
}

fn parse_args(given: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut args = Args {
        dead_letter_queue: std::env::var("PONTE_DEAD_LETTER_QUEUE_URL").ok(),
        queue: std::env::var("PONTE_QUEUE_URL").ok(),
        secret_id: std::env::var("SECRET_ID").ok(),
        ..Args::default()
    };
    let mut given = given.into_iter();
    while let Some(arg) = given.next() {
        let mut value = |name: &str| given.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--dead-letter-queue" => args.dead_letter_queue = Some(value(&arg)?),
            "--queue" => args.queue = Some(value(&arg)?),
            "--secret-id" => args.secret_id = Some(value(&arg)?),
            "--reason" => args.reason = Some(value(&arg)?),
            "--limit" => {
                let text = value(&arg)?;
                let limit = text
                    .parse()
                    .map_err(|_| format!("--limit takes a whole number, not {text:?}"))?;
                args.limit = Some(limit);
            }
            "--dry-run" => args.dry_run = true,
            "--redrive" => args.redrive = true,
            other if other.starts_with('-') => {
                return Err(format!("unknown option {other:?} (see --help)"));
            }
            name if args.function.is_empty() => args.function = name.to_string(),
            extra => return Err(format!("one function at a time, not also {extra:?}")),
        }
    }
    if args.function.is_empty() {
        return Err("name the function (see --help)".into());
    }
    if args.dead_letter_queue.is_none() {
        return Err("--dead-letter-queue URL is needed (see --help)".into());
    }
    if args.dry_run && args.redrive {
        return Err("--dry-run sends nothing: use it before --redrive, not with it".into());
    }
    if args.dry_run && args.secret_id.is_none() {
        return Err("--dry-run needs --secret-id ID, the function's connection secret".into());
    }
    if args.redrive && args.queue.is_none() {
        return Err("--redrive needs --queue URL, the function's own queue".into());
    }
    Ok(Parsed::Run(args))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Help) => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Run(args)) => args,
        Err(message) => return ponte_devtools::exit_code("replay", Err(message)),
    };
    let outcome = match registry::visit(&args.function, Replay(&args)) {
        Some(replay) => replay.await,
        None => Err(format!(
            "unknown function {:?}: use one of {}",
            args.function,
            registry::names().join(", ")
        )),
    };
    ponte_devtools::exit_code("replay", outcome)
}

/// Replay with the types of the function named on the command line.
struct Replay<'a>(&'a Args);

impl<'a> ForAction for Replay<'a> {
    type Output = futures::future::LocalBoxFuture<'a, Result<bool, String>>;

    fn run<A: Action>(self) -> Self::Output
    where
        A::Connection: ProviderConnection,
    {
        Box::pin(run::<A>(self.0))
    }
}

async fn run<A: Action>(args: &Args) -> Result<bool, String> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let dlq = args.dead_letter_queue.as_deref().unwrap_or_default();
    let letters = replay::read(&sqs, dlq, replay::MAX_LETTERS).await?;
    println!("{} dead letters in {dlq}", letters.len());
    for (reason, count) in replay::by_reason(&letters) {
        println!("  {reason}: {count}");
    }
    let (chosen, rest) = replay::choose(letters, args.reason.as_deref(), args.limit);
    let mut all_good = true;
    if args.redrive {
        let queue = args.queue.as_deref().unwrap_or_default();
        replay::release(&sqs, dlq, &rest).await?;
        let sent = replay::redrive(&sqs, dlq, queue, &chosen).await?;
        println!("sent {sent} to {queue}; {} left here", rest.len());
    } else {
        if args.dry_run {
            let settings = Settings {
                secret_id: args.secret_id.clone(),
                ..Settings::from_env()?
            };
            let store = SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(&config));
            let app = App::<A>::new(settings, Arc::new(store));
            for letter in &chosen {
                all_good &= try_letter(&app, letter).await;
            }
        } else {
            for letter in &chosen {
                println!("  {} [{}] {}", letter.message_id, letter.kind, letter.error);
            }
        }
        replay::release(&sqs, dlq, &chosen).await?;
        replay::release(&sqs, dlq, &rest).await?;
    }
    Ok(all_good)
}

/// Prints what one letter would send now, or why not; true when all of it would be sent.
async fn try_letter<A: Action>(app: &App<A>, letter: &Letter) -> bool {
    let title = format!("{} [{}]", letter.message_id, letter.kind);
    match ponte::sqs_batch::preview(app, &letter.body).await {
        Received::Previewed(previews) => {
            let mut good = true;
            for preview in previews {
                match preview.result {
                    Ok(request) => {
                        println!("✔ {title} would send POST {} {}", request.url, request.body)
                    }
                    Err(failure) => {
                        good = false;
                        println!("✘ {title} would not be sent: {failure}");
                    }
                }
            }
            good
        }
        Received::Test(reason) => {
            println!("✔ {title} is a test delivery ({reason}): nothing to send");
            true
        }
        Received::Refused(failure) | Received::Unchecked(failure) | Received::Failed(failure) => {
            println!("✘ {title} would not be sent: {failure}");
            false
        }
        Received::Attempted(_) => {
            println!("✘ {title}: a dry run answered with a delivery, which it never makes");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<Parsed, String> {
        parse_args(words.iter().map(|w| w.to_string()))
    }

    #[test]
    fn options_that_cannot_go_together_are_refused() {
        assert!(matches!(parse(&["--help"]), Ok(Parsed::Help)));
        let dlq = ["wegly-create-chat", "--dead-letter-queue", "http://q"];
        assert!(matches!(parse(&dlq), Ok(Parsed::Run(_))));
        let both = [&dlq[..], &["--dry-run", "--redrive", "--secret-id", "s"]].concat();
        assert!(parse(&both).unwrap_err().contains("--dry-run"));
        let no_queue = [&dlq[..], &["--redrive"]].concat();
        assert!(parse(&no_queue).unwrap_err().contains("--queue"));
        let limit = [&dlq[..], &["--limit", "many"]].concat();
        assert!(parse(&limit).unwrap_err().contains("whole number"));
    }
}
