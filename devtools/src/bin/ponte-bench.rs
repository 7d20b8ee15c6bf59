//! `ponte-bench`: Ponte's release binary and the Python peer, measured side by side.
//!
//! Both run under the same local Lambda runtime API, with their secret in the same moto server
//! and the same provider sandbox. For each subject, `--runs` times: start the process and time
//! its init (start to the first request for an event), the first event (secret read and
//! provider call included), warm events from API Gateway and from SQS with a provider that
//! answers at once (their time minus the provider's own answer time), an SQS batch of 10 records
//! with a provider that takes 200 ms per call, and the peak resident memory. Writes
//! `BENCHMARKS.md` and a chart; every figure in them comes from this run.

use ponte_devtools::function::{LocalFunction, Output};
use ponte_devtools::moto::{self, Moto};
use ponte_devtools::runtime_api::Answer;
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
    peer_python: PathBuf,
    peer_dir: PathBuf,
    runs: usize,
    warm: usize,
    sizes: Option<PathBuf>,
    out: PathBuf,
    chart: PathBuf,
    readme: Option<PathBuf>,
}

const USAGE: &str = "\
usage: scripts/bench [--ponte BIN] [--peer-python PY] [--peer-dir DIR] [--runs N] [--warm N] [--sizes JSON] [--out MD] [--chart SVG] [--readme PATH]

Measures Ponte's release binary beside the Python peer in one run (cold starts, first events,
warm overhead, batches, memory) and writes the results.

  --ponte BIN         the function binary (default: target/release/cloudchat-create-conversation)
  --peer-python PY    the Python that runs the peer (default: .venv/peer/bin/python)
  --peer-dir DIR      the peer's folder (default: bench/peer)
  --runs N            cold starts measured per subject (default: 10)
  --warm N            warm invocations measured per subject (default: 30)
  --sizes JSON        the artifact sizes scripts/bench measured, to report beside the figures
  --out MD            where the results go (default: BENCHMARKS.md)
  --chart SVG         where the chart goes (default: bench/chart.svg)
  --readme PATH       write the summary table between the benchmark markers of this README
  -h, --help          this text";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        ponte: "target/release/cloudchat-create-conversation".into(),
        peer_python: ".venv/peer/bin/python".into(),
        peer_dir: "bench/peer".into(),
        runs: 10,
        warm: 30,
        sizes: None,
        out: "BENCHMARKS.md".into(),
        chart: "bench/chart.svg".into(),
        readme: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--ponte" => args.ponte = value()?.into(),
            "--peer-python" => args.peer_python = value()?.into(),
            "--peer-dir" => args.peer_dir = value()?.into(),
            "--runs" => args.runs = value()?.parse().map_err(|_| "--runs: a number")?,
            "--warm" => args.warm = value()?.parse().map_err(|_| "--warm: a number")?,
            "--sizes" => args.sizes = Some(value()?.into()),
            "--out" => args.out = value()?.into(),
            "--chart" => args.chart = value()?.into(),
            "--readme" => args.readme = Some(value()?.into()),
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
    moto::put_secret(
        &secrets,
        SECRET,
        &json!({"api_access_token": "bench-token", "account_id": 1, "base_url": sandbox.url(), "webhook_token": BENCH_WEBHOOK_TOKEN}),
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
            "{table}\n\n![Ponte and the Python peer side by side](bench/chart.svg)\n\nMethod, machine, artifact sizes and cost per million events: [BENCHMARKS.md](BENCHMARKS.md)."
        );
        ponte_devtools::readme::replace_section(readme, "bench", &section)?;
    }
    println!("{report}");
    Ok(())
}

/// The token the benchmark's HTTP events present: Ponte checks callers on every route.
const BENCH_WEBHOOK_TOKEN: &str = "bench-webhook-token";

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
        Answer::Response(v) => Ok((ms, v)),
        Answer::Error(e) => Err(format!("invocation error: {e}")),
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

async fn measure(
    subject: &Subject<'_>,
    args: &Args,
    moto: &Moto,
    sandbox: &Sandbox,
) -> Result<Results, String> {
    let mut results = Results::default();
    let mut n = 0;
    for _ in 0..args.runs {
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
        let first_poll = loop {
            if let Some(at) = function.runtime_api().first_poll() {
                break at;
            }
            if spawned.elapsed() > Duration::from_secs(30) {
                return Err(format!("{} did not start", subject.name));
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        results
            .init
            .push((first_poll - spawned).as_secs_f64() * 1000.0);

        n += 1;
        let (ms, answer) = timed(&function, http_event(&ticket(n))).await?;
        if !delivered(&answer) {
            return Err(format!(
                "{}: the first event was not delivered: {answer}",
                subject.name
            ));
        }
        results.first.push(ms);

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

fn report(subjects: &[Subject<'_>], all: &[Results], sizes: Option<&Value>, args: &Args) -> String {
    let (ponte, peer) = (&all[0], &all[1]);
    let ratio = |a: &Samples, b: &Samples| b.median() / a.median();
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `scripts/bench` (`devtools/src/bin/ponte-bench.rs`); every figure below comes from that run. Medians, with the 10th–90th percentile in brackets.\n"
    );
    let _ = writeln!(md, "## Method\n");
    let _ = writeln!(
        md,
        "- **Subjects**: `{}` (Ponte's build, x86_64 here), and the Python peer `bench/peer/app.py` — the same action written the idiomatic way with Powertools for AWS Lambda (cached secret, `BatchProcessor`) and `requests`, run by AWS's runtime interface client `awslambdaric`.",
        args.ponte.display()
    );
    let _ = writeln!(
        md,
        "- **Same ground**: both run under Ponte's local Lambda runtime API (`devtools/src/runtime_api.rs`), read their secret from the same moto server, and call the same provider sandbox over loopback."
    );
    let _ = writeln!(
        md,
        "- **Runs**: {} cold starts per subject; in each, {} warm API Gateway events and {} warm SQS records (one per invocation), then one SQS batch of 10 records with a provider that takes 200 ms per call.",
        args.runs, args.warm, args.warm
    );
    let _ = writeln!(
        md,
        "- **Init**: from process start to its first request for an event. **First event**: the first invocation, secret read and provider call included. **Warm overhead**: an invocation's time minus the provider's own answer time (the sandbox answers at once). **Memory**: peak resident set (`VmHWM`) after the run."
    );
    let _ = writeln!(
        md,
        "- **Machine**: {}. Local process start is not Lambda's cold start (no sandbox to create, no code to download), but both subjects pay the same.\n",
        machine()
    );
    let _ = writeln!(md, "## Results\n");
    let _ = writeln!(
        md,
        "| measure | {} | {} | peer ÷ Ponte | target |",
        subjects[0].name, subjects[1].name
    );
    let _ = writeln!(md, "|---|---|---|---|---|");
    let _ = writeln!(
        md,
        "| init (ms) | {} | {} | {:.0}× | ≤ 15 ms and ≥ 25× |",
        ponte.init.show(1),
        peer.init.show(1),
        ratio(&ponte.init, &peer.init)
    );
    let _ = writeln!(
        md,
        "| first event (ms) | {} | {} | {:.0}× | ≤ 25 ms |",
        ponte.first.show(1),
        peer.first.show(1),
        ratio(&ponte.first, &peer.first)
    );
    let _ = writeln!(
        md,
        "| warm overhead, API Gateway (ms) | {} | {} | {:.0}× | ≤ 0.5 ms |",
        ponte.warm_http.show(2),
        peer.warm_http.show(2),
        ratio(&ponte.warm_http, &peer.warm_http)
    );
    let _ = writeln!(
        md,
        "| warm overhead, SQS record (ms) | {} | {} | {:.0}× | ≤ 0.5 ms |",
        ponte.warm_sqs.show(2),
        peer.warm_sqs.show(2),
        ratio(&ponte.warm_sqs, &peer.warm_sqs)
    );
    let _ = writeln!(
        md,
        "| SQS batch of 10 × 200 ms (ms) | {} | {} | {:.1}× | ≤ 300 ms |",
        ponte.batch.show(0),
        peer.batch.show(0),
        ratio(&ponte.batch, &peer.batch)
    );
    let _ = writeln!(
        md,
        "| peak memory (MB) | {} | {} | {:.1}× | ≤ 20 MB |",
        ponte.memory_mb.show(1),
        peer.memory_mb.show(1),
        ratio(&ponte.memory_mb, &peer.memory_mb)
    );
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
                "| `{name}` | {:.2} MB | {:.2} MB | ≤ 3 MB zipped |",
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
    let _ = writeln!(md, "| per million events | Ponte | Python peer |");
    let _ = writeln!(md, "|---|---|---|");
    let warm = |r: &Results| r.warm_http.median();
    let _ = writeln!(
        md,
        "| the function's own time (warm) | ${:.2} | ${:.2} |",
        cost_per_million(warm(ponte)),
        cost_per_million(warm(peer))
    );
    let _ = writeln!(
        md,
        "| with a 200 ms provider call | ${:.2} | ${:.2} |",
        cost_per_million(warm(ponte) + 200.0),
        cost_per_million(warm(peer) + 200.0)
    );
    let _ = writeln!(
        md,
        "\n![Ponte and the Python peer side by side](bench/chart.svg)\n"
    );
    md
}

/// Horizontal bars, one pair per measure, each measure scaled to its own larger value.
fn chart(all: &[Results]) -> String {
    let measures: Vec<(&str, f64, f64, &str)> = vec![
        ("init", all[0].init.median(), all[1].init.median(), "ms"),
        (
            "first event",
            all[0].first.median(),
            all[1].first.median(),
            "ms",
        ),
        (
            "warm overhead (API Gateway)",
            all[0].warm_http.median(),
            all[1].warm_http.median(),
            "ms",
        ),
        (
            "warm overhead (SQS)",
            all[0].warm_sqs.median(),
            all[1].warm_sqs.median(),
            "ms",
        ),
        (
            "SQS batch 10 × 200 ms",
            all[0].batch.median(),
            all[1].batch.median(),
            "ms",
        ),
        (
            "peak memory",
            all[0].memory_mb.median(),
            all[1].memory_mb.median(),
            "MB",
        ),
    ];
    let (width, row) = (760.0, 56.0);
    let height = 40.0 + row * measures.len() as f64 + 20.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n"
    );
    svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    svg += "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Ponte (Rust) vs Python peer: medians, lower is better</text>\n";
    svg += "<rect x=\"520\" y=\"9\" width=\"12\" height=\"12\" fill=\"#1f77b4\"/><text x=\"538\" y=\"20\">Ponte</text>\n";
    svg += "<rect x=\"600\" y=\"9\" width=\"12\" height=\"12\" fill=\"#ff7f0e\"/><text x=\"618\" y=\"20\">Python peer</text>\n";
    for (i, (label, ponte, peer, unit)) in measures.iter().enumerate() {
        let y = 40.0 + row * i as f64;
        let max = ponte.max(*peer).max(f64::MIN_POSITIVE);
        let bar = |value: f64| (value / max * 360.0).max(1.0);
        svg += &format!("<text x=\"10\" y=\"{}\">{label}</text>\n", y + 22.0);
        for (j, (value, colour)) in [(*ponte, "#1f77b4"), (*peer, "#ff7f0e")].iter().enumerate() {
            let by = y + 6.0 + j as f64 * 20.0;
            svg += &format!(
                "<rect x=\"210\" y=\"{by}\" width=\"{:.1}\" height=\"16\" fill=\"{colour}\"/>\n",
                bar(*value)
            );
            svg += &format!(
                "<text x=\"{:.1}\" y=\"{}\">{:.2} {unit}</text>\n",
                216.0 + bar(*value),
                by + 12.0,
                value
            );
        }
    }
    svg += "</svg>\n";
    svg
}
