//! `cargo xtask corpus --out DIR`: the agreement corpus of every protocol, as JSON Lines, with
//! the `jsonschema` verdict on each instance, for the test suites of other languages.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use agentwire_codegen::corpus;
use agentwire_codegen::model::ProtocolModel;
use agentwire_spec::Workspace;
use agentwire_spec::protocol::Direction;
use agentwire_spec::source::validator_in;
use anyhow::{Context, Result};
use serde_json::json;

/// The seed every corpus is generated from, so that every language checks the same instances.
pub const SEED: u64 = 0x5eed_a9e7;

/// Writes `<out>/<id>.jsonl` for every protocol of a schema folder: `{"direction", "valid",
/// "how", "instance"}`.
pub fn write(schema: &Path, out: &Path, count: usize) -> Result<()> {
    let workspace = Workspace::load(schema).map_err(anyhow::Error::msg)?;
    let registry = workspace.schemas.registry().map_err(anyhow::Error::msg)?;
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for protocol in &workspace.protocols {
        let model = ProtocolModel::build(&workspace, protocol).map_err(anyhow::Error::msg)?;
        let client = validator_in(&registry, &protocol.client.uri).map_err(anyhow::Error::msg)?;
        let server = validator_in(&registry, &protocol.server.uri).map_err(anyhow::Error::msg)?;
        let instances = corpus::generate(&model, count, SEED).map_err(anyhow::Error::msg)?;
        let mut text = String::new();
        let mut valid_count = 0;
        for instance in &instances {
            let (direction, validator) = match instance.direction {
                Direction::Client => ("client", &client),
                Direction::Server => ("server", &server),
            };
            let valid = validator.is_valid(&instance.value);
            valid_count += usize::from(valid);
            let line = json!({"direction": direction, "valid": valid, "how": instance.how, "instance": instance.value});
            writeln!(text, "{line}").expect("writing to a string");
        }
        let path = out.join(format!("{}.jsonl", protocol.id));
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!(
            "{}: {} instances ({valid_count} valid) -> {}",
            protocol.id,
            instances.len(),
            path.display()
        );
    }
    Ok(())
}
