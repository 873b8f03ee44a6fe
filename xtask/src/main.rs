//! Project tasks: `cargo xtask codegen [--check]`, `cargo xtask test [--no-browser]`, ...

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

mod bindings;
mod corpus;
mod outputs;
mod test;

#[derive(Debug, Parser)]
#[command(about = "Project tasks for agentwire")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Generate `generated/` (and the format schemas of `schema/`) from `schema/`.
    Codegen {
        /// Write nothing; fail and name the stale files when the checked-in output differs.
        #[arg(long)]
        check: bool,
    },
    /// Run every test: freshness of `generated/`, formatting, lints and the test suites.
    Test {
        /// Leave out the tests that drive Chromium (for machines where it cannot be installed;
        /// refused where `CI` is set, as CI always runs them).
        #[arg(long)]
        no_browser: bool,
    },
    /// Pack the npm package and the Rust crates into `dist/`, with a dry-run publish of each.
    Bindings {
        /// Package crates from a work tree with uncommitted changes.
        #[arg(long)]
        allow_dirty: bool,
        /// Only the Rust crates.
        #[arg(long)]
        skip_npm: bool,
        /// Only the npm package.
        #[arg(long)]
        skip_crates: bool,
    },
    /// Write the agreement corpus of every protocol (JSON Lines with the schema's verdict).
    Corpus {
        /// Folder to write `<id>.jsonl` into.
        #[arg(long)]
        out: PathBuf,
        /// Instances per protocol.
        #[arg(long, default_value_t = 12_000)]
        count: usize,
        /// The schema folder whose protocols to write (by default the repository's `schema/`).
        #[arg(long)]
        schema: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Codegen { check } => codegen(&workspace_root(), check),
        Task::Test { no_browser } => test::run(&workspace_root(), no_browser),
        Task::Bindings {
            allow_dirty,
            skip_npm,
            skip_crates,
        } => bindings::run(
            &workspace_root(),
            bindings::Options {
                allow_dirty,
                skip_npm,
                skip_crates,
            },
        ),
        Task::Corpus { out, count, schema } => {
            let schema = schema.unwrap_or_else(|| workspace_root().join("schema"));
            corpus::write(&schema, &out, count).map(|()| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

fn codegen(root: &Path, check: bool) -> Result<ExitCode> {
    let files = outputs::generate(root)?;
    let plan = outputs::compare(root, &files)?;
    if check {
        if plan.is_clean() {
            println!("generated output is fresh ({} files)", files.len());
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("generated output is stale; run `cargo xtask codegen`:");
        for line in plan.describe() {
            eprintln!("  {line}");
        }
        return Ok(ExitCode::FAILURE);
    }
    if files.is_empty() {
        bail!("the generator produced no files");
    }
    plan.apply(root).context("writing generated files")?;
    for path in plan.changed.iter().map(|(path, _)| path) {
        println!("wrote {path}");
    }
    for path in &plan.removed {
        println!("removed {path}");
    }
    println!(
        "{} files generated, {} written, {} removed",
        files.len(),
        plan.changed.len(),
        plan.removed.len()
    );
    Ok(ExitCode::SUCCESS)
}
