//! The `conformance` command line: `run`, `validate`, `list` and `proxy`.
//!
//! Exit codes: 0 when every check (or frame) passed, skips and warnings allowed; 1 when any
//! failed; 2 when nothing was judged: a usage error (bad arguments, unknown protocol, unreadable
//! input, no target) or an endpoint that could not be tested (no handshake succeeds).
//!
//! `run` lives in [`run`], `validate` in [`validate`], `proxy` in [`proxy`], the TLS flags `run`
//! and `proxy` share in [`trust`]; `list` and what several commands parse are here.

mod credentials;
mod proxy;
mod run;
mod trust;
mod validate;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::launcher::Launcher;
use crate::plan::plan;
use crate::runner;
use crate::schemas::Schemas;

pub use proxy::ProxyArgs;
pub use run::{Format, RunArgs, document};
pub use trust::TlsArgs;
pub use validate::ValidateArgs;

/// Checks WebSocket endpoints and recorded frames against the agentwire protocol documents.
#[derive(Debug, Parser)]
#[command(name = "conformance", version, about)]
pub struct Cli {
    /// Read the protocols from this schema folder instead of the copy built into the binary.
    #[arg(long, global = true, value_name = "DIR")]
    pub schema_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Drive a live endpoint through every check of a protocol.
    Run(Box<RunArgs>),
    /// Validate recorded frames (one JSON value, or JSON Lines, per file), or judge a proxy's
    /// transcript again.
    Validate(ValidateArgs),
    /// List the checks, with the sentence each rests on.
    List(ListArgs),
    /// Sit between a client and a server: forward every frame, judge both sides live.
    Proxy(Box<ProxyArgs>),
}

/// Output formats of `validate` and `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimpleFormat {
    /// Lines of text.
    Human,
    /// JSON.
    Json,
}

/// Arguments of `list`.
#[derive(Debug, Parser)]
pub struct ListArgs {
    /// Only this protocol.
    #[arg(long)]
    pub protocol: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: SimpleFormat,
}

/// A failure that is the caller's: exit code 2.
#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

pub(crate) fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(message.into()))
}

/// Runs the command line of this process.
pub fn main(launcher: &dyn Launcher) -> ExitCode {
    run_cli(std::env::args_os(), launcher)
}

/// Runs a command line; the process's exit code.
pub fn run_cli<I, T>(args: I, launcher: &dyn Launcher) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(error.exit_code().clamp(0, 255) as u8);
        }
    };
    match execute(cli, launcher) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            // Usage errors, endpoints that could not be tested and the rare error of the tool
            // itself all exit 2: none says anything about the server.
            let kind = if error.downcast_ref::<Usage>().is_some()
                || error.downcast_ref::<runner::Untestable>().is_some()
            {
                ""
            } else {
                "internal error: "
            };
            eprintln!("conformance: {kind}{error:#}");
            ExitCode::from(2)
        }
    }
}

/// Executes a parsed command line; whether everything passed.
fn execute(cli: Cli, launcher: &dyn Launcher) -> Result<bool> {
    let schemas = match &cli.schema_dir {
        Some(dir) => Schemas::from_dir(dir),
        None => Schemas::embedded(),
    }
    .map_err(|e| usage(format!("{e:#}")))?;
    match cli.command {
        Command::List(args) => list(&schemas, &args),
        Command::Validate(args) => validate::validate(&schemas, &args),
        Command::Run(args) => {
            // Where code scanning finds the documents SARIF results point into.
            let documents = crate::output::sarif::DocumentRoot(match &cli.schema_dir {
                Some(dir) => dir.to_string_lossy().into_owned(),
                None => "schema".into(),
            });
            run::run(&schemas, &args, launcher, &documents)
        }
        Command::Proxy(args) => proxy::run(&schemas, &args),
    }
}

pub(crate) fn check_protocol(schemas: &Schemas, id: &str) -> Result<()> {
    if schemas.protocol(id).is_none() {
        return Err(usage(format!(
            "unknown protocol {id:?}; known: {}",
            schemas.ids().join(", ")
        )));
    }
    Ok(())
}

fn parse_pairs(items: &[String], separator: char, what: &str) -> Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|item| {
            let (name, value) = item
                .split_once(separator)
                .ok_or_else(|| usage(format!("{what} {item:?} is not NAME{separator}VALUE")))?;
            let name = name.trim();
            if name.is_empty() {
                return Err(usage(format!("{what} {item:?} has no name")));
            }
            Ok((name.to_string(), value.trim().to_string()))
        })
        .collect()
}

/// `--header NAME:VALUE` arguments (`run`, `proxy`), each one HTTP can carry.
fn headers(items: &[String]) -> Result<Vec<(String, String)>> {
    let headers = parse_pairs(items, ':', "--header")?;
    for (name, value) in &headers {
        use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(usage(format!(
                "--header: {name:?} is not an HTTP header name"
            )));
        }
        if HeaderValue::from_str(value).is_err() {
            return Err(usage(format!(
                "--header {name}: the value holds characters an HTTP header cannot carry"
            )));
        }
    }
    Ok(headers)
}

fn list(schemas: &Schemas, args: &ListArgs) -> Result<bool> {
    let ids: Vec<&str> = match &args.protocol {
        Some(id) => {
            check_protocol(schemas, id)?;
            vec![id.as_str()]
        }
        None => schemas.ids(),
    };
    let mut out = String::new();
    let mut json_out = Vec::new();
    for id in ids {
        let protocol = schemas.protocol(id).expect("checked");
        let checks = plan(protocol);
        if args.format == SimpleFormat::Json {
            json_out.push(json!({
                "protocol": id,
                "checks": checks.iter().map(|c| json!({
                    "id": c.id,
                    "title": c.title,
                    "slow": c.slow,
                    "requirement": c.requirement,
                })).collect::<Vec<_>>(),
            }));
            continue;
        }
        out.push_str(&format!(
            "{id} ({}): {} checks\n",
            protocol.description.title,
            checks.len()
        ));
        for check in checks {
            let level = check.requirement.level.as_str();
            out.push_str(&format!(
                "  {:<34} {:<8} {}{}\n      \"{}\" ({})\n",
                check.id,
                level,
                check.title,
                if check.slow { " [--include-slow]" } else { "" },
                check.requirement.quote,
                check.requirement.document
            ));
        }
    }
    if args.format == SimpleFormat::Json {
        out = serde_json::to_string_pretty(&json_out)? + "\n";
    }
    write_out(None, &out)?;
    Ok(true)
}

pub(crate) fn write_out(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| usage(format!("cannot write {}: {e}", path.display()))),
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
            Ok(())
        }
    }
}
