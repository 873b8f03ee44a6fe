//! `cargo xtask test`: every check the project has, in the order that fails fastest.
//!
//! `--no-browser` leaves out the steps that need Chromium (for machines where it cannot be
//! installed); CI always runs them, so there the flag is refused.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

/// Installs Debian's Chromium when it is missing (CI runs as root; apt-get asks nothing).
const INSTALL_CHROMIUM: &str = "test -x /usr/bin/chromium || { apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } \
    || { echo 'cannot install chromium: run apt-get install -y chromium as root' >&2; exit 1; }";

/// The Node test files of the TypeScript bindings, and whether each drives Chromium.
const TS_TESTS: &[(&str, bool)] = &[
    ("codegen/tests/ts/guards.test.mjs", false),
    ("codegen/tests/ts/client.test.mjs", false),
    ("codegen/tests/ts/reference.test.mjs", false),
    ("codegen/tests/ts/browser.test.mjs", true),
    ("codegen/tests/ts/consumer.test.mjs", false),
];

/// The Node test files of the conformance reports (SARIF against its schema, HTML in Chromium),
/// and whether each drives Chromium.
const REPORT_TESTS: &[(&str, bool)] = &[
    ("conformance/tests/reports/sarif.test.mjs", false),
    ("conformance/tests/reports/html.test.mjs", true),
];

/// A `node --test` command of these files (those that need no browser, without one).
fn node_tests(files: &[(&'static str, bool)], browser: bool) -> Vec<&'static str> {
    let mut command = vec!["node", "--test", "--test-timeout=600000"];
    command.extend(
        files
            .iter()
            .filter(|(_, needs_browser)| browser || !needs_browser)
            .map(|(file, _)| *file),
    );
    command
}

/// One step: its name, its command, and whether it needs the browser.
struct Step {
    name: &'static str,
    command: Vec<String>,
    browser: bool,
}

fn step(name: &'static str, command: &[&str]) -> Step {
    Step {
        name,
        command: command.iter().map(|s| s.to_string()).collect(),
        browser: false,
    }
}

fn browser_step(name: &'static str, command: &[&str]) -> Step {
    Step {
        browser: true,
        ..step(name, command)
    }
}

/// The steps, in order; without the browser, those that need it are left out.
fn steps(browser: bool) -> Vec<Step> {
    let all = vec![
        step(
            "generated/ is fresh",
            &["cargo", "xtask", "codegen", "--check"],
        ),
        step("formatting", &["cargo", "fmt", "--all", "--", "--check"]),
        step(
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
        step("tests", &["cargo", "test", "--workspace"]),
        // The workspace's tests build the runtime with every feature some member asks for, TLS
        // included; a client built with `client` alone, as a user's `ws://` client is, refuses
        // `wss://` naming the feature, which only a build of the runtime on its own can show.
        step(
            "the runtime's client without TLS",
            &[
                "cargo",
                "test",
                "-p",
                "agentwire-runtime",
                "--features",
                "client",
                "--lib",
            ],
        ),
        step(
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
        step(
            "AsyncAPI documents",
            &["node", "--test", "codegen/tests/asyncapi/asyncapi.test.mjs"],
        ),
        step(
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
        browser_step(
            "Chromium for the browser test",
            &["sh", "-c", INSTALL_CHROMIUM],
        ),
        // Compiles generated/ts with `tsc --strict`, packs and installs it, writes the agreement
        // corpus (`cargo xtask corpus`) that guards.test.mjs checks the guards on.
        step(
            "TypeScript package and corpus",
            &["node", "codegen/tests/ts/build.mjs"],
        ),
        // The clients' conversations (reference.test.mjs, browser.test.mjs) run the reference
        // servers, directly and through `conformance proxy`, and the report tests the conformance
        // binary: built here, outside the tests' time limits, so a fresh clone needs nothing more.
        step(
            "reference servers and the conformance binary for the Node tests",
            &[
                "cargo",
                "build",
                "-p",
                "agentwire-reference",
                "--bin",
                "reference",
                "-p",
                "agentwire-conformance",
                "--bin",
                "conformance",
            ],
        ),
        step("TypeScript bindings", &node_tests(TS_TESTS, browser)),
        // The same conversations through `conformance proxy` (reference.test.mjs reads
        // AGENTWIRE_VIA_PROXY): clients and servers talk unchanged, and the proxy finds no fault
        // but what a test does wrong on purpose.
        step(
            "TypeScript clients through the proxy",
            &[
                "env",
                "AGENTWIRE_VIA_PROXY=1",
                "node",
                "--test",
                "--test-timeout=600000",
                "codegen/tests/ts/reference.test.mjs",
            ],
        ),
        step(
            "conformance report test install",
            &[
                "npm",
                "ci",
                "--prefix",
                "conformance/tests/reports",
                "--no-audit",
                "--no-fund",
            ],
        ),
        step(
            "conformance reports (SARIF schema, HTML in Chromium)",
            &node_tests(REPORT_TESTS, browser),
        ),
        // Last, as it is the slowest: the npm package and the Rust crates pack, build from
        // their tarballs alone, and pass a dry-run publish.
        step("publishable packages", &["cargo", "xtask", "bindings"]),
    ];
    all.into_iter().filter(|s| browser || !s.browser).collect()
}

/// Runs each step, stopping at the first failure.
pub fn run(root: &Path, no_browser: bool) -> Result<ExitCode> {
    if no_browser && std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        bail!("--no-browser is for machines without Chromium; CI always runs the browser tests");
    }
    if no_browser {
        println!("==> without the browser tests (--no-browser): CI runs them");
    }
    for Step { name, command, .. } in steps(!no_browser) {
        println!("==> {name}: {}", command.join(" "));
        let status = Command::new(&command[0])
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

#[cfg(test)]
mod tests {
    use super::steps;

    #[test]
    fn without_the_browser_no_step_mentions_chromium_or_the_browser_test() {
        let with: Vec<String> = steps(true).iter().map(|s| s.command.join(" ")).collect();
        let without: Vec<String> = steps(false).iter().map(|s| s.command.join(" ")).collect();
        assert!(with.iter().any(|c| c.contains("chromium")));
        assert!(with.iter().any(|c| c.contains("browser.test.mjs")));
        assert!(with.iter().any(|c| c.contains("html.test.mjs")));
        for command in &without {
            assert!(
                !command.contains("chromium")
                    && !command.contains("browser")
                    && !command.contains("html.test"),
                "{command}"
            );
        }
        assert_eq!(
            with.len(),
            without.len() + 1,
            "only the Chromium install goes"
        );
        assert!(without.iter().any(|c| c.contains("reference.test.mjs")));
        assert!(without.iter().any(|c| c.contains("sarif.test.mjs")));
    }
}
