//! `ponte-studio`: serves Ponte Studio on loopback (see `ponte_devtools::studio`).
//!
//! Without `--secret-id` it runs on the local run's embedded defaults: a moto server holding each
//! function's secret (the local connection to the provider sandbox), each function's queue and
//! dead-letter queue, and one dead letter to fix, made by the function's own code. With
//! `--function` and `--secret-id` it works on a deployed function through the AWS configuration
//! the shell already has (profile, region, credentials), as `scripts/replay` does.

use ponte::intake::RecordKey;
use ponte::registry::ACTIONS;
use ponte_devtools::examples::local_webhooks;
use ponte_devtools::moto::{self, Moto};
use ponte_devtools::sandbox::Sandbox;
use ponte_devtools::studio::{self, FunctionPlace, Studio, demo};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: scripts/studio [--function NAME --secret-id ID [--dead-letter-queue-url URL] [--queue-url URL]] [--port PORT] [--events DIR]

Serves Ponte Studio on 127.0.0.1 and prints its address (with this run's token). There, pick a
function and a submission (a dead letter, a sample of events/, or a pasted request), edit the
`webhooks` part of the function's secret, and see at once what the function would do with it:
the route, the provider request with each value traced to its answer, or every problem. Nothing is
sent to a provider. Saving writes a new version of the secret; redriving sends chosen dead
letters back to the function's queue.

Without --secret-id: the local run's defaults (moto, the provider sandbox, one dead letter to fix).

  --function NAME             the deployed function to work on (with --secret-id)
  --secret-id ID              its connection secret (stack output <Function>SecretId)
  --dead-letter-queue-url URL its dead-letter queue (stack output <Function>DeadLetterQueueUrl)
  --queue-url URL             its queue, where redriven letters go (stack output <Function>QueueUrl)
  --port PORT                 the port on 127.0.0.1 (default: 5060; 0 picks a free one)
  --events DIR                the samples, one folder per function (default: events/)
  -h, --help                  this text";

struct Args {
    function: Option<String>,
    secret_id: Option<String>,
    dead_letters: Option<String>,
    queue: Option<String>,
    port: u16,
    events: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        function: None,
        secret_id: None,
        dead_letters: None,
        queue: None,
        port: 5060,
        events: PathBuf::from("events"),
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--function" => args.function = Some(value()?),
            "--secret-id" => args.secret_id = Some(value()?),
            "--dead-letter-queue-url" => args.dead_letters = Some(value()?),
            "--queue-url" => args.queue = Some(value()?),
            "--port" => args.port = value()?.parse().map_err(|_| "--port: a number")?,
            "--events" => args.events = value()?.into(),
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    if args.secret_id.is_some() != args.function.is_some() {
        return Err("--function and --secret-id go together".into());
    }
    if let Some(function) = &args.function
        && ponte::registry::find(function).is_none()
    {
        let names: Vec<&str> = ACTIONS.iter().map(|a| a.name).collect();
        return Err(format!(
            "no function {function:?}: one of {}",
            names.join(", ")
        ));
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    if ponte_devtools::help_requested() {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    ponte_devtools::exit_code("ponte-studio", run().await)
}

async fn run() -> Result<bool, String> {
    let args = parse_args()?;
    // Kept alive while the Studio runs, in the local mode.
    let mut local: Option<(Moto, Sandbox)> = None;
    let studio = match (&args.function, &args.secret_id) {
        (Some(function), Some(secret_id)) => {
            let config = ponte::aws::load_config().await;
            Studio {
                token: studio::new_token(),
                functions: vec![FunctionPlace {
                    name: function.clone(),
                    secret_id: secret_id.clone(),
                    dead_letters: args.dead_letters.clone(),
                    queue: args.queue.clone(),
                }],
                secrets: aws_sdk_secretsmanager::Client::new(&config),
                sqs: aws_sdk_sqs::Client::new(&config),
                events: args.events.clone(),
            }
        }
        _ => {
            let moto = Moto::start()?;
            let sandbox = Sandbox::start(0).await.map_err(|e| e.to_string())?;
            let studio = local_studio(&moto, &sandbox, &args).await?;
            local = Some((moto, sandbox));
            studio
        }
    };
    let running = studio::serve(studio, args.port)
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    println!("Ponte Studio: {}", running.url());
    if local.is_some() {
        println!(
            "(local defaults: moto, the provider sandbox, and one dead letter of {} to fix)",
            demo::FUNCTION
        );
    }
    println!("Ctrl-C stops it.");
    let _ = tokio::signal::ctrl_c().await;
    drop(local);
    Ok(true)
}

/// Every function with its local secret and queues in `moto`, and one dead letter to fix.
async fn local_studio(moto: &Moto, sandbox: &Sandbox, args: &Args) -> Result<Studio, String> {
    let config = moto::sdk_config(&moto.endpoint()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let mut functions = Vec::new();
    for action in ACTIONS {
        let secret_id = format!("ponte-local/{}", action.name);
        let mut secret = (action.example_connection)(&sandbox.url());
        secret["webhooks"] = local_webhooks(&action.example_form);
        if action.name == demo::FUNCTION {
            // The demo's connection, with the local sample's source beside its Elementor mapping.
            let samples = secret["webhooks"].clone();
            secret = demo::secret(&sandbox.url());
            for (source, settings) in samples.as_object().into_iter().flatten() {
                secret["webhooks"][source] = settings.clone();
            }
        }
        secret["requests_per_second"] = serde_json::json!(50);
        moto::put_secret(&secrets, &secret_id, &secret).await?;
        let mut urls = Vec::new();
        for kind in ["queue", "dead-letters"] {
            let created = sqs
                .create_queue()
                .queue_name(format!("ponte-studio-{}-{kind}", action.name))
                .send()
                .await
                .map_err(|e| format!("create queue: {e}"))?;
            urls.push(created.queue_url().unwrap_or_default().to_string());
        }
        functions.push(FunctionPlace {
            name: action.name.to_string(),
            secret_id,
            queue: Some(urls[0].clone()),
            dead_letters: Some(urls[1].clone()),
        });
    }
    let place = functions
        .iter()
        .find(|f| f.name == demo::FUNCTION)
        .ok_or("the demo's function is not registered")?;
    let app = demo::function(
        &moto.endpoint(),
        &place.secret_id,
        place.queue.as_deref().unwrap_or_default(),
        place.dead_letters.as_deref().unwrap_or_default(),
        RecordKey(ponte_devtools::studio::new_token().into_bytes()),
    )
    .await;
    demo::post_failing_lead(&app).await?;
    Ok(Studio {
        token: studio::new_token(),
        functions,
        secrets,
        sqs,
        events: args.events.clone(),
    })
}
