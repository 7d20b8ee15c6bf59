//! `ponte-phone-metadata`: writes `shared/data/phone-metadata-br.pb`, the phone metadata of the
//! default region alone, taken from the metadata rlibphonenumber embeds.
//!
//! The library decodes the metadata of all ~250 regions the first time a number is read, which
//! is most of what the first event with a phone costs; its public API takes a metadata
//! collection but cannot load part of its own. `shared/src/phone.rs` reads Brazilian numbers
//! with this one-region collection and falls back to the whole set for anything it cannot
//! read. `--check` (run by `scripts/test`) fails when the committed file is not what the locked
//! library version holds, so a library update cannot leave it stale.

use prost::Message;
use rlibphonenumber::PhoneMetadataCollection;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo run -p ponte-devtools --bin ponte-phone-metadata [-- --check]

Writes shared/data/phone-metadata-br.pb: Brazil's phone metadata, taken from the metadata the
locked rlibphonenumber version embeds.

  --check     write nothing; exit 1 when the committed file differs from what would be written
  -h, --help  this text";

/// The one region kept: Ponte's default (`PHONE_DEFAULT_REGION`).
const REGION: &str = "BR";
const OUT: &str = "shared/data/phone-metadata-br.pb";

fn main() -> ExitCode {
    if ponte_devtools::help_requested() {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let check = std::env::args().any(|a| a == "--check");
    ponte_devtools::exit_code("ponte-phone-metadata", run(check))
}

fn run(check: bool) -> Result<bool, String> {
    let root = workspace_root()?;
    let source = library_metadata(&root)?;
    let all = PhoneMetadataCollection::decode(
        std::fs::read(&source)
            .map_err(|e| format!("{}: {e}", source.display()))?
            .as_slice(),
    )
    .map_err(|e| format!("{}: not a metadata collection: {e}", source.display()))?;
    let kept = PhoneMetadataCollection {
        metadata: all
            .metadata
            .into_iter()
            .filter(|m| m.id == REGION)
            .collect(),
    };
    if kept.metadata.len() != 1 {
        return Err(format!("{}: no metadata for {REGION}", source.display()));
    }
    let bytes = kept.encode_to_vec();
    let out = root.join(OUT);
    if check {
        let committed = std::fs::read(&out).unwrap_or_default();
        if committed != bytes {
            eprintln!(
                "{OUT} is not what rlibphonenumber holds: run `cargo run -p ponte-devtools --bin ponte-phone-metadata` and commit it"
            );
            return Ok(false);
        }
        println!("{OUT}: current ({} bytes)", bytes.len());
        return Ok(true);
    }
    std::fs::write(&out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "wrote {OUT} ({} bytes, from {})",
        bytes.len(),
        source.display()
    );
    Ok(true)
}

fn workspace_root() -> Result<PathBuf, String> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| "no workspace above devtools/".to_string())
}

/// The metadata file inside the locked rlibphonenumber's sources, found through cargo.
fn library_metadata(root: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let manifest = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "rlibphonenumber")
        .and_then(|p| p["manifest_path"].as_str())
        .ok_or("cargo metadata: rlibphonenumber is not a dependency")?;
    let file = Path::new(manifest)
        .parent()
        .unwrap_or(Path::new("."))
        .join("src/generated/metadata/metadata.bin");
    if !file.is_file() {
        return Err(format!(
            "{}: not found (has rlibphonenumber moved its embedded metadata?)",
            file.display()
        ));
    }
    Ok(file)
}
