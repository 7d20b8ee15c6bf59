//! `ponte-local`: runs every function of Ponte's registry of actions on this machine with embedded defaults.
//!
//! It starts a moto server holding each function's connection secret, the provider sandbox, and each
//! function binary under a local Lambda runtime API; sends every event in `events/<function>/`;
//! and prints, for each, what came in, what the provider received and what the function
//! answered. It exits 0 when every event was delivered as expected.
//!
//! Then it sends one lead while the provider sandbox answers 503: the function answers 200
//! `queued`, and delivers the lead from its queue (moto's SQS) once the provider is back.
//!
//! `--serve` keeps moto and the sandbox running instead, and prints the variables with which
//! `cargo lambda watch` runs the functions against them.

use ponte::registry::ACTIONS;
use ponte_devtools::examples::{
    LOCAL_WEBHOOK_TOKEN, WELCOME_FUNCTION, local_webhooks, sales_routes, welcome_mapping,
};
use ponte_devtools::function::{LocalFunction, Output};
use ponte_devtools::moto::{self, Moto};
use ponte_devtools::runtime_api::InvocationResult;
use ponte_devtools::sandbox::{Fault, Received, Sandbox};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The record key's secret in the local moto, as `Cargo.toml` names it for `cargo lambda watch`.
const RECORD_KEY_SECRET_ID: &str = "ponte-local/record-key";

fn secret_id(function: &str) -> String {
    format!("ponte-local/{function}")
}

struct Args {
    bin_dir: PathBuf,
    events_dir: PathBuf,
    serve: bool,
    moto_port: u16,
    sandbox_port: u16,
    /// Connections given by the user (`--connection NAME=FILE`), e.g. a real provider account.
    connections: Vec<(String, Value)>,
}

/// Ports of `--serve`, fixed so that `cargo lambda watch` settings can name them.
const SERVE_MOTO_PORT: u16 = 5055;
const SERVE_SANDBOX_PORT: u16 = 5056;

const USAGE: &str = "\
usage: scripts/run-local [--bin-dir DIR] [--events DIR] [--connection FUNCTION=FILE]... [--serve [--moto-port PORT] [--sandbox-port PORT]]

Runs every function of Ponte locally (moto as Secrets Manager and SQS, a provider sandbox, a local
Lambda runtime API), sends every event in events/, then one lead while the provider is down.

  --bin-dir DIR              where the built functions are (default: beside this tool)
  --events DIR               the events folder, one subfolder per function (default: events/)
  --connection FUNCTION=FILE use the connection in FILE (JSON, e.g. a real provider account) for
                             FUNCTION instead of the sandbox; may be given once per function
  --serve                    keep moto and the sandbox running for `cargo lambda watch` instead
                             of running the events, and print how to invoke each function
  --moto-port PORT           moto's port (default: any free port; 5055 with --serve)
  --sandbox-port PORT        the sandbox's port (default: any free port; 5056 with --serve)
  -h, --help                 this text

Exit status: 0 when every event was delivered as expected, 1 when one was not, 2 on an error.";

fn read_connection(spec: &str) -> Result<(String, Value), String> {
    let (name, file) = spec
        .split_once('=')
        .ok_or("--connection wants FUNCTION=FILE")?;
    if ponte::registry::find(name).is_none() {
        return Err(format!(
            "--connection: {name:?} is not one of Ponte's functions"
        ));
    }
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let value = serde_json::from_str(&text).map_err(|e| format!("{file}: not JSON: {e}"))?;
    Ok((name.to_string(), value))
}

fn parse_args() -> Result<Args, String> {
    let devtools = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = devtools.parent().unwrap_or(devtools).to_path_buf();
    let mut args = Args {
        // The functions are built beside this tool (`cargo build --bins`, as scripts/run-local does), wherever
        // the target directory is.
        bin_dir: std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| root.join("target/debug")),
        events_dir: root.join("events"),
        serve: false,
        moto_port: 0,
        sandbox_port: 0,
        connections: Vec::new(),
    };
    let port = |value: Option<String>, flag: &str| {
        value
            .and_then(|p| p.parse::<u16>().ok())
            .ok_or(format!("{flag} needs a port number"))
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match arg.as_str() {
            "--bin-dir" => args.bin_dir = given.next().ok_or("--bin-dir needs a folder")?.into(),
            "--events" => args.events_dir = given.next().ok_or("--events needs a folder")?.into(),
            "--serve" => args.serve = true,
            "--moto-port" => args.moto_port = port(given.next(), "--moto-port")?,
            "--sandbox-port" => args.sandbox_port = port(given.next(), "--sandbox-port")?,
            "--connection" => args.connections.push(read_connection(
                &given.next().ok_or("--connection needs FUNCTION=FILE")?,
            )?),
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    if args.serve {
        if args.moto_port == 0 {
            args.moto_port = SERVE_MOTO_PORT;
        }
        if args.sandbox_port == 0 {
            args.sandbox_port = SERVE_SANDBOX_PORT;
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    if ponte_devtools::help_requested() {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    ponte_devtools::exit_code("ponte-local", run().await)
}

async fn run() -> Result<bool, String> {
    let args = parse_args()?;
    let moto = Moto::start_on(args.moto_port)?;
    let sandbox = Sandbox::start(args.sandbox_port)
        .await
        .map_err(|e| format!("sandbox: {e}"))?;
    let secrets = moto::secrets_client(&moto.endpoint()).await;
    for function in ACTIONS {
        let given = args
            .connections
            .iter()
            .find(|(name, _)| name == function.name);
        let connection = match given {
            Some((_, connection)) => {
                println!(
                    "{}: using the connection you gave (not the sandbox)",
                    function.name
                );
                connection.clone()
            }
            None => {
                let mut connection = (function.example_connection)(&sandbox.url());
                connection["webhooks"] = local_webhooks(&function.example_form);
                // Direct calls present it (events/*/direct-*.json), as deployed callers present
                // the token the stack generated.
                connection["webhook_token"] = json!(LOCAL_WEBHOOK_TOKEN);
                connection
            }
        };
        moto::put_secret(&secrets, &secret_id(function.name), &connection).await?;
    }
    // The stack's record key, with which the functions seal and check the requests they keep.
    moto::put_secret(
        &secrets,
        RECORD_KEY_SECRET_ID,
        &json!({"record_key": "local-record-key-0123456789abcdef0123456789"}),
    )
    .await?;
    println!("moto (Secrets Manager) at {}", moto.endpoint());
    println!("provider sandbox at {}", sandbox.url());

    if args.serve {
        create_queues(&moto).await?;
        serve(&moto, &sandbox).await;
        return Ok(true);
    }

    let log_dir = args.bin_dir.join("ponte-local-logs");
    std::fs::create_dir_all(&log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;
    let (mut passed, mut failed) = (0, 0);
    for function in ACTIONS {
        let binary = args.bin_dir.join(function.name);
        if !binary.exists() {
            return Err(format!(
                "{} is not built: run `cargo build --bins` first",
                binary.display()
            ));
        }
        let log_path = log_dir.join(format!("{}.log", function.name));
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let env = moto::function_env(&moto.endpoint(), &secret_id(function.name));
        let running = LocalFunction::start(&binary, function.name, &env, Output::File(log)).await?;
        for event_path in event_files(&args.events_dir.join(function.name))? {
            sandbox.clear();
            let uses_sandbox = !args
                .connections
                .iter()
                .any(|(name, _)| name == function.name);
            let ok =
                run_event(function.name, &running, &event_path, &sandbox, uses_sandbox).await?;
            if ok {
                passed += 1;
            } else {
                failed += 1;
            }
        }
        running.stop().await;
        println!("   (the function's own log: {})", log_path.display());
    }
    if args.connections.is_empty() {
        for ok in [
            queued_then_delivered(&args, &moto, &sandbox, &log_dir).await?,
            handed_over_then_delivered(&args, &moto, &sandbox, &log_dir).await?,
        ] {
            if ok {
                passed += 1;
            } else {
                failed += 1;
            }
        }
    }
    println!();
    println!("local run: {passed} passed, {failed} failed");
    Ok(failed == 0 && passed > 0)
}

/// The function the queued-lead demonstration runs, and the form event it sends.
const QUEUED_FUNCTION: &str = "cloudchat-create-conversation";
const QUEUED_EVENT: &str = "typeform.json";

/// A lead sent while the provider is down: the function answers the form builder 200
/// `queued`, keeps the lead on its queue, and delivers it from there once the provider is back,
/// as deployed. True when that is what happened.
async fn queued_then_delivered(
    args: &Args,
    moto: &Moto,
    sandbox: &Sandbox,
    log_dir: &Path,
) -> Result<bool, String> {
    let sqs = aws_sdk_sqs::Client::new(&moto::sdk_config(&moto.endpoint()).await);
    let queue = create_queue(&sqs, &format!("ponte-local-{QUEUED_FUNCTION}")).await?;
    let mut env = moto::function_env(&moto.endpoint(), &secret_id(QUEUED_FUNCTION));
    env.push(("INTAKE_QUEUE_URL", queue.clone()));
    env.push(("RECORD_KEY_SECRET_ID", RECORD_KEY_SECRET_ID.into()));
    // One call, so that the one 503 below is the whole outage.
    env.push(("PROVIDER_MAX_ATTEMPTS", "1".into()));
    let log_path = log_dir.join(format!("{QUEUED_FUNCTION}-queued.log"));
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let binary = args.bin_dir.join(QUEUED_FUNCTION);
    let running = LocalFunction::start(&binary, QUEUED_FUNCTION, &env, Output::File(log)).await?;

    println!();
    println!("━━ {QUEUED_FUNCTION}: a lead while the provider is down, delivered from the queue");
    sandbox.clear();
    sandbox.add_fault(Fault {
        path: "/conversations".into(),
        status: 503,
        delay_ms: 0,
        times: 1,
    });
    let path = args.events_dir.join(QUEUED_FUNCTION).join(QUEUED_EVENT);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let event: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "   came in       events/{QUEUED_FUNCTION}/{QUEUED_EVENT}, the provider answering 503"
    );
    let answer = running.invoke(event, Duration::from_secs(30)).await?;
    let first = sandbox.received();
    for request in &first {
        show_request(request);
    }
    let queued_answer = match &answer {
        InvocationResult::Response(answer) => {
            let status = answer["statusCode"].as_u64().unwrap_or_default();
            let body = answer["body"].as_str().unwrap_or_default();
            show("answered", &format!("HTTP {status}"), body);
            let body: Value = serde_json::from_str(body).unwrap_or_default();
            status == 200 && body["queued"] == json!(true)
        }
        InvocationResult::Error(error) => {
            show("answered", "an invocation error", &error.to_string());
            false
        }
    };

    sandbox.clear();
    let records = queue_records(&sqs, &queue, QUEUED_FUNCTION).await?;
    println!(
        "   queued        {} intake record(s) on the function's queue; the provider is back",
        records.len()
    );
    let batch = running
        .invoke(json!({ "Records": records }), Duration::from_secs(30))
        .await?;
    let delivered = sandbox.received();
    for request in &delivered {
        show_request(request);
    }
    let drained = match &batch {
        InvocationResult::Response(answer) => {
            show("answered", "SQS batch response", &answer.to_string());
            answer["batchItemFailures"]
                .as_array()
                .is_some_and(Vec::is_empty)
        }
        InvocationResult::Error(error) => {
            show("answered", "an invocation error", &error.to_string());
            false
        }
    };
    running.stop().await;
    let ok = queued_answer
        && first.len() == 1
        && first[0].status == 503
        && records.len() == 1
        && drained
        && delivered.len() == 1
        && delivered[0].status == 200;
    println!(
        "   {}",
        if ok {
            "✔ queued, then delivered once"
        } else {
            "✘ not as expected"
        }
    );
    println!("   (the function's own log: {})", log_path.display());
    Ok(ok)
}

/// Creates queue `name` in moto; its URL.
async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<String, String> {
    Ok(sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| format!("CreateQueue: {}", e.into_service_error()))?
        .queue_url()
        .unwrap_or_default()
        .to_string())
}

/// The messages on `queue` (of `function`), as SQS records of the event Lambda would send.
async fn queue_records(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    function: &str,
) -> Result<Vec<Value>, String> {
    let received = sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .send()
        .await
        .map_err(|e| format!("ReceiveMessage: {}", e.into_service_error()))?;
    Ok(received
        .messages()
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(), "receiptHandle": m.receipt_handle(),
                "body": m.body(), "attributes": {}, "messageAttributes": {},
                "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                "eventSourceARN": format!("arn:aws:sqs:us-east-1:000000000000:ponte-local-{function}"),
            })
        })
        .collect())
}

/// The function that hands a lead over, the one it hands it to, and the form it comes from.
const HANDING_FUNCTION: &str = "cloudchat-create-conversation";
const HANDED_TO: &str = WELCOME_FUNCTION;
const HANDED_FORM: &str = "elementor-vendas.urlencoded.txt";

/// A sales lead from an Elementor form takes its route: the ticket function opens the ticket
/// and hands the lead to the WhatsApp function's queue (`also`), and the WhatsApp function,
/// run on that queue's records, sends the welcome template with its own secret and mapping.
/// True when the sandbox received exactly the ticket and the template, once each.
async fn handed_over_then_delivered(
    args: &Args,
    moto: &Moto,
    sandbox: &Sandbox,
    log_dir: &Path,
) -> Result<bool, String> {
    let sqs = aws_sdk_sqs::Client::new(&moto::sdk_config(&moto.endpoint()).await);
    let secrets = moto::secrets_client(&moto.endpoint()).await;
    let mut queues = Vec::new();
    for function in [HANDING_FUNCTION, HANDED_TO] {
        queues.push(create_queue(&sqs, &format!("ponte-local-fan-out-{function}")).await?);
    }
    let example = |name: &str| {
        let function = ACTIONS.iter().find(|a| a.name == name).expect("registered");
        (function.example_connection)(&sandbox.url())
    };
    let mut tickets = example(HANDING_FUNCTION);
    tickets["webhooks"] = sales_routes(LOCAL_WEBHOOK_TOKEN);
    let mut whatsapp = example(HANDED_TO);
    whatsapp["webhooks"] = welcome_mapping();
    let mut running = Vec::new();
    for (i, (function, connection)) in [(HANDING_FUNCTION, tickets), (HANDED_TO, whatsapp)]
        .into_iter()
        .enumerate()
    {
        let secret = format!("ponte-local/fan-out-{function}");
        moto::put_secret(&secrets, &secret, &connection).await?;
        let mut env = moto::function_env(&moto.endpoint(), &secret);
        env.push(("INTAKE_QUEUE_URL", queues[i].clone()));
        env.push(("RECORD_KEY_SECRET_ID", RECORD_KEY_SECRET_ID.into()));
        env.push(("FAN_OUT_QUEUES", format!("{HANDED_TO}={}", queues[1])));
        let log_path = log_dir.join(format!("{function}-fan-out.log"));
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let binary = args.bin_dir.join(function);
        running.push(LocalFunction::start(&binary, function, &env, Output::File(log)).await?);
    }

    println!();
    println!(
        "━━ {HANDING_FUNCTION} → {HANDED_TO}: a sales lead takes its route and is handed over"
    );
    sandbox.clear();
    let body = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/forms")
            .join(HANDED_FORM),
    )
    .map_err(|e| format!("{HANDED_FORM}: {e}"))?;
    println!("   came in       tests/fixtures/forms/{HANDED_FORM} (Interesse: Orçamento)");
    let answer = running[0]
        .invoke(elementor_event(&body), Duration::from_secs(30))
        .await?;
    let routed = match &answer {
        InvocationResult::Response(answer) => {
            let status = answer["statusCode"].as_u64().unwrap_or_default();
            let text = answer["body"].as_str().unwrap_or_default();
            show("answered", &format!("HTTP {status}"), text);
            let body: Value = serde_json::from_str(text).unwrap_or_default();
            status == 200 && body["route"] == "vendas" && body["targets"][0]["outcome"] == "queued"
        }
        InvocationResult::Error(error) => {
            show("answered", "an invocation error", &error.to_string());
            false
        }
    };
    let records = queue_records(&sqs, &queues[1], HANDED_TO).await?;
    println!(
        "   handed over   {} record(s) on {HANDED_TO}'s queue",
        records.len()
    );
    let batch = running[1]
        .invoke(json!({ "Records": records }), Duration::from_secs(30))
        .await?;
    let drained = matches!(&batch, InvocationResult::Response(answer)
        if answer["batchItemFailures"].as_array().is_some_and(Vec::is_empty));
    let sent = sandbox.received();
    for request in &sent {
        show_request(request);
    }
    for function in running {
        function.stop().await;
    }
    let reached = |end: &str| sent.iter().filter(|r| r.path.ends_with(end)).count();
    let ok = routed
        && records.len() == 1
        && drained
        && sent.len() == 2
        && reached("/conversations") == 1
        && reached("/create_proactive_whatsapp_conversation") == 1;
    println!(
        "   {}",
        if ok {
            "✔ ticket opened here, template sent by the other function, once each"
        } else {
            "✘ not as expected"
        }
    );
    Ok(ok)
}

/// An HTTP API event posting an Elementor form body to the ticket function's form route.
fn elementor_event(body: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "POST /cloudchat/conversations/{source}",
        "rawPath": "/cloudchat/conversations/elementor",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "user-agent": "WordPress/6.7; https://loja.example.com.br",
            "x-ponte-token": LOCAL_WEBHOOK_TOKEN
        },
        "pathParameters": {"source": "elementor"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "stage": "$default",
            "requestId": "fan-out-demo", "routeKey": "POST /cloudchat/conversations/{source}",
            "http": {"method": "POST", "path": "/cloudchat/conversations/elementor",
                     "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "WordPress/6.7"},
            "timeEpoch": 1795262400000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

fn event_files(folder: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|e| format!("{}: {e}", folder.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// Sends one event file and prints the report; true when the outcome is the expected one.
async fn run_event(
    function: &str,
    running: &LocalFunction,
    path: &Path,
    sandbox: &Sandbox,
    uses_sandbox: bool,
) -> Result<bool, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let event: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy())
        .unwrap_or_default();
    println!();
    println!("━━ {function} ← events/{function}/{file}");
    let records = event["Records"].as_array().map(Vec::len);
    match records {
        Some(_) => {
            for record in event["Records"].as_array().into_iter().flatten() {
                let body = record["body"].as_str().unwrap_or_default();
                show(
                    "came in",
                    &format!("SQS record {}", record["messageId"]),
                    body,
                );
            }
        }
        None => show(
            "came in",
            &format!(
                "{} {}",
                event["requestContext"]["http"]["method"]
                    .as_str()
                    .or(event["httpMethod"].as_str())
                    .unwrap_or("?"),
                event["rawPath"]
                    .as_str()
                    .or(event["path"].as_str())
                    .unwrap_or("?")
            ),
            event["body"].as_str().unwrap_or_default(),
        ),
    }
    let answer = running
        .invoke(event.clone(), Duration::from_secs(30))
        .await?;
    let received = sandbox.received();
    for request in &received {
        show_request(request);
    }
    if received.is_empty() {
        let note = if uses_sandbox {
            "nothing"
        } else {
            "(a real provider: see its own records)"
        };
        println!("   provider got  {note}");
    }
    // With a connection of the user's own, the provider is real and the sandbox sees nothing.
    let expected_requests = if uses_sandbox {
        records.unwrap_or(1)
    } else {
        0
    };
    let ok = match (&answer, records) {
        (InvocationResult::Response(answer), Some(count)) => {
            show("answered", "SQS batch response", &answer.to_string());
            answer["batchItemFailures"]
                .as_array()
                .is_some_and(Vec::is_empty)
                && received.len() == expected_requests
                && count > 0
        }
        (InvocationResult::Response(answer), None) => {
            let status = answer["statusCode"].as_u64().unwrap_or_default();
            show(
                "answered",
                &format!("HTTP {status}"),
                answer["body"].as_str().unwrap_or_default(),
            );
            status == 200 && received.len() == expected_requests
        }
        (InvocationResult::Error(error), _) => {
            show("answered", "an invocation error", &error.to_string());
            false
        }
    };
    println!(
        "   {}",
        if ok {
            "✔ delivered"
        } else {
            "✘ not as expected"
        }
    );
    Ok(ok)
}

fn show_request(request: &Received) {
    let headers: Vec<String> = request
        .headers
        .iter()
        .filter(|(name, _)| {
            [
                "api_access_token",
                "authorization",
                "origin",
                "content-type",
            ]
            .contains(&name.as_str())
        })
        .map(|(name, value)| format!("{name}: {value}"))
        .collect();
    show(
        "provider got",
        &format!(
            "{} {} [{}] → {}",
            request.method,
            request.path,
            headers.join(", "),
            request.status
        ),
        &request.body.to_string(),
    );
}

/// The most lines of one body printed; the rest is counted, not shown.
const SHOWN_LINES: usize = 30;

/// How many bytes of `text` were not shown, when `shown` bytes were.
fn more_bytes(text: &str, shown: usize) -> Option<usize> {
    Some(text.len().saturating_sub(shown)).filter(|more| *more > 0)
}

/// Prints a labelled block: a title line, then the JSON pretty-printed (or the text as it is).
fn show(label: &str, title: &str, body: &str) {
    println!("   {label:<13} {title}");
    let pretty = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.to_string());
    let mut shown = 0;
    for line in pretty.lines().take(SHOWN_LINES) {
        println!("   {:<13} {line}", "");
        shown += line.len() + 1;
    }
    if let Some(more) = more_bytes(&pretty, shown) {
        println!("   {:<13} … ({more} more bytes)", "");
    }
}

/// Each function's own queue and dead-letter queue, named as `Cargo.toml` gives them to
/// `cargo lambda watch` (`ponte-local-<function>` and `…-dead-letters`), so that a request that
/// cannot be delivered now is queued and one that never can is a dead letter, as deployed, and
/// `scripts/replay --local` has letters to show.
async fn create_queues(moto: &Moto) -> Result<(), String> {
    let sqs = aws_sdk_sqs::Client::new(&moto::sdk_config(&moto.endpoint()).await);
    for action in ACTIONS {
        for name in [
            format!("ponte-local-{}", action.name),
            format!("ponte-local-{}-dead-letters", action.name),
        ] {
            sqs.create_queue()
                .queue_name(&name)
                .send()
                .await
                .map_err(|e| format!("CreateQueue {name}: {}", e.into_service_error()))?;
        }
    }
    Ok(())
}

async fn serve(moto: &Moto, sandbox: &Sandbox) {
    println!();
    println!(
        "Secrets stored: {}",
        ACTIONS
            .iter()
            .map(|f| secret_id(f.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("Run the functions with cargo lambda in another terminal (Cargo.toml gives each its");
    println!("own secret, ponte-local/<function>; scripts/run-local built them as cargo lambda");
    println!("builds them, so the first invoke does not wait for a build):");
    println!();
    println!("  source scripts/tools.sh");
    println!(
        "  AWS_ENDPOINT_URL={} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \\",
        moto.endpoint()
    );
    println!("    cargo lambda watch");
    println!();
    println!(
        "Then, in a third terminal, send an event file, or curl a function as a form builder would:"
    );
    println!();
    println!("  source scripts/tools.sh");
    println!(
        "  cargo lambda invoke cloudchat-create-conversation --data-file events/cloudchat-create-conversation/http-api.json"
    );
    println!(
        "  curl -X POST 'http://127.0.0.1:9000/lambda-url/cloudchat-create-conversation/elementor?inbox_id=1&token={LOCAL_WEBHOOK_TOKEN}' \\"
    );
    println!(
        "    -H 'Content-Type: application/x-www-form-urlencoded' --data 'Nome=Ana&Email=ana@example.com'"
    );
    println!();
    println!(
        "What the sandbox received: curl {}/_sandbox/requests",
        sandbox.url()
    );
    println!(
        "A function's dead letters: scripts/replay cloudchat-create-conversation list --local"
    );
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
}
