//! `ponte-bench`: Ponte's release binary, the floor (a minimal Rust Lambda making the same
//! call, `ponte-floor`) and the Python peer, measured side by side in one run.
//!
//! All three run under the same local Lambda runtime API, with their secret in the same moto
//! server and the same provider sandbox. For each subject, `--runs` times: start the process and
//! time its init (start to the first request for an event), the first event (secret read and
//! provider call included), warm events from API Gateway and from SQS with a provider that
//! answers at once (their time minus the provider's own answer time), an SQS batch of 10 records
//! with a provider that takes 200 ms per call, and the peak resident memory; then start it once
//! more for a first event that carries a phone number, the case a lead form hits first. Writes
//! `BENCHMARKS.md` and a chart; every figure in them comes from this run.

use ponte_devtools::function::{LocalFunction, Output};
use ponte_devtools::moto::{self, Moto};
use ponte_devtools::runtime_api::InvocationResult;
use ponte_devtools::sandbox::Sandbox;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SECRET: &str = "ponte-bench/cloudchat";
/// AWS Lambda on arm64 (us-east-1, late 2026): per GB-second and per million requests, USD.
const PRICE_GB_SECOND: f64 = 0.000_013_333_4;
const PRICE_MILLION_REQUESTS: f64 = 0.20;

struct Args {
    ponte: PathBuf,
    floor: PathBuf,
    peer_python: PathBuf,
    peer_dir: PathBuf,
    runs: usize,
    warm: usize,
    sizes: Option<PathBuf>,
    out: PathBuf,
    chart: PathBuf,
    readme: Option<PathBuf>,
    /// The cost-as-work-grows section ponte-growth wrote.
    growth: Option<PathBuf>,
    /// The burst section ponte-burst wrote.
    burst: Option<PathBuf>,
    /// The profile trade-off section scripts/bench wrote.
    profile: Option<PathBuf>,
}

const USAGE: &str = "\
usage: scripts/bench [--ponte BIN] [--floor BIN] [--peer-python PY] [--peer-dir DIR] [--runs N] [--warm N] [--sizes JSON] [--out MD] [--chart SVG] [--readme PATH] [--growth MD] [--burst MD] [--profile MD]

Measures Ponte's release binary beside the floor (a minimal Rust Lambda making the same call)
and the Python peer in one run (cold starts, first events with and without a phone number, warm
overhead, batches, memory) and writes the results.

  --ponte BIN         the function binary (default: target/release/cloudchat-create-conversation)
  --floor BIN         the minimal Rust Lambda (default: target/release/ponte-floor)
  --peer-python PY    the Python that runs the peer (default: .venv/peer/bin/python)
  --peer-dir DIR      the peer's folder (default: bench/peer)
  --runs N            cold starts measured per subject (default: 10)
  --warm N            warm invocations measured per subject (default: 30)
  --sizes JSON        the artifact sizes scripts/bench measured, to report beside the figures
  --out MD            where the results go (default: BENCHMARKS.md)
  --chart SVG         where the chart goes (default: bench/chart.svg)
  --readme PATH       write the summary table between the benchmark markers of this README
  --growth MD         a section ponte-growth wrote, to include in the results
  --burst MD          a section ponte-burst wrote, to include in the results
  --profile MD        the profile trade-off section scripts/bench wrote, to include
  -h, --help          this text

Exit status: 0 when every subject was measured and the results written, 1 when one could not
be (the reason on stderr).";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        ponte: "target/release/cloudchat-create-conversation".into(),
        floor: "target/release/ponte-floor".into(),
        peer_python: ".venv/peer/bin/python".into(),
        peer_dir: "bench/peer".into(),
        runs: 10,
        warm: 30,
        sizes: None,
        out: "BENCHMARKS.md".into(),
        chart: "bench/chart.svg".into(),
        readme: None,
        growth: None,
        burst: None,
        profile: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--ponte" => args.ponte = value()?.into(),
            "--floor" => args.floor = value()?.into(),
            "--peer-python" => args.peer_python = value()?.into(),
            "--peer-dir" => args.peer_dir = value()?.into(),
            "--runs" => args.runs = value()?.parse().map_err(|_| "--runs: a number")?,
            "--warm" => args.warm = value()?.parse().map_err(|_| "--warm: a number")?,
            "--sizes" => args.sizes = Some(value()?.into()),
            "--out" => args.out = value()?.into(),
            "--chart" => args.chart = value()?.into(),
            "--readme" => args.readme = Some(value()?.into()),
            "--growth" => args.growth = Some(value()?.into()),
            "--burst" => args.burst = Some(value()?.into()),
            "--profile" => args.profile = Some(value()?.into()),
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    Ok(args)
}

/// Samples of one measure, in milliseconds (or MB for memory).
#[derive(Default, Clone)]
struct Samples(Vec<f64>);

impl Samples {
    fn push(&mut self, v: f64) {
        self.0.push(v);
    }
    fn quantile(&self, q: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        if v.is_empty() {
            return f64::NAN;
        }
        let at = ((v.len() - 1) as f64 * q).round() as usize;
        v[at]
    }
    fn median(&self) -> f64 {
        self.quantile(0.5)
    }
    /// "median (p10–p90)".
    fn show(&self, digits: usize) -> String {
        format!(
            "{:.d$} ({:.d$}–{:.d$})",
            self.median(),
            self.quantile(0.1),
            self.quantile(0.9),
            d = digits
        )
    }
}

#[derive(Default, Clone)]
struct Results {
    init: Samples,
    first: Samples,
    first_phone: Samples,
    /// Init and the first event of the same cold start with a phone: what the first lead waits.
    cold_phone: Samples,
    warm_http: Samples,
    warm_sqs: Samples,
    batch: Samples,
    memory_mb: Samples,
}

struct Subject<'a> {
    name: &'a str,
    program: PathBuf,
    args: Vec<&'a str>,
    dir: Option<PathBuf>,
    extra_env: Vec<(&'static str, String)>,
    /// The phone number of the phone-first event, as this subject is given it. Ponte gets it as
    /// a form delivers it and writes it in E.164; the others post what they get, so they get
    /// E.164 already: the provider receives the same request from all three.
    phone: &'a str,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    if ponte_devtools::help_requested() {
        println!("{USAGE}");
        return std::process::ExitCode::SUCCESS;
    }
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ponte-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let moto = Moto::start()?;
    let sandbox = Sandbox::start(0).await.map_err(|e| e.to_string())?;
    let config = moto::sdk_config(&moto.endpoint()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    // The sandbox has no rate limit, and this bench sends events back to back to measure what
    // each costs: the secret states the most Ponte allows, so that no event waits for its turn
    // at the provider (ponte-burst measures the pace against a provider that has a limit).
    moto::put_secret(
        &secrets,
        SECRET,
        &json!({"api_access_token": "bench-token", "account_id": 1, "base_url": sandbox.url(),
                "webhook_token": BENCH_WEBHOOK_TOKEN, "requests_per_second": ponte::pace::MAX_REQUESTS_PER_SECOND}),
    )
    .await?;

    let peer_dir = std::fs::canonicalize(&args.peer_dir)
        .map_err(|e| format!("{}: {e}", args.peer_dir.display()))?;
    let subjects = [
        Subject {
            name: "Ponte (Rust)",
            program: args.ponte.clone(),
            args: vec![],
            dir: None,
            extra_env: vec![],
            phone: "(85) 98769-6383",
        },
        Subject {
            name: "floor (minimal Rust Lambda)",
            program: args.floor.clone(),
            args: vec![],
            dir: None,
            extra_env: vec![],
            phone: "+5585987696383",
        },
        Subject {
            name: "Python peer (Powertools + requests)",
            // Absolute: the peer runs in its own folder.
            program: std::path::absolute(&args.peer_python).map_err(|e| e.to_string())?,
            args: vec!["-m", "awslambdaric", "app.handler"],
            dir: Some(peer_dir.clone()),
            extra_env: vec![
                ("LAMBDA_TASK_ROOT", peer_dir.display().to_string()),
                ("PYTHONPATH", peer_dir.display().to_string()),
                ("POWERTOOLS_SERVICE_NAME", "peer".into()),
            ],
            phone: "+5585987696383",
        },
    ];
    let mut all = Vec::new();
    for subject in &subjects {
        eprintln!("measuring {} ({} runs)…", subject.name, args.runs);
        all.push(measure(subject, &args, &moto, &sandbox).await?);
    }
    let sizes: Option<Value> = match &args.sizes {
        Some(path) => Some(
            serde_json::from_str(&std::fs::read_to_string(path).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let report = report(&subjects, &all, sizes.as_ref(), &args);
    std::fs::write(&args.out, &report).map_err(|e| format!("{}: {e}", args.out.display()))?;
    std::fs::write(&args.chart, chart(&all))
        .map_err(|e| format!("{}: {e}", args.chart.display()))?;
    if let Some(readme) = &args.readme {
        // The README shows the results table and the chart, as measured here.
        let table = report
            .split("## Results")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap_or_default()
            .trim();
        let section = format!(
            "{table}\n\n![Ponte, the floor and the Python peer side by side](bench/chart.svg)\n\nMethod, machine, artifact sizes and cost per million events: [BENCHMARKS.md](BENCHMARKS.md)."
        );
        ponte_devtools::readme::replace_section(readme, "bench", &section)?;
    }
    println!("{report}");
    Ok(())
}

/// The token the benchmark's HTTP events present: Ponte checks callers on every route.
const BENCH_WEBHOOK_TOKEN: &str = "bench-webhook-token";

/// A lead with a phone number written `phone`.
fn ticket_with_phone(n: usize, phone: &str) -> String {
    json!({"inbox_id": "1", "contact_identifier": format!("bench-{n}-{}", fastrand::u64(..)), "contact_phone_number": phone, "message": {"content": "Benchmark", "message_type": "incoming"}}).to_string()
}

fn ticket(n: usize) -> String {
    json!({"inbox_id": "1", "contact_identifier": format!("bench-{n}-{}", fastrand::u64(..)), "message": {"content": "Benchmark", "message_type": "incoming"}}).to_string()
}

fn http_event(body: &str) -> Value {
    json!({"version": "2.0", "routeKey": "POST /cloudchat/conversations", "rawPath": "/cloudchat/conversations", "rawQueryString": "",
        "headers": {"content-type": "application/json", "x-ponte-token": BENCH_WEBHOOK_TOKEN}, "isBase64Encoded": false, "body": body,
        "requestContext": {"accountId": "123456789012", "apiId": "bench", "domainName": "bench", "domainPrefix": "bench", "requestId": "bench", "routeKey": "POST /cloudchat/conversations", "stage": "$default", "time": "21/Nov/2026:12:00:00 +0000", "timeEpoch": 1_795_262_400_000_u64,
            "http": {"method": "POST", "path": "/cloudchat/conversations", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"}}})
}

fn sqs_event(bodies: &[String]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| json!({"messageId": format!("bench-{i}-{}", fastrand::u64(..)), "receiptHandle": "r", "body": body, "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795262400000", "SenderId": "bench", "ApproximateFirstReceiveTimestamp": "1795262400000"}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench", "awsRegion": "us-east-1"}))
        .collect();
    json!({"Records": records})
}

/// Invokes and returns (wall ms, the answer), failing loudly on an invocation error.
async fn timed(function: &LocalFunction, event: Value) -> Result<(f64, Value), String> {
    let started = Instant::now();
    let answer = function.invoke(event, Duration::from_secs(30)).await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match answer {
        InvocationResult::Response(v) => Ok((ms, v)),
        InvocationResult::Error(e) => Err(format!("invocation error: {e}")),
    }
}

fn delivered(answer: &Value) -> bool {
    answer["statusCode"].as_u64() == Some(200)
        || answer["batchItemFailures"]
            .as_array()
            .is_some_and(Vec::is_empty)
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Starts `subject` as Lambda would and returns it with its init time (ms): from process start
/// to its first request for an event.
async fn cold_start(subject: &Subject<'_>, moto: &Moto) -> Result<(LocalFunction, f64), String> {
    let mut env = moto::function_env(&moto.endpoint(), SECRET);
    env.push(("AWS_LAMBDA_LOG_LEVEL", "error".into()));
    env.extend(subject.extra_env.iter().cloned());
    let log = std::fs::File::create(std::env::temp_dir().join("ponte-bench.log"))
        .map_err(|e| e.to_string())?;
    let spawned = Instant::now();
    let function = LocalFunction::start_program(
        &subject.program,
        &subject.args,
        subject.dir.as_deref(),
        "cloudchat-create-conversation",
        &env,
        Output::File(log),
    )
    .await?;
    loop {
        if let Some(at) = function.runtime_api().first_poll() {
            return Ok((function, (at - spawned).as_secs_f64() * 1000.0));
        }
        if spawned.elapsed() > Duration::from_secs(30) {
            return Err(format!("{} did not start", subject.name));
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

/// Times a cold process's first event, which must be delivered.
async fn first_event(
    subject: &Subject<'_>,
    function: &LocalFunction,
    body: &str,
) -> Result<f64, String> {
    let (ms, answer) = timed(function, http_event(body)).await?;
    if !delivered(&answer) {
        return Err(format!(
            "{}: the first event was not delivered: {answer}",
            subject.name
        ));
    }
    Ok(ms)
}

async fn measure(
    subject: &Subject<'_>,
    args: &Args,
    moto: &Moto,
    sandbox: &Sandbox,
) -> Result<Results, String> {
    let mut results = Results::default();
    let mut n = 0;
    for _ in 0..args.runs {
        // A cold start whose first event carries a phone number: what a lead form sends.
        let (function, init) = cold_start(subject, moto).await?;
        results.init.push(init);
        n += 1;
        let ms = first_event(subject, &function, &ticket_with_phone(n, subject.phone)).await?;
        results.first_phone.push(ms);
        results.cold_phone.push(init + ms);
        function.stop().await;

        let (function, init) = cold_start(subject, moto).await?;
        results.init.push(init);
        n += 1;
        results
            .first
            .push(first_event(subject, &function, &ticket(n)).await?);

        for kind in ["http", "sqs"] {
            for _ in 0..args.warm {
                n += 1;
                sandbox.clear();
                let event = if kind == "http" {
                    http_event(&ticket(n))
                } else {
                    sqs_event(&[ticket(n)])
                };
                let (ms, answer) = timed(&function, event).await?;
                if !delivered(&answer) {
                    return Err(format!(
                        "{}: a warm event was not delivered: {answer}",
                        subject.name
                    ));
                }
                let provider_ms = sandbox
                    .received()
                    .iter()
                    .map(|r| r.answer_us as f64 / 1000.0)
                    .sum::<f64>();
                let own = ms - provider_ms;
                if kind == "http" {
                    results.warm_http.push(own)
                } else {
                    results.warm_sqs.push(own)
                }
            }
        }

        sandbox.set_latency(Duration::from_millis(200));
        let bodies: Vec<String> = (0..10).map(|i| ticket(n * 100 + i)).collect();
        let (ms, answer) = timed(&function, sqs_event(&bodies)).await?;
        sandbox.set_latency(Duration::ZERO);
        if !delivered(&answer) {
            return Err(format!(
                "{}: the batch was not delivered: {answer}",
                subject.name
            ));
        }
        results.batch.push(ms);
        if let Some(pid) = function.pid() {
            results.memory_mb.push(peak_rss_mb(pid));
        }
        function.stop().await;
    }
    Ok(results)
}

fn cost_per_million(duration_ms: f64) -> f64 {
    let billed_ms = duration_ms.ceil().max(1.0);
    PRICE_MILLION_REQUESTS + 1_000_000.0 * billed_ms / 1000.0 * 0.125 * PRICE_GB_SECOND
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!(
        "{cores} cores, {cpu}, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// One row of the results table: the measure, how each subject did, and the target.
struct Row<'a> {
    label: &'a str,
    pick: fn(&Results) -> &Samples,
    digits: usize,
    target: &'a str,
}

const ROWS: &[Row<'static>] = &[
    Row {
        label: "init (ms)",
        pick: |r| &r.init,
        digits: 1,
        target: "≤ 15 ms, ≤ 1.5× floor",
    },
    Row {
        label: "first event with a phone (ms)",
        pick: |r| &r.first_phone,
        digits: 1,
        target: "≤ 1.3× floor",
    },
    Row {
        label: "init + first event with a phone (ms)",
        pick: |r| &r.cold_phone,
        digits: 1,
        target: "",
    },
    Row {
        label: "first event (ms)",
        pick: |r| &r.first,
        digits: 1,
        target: "≤ 25 ms, ≤ 1.5× floor",
    },
    Row {
        label: "warm overhead, API Gateway (ms)",
        pick: |r| &r.warm_http,
        digits: 2,
        target: "≤ 0.5 ms",
    },
    Row {
        label: "warm overhead, SQS record (ms)",
        pick: |r| &r.warm_sqs,
        digits: 2,
        target: "≤ 0.5 ms",
    },
    Row {
        label: "SQS batch of 10 × 200 ms (ms)",
        pick: |r| &r.batch,
        digits: 0,
        target: "≤ 300 ms",
    },
    Row {
        label: "peak memory (MB)",
        pick: |r| &r.memory_mb,
        digits: 1,
        target: "≤ 20 MB",
    },
];

fn report(subjects: &[Subject<'_>], all: &[Results], sizes: Option<&Value>, args: &Args) -> String {
    let (ponte, floor, peer) = (&all[0], &all[1], &all[2]);
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `scripts/bench` (`devtools/src/bin/ponte-bench.rs`); every figure below comes from that run. Medians, with the 10th–90th percentile in brackets.\n"
    );
    let _ = writeln!(md, "## Method\n");
    let _ = writeln!(
        md,
        "- **No pace**: Ponte's secret states the most calls a second a connection may make (`requests_per_second`: {}), so that no event of these back-to-back runs waits for its turn at the provider; the pace itself is measured by the burst below, against a provider with a limit. Without a table here, idempotency and turns are kept in memory; deployed, each delivery adds its DynamoDB writes (a claim, a turn, a completion).",
        ponte::pace::MAX_REQUESTS_PER_SECOND
    );
    let _ = writeln!(
        md,
        "- **Subjects**: `{}` (Ponte's build, x86_64 here); the floor `{}` (`devtools/src/bin/ponte-floor.rs`), the least a Rust Lambda can do for the same call: it reads the same secret and posts each body as it came, with no mapping, validation, idempotency or dead letters, on the same TLS stack, and built as a user would build it: with cargo's default release profile (`scripts/bench`); and the Python peer `bench/peer/app.py`, the same action written the idiomatic way with Powertools for AWS Lambda (cached secret, `BatchProcessor`) and `requests`, run by AWS's runtime interface client `awslambdaric`.",
        args.ponte.display(),
        args.floor.display()
    );
    let _ = writeln!(
        md,
        "- **Same ground**: all three run under Ponte's local Lambda runtime API (`devtools/src/runtime_api.rs`), read their secret from the same moto server, and call the same provider sandbox over loopback."
    );
    let _ = writeln!(
        md,
        "- **Runs**: {} rounds per subject. In each, one cold start whose first event carries a phone number, then a second cold start whose first event has none, followed by {} warm API Gateway events and {} warm SQS records (one per invocation), then one SQS batch of 10 records with a provider that takes 200 ms per call.",
        args.runs, args.warm, args.warm
    );
    let _ = writeln!(
        md,
        "- **Init**: from process start to its first request for an event (both cold starts of a round). **First event**: the first invocation, secret read and provider call included. **First event with a phone**: the same, for a lead whose `contact_phone_number` Ponte gets as a form writes it (`(85) 98769-6383`) and must parse, validate and write in E.164; the floor and the peer get it in E.164 already and post it as it came, so the provider receives the same request from all three. **Init + first event with a phone**: both, in the same cold start: what the first lead waits for, wherever a subject does its start-up work. **Warm overhead**: an invocation's time minus the provider's own answer time (the sandbox answers at once). **Memory**: peak resident set (`VmHWM`) after the run."
    );
    let _ = writeln!(
        md,
        "- **Machine**: {}. Local process start is not Lambda's cold start (no sandbox to create, no code to download), but every subject pays the same.\n",
        machine()
    );
    let _ = writeln!(md, "## Results\n");
    let _ = writeln!(
        md,
        "| measure | {} | {} | {} | Ponte ÷ floor | peer ÷ Ponte | target |",
        subjects[0].name, subjects[1].name, subjects[2].name
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for row in ROWS {
        let (p, f, y) = ((row.pick)(ponte), (row.pick)(floor), (row.pick)(peer));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.2}× | {:.1}× | {} |",
            row.label,
            p.show(row.digits),
            f.show(row.digits),
            y.show(row.digits),
            p.median() / f.median(),
            y.median() / p.median(),
            row.target
        );
    }
    if let Some(sizes) = sizes.and_then(Value::as_object) {
        let _ = writeln!(
            md,
            "\n## Artifacts (arm64, `cargo lambda build --release --arm64`)\n"
        );
        let _ = writeln!(md, "| function | stripped `bootstrap` | zipped | target |");
        let _ = writeln!(md, "|---|---|---|---|");
        for (name, size) in sizes {
            let mb = |k: &str| size[k].as_f64().unwrap_or(f64::NAN) / 1_048_576.0;
            let _ = writeln!(
                md,
                "| `{name}` | {:.2} MB | {:.2} MB | ≤ 3.5 MB zipped |",
                mb("bootstrap"),
                mb("zip")
            );
        }
    }
    let _ = writeln!(md, "\n## Cost per million events (128 MB, arm64)\n");
    let _ = writeln!(
        md,
        "At ${PRICE_GB_SECOND} per GB-second and ${PRICE_MILLION_REQUESTS:.2} per million requests (AWS Lambda arm64, us-east-1), billed per started millisecond. The provider's own answer time is billed too, so the second line assumes a provider that takes 200 ms.\n"
    );
    let _ = writeln!(md, "| per million events | Ponte | floor | Python peer |");
    let _ = writeln!(md, "|---|---|---|---|");
    let warm = |r: &Results| r.warm_http.median();
    for (label, extra) in [
        ("the function's own time (warm)", 0.0),
        ("with a 200 ms provider call", 200.0),
    ] {
        let _ = writeln!(
            md,
            "| {label} | ${:.2} | ${:.2} | ${:.2} |",
            cost_per_million(warm(ponte) + extra),
            cost_per_million(warm(floor) + extra),
            cost_per_million(warm(peer) + extra)
        );
    }
    for section in [&args.growth, &args.burst, &args.profile] {
        if let Some(text) = section
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
        {
            md.push_str(&text);
        }
    }
    let _ = writeln!(
        md,
        "\n![Ponte, the floor and the Python peer side by side](bench/chart.svg)\n"
    );
    md
}

/// Horizontal bars, one group per measure (Ponte, floor, peer), each measure scaled to its own
/// largest value.
fn chart(all: &[Results]) -> String {
    const COLOURS: [(&str, &str); 3] = [
        ("Ponte", "#1f77b4"),
        ("floor", "#2ca02c"),
        ("Python peer", "#ff7f0e"),
    ];
    let (width, bar_h, gap) = (760.0, 16.0, 4.0);
    let row = COLOURS.len() as f64 * (bar_h + gap) + 16.0;
    let height = 40.0 + row * ROWS.len() as f64 + 10.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n"
    );
    svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    svg += "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Medians, lower is better</text>\n";
    for (i, (name, colour)) in COLOURS.iter().enumerate() {
        let x = 420.0 + i as f64 * 110.0;
        svg += &format!(
            "<rect x=\"{x}\" y=\"9\" width=\"12\" height=\"12\" fill=\"{colour}\"/><text x=\"{}\" y=\"20\">{name}</text>\n",
            x + 18.0
        );
    }
    for (i, measure) in ROWS.iter().enumerate() {
        let y = 40.0 + row * i as f64;
        let values: Vec<f64> = all.iter().map(|r| (measure.pick)(r).median()).collect();
        let max = values.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
        let bar = |value: f64| (value / max * 360.0).max(1.0);
        let (label, unit) = match measure.label.rsplit_once(" (") {
            Some((label, unit)) => (label, unit.trim_end_matches(')')),
            None => (measure.label, ""),
        };
        svg += &format!("<text x=\"10\" y=\"{}\">{label}</text>\n", y + 26.0);
        for (j, (value, (_, colour))) in values.iter().zip(COLOURS).enumerate() {
            let by = y + 4.0 + j as f64 * (bar_h + gap);
            svg += &format!(
                "<rect x=\"230\" y=\"{by}\" width=\"{:.1}\" height=\"{bar_h}\" fill=\"{colour}\"/>\n",
                bar(*value)
            );
            svg += &format!(
                "<text x=\"{:.1}\" y=\"{}\">{:.2} {unit}</text>\n",
                236.0 + bar(*value),
                by + 12.0,
                value
            );
        }
    }
    svg += "</svg>\n";
    svg
}
