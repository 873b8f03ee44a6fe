//! `cargo xtask test`: every check the project has, in the order that fails fastest.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

/// Installs Debian's Chromium when it is missing (CI runs as root; apt-get asks nothing).
const INSTALL_CHROMIUM: &str = "test -x /usr/bin/chromium || { apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } \
    || { echo 'cannot install chromium: run apt-get install -y chromium as root' >&2; exit 1; }";

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
        (
            "TypeScript test install",
            &[
                "npm",
                "ci",
                "--prefix",
                "codegen/tests/ts",
                "--no-audit",
                "--no-fund",
            ],
        ),
        // The browser test drives Debian's Chromium, never a browser download of its own.
        (
            "Chromium for the browser test",
            &["sh", "-c", INSTALL_CHROMIUM],
        ),
        // Compiles generated/ts with `tsc --strict`, packs and installs it, writes the agreement
        // corpus (`cargo xtask corpus`) that guards.test.mjs checks the guards on.
        (
            "TypeScript package and corpus",
            &["node", "codegen/tests/ts/build.mjs"],
        ),
        // The clients' conversations (reference.test.mjs, browser.test.mjs) run the reference
        // servers: built here, outside the tests' time limits, so a fresh clone needs nothing more.
        (
            "reference servers for the TypeScript tests",
            &[
                "cargo",
                "build",
                "-p",
                "agentwire-reference",
                "--bin",
                "reference",
            ],
        ),
        (
            "TypeScript bindings",
            &[
                "node",
                "--test",
                "--test-timeout=600000",
                "codegen/tests/ts/guards.test.mjs",
                "codegen/tests/ts/client.test.mjs",
                "codegen/tests/ts/reference.test.mjs",
                "codegen/tests/ts/browser.test.mjs",
                "codegen/tests/ts/consumer.test.mjs",
            ],
        ),
        // Last, as it is the slowest: the npm package and the Rust crates pack, build from
        // their tarballs alone, and pass a dry-run publish.
        ("publishable packages", &["cargo", "xtask", "bindings"]),
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
