//! `ponte-burst`: a campaign's burst against a provider that allows R requests a second.
//!
//! N leads arrive at once, half as Elementor form webhooks (API Gateway events, through several
//! function instances as API Gateway would spread them) and half as SQS records on the
//! function's queue. The provider sandbox allows R requests a second (a token bucket holding
//! one second's worth) and answers 429 with `Retry-After: 1` beyond it. A stand-in for Lambda's
//! event source mapping drains the queue with the template's settings: `QueueMaximumConcurrency`
//! instances, batches of 10, the queue's 180 s visibility and 14 receives before the dead-letter
//! queue, deleting what the function did not report as failed. Every instance is the real
//! release binary; Secrets Manager and DynamoDB are moto's (a fresh one per burst), SQS is the
//! stand-in of `ponte_devtools::sqs` (moto's receive grows with the square of the queue).
//!
//! Counted at the provider: leads created, duplicates, 429s; in the dead-letter queue: dead
//! letters; the rest is lost. Drain time runs from the first lead to the last created.

use ponte_devtools::function::{LocalFunction, Output};
use ponte_devtools::moto::{self, Moto};
use ponte_devtools::runtime_api::InvocationResult;
use ponte_devtools::sandbox::Sandbox;
use ponte_devtools::sqs::Sqs;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: ponte-burst [--bin PATH] [--runs N@R[:S],...] [--http-instances N] [--queue-concurrency N] [--out MD]

Sends N leads at once, half as form webhooks and half as SQS records, to the function's real
binary, against a provider sandbox allowing R requests a second, and reports drain time, 429s,
lost, duplicated and dead-lettered leads for each N@R.

  --bin PATH              the function binary (default: target/release/cloudchat-create-conversation)
  --runs N@R[:S],...      bursts to run: N leads, a provider allowing R a second, a secret
                          stating S (default R) (default: 500@50,2000@50,8000@50,2000@20,
                          2000@100,400@2,2000@50:1000)
  --http-instances N      instances taking the webhooks at once (default: 10)
  --queue-concurrency N   the template's QueueMaximumConcurrency (default: 5)
  --out MD                write the results table there (default: target/bench-burst.md)
  -h, --help              this text

Exit status: 0 when every burst lost, duplicated and dead-lettered nothing, 1 otherwise, 2 on an
error.";

struct Args {
    binary: PathBuf,
    runs: Vec<Run>,
    http_instances: usize,
    queue_concurrency: usize,
    out: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        binary: PathBuf::from("target/release/cloudchat-create-conversation"),
        runs: "500@50,2000@50,8000@50,2000@20,2000@100,400@2,2000@50:1000"
            .split(',')
            .map(Run::parse)
            .collect::<Result<_, _>>()?,
        http_instances: 10,
        queue_concurrency: 5,
        out: PathBuf::from("target/bench-burst.md"),
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--bin" => args.binary = value()?.into(),
            "--runs" => {
                args.runs = value()?
                    .split(',')
                    .map(Run::parse)
                    .collect::<Result<_, _>>()?
            }
            "--http-instances" => {
                args.http_instances = value()?.parse().map_err(|_| "--http-instances: a number")?
            }
            "--queue-concurrency" => {
                args.queue_concurrency = value()?
                    .parse()
                    .map_err(|_| "--queue-concurrency: a number")?
            }
            "--out" => args.out = value()?.into(),
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    Ok(args)
}

/// One burst: `n` leads, a provider allowing `rate` a second, a secret stating `stated`.
#[derive(Clone, Copy)]
struct Run {
    n: usize,
    rate: f64,
    stated: f64,
}

impl Run {
    fn parse(text: &str) -> Result<Self, String> {
        let wrong = || format!("--runs: {text:?} is not N@R or N@R:S");
        let (n, rates) = text.trim().split_once('@').ok_or_else(wrong)?;
        let (rate, stated) = rates.split_once(':').unwrap_or((rates, rates));
        Ok(Self {
            n: n.parse().map_err(|_| wrong())?,
            rate: rate.parse().map_err(|_| wrong())?,
            stated: stated.parse().map_err(|_| wrong())?,
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    if ponte_devtools::help_requested() {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    ponte_devtools::exit_code("ponte-burst", run().await)
}

/// What one burst came to.
struct Outcome {
    n: usize,
    rate: f64,
    stated: f64,
    drain: Duration,
    calls: u64,
    limited: u64,
    created: usize,
    duplicated: usize,
    dead: usize,
    lost: usize,
    http_sent: u64,
    http_kept: u64,
    invocations: u64,
    /// Records the function queued again, due in their turn.
    requeued: u64,
    /// The most receives one message of the queue took.
    most_receives: u32,
}

async fn run() -> Result<bool, String> {
    let args = parse_args()?;
    if !args.binary.exists() {
        return Err(format!(
            "{} is not built (cargo build --release --bins)",
            args.binary.display()
        ));
    }
    let mut outcomes = Vec::new();
    for (i, run) in args.runs.iter().enumerate() {
        eprintln!(
            "ponte-burst: {} leads against a provider allowing {}/s, the secret stating {}/s",
            run.n, run.rate, run.stated
        );
        let outcome = burst(&args, i, *run).await?;
        eprintln!(
            "ponte-burst: drained in {:.1} s, {} calls, {} 429s, {} lost, {} duplicated, {} dead-lettered",
            outcome.drain.as_secs_f64(),
            outcome.calls,
            outcome.limited,
            outcome.lost,
            outcome.duplicated,
            outcome.dead
        );
        outcomes.push(outcome);
    }
    let md = table(&args, &outcomes);
    print!("{md}");
    std::fs::write(&args.out, &md).map_err(|e| format!("{}: {e}", args.out.display()))?;
    Ok(outcomes
        .iter()
        .all(|o| o.lost == 0 && o.duplicated == 0 && o.dead == 0))
}

/// The identity of lead `n`, as the provider sees it (its contact's e-mail).
fn email(run: usize, n: usize) -> String {
    format!("lead-{run}-{n}@example.com")
}

/// Lead `n` as Elementor posts it.
fn webhook(run: usize, n: usize) -> Value {
    let body = format!(
        "Seu+nome=Lead+{n}&Seu+melhor+email={}&Whatsapp=%2885%29+98769-6383&form_name=Campanha",
        email(run, n).replace('@', "%40")
    );
    json!({"version": "2.0", "routeKey": "POST /cloudchat/conversations/{source}", "rawPath": "/cloudchat/conversations/elementor",
        "rawQueryString": "token=burst-webhook-token&inbox_id=1",
        "queryStringParameters": {"token": "burst-webhook-token", "inbox_id": "1"},
        "pathParameters": {"source": "elementor"},
        "headers": {"content-type": "application/x-www-form-urlencoded", "user-agent": "WordPress/6.5"},
        "isBase64Encoded": false, "body": body,
        "requestContext": {"accountId": "123456789012", "apiId": "burst", "domainName": "burst", "domainPrefix": "burst", "requestId": format!("burst-{run}-{n}"), "routeKey": "POST /cloudchat/conversations/{source}", "stage": "$default", "time": "03/Dec/2026:12:00:00 +0000", "timeEpoch": 1_796_299_200_000_u64,
            "http": {"method": "POST", "path": "/cloudchat/conversations/elementor", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "WordPress/6.5"}}})
}

/// Lead `n` as another service queues it: the provider's request itself.
fn record(run: usize, n: usize) -> String {
    json!({"inbox_id": "1", "contact_email": email(run, n), "message": {"content": format!("Lead {n}"), "message_type": "incoming"}}).to_string()
}

async fn burst(args: &Args, run: usize, spec: Run) -> Result<Outcome, String> {
    // A moto of its own: moto keeps every item it was given, and grows slower with them.
    let moto = Moto::start()?;
    let Run { n, rate, stated } = spec;
    let sandbox = Sandbox::start(0).await.map_err(|e| e.to_string())?;
    sandbox.set_rate_limit(rate);
    let config = moto::sdk_config(&moto.endpoint()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let queues = Sqs::start().await.map_err(|e| e.to_string())?;
    let sqs = aws_sdk_sqs::Client::new(&moto::sdk_config(&queues.endpoint()).await);
    let secret = format!("ponte-burst/{run}/cloudchat");
    moto::put_secret(
        &secrets,
        &secret,
        &json!({"api_access_token": format!("burst-token-{run}"), "account_id": 1, "base_url": sandbox.url(),
                "requests_per_second": stated, "webhooks": {"elementor": {"token": "burst-webhook-token"}}}),
    )
    .await?;
    let record_key = format!("ponte-burst/{run}/record-key");
    moto::put_secret(
        &secrets,
        &record_key,
        &json!({"record_key": "burst-record-key-0123456789abcdef0123456789"}),
    )
    .await?;
    let table = format!("ponte-burst-{run}");
    moto::create_idempotency_table(&dynamo, &table).await?;
    // The function's queue as the template makes it: 180 s visibility, 14 receives before the
    // dead-letter queue.
    let dead_letters = queues.create_queue(
        &format!("ponte-burst-{run}-dead-letters"),
        Duration::from_secs(180),
        None,
    );
    let queue = queues.create_queue(
        &format!("ponte-burst-{run}-queue"),
        Duration::from_secs(180),
        Some((&dead_letters, 14)),
    );

    let log_dir = std::env::temp_dir().join(format!("ponte-burst-{run}"));
    std::fs::create_dir_all(&log_dir).map_err(|e| e.to_string())?;
    let mut env = moto::function_env(&moto.endpoint(), &secret);
    env.extend([
        ("IDEMPOTENCY_TABLE", table.clone()),
        ("DEAD_LETTER_QUEUE_URL", dead_letters.clone()),
        ("INTAKE_QUEUE_URL", queue.clone()),
        ("RECORD_KEY_SECRET_ID", record_key.clone()),
        ("AWS_ENDPOINT_URL_SQS", queues.endpoint()),
        ("AWS_LAMBDA_LOG_LEVEL", "warn".into()),
    ]);
    let mut instances = Vec::new();
    for i in 0..args.http_instances + args.queue_concurrency {
        let log = std::fs::File::create(log_dir.join(format!("instance-{i}.log")))
            .map_err(|e| e.to_string())?;
        instances.push(Arc::new(
            LocalFunction::start(
                &args.binary,
                "cloudchat-create-conversation",
                &env,
                Output::File(log),
            )
            .await?,
        ));
    }
    let pollers = instances.split_off(args.http_instances);

    let started = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let invocations = Arc::new(AtomicU64::new(0));
    // The stand-in for the event source mapping: one poller per concurrent invocation.
    let mut draining = Vec::new();
    for function in pollers {
        let (sqs, queue, done, invocations) = (
            sqs.clone(),
            queue.clone(),
            done.clone(),
            invocations.clone(),
        );
        draining.push(tokio::spawn(async move {
            poll(&function, &sqs, &queue, &done, &invocations).await
        }));
    }
    // The SQS half, queued by another service as fast as it can.
    let queued = {
        let (sqs, queue) = (sqs.clone(), queue.clone());
        tokio::spawn(async move { enqueue(&sqs, &queue, run, (n / 2..n).collect()).await })
    };
    // The webhook half, spread over the HTTP instances.
    let next = Arc::new(AtomicU64::new(0));
    let (http_sent, http_kept) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut posting = Vec::new();
    for function in instances {
        let (next, sent, kept) = (next.clone(), http_sent.clone(), http_kept.clone());
        posting.push(tokio::spawn(async move {
            loop {
                let lead = next.fetch_add(1, Ordering::SeqCst) as usize;
                if lead >= n / 2 {
                    return Ok::<(), String>(());
                }
                let answer = function
                    .invoke(webhook(run, lead), Duration::from_secs(30))
                    .await?;
                match answer {
                    InvocationResult::Response(answer) => {
                        let body: Value = answer["body"]
                            .as_str()
                            .and_then(|b| serde_json::from_str(b).ok())
                            .unwrap_or_default();
                        if answer["statusCode"].as_u64() != Some(200) {
                            return Err(format!("a webhook was answered {answer}"));
                        }
                        if body["queued"].as_bool() == Some(true) {
                            kept.fetch_add(1, Ordering::SeqCst);
                        } else {
                            sent.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    InvocationResult::Error(error) => {
                        return Err(format!("a webhook invocation failed: {error}"));
                    }
                }
            }
        }));
    }
    queued.await.map_err(|e| e.to_string())??;
    for task in posting {
        task.await.map_err(|e| e.to_string())??;
    }

    // Until every lead is created or a dead letter, or long past when it should have been.
    let give_up = Duration::from_secs_f64(3.0 * n as f64 / rate + 60.0);
    let mut drain = started.elapsed();
    loop {
        let created = created(&sandbox).len();
        let dead = queues.len(&dead_letters);
        if created >= n {
            drain = started.elapsed();
        }
        if created + dead >= n || started.elapsed() > give_up {
            if created < n {
                drain = started.elapsed();
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done.store(true, Ordering::SeqCst);
    for task in draining {
        task.await.map_err(|e| e.to_string())??;
    }

    let received = sandbox.received();
    let created = created(&sandbox);
    let dead = queues.len(&dead_letters);
    let leads = created.len();
    Ok(Outcome {
        n,
        rate,
        stated,
        drain,
        calls: received.len() as u64,
        limited: received.iter().filter(|r| r.status == 429).count() as u64,
        created: leads,
        duplicated: created.values().filter(|count| **count > 1).count(),
        dead,
        lost: n.saturating_sub(leads + dead),
        http_sent: http_sent.load(Ordering::SeqCst),
        http_kept: http_kept.load(Ordering::SeqCst),
        invocations: invocations.load(Ordering::SeqCst),
        // Everything else on the queue was the SQS half and the webhooks kept for their turn.
        requeued: queues
            .sent(&queue)
            .saturating_sub((n - n / 2) as u64 + http_kept.load(Ordering::SeqCst)),
        most_receives: queues.most_receives(&queue),
    })
}

async fn enqueue(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    run: usize,
    leads: Vec<usize>,
) -> Result<(), String> {
    use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
    for chunk in leads.chunks(10) {
        let entries = chunk
            .iter()
            .map(|n| {
                SendMessageBatchRequestEntry::builder()
                    .id(format!("l{n}"))
                    .message_body(record(run, *n))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sent = sqs
            .send_message_batch()
            .queue_url(queue)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| format!("send: {e}"))?;
        if !sent.failed().is_empty() {
            return Err(format!("{} records were not queued", sent.failed().len()));
        }
    }
    Ok(())
}

/// One concurrent invocation of the event source mapping: receives up to 10 records, invokes,
/// and deletes the records the function did not report as failed (a failed invocation deletes
/// none); the others come back when their visibility ends, as the function set it or the queue
/// does.
async fn poll(
    function: &LocalFunction,
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    done: &AtomicBool,
    invocations: &AtomicU64,
) -> Result<(), String> {
    use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
    while !done.load(Ordering::SeqCst) {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| format!("receive: {e}"))?;
        let messages = received.messages();
        if messages.is_empty() {
            continue;
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, Value> = m
                    .attributes()
                    .into_iter()
                    .flatten()
                    .map(|(name, value)| (name.as_str().to_string(), json!(value)))
                    .collect();
                let message_attributes: serde_json::Map<String, Value> = m
                    .message_attributes()
                    .into_iter()
                    .flatten()
                    .map(|(name, value)| {
                        (name.clone(), json!({"stringValue": value.string_value(), "dataType": value.data_type()}))
                    })
                    .collect();
                json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
                       "attributes": attributes, "messageAttributes": message_attributes, "md5OfBody": "",
                       "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:burst", "awsRegion": "us-east-1"})
            })
            .collect();
        invocations.fetch_add(1, Ordering::SeqCst);
        let answer = function
            .invoke(json!({"Records": records}), Duration::from_secs(30))
            .await?;
        let failed = answer.records_to_retry(
            messages
                .iter()
                .filter_map(|m| m.message_id().map(str::to_string)),
        );
        let entries = messages
            .iter()
            .filter(|m| !failed.iter().any(|id| Some(id.as_str()) == m.message_id()))
            .enumerate()
            .map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("d{i}"))
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !entries.is_empty() {
            sqs.delete_message_batch()
                .queue_url(queue)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| format!("delete: {e}"))?;
        }
    }
    Ok(())
}

/// Leads created at the provider: e-mail → how many times.
fn created(sandbox: &Sandbox) -> HashMap<String, u32> {
    let mut created = HashMap::new();
    for request in sandbox.received() {
        if request.status == 200 {
            let email = request.body["contact_email"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            *created.entry(email).or_default() += 1;
        }
    }
    created
}

fn table(args: &Args, outcomes: &[Outcome]) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "\n### A burst at the provider's pace (`ponte-burst`, run by scripts/bench)\n\n\
         N leads at once, half Elementor webhooks through {} instances, half SQS records drained \
         by {} concurrent invocations (the template's `QueueMaximumConcurrency`), against a \
         provider allowing R requests a second (429 with `Retry-After: 1` beyond it). The \
         connection's secret states the same R. Targets: 0 lost, 0 duplicated, 0 dead-lettered, \
         drain time ≤ 1.15 × N / R, 429s ≤ 2 % of calls. A record whose turn is further than \
         its invocation can wait is queued again, due in its turn; the queue allows 14 receives \
         before the dead-letter queue.\n",
        args.http_instances, args.queue_concurrency
    );
    let _ = writeln!(
        md,
        "| N | R (req/s) | the secret's rate | N / R | drain time | × N / R | provider calls | 429s | lost | duplicated | dead-lettered | webhooks sent at once / kept for their turn | queue invocations | records queued again for their turn | most receives of one message |"
    );
    let _ = writeln!(
        md,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for o in outcomes {
        let ideal = o.n as f64 / o.rate;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.1} s | {:.1} s | {:.2} | {} | {} ({:.2} %) | {} | {} | {} | {} / {} | {} | {} | {} |",
            o.n,
            o.rate,
            o.stated,
            ideal,
            o.drain.as_secs_f64(),
            o.drain.as_secs_f64() / ideal,
            o.calls,
            o.limited,
            100.0 * o.limited as f64 / o.calls.max(1) as f64,
            o.lost,
            o.duplicated,
            o.dead,
            o.http_sent,
            o.http_kept,
            o.invocations,
            o.requeued,
            o.most_receives
        );
        let _ = o.created;
    }
    md
}
