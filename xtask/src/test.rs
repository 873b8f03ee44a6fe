//! `cargo xtask test`: every check the project has, in the order that fails fastest.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

/// Runs each step, stopping at the first failure.
pub fn run(root: &Path) -> Result<ExitCode> {
    let steps: &[(&str, &[&str])] = &[
        (
            "generated/ is fresh",
            &["cargo", "xtask", "codegen", "--check"],
        ),
        ("formatting", &["cargo", "fmt", "--all", "--", "--check"]),
        (
            "lints",
            &[
                "cargo",
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        ("tests", &["cargo", "test", "--workspace"]),
        (
            "AsyncAPI parser install",
            &[
                "npm",
                "ci",
                "--prefix",
                "codegen/tests/asyncapi",
                "--no-audit",
                "--no-fund",
            ],
        ),
        // The file, not its folder: Node 21+ reads `--test` arguments as globs.
        (
            "AsyncAPI documents",
            &["node", "--test", "codegen/tests/asyncapi/asyncapi.test.mjs"],
        ),
    ];
    for (name, command) in steps {
        println!("==> {name}: {}", command.join(" "));
        let status = Command::new(command[0])
            .args(&command[1..])
            .current_dir(root)
            .status()
            .with_context(|| format!("starting {}", command[0]))?;
        if !status.success() {
            eprintln!("==> {name} failed");
            return Ok(ExitCode::FAILURE);
        }
    }
    println!("==> all checks passed");
    Ok(ExitCode::SUCCESS)
}
