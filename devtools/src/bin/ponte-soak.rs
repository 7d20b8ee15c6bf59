//! `ponte-soak`: pushes many events through a real function binary, with duplicates and injected
//! provider faults, and counts what reached the provider.
//!
//! Set-up: moto (the connection secret, the DynamoDB idempotency table, the dead-letter queue),
//! the provider sandbox failing a share of requests at random (500, 503, 429), and several
//! instances of the function under local runtime APIs, as concurrent Lambda containers. Events
//! go in as SQS batches; records the function reports as failed are delivered again, as SQS
//! would, until `--max-receive`, after which they count as moved to the dead-letter queue by SQS.
//!
//! Report: delivered, duplicates created at the provider, lost, dead-lettered (with reasons).
//! It exits 0 only with 0 duplicates and 0 lost.

use ponte_devtools::function::{LocalFunction, Output};
use ponte_devtools::moto::{self, Moto};
use ponte_devtools::sandbox::Sandbox;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

struct Args {
    binary: PathBuf,
    events: usize,
    duplicate_rate: f64,
    chaos: f64,
    invalid_rate: f64,
    max_receive: u32,
    instances: usize,
    readme: Option<PathBuf>,
}

const USAGE: &str = "\
usage: scripts/soak [--bin PATH] [--events N] [--duplicates RATE] [--chaos RATE] [--invalid RATE] [--max-receive N] [--instances N] [--readme PATH]

Sends N events through the function's real binary as SQS would (redelivering failed records),
with duplicates, provider faults and invalid events mixed in, and counts what the provider got.

  --bin PATH          the function binary (default: target/release/cloudchat-create-conversation)
  --events N          events to send (default: 10000)
  --duplicates RATE   share of messages SQS delivers twice, 0 to 1 (default: 0.1)
  --chaos RATE        share of provider calls that fail with 500, 503 or 429 (default: 0.1)
  --invalid RATE      share of events that are invalid and must be dead-lettered (default: 0.01)
  --max-receive N     receives of a record before it counts as dead-lettered (default: 5)
  --instances N       function processes running at once (default: 4)
  --readme PATH       write the results between the soak markers of this README
  -h, --help          this text

Exit status: 0 with no duplicate and nothing lost, 1 otherwise, 2 on an error.";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        binary: PathBuf::from("target/release/cloudchat-create-conversation"),
        events: 10_000,
        duplicate_rate: 0.1,
        chaos: 0.1,
        invalid_rate: 0.01,
        max_receive: 5,
        instances: 4,
        readme: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--bin" => args.binary = value()?.into(),
            "--events" => args.events = value()?.parse().map_err(|_| "--events: a number")?,
            "--duplicates" => {
                args.duplicate_rate = value()?.parse().map_err(|_| "--duplicates: 0 to 1")?
            }
            "--chaos" => args.chaos = value()?.parse().map_err(|_| "--chaos: 0 to 1")?,
            "--invalid" => args.invalid_rate = value()?.parse().map_err(|_| "--invalid: 0 to 1")?,
            "--max-receive" => {
                args.max_receive = value()?.parse().map_err(|_| "--max-receive: a number")?
            }
            "--instances" => {
                args.instances = value()?.parse().map_err(|_| "--instances: a number")?
            }
            "--readme" => args.readme = Some(value()?.into()),
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    Ok(args)
}

/// One SQS message as the soak's queue holds it.
#[derive(Clone)]
struct Message {
    id: String,
    body: String,
    receives: u32,
}

#[derive(Default)]
struct Tally {
    invocations: u64,
    exhausted: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    if ponte_devtools::help_requested() {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    ponte_devtools::exit_code("ponte-soak", run().await)
}

async fn run() -> Result<bool, String> {
    let args = parse_args()?;
    if !args.binary.exists() {
        return Err(format!(
            "{} is not built (cargo build --release --bins)",
            args.binary.display()
        ));
    }
    let moto = Moto::start()?;
    let sandbox = Sandbox::start(0).await.map_err(|e| e.to_string())?;
    let config = moto::sdk_config(&moto.endpoint()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let secret = "ponte-soak/cloudchat";
    moto::put_secret(
        &secrets,
        secret,
        // The sandbox has no rate of its own here (the pace is measured by ponte-burst): the
        // connection states more than the soak can offer, so only the injected 429s slow it.
        &json!({"api_access_token": "soak-token", "account_id": 1, "base_url": sandbox.url(),
                "requests_per_second": 1000}),
    )
    .await?;
    moto::create_idempotency_table(&dynamo, "ponte-soak-idempotency").await?;
    let dlq = sqs
        .create_queue()
        .queue_name("ponte-soak-dead-letters")
        .send()
        .await
        .map_err(|e| format!("create queue: {e}"))?
        .queue_url()
        .unwrap_or_default()
        .to_string();

    // The deliveries: unique tickets, a share of them invalid, then duplicates of some.
    let mut expected_valid = Vec::new();
    let mut expected_invalid = Vec::new();
    let mut queue: Vec<Message> = Vec::new();
    for i in 0..args.events {
        let contact = format!("soak-{i:06}");
        let invalid = fastrand::f64() < args.invalid_rate;
        let mut body = json!({"inbox_id": "1", "contact_identifier": contact, "message": {"content": format!("Pedido {i}"), "message_type": "incoming"}});
        if invalid {
            body["status"] = json!("fechado");
            expected_invalid.push(contact.clone());
        } else {
            expected_valid.push(contact.clone());
        }
        queue.push(Message {
            id: format!("m-{i:06}"),
            body: body.to_string(),
            receives: 0,
        });
    }
    let duplicates = (args.events as f64 * args.duplicate_rate) as usize;
    // SQS delivers at least once: a duplicate is the same message (its id and body) handed
    // over again. (The same payload sent again as a new message is a new delivery on purpose.)
    for _ in 0..duplicates {
        let original = queue[fastrand::usize(..args.events)].clone();
        queue.push(original);
    }
    fastrand::shuffle(&mut queue);
    sandbox.set_chaos(args.chaos);

    let log_dir = std::env::temp_dir().join("ponte-soak");
    std::fs::create_dir_all(&log_dir).map_err(|e| e.to_string())?;
    let queue = Arc::new(Mutex::new(VecDeque::from(queue)));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for n in 0..args.instances {
        let log = std::fs::File::create(log_dir.join(format!("instance-{n}.log")))
            .map_err(|e| e.to_string())?;
        let mut env = moto::function_env(&moto.endpoint(), secret);
        env.push(("IDEMPOTENCY_TABLE", "ponte-soak-idempotency".into()));
        env.push(("DEAD_LETTER_QUEUE_URL", dlq.clone()));
        env.push(("AWS_LAMBDA_LOG_LEVEL", "warn".into()));
        let function = LocalFunction::start(
            &args.binary,
            "cloudchat-create-conversation",
            &env,
            Output::File(log),
        )
        .await?;
        let (queue, tally, max_receive) = (queue.clone(), tally.clone(), args.max_receive);
        workers.push(tokio::spawn(async move {
            work(function, queue, tally, max_receive).await
        }));
    }
    for worker in workers {
        worker.await.map_err(|e| e.to_string())??;
    }
    let elapsed = started.elapsed();

    // What the provider received, by contact: successful creations and injected faults.
    let mut created: HashMap<String, u32> = HashMap::new();
    let (mut faults, mut calls) = (0u64, 0u64);
    for request in sandbox.received() {
        calls += 1;
        if request.status == 200 {
            let contact = request.body["contact_identifier"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            *created.entry(contact).or_default() += 1;
        } else {
            faults += 1;
        }
    }
    let dead = read_dead_letters(&sqs, &dlq).await?;
    let tally = tally.lock().await;
    let delivered = expected_valid
        .iter()
        .filter(|c| created.contains_key(*c))
        .count();
    let duplicated: usize = created.values().filter(|n| **n > 1).count();
    let dead_contacts: Vec<&String> = dead.keys().collect();
    let exhausted_contacts: Vec<String> = tally.exhausted.clone();
    let lost = expected_valid
        .iter()
        .filter(|c| {
            !created.contains_key(*c)
                && !dead_contacts.contains(c)
                && !exhausted_contacts.contains(c)
        })
        .count()
        + expected_invalid
            .iter()
            .filter(|c| !dead.contains_key(*c) && !exhausted_contacts.contains(c))
            .count();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for reason in dead.values() {
        *reasons.entry(reason.clone()).or_default() += 1;
    }

    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "`scripts/soak`: {} events through {} instances of `{}`\n",
        args.events,
        args.instances,
        args.binary.display()
    );
    let _ = writeln!(out, "| measure | count |");
    let _ = writeln!(out, "|---|---|");
    let _ = writeln!(
        out,
        "| unique deliveries sent | {} ({} valid, {} invalid) |",
        args.events,
        expected_valid.len(),
        expected_invalid.len()
    );
    let _ = writeln!(
        out,
        "| messages delivered twice (the same SQS message again) | {duplicates} |"
    );
    let _ = writeln!(
        out,
        "| invocations (SQS batches of up to 10, with redeliveries) | {} |",
        tally.invocations
    );
    let _ = writeln!(out, "| provider calls | {calls} |");
    let _ = writeln!(
        out,
        "| provider faults injected (500/503/429, {:.0}% of calls) | {faults} |",
        args.chaos * 100.0
    );
    let _ = writeln!(out, "| delivered (tickets created) | {delivered} |");
    let _ = writeln!(
        out,
        "| **duplicates created at the provider** | **{duplicated}** |"
    );
    let _ = writeln!(out, "| **lost** | **{lost}** |");
    for (reason, count) in &reasons {
        let _ = writeln!(out, "| dead-lettered at once: {reason} | {count} |");
    }
    let _ = writeln!(
        out,
        "| moved to the dead-letter queue by SQS after {} receives | {} |",
        args.max_receive,
        exhausted_contacts.len()
    );
    let _ = writeln!(
        out,
        "| time | {:.1} s ({:.0} events/s) |",
        elapsed.as_secs_f64(),
        args.events as f64 / elapsed.as_secs_f64()
    );
    print!("{out}");
    if let Some(readme) = &args.readme {
        ponte_devtools::readme::replace_section(readme, "soak", &out)?;
    }
    Ok(duplicated == 0 && lost == 0)
}

/// One container: takes batches of up to 10 from the queue until it is empty, and puts back
/// the records the function reports as failed, as SQS does.
async fn work(
    function: LocalFunction,
    queue: Arc<Mutex<VecDeque<Message>>>,
    tally: Arc<Mutex<Tally>>,
    max_receive: u32,
) -> Result<(), String> {
    loop {
        let batch: Vec<Message> = {
            let mut queue = queue.lock().await;
            let n = queue.len().min(10);
            queue.drain(..n).collect()
        };
        if batch.is_empty() {
            // Others may still put failed records back: look again before stopping.
            tokio::time::sleep(Duration::from_millis(200)).await;
            if queue.lock().await.is_empty() {
                break;
            }
            continue;
        }
        let records: Vec<Value> = batch
            .iter()
            .map(|m| json!({"messageId": m.id, "body": m.body, "eventSource": "aws:sqs", "attributes": {"ApproximateReceiveCount": (m.receives + 1).to_string()}, "messageAttributes": {}}))
            .collect();
        let answer = function
            .invoke(json!({"Records": records}), Duration::from_secs(30))
            .await?;
        let failed = answer.records_to_retry(batch.iter().map(|m| m.id.clone()));
        let mut tally = tally.lock().await;
        tally.invocations += 1;
        let mut queue = queue.lock().await;
        for mut message in batch.into_iter().filter(|m| failed.contains(&m.id)) {
            message.receives += 1;
            if message.receives >= max_receive {
                let body: Value = serde_json::from_str(&message.body).unwrap_or_default();
                tally.exhausted.push(
                    body["contact_identifier"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            } else {
                queue.push_back(message);
            }
        }
    }
    function.stop().await;
    Ok(())
}

/// Everything in the dead-letter queue: contact → the error kind the function gave.
async fn read_dead_letters(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> Result<HashMap<String, String>, String> {
    let mut found = HashMap::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| format!("receive: {e}"))?;
        if received.messages().is_empty() {
            return Ok(found);
        }
        for message in received.messages() {
            let body: Value =
                serde_json::from_str(message.body().unwrap_or("{}")).unwrap_or_default();
            let kind = message
                .message_attributes()
                .and_then(|a| a.get("ponte.error_kind"))
                .and_then(|a| a.string_value())
                .unwrap_or("unknown")
                .to_string();
            found.insert(
                body["contact_identifier"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                kind,
            );
            if let Some(handle) = message.receipt_handle() {
                let _ = sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
    }
}
