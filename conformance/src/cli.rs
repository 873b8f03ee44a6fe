//! The `conformance` command line: `run`, `validate` and `list`.
//!
//! Exit codes: 0 when every check (or frame) passed, skips and warnings allowed; 1 when any
//! failed; 2 when nothing was judged: a usage error (bad arguments, unknown protocol, unreadable
//! input, no target) or an endpoint that could not be tested (no handshake succeeds).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use agentwire_spec::protocol::{AuthMethod, Direction};
use anyhow::{Context, Result, anyhow};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::launcher::Launcher;
use crate::output::{self, human};
use crate::plan::plan;
use crate::report::{MultiReport, ProtocolReport, ReportDocument, Summary, Tool};
use crate::runner::{self, RunOptions, Silent, run_protocol};
use crate::schemas::Schemas;
use crate::target::Target;

/// Largest file `validate` reads whole; larger files are read as JSON Lines.
const WHOLE_FILE_BYTES: u64 = 16 << 20;
/// Most bytes `validate` reads of one file (a device or an endless pipe ends here).
const MAX_FILE_BYTES: u64 = 1 << 30;
/// Longest line `validate` accepts.
const MAX_LINE_BYTES: usize = 16 << 20;
/// Longest the embedded reference server may take to start.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest the run waits, once done, for work of its async runtime still under way.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);
/// Most invalid frames `validate` describes in detail.
const MAX_SHOWN_INVALID: usize = 100;

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
    /// Validate recorded frames (one JSON value, or JSON Lines, per file).
    Validate(ValidateArgs),
    /// List the checks, with the sentence each rests on.
    List(ListArgs),
}

/// Output formats of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Progress while running, then a table.
    Human,
    /// The JSON report (see report.schema.json).
    Json,
    /// JUnit XML.
    Junit,
}

/// Output formats of `validate` and `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimpleFormat {
    /// Lines of text.
    Human,
    /// JSON.
    Json,
}

/// Frame directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// Frames a client sends (client.schema.json).
    Client,
    /// Frames the server sends (server.schema.json).
    Server,
}

/// Arguments of `run`.
#[derive(Debug, Parser)]
pub struct RunArgs {
    /// The protocol to check.
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    pub protocol: Option<String>,
    /// Check every protocol.
    #[arg(long)]
    pub all: bool,
    /// The endpoint, ws://HOST:PORT[/PATH]; without a path the documented one is used. Without
    /// --url, the embedded reference server is started.
    #[arg(long)]
    pub url: Option<String>,
    /// A valid credential. One a cookie value cannot carry (whitespace, ", ',', ';', '\') skips
    /// the valid-cookie check, or is a usage error where every connection presents it in a cookie.
    #[arg(long)]
    pub token: Option<String>,
    /// The secret the server verifies HS256 JWTs with: valid and expired tokens are minted.
    #[arg(long)]
    pub jwt_secret: Option<String>,
    /// An extra handshake header, NAME:VALUE (repeatable).
    #[arg(long = "header", value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// A path parameter, NAME=VALUE (repeatable); documented examples fill the others.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Write the report here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Deadline of every wait, in milliseconds, and the budget of replies the server's own logic
    /// produces (the control budget).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout_ms: u64,
    /// The budget of replies a model generates (chat answers: exchanges marked `generated` in
    /// protocol.json), in milliseconds.
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub reply_timeout_ms: u64,
    /// How long a new connection must be quiet before its first request, in milliseconds: frames
    /// the server sends on its own then (a greeting) are never taken as an answer. 0 sends at once.
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub settle_ms: u64,
    /// Deadline of the whole run, in milliseconds: with --all, of every protocol's run together
    /// (including starting the reference servers). Without it, each protocol's run has a deadline
    /// derived from its checks' budgets. A check the deadline cuts short or leaves no time for
    /// fails.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub run_timeout_ms: Option<u64>,
    /// Only these checks (id, dotted prefix like `auth`, or prefix ending in *); repeatable.
    #[arg(long, value_name = "CHECK")]
    pub only: Vec<String>,
    /// Not these checks; repeatable.
    #[arg(long, value_name = "CHECK")]
    pub skip: Vec<String>,
    /// Also run checks that wait for documented timeouts (idle timeout, ping interval).
    #[arg(long)]
    pub include_slow: bool,
    /// Largest frame accepted from the server, in bytes.
    #[arg(long, default_value_t = 1 << 20, value_parser = clap::value_parser!(u64).range(1024..=(1 << 30)))]
    pub max_frame_bytes: u64,
    /// Requests in the rate-limit burst.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub burst: u64,
    /// Most connections the per-IP limit check may open.
    #[arg(long, default_value_t = 256)]
    pub max_connections: u64,
    /// Checks run at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: u64,
}

/// Arguments of `validate`.
#[derive(Debug, Parser)]
pub struct ValidateArgs {
    /// The protocol.
    #[arg(long)]
    pub protocol: String,
    /// Who sent the frames.
    #[arg(long, value_enum)]
    pub direction: DirectionArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: SimpleFormat,
    /// Files holding one JSON value, or one JSON value per line.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
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

fn usage(message: impl Into<String>) -> anyhow::Error {
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
        Command::Validate(args) => validate(&schemas, &args),
        Command::Run(args) => run(&schemas, &args, launcher),
    }
}

fn check_protocol(schemas: &Schemas, id: &str) -> Result<()> {
    if schemas.protocol(id).is_none() {
        return Err(usage(format!(
            "unknown protocol {id:?}; known: {}",
            schemas.ids().join(", ")
        )));
    }
    Ok(())
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

fn validate(schemas: &Schemas, args: &ValidateArgs) -> Result<bool> {
    check_protocol(schemas, &args.protocol)?;
    let validators = schemas.validators(&args.protocol).expect("checked");
    let direction = match args.direction {
        DirectionArg::Client => Direction::Client,
        DirectionArg::Server => Direction::Server,
    };
    let validator = validators.of(direction);
    let (mut valid, mut invalid, mut warnings) = (0u64, 0u64, 0u64);
    let mut lines = Vec::new();
    let mut results = Vec::new();
    for file in &args.files {
        for_each_frame(file, &mut |line, frame| {
            let (ok, message, errors, undecodable, rests_on) = match frame {
                Ok(value) => {
                    let verdict = validator.validate(&value);
                    let errors: Vec<Value> = verdict
                        .errors
                        .iter()
                        .map(|e| {
                            json!({
                                "instance_pointer": e.instance_pointer,
                                "keyword": e.keyword,
                                "schema_location": e.schema_location,
                                "error": e.message,
                            })
                        })
                        .collect();
                    let valid = verdict.is_valid();
                    let rests_on = (!valid).then_some(verdict.quote).flatten();
                    (
                        valid,
                        verdict.message.as_deref().map(str::to_owned),
                        errors,
                        verdict.undecodable,
                        rests_on,
                    )
                }
                Err(why) => {
                    // Text that is no JSON breaks the sentence the framing rests on, if quoted.
                    let rests_on = why
                        .starts_with("not JSON")
                        .then(|| validator.framing().cloned())
                        .flatten();
                    (
                        false,
                        None,
                        vec![json!({"error": why})],
                        Vec::new(),
                        rests_on,
                    )
                }
            };
            if ok {
                valid += 1;
            } else {
                invalid += 1;
            }
            warnings += undecodable.len() as u64;
            let place = format!("{}:{line}", file.display());
            if args.format == SimpleFormat::Json {
                results.push(json!({
                    "file": file.display().to_string(),
                    "line": line,
                    "valid": ok,
                    "message": message,
                    "errors": errors,
                    "rests_on": rests_on.as_deref(),
                    "undecodable_base64": undecodable,
                }));
            } else if !ok
                && invalid as usize <= MAX_SHOWN_INVALID
                && message.is_none()
                && errors.iter().all(|e| e.get("keyword").is_none())
            {
                // Not a frame at all: not JSON, not UTF-8, too long, or no frame in the file.
                for error in &errors {
                    lines.push(format!(
                        "{place}: {}",
                        error["error"].as_str().unwrap_or("")
                    ));
                }
                if let Some(quote) = &rests_on {
                    lines.push(format!("    the framing rests on: \"{quote}\""));
                }
            } else if !ok && invalid as usize <= MAX_SHOWN_INVALID {
                lines.push(format!(
                    "{place}: invalid {}",
                    message
                        .as_deref()
                        .map_or("frame (no message matches)".into(), |m| format!("`{m}`"))
                ));
                for error in &errors {
                    lines.push(format!(
                        "    {} at {:?} ({}): {}",
                        error["keyword"].as_str().unwrap_or("parse"),
                        error["instance_pointer"].as_str().unwrap_or(""),
                        error["schema_location"].as_str().unwrap_or("-"),
                        error["error"].as_str().unwrap_or("")
                    ));
                }
                if let Some(quote) = &rests_on {
                    let what = if message.is_some() {
                        "the message"
                    } else {
                        "a frame of no documented message: the protocol"
                    };
                    lines.push(format!("    {what} rests on: \"{quote}\""));
                }
            }
            for pointer in undecodable {
                if args.format == SimpleFormat::Human {
                    lines.push(format!(
                        "{place}: warning: {pointer} does not decode as base64"
                    ));
                }
            }
        })?;
    }
    let text = if args.format == SimpleFormat::Json {
        serde_json::to_string_pretty(&json!({
            "protocol": args.protocol,
            "direction": args.direction.to_possible_value().map(|v| v.get_name().to_string()),
            "summary": {"valid": valid, "invalid": invalid, "warnings": warnings},
            "frames": results,
        }))? + "\n"
    } else {
        if invalid as usize > MAX_SHOWN_INVALID {
            lines.push(format!(
                "... and {} more invalid frames",
                invalid as usize - MAX_SHOWN_INVALID
            ));
        }
        lines.push(format!(
            "{valid} valid, {invalid} invalid, {warnings} warnings"
        ));
        lines.join("\n") + "\n"
    };
    write_out(None, &text)?;
    Ok(invalid == 0)
}

/// Calls `each` with every frame of a file: the whole file when it is one JSON value (and at most
/// [`WHOLE_FILE_BYTES`]), else one per non-empty line (JSON Lines). A line that is not JSON, not
/// UTF-8 or too long is a finding for that frame only; a file with no frame is a finding too, and
/// so is a file over the bound whose first line is not JSON (one finding, not one per line).
/// Memory and the bytes read are bounded, so a huge file, a device or a pipe cannot exhaust them.
fn for_each_frame(path: &Path, each: &mut dyn FnMut(u64, Result<Value, String>)) -> Result<()> {
    let unreadable = |e: std::io::Error| usage(format!("{}: cannot read: {e}", path.display()));
    let file = File::open(path).map_err(unreadable)?;
    if file.metadata().map_err(unreadable)?.is_dir() {
        return Err(usage(format!(
            "{}: a directory, not a file",
            path.display()
        )));
    }
    let mut reader = BufReader::new(file.take(MAX_FILE_BYTES + 1));
    let mut head = Vec::new();
    (&mut reader)
        .take(WHOLE_FILE_BYTES + 1)
        .read_to_end(&mut head)
        .map_err(unreadable)?;
    if head.len() as u64 <= WHOLE_FILE_BYTES
        && !head.iter().all(u8::is_ascii_whitespace)
        && let Ok(value) = serde_json::from_slice::<Value>(&head)
    {
        each(1, Ok(value));
        return Ok(());
    }
    // Over the bound, the file can only be JSON Lines; a first line that is not JSON says it is
    // not (most likely one large value spread over lines), and one finding says so.
    let over_bound = head.len() as u64 > WHOLE_FILE_BYTES;
    let mut reader = std::io::Cursor::new(head).chain(reader);
    let (mut number, mut frames, mut total) = (0u64, 0u64, 0u64);
    let mut line = Vec::new();
    loop {
        if total > MAX_FILE_BYTES {
            frames += 1;
            each(
                number + 1,
                Err(format!(
                    "the file goes on past {MAX_FILE_BYTES} bytes: not read further"
                )),
            );
            break;
        }
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(unreadable)?;
        if read == 0 {
            break;
        }
        number += 1;
        total += read as u64;
        if line.len() > MAX_LINE_BYTES && !line.ends_with(b"\n") {
            frames += 1;
            each(number, Err(format!("a line over {MAX_LINE_BYTES} bytes")));
            total += skip_line(&mut reader).map_err(unreadable)?;
            continue;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        frames += 1;
        let frame = match std::str::from_utf8(&line) {
            Ok(text) => serde_json::from_str(text).map_err(|e| format!("not JSON: {e}")),
            Err(e) => Err(format!("not UTF-8 text: {e}")),
        };
        if over_bound && frames == 1 && frame.is_err() {
            let why = frame.err().unwrap_or_default();
            each(
                number,
                Err(format!(
                    "the file is over {} MiB, the most read as one JSON value, and is not JSON \
                     Lines either (its first line is {why}): not read further",
                    WHOLE_FILE_BYTES >> 20
                )),
            );
            break;
        }
        each(number, frame);
    }
    if frames == 0 {
        each(
            1,
            Err("the file holds no frame (it is empty or blank)".into()),
        );
    }
    Ok(())
}

/// Reads past the rest of a line, keeping at most 64 KiB of it at a time; the bytes skipped.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<u64> {
    let mut skipped = 0u64;
    let mut piece = Vec::new();
    loop {
        piece.clear();
        let read = reader.take(64 << 10).read_until(b'\n', &mut piece)?;
        skipped += read as u64;
        if read == 0 || piece.ends_with(b"\n") || skipped > MAX_FILE_BYTES {
            return Ok(skipped);
        }
    }
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

fn run(schemas: &Schemas, args: &RunArgs, launcher: &dyn Launcher) -> Result<bool> {
    let ids: Vec<String> = match &args.protocol {
        Some(id) => {
            check_protocol(schemas, id)?;
            vec![id.clone()]
        }
        None => schemas.ids().into_iter().map(str::to_string).collect(),
    };
    let headers = parse_pairs(&args.headers, ':', "--header")?;
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
    let params = parse_pairs(&args.params, '=', "--param")?;
    for (name, _) in &params {
        let known = ids.iter().any(|id| {
            let endpoint = &schemas.protocol(id).expect("checked").description.endpoint;
            endpoint.path_params.iter().any(|p| &p.name == name)
        });
        if !known {
            return Err(usage(format!(
                "--param {name:?} is no path parameter of {}",
                ids.join(", ")
            )));
        }
    }
    // Arguments that can only fail at the end, or inside every check, are checked first.
    if let Some(path) = &args.output {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        if path.is_dir() || parent.is_some_and(|p| !p.is_dir()) {
            return Err(usage(format!(
                "--output {}: not a file in an existing folder",
                path.display()
            )));
        }
    }
    if let Some(token) = &args.token
        && (token.is_empty()
            || tokio_tungstenite::tungstenite::http::HeaderValue::from_str(token).is_err())
    {
        return Err(usage(
            "--token: empty, or holds characters an HTTP header (a cookie) cannot carry",
        ));
    }
    // A credential that cannot travel in a cookie is a usage error where a cookie is how every
    // connection of a protocol would present it; where the cookie is one method among others,
    // only that method's valid-credential check is skipped (the token may suit the others).
    if let Some(token) = &args.token
        && !crate::util::cookie_safe(token)
    {
        for id in &ids {
            let auth = schemas
                .protocol(id)
                .expect("checked")
                .description
                .auth
                .as_ref();
            let selected = || {
                !runner::select(
                    plan(schemas.protocol(id).expect("checked")),
                    &args.only,
                    &args.skip,
                )
                .is_empty()
            };
            if let Some(auth) = auth
                && auth.required
                && let Some(AuthMethod::Cookie { name, .. }) = auth.methods.first()
                && selected()
            {
                return Err(usage(format!(
                    "--token: holds characters a cookie value cannot carry (RFC 6265: \
                     whitespace, '\"', ',', ';' or '\\'), and {id} presents it in the cookie \
                     `{name}` on every connection"
                )));
            }
        }
    }
    let base = match &args.url {
        Some(url) => Some(Target::parse(url).map_err(|e| usage(format!("{e:#}")))?),
        None => None,
    };
    let options = RunOptions {
        timeout: Duration::from_millis(args.timeout_ms),
        reply_timeout: Duration::from_millis(args.reply_timeout_ms),
        settle: Duration::from_millis(args.settle_ms),
        run_timeout: args.run_timeout_ms.map(Duration::from_millis),
        max_frame_bytes: args.max_frame_bytes as usize,
        include_slow: args.include_slow,
        only: args.only.clone(),
        skip: args.skip.clone(),
        burst: args.burst as usize,
        max_connections: args.max_connections,
        concurrency: args.concurrency as usize,
    };
    let planned: Vec<String> = ids
        .iter()
        .flat_map(|id| plan(schemas.protocol(id).expect("checked")))
        .map(|c| c.id)
        .collect();
    for (flag, patterns) in [("--only", &args.only), ("--skip", &args.skip)] {
        for pattern in patterns {
            if !planned.iter().any(|id| runner::matches(pattern, id)) {
                return Err(usage(format!(
                    "{flag} {pattern:?} names no check of {}; see `conformance list`",
                    ids.join(", ")
                )));
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let human = args.format == Format::Human;
    let progress_lines = human::ProgressLines;
    let progress: &dyn runner::Progress = if human { &progress_lines } else { &Silent };
    let mut reports: Vec<ProtocolReport> = Vec::new();
    let mut outcome = Ok(());
    // One deadline for the whole run: each protocol gets what its predecessors left.
    let run_deadline = args
        .run_timeout_ms
        .map(|ms| std::time::Instant::now() + Duration::from_millis(ms));
    for id in &ids {
        let mut options = options.clone();
        if let Some(deadline) = run_deadline {
            options.run_timeout =
                Some(deadline.saturating_duration_since(std::time::Instant::now()));
        }
        let options = &options;
        let report = runtime.block_on(async {
            let (target, _guard) = match &base {
                Some(base) => {
                    let mut target = base.clone();
                    target.token = args.token.clone();
                    target.jwt_secret = args.jwt_secret.clone();
                    (target, None)
                }
                None => {
                    let server = tokio::time::timeout(
                        LAUNCH_TIMEOUT,
                        launcher.launch(id, args.jwt_secret.as_deref()),
                    )
                    .await
                    .map_err(|_| {
                        anyhow!(
                            "{id}: the reference server did not start within {} s",
                            LAUNCH_TIMEOUT.as_secs()
                        )
                    })?
                    .map_err(|e| usage(format!("{id}: {e:#}")))?;
                    let mut target = Target::parse(&server.url)
                        .map_err(|e| anyhow!("the launched server's URL: {e:#}"))?;
                    target.token = args.token.clone().or(server.token.clone());
                    target.jwt_secret = args.jwt_secret.clone().or(server.jwt_secret.clone());
                    (target, Some(server.guard))
                }
            };
            let mut target = target;
            target.headers = headers.clone();
            target.params = params.iter().cloned().collect();
            run_protocol(schemas, id, &target, options, progress).await
        });
        match report {
            Ok(report) => reports.push(report),
            Err(error) => {
                outcome = Err(error);
                break;
            }
        }
    }
    // Dropping a runtime waits for its blocking threads without end (a DNS lookup that hangs is
    // one); the run's deadlines must hold to the exit.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    outcome?;
    let failed = reports.iter().any(|r| r.summary.failed > 0);
    let text = match args.format {
        Format::Human => reports
            .iter()
            .map(human::table)
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Json => output::json(&document(reports.clone())),
        Format::Junit => output::junit::junit(&reports),
    };
    write_out(args.output.as_deref(), &text)?;
    Ok(!failed)
}

/// The JSON document of one or several reports.
pub fn document(mut reports: Vec<ProtocolReport>) -> ReportDocument {
    if reports.len() == 1 {
        return ReportDocument::Single(reports.remove(0));
    }
    let mut summary = Summary::default();
    for report in &reports {
        summary.merge(report.summary);
    }
    ReportDocument::Multiple(MultiReport {
        tool: Tool::default(),
        summary,
        reports,
    })
}

fn write_out(path: Option<&Path>, text: &str) -> Result<()> {
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
