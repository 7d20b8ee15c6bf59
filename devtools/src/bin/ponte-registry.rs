//! `ponte-registry`: prints the registry of actions (`ponte::registry`) for the scripts that are
//! not Rust: `scripts/make-template.py` writes the template from it, `scripts/make-events.py` the
//! example events, `scripts/bench` picks its function from it.

use ponte::registry::{ACTIONS, Registered};
use ponte_devtools::examples::{LOCAL_WEBHOOK_TOKEN, form_headers, form_query};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = r#"usage: ponte-registry [--names]

Prints Ponte's functions as the registry of actions lists them, as JSON: {"webhook_token": the
local secrets' token, "functions": [one object per function: name, route, stem, does, provider,
secret_shape, contract, example_body, and example_form with the signed headers and query of its
local example]}; or with --names their names, one per line.

  --names     the names only
  -h, --help  this text

Exit status: 0, or 2 when an example form's fixture cannot be read."#;

fn describe(action: &Registered, root: &Path) -> Result<Value, String> {
    let form = &action.example_form;
    let fixture = root.join("tests/fixtures/forms").join(form.fixture);
    let body = std::fs::read_to_string(&fixture).map_err(|e| {
        format!(
            "{}: {e} (the example form of {})",
            fixture.display(),
            action.name
        )
    })?;
    let pairs = |pairs: Vec<(String, String)>| -> Value {
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect::<Map<_, _>>(),
        )
    };
    Ok(json!({
        "name": action.name,
        "action_type": (action.action_type)(),
        "route": action.route,
        "stem": action.stem,
        "does": action.does,
        "provider": action.provider,
        "secret_shape": action.secret_shape,
        "contract": action.contract(),
        "example_body": (action.example_body)(),
        "example_form": {
            "source": form.source,
            "fixture": form.fixture,
            "query": pairs(form_query(form)),
            "headers": pairs(form_headers(form, &body)),
        },
    }))
}

fn main() -> ExitCode {
    if ponte_devtools::help_requested() {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if std::env::args().nth(1).as_deref() == Some("--names") {
        ACTIONS.iter().for_each(|a| println!("{}", a.name));
        return ExitCode::SUCCESS;
    }
    let devtools = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = devtools.parent().unwrap_or(devtools);
    let described: Result<Vec<Value>, String> = ACTIONS.iter().map(|a| describe(a, root)).collect();
    ponte_devtools::exit_code(
        "ponte-registry",
        described.map(|functions| {
            let registry = json!({"webhook_token": LOCAL_WEBHOOK_TOKEN, "functions": functions});
            println!(
                "{}",
                serde_json::to_string_pretty(&registry).unwrap_or_default()
            );
            true
        }),
    )
}
