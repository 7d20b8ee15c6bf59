//! How Ponte's work grows with what an operator configures and what a form sends: a connection
//! secret of N mappings and N routes read and checked (what every secret read costs), and a
//! form body of B bytes decoded, routed, mapped and validated (what every submission costs).
//! Two sizes of each, so that the growth shows; medians of many runs, in this process, with the
//! release build's code. `scripts/bench` runs it and puts its table in BENCHMARKS.md.

use ponte::action::{Action, ValidationContext};
use ponte::actions::CloudChatCreateConversation;
use ponte::connection::Connection;
use ponte::expressions::Answers;
use ponte::forms::{self, Decoded, Source};
use ponte::lookup::Context;
use ponte::webhooks::Setup;
use serde_json::{Map, Value, json};
use std::fmt::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

type Ticket = CloudChatCreateConversation;

const USAGE: &str = "\
usage: ponte-growth [--out MD]

Measures a connection secret of 100 and 200 mappings and routes being read and checked, and a
form body of 128 KB and 256 KB being decoded, routed, mapped and validated, and writes the table
(default: target/bench-growth.md).

Exit status: 0 when measured and written, 1 when a measured step did not do its work.";

/// A secret with `n` named mappings, each with filters forms use (200 of them fill most of the
/// 64 KB a secret may hold), and `n` routes: one
/// choosing each mapping by an answer, the last a catch-all.
fn secret(n: usize) -> Value {
    let mut mappings = Map::new();
    let mut routes = Vec::new();
    for i in 0..n {
        mappings.insert(
            format!("m{i}"),
            json!({
                "inbox_id": format!("{}", i + 1),
                "contact_email": "{{email}}",
                "contact_phone_number": "{{ whatsapp | phone }}",
                "message": {"content": "Olá {{ nome | first_name }} ({{ cpf | digits }}):\n{{all_fields}}"}
            }),
        );
        if i + 1 == n {
            break;
        }
        routes.push(json!({"name": format!("r{i}"), "when": format!("interesse == 'opção {i}'"), "mapping": format!("m{i}")}));
    }
    routes.push(json!({"name": "resto", "mapping": "m0"}));
    json!({
        "api_access_token": "token", "account_id": 1, "base_url": "https://chat.example.com",
        "webhooks": {"generic": {"token": "t", "routes": routes}, "mappings": mappings}
    })
}

/// A generic JSON form body of about `bytes`: a contact, and many answered questions; it takes
/// the last route, so every condition is tested.
fn body(bytes: usize) -> Vec<u8> {
    let mut form = Map::new();
    for (k, v) in [
        ("nome", "Maria Souza Lima"),
        ("email", "maria@example.com"),
        ("whatsapp", "(85) 98769-6383"),
        ("interesse", "outra coisa"),
        ("cpf", "123.456.789-00"),
    ] {
        form.insert(k.into(), json!(v));
    }
    let mut i = 0;
    while serde_json::to_vec(&form).map(|b| b.len()).unwrap_or(0) < bytes {
        form.insert(
            format!("pergunta_{i}"),
            json!("uma resposta de tamanho médio, como as que formulários recebem "),
        );
        i += 1;
    }
    serde_json::to_vec(&form).unwrap_or_default()
}

/// The median time of `runs` runs of `work`, which returns whether it did its work.
fn median(runs: usize, mut work: impl FnMut() -> bool) -> Result<Duration, String> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        if !work() {
            return Err("a measured step did not do its work".into());
        }
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[runs / 2])
}

/// One submission through what the function does before the provider call.
fn submission(setup: &Setup<<Ticket as Action>::Connection>, body: &[u8]) -> bool {
    let Ok(Decoded::Submissions(submissions)) =
        forms::decode(Source::Generic, body, Some("application/json"))
    else {
        return false;
    };
    let Some(routes) = setup.webhooks.routes_for(Source::Generic) else {
        return false;
    };
    submissions.iter().all(|s| {
        let answers = Answers::of(&Context {
            submission: s,
            query: &[],
            signed: false,
        });
        let Ok(route) = routes.choose(&answers) else {
            return false;
        };
        let Ok(mapping) = setup.webhooks.named_mapping(route_mapping(route)) else {
            return false;
        };
        // Validation refuses what the provider would (the summary of a 256 KB form is longer
        // than a message may be): the work is done either way.
        mapping
            .render_for(&answers)
            .map(|payload| Ticket::validate(&payload, &ValidationContext::default()).is_ok())
            .is_ok()
    })
}

fn route_mapping(route: &ponte::routes::Route) -> &str {
    match &route.then {
        ponte::routes::Then::Deliver {
            mapping: Some(m), ..
        } => m,
        _ => "",
    }
}

/// "×1.9 the time" for the second of two sizes, nothing for the first.
fn growth(smaller: &mut Option<Duration>, time: Duration) -> String {
    match smaller.replace(time) {
        Some(before) => format!("×{:.1} the time", time.as_secs_f64() / before.as_secs_f64()),
        None => String::new(),
    }
}

fn run(out: &str) -> Result<(), String> {
    let mut md = String::from(
        "\n## Cost as work grows\n\n`devtools/src/bin/ponte-growth.rs`, in one process with the release build's code; medians. A secret read is paid once per `SECRET_MAX_AGE_SECONDS` (300 s) per container; a submission on every event.\n\n| work | size | time (ms) | twice the size takes |\n|---|---|---|---|\n",
    );
    let mut smaller = None;
    for n in [100, 200] {
        let secret = secret(n);
        let bytes = secret.to_string().len();
        if let Err(problems) = <Setup<<Ticket as Action>::Connection>>::from_secret(&secret) {
            return Err(format!(
                "the secret of {n} mappings does not load: {problems}"
            ));
        }
        let time = median(21, || {
            <Setup<<Ticket as Action>::Connection>>::from_secret(&secret).is_ok()
        })?;
        let _ = writeln!(
            md,
            "| a secret read and checked: mappings and routes compiled | {n} mappings + {n} routes ({} KB) | {:.2} | {} |",
            bytes / 1024,
            time.as_secs_f64() * 1000.0,
            growth(&mut smaller, time)
        );
    }
    let setup = <Setup<<Ticket as Action>::Connection>>::from_secret(&secret(200))
        .map_err(|p| p.to_string())?;
    let mut smaller = None;
    for kb in [128, 256] {
        let body = body(kb * 1024 - 512);
        let time = median(21, || submission(&setup, &body))?;
        let _ = writeln!(
            md,
            "| a form body decoded, routed (200 routes), mapped and validated | {kb} KB | {:.2} | {} |",
            time.as_secs_f64() * 1000.0,
            growth(&mut smaller, time)
        );
    }
    std::fs::write(out, &md).map_err(|e| format!("{out}: {e}"))?;
    print!("{md}");
    Ok(())
}

fn main() -> ExitCode {
    if ponte_devtools::help_requested() {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args.as_slice() {
        [] => "target/bench-growth.md".to_string(),
        [flag, path] if flag == "--out" => path.clone(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    ponte_devtools::exit_code("ponte-growth", run(&out).map(|()| true))
}
