//! `conformance run`: drives live endpoints through every check of their protocols.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::{Parser, ValueEnum};

use super::{TlsArgs, check_protocol, headers, parse_pairs, usage, write_out};
use crate::baseline::Baseline;
use crate::launcher::Launcher;
use crate::output::sarif::DocumentRoot;
use crate::output::{self, human};
use crate::plan::plan;
use crate::report::{MultiReport, ProtocolReport, ReportDocument, Summary, Tool};
use crate::runner::{self, RunOptions, Silent, run_protocol};
use crate::schemas::Schemas;
use crate::target::Target;

/// Longest the embedded reference server may take to start.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest the run waits, once done, for work of its async runtime still under way.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Output formats of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Progress while running, then a table.
    Human,
    /// The JSON report (see report.schema.json).
    Json,
    /// JUnit XML.
    Junit,
    /// SARIF 2.1.0, for code scanning: a result per failed or warned check, located at the
    /// sentence of the protocol document it rests on.
    Sarif,
    /// One self-contained HTML page: a summary, and per check its status, sentence and frames.
    Html,
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
    /// The endpoint, ws://HOST:PORT[/PATH] or wss://...; without a path the documented one is
    /// used. Without --url, the embedded reference server is started.
    #[arg(long)]
    pub url: Option<String>,
    /// A valid credential; without it, the AGENTWIRE_TOKEN environment variable (which keeps it
    /// out of process lists and CI logs). One a cookie value cannot carry (whitespace, ", ',',
    /// ';', '\') skips the valid-cookie check, or is a usage error where every connection
    /// presents it in a cookie. A usage error where no protocol of the run takes a credential.
    #[arg(long)]
    pub token: Option<String>,
    /// The secret the server verifies HS256 JWTs with (else AGENTWIRE_JWT_SECRET): valid,
    /// expired and wrongly signed tokens are minted for the protocols whose credential may be a
    /// JWT; a usage error where none may be.
    #[arg(long)]
    pub jwt_secret: Option<String>,
    /// Fail every check that was not run (no credential, a prerequisite missing): a run that
    /// verified less than it could is no proof (also AGENTWIRE_STRICT=1).
    #[arg(
        long,
        env = "AGENTWIRE_STRICT",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub strict: bool,
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
    /// Also write the report in another format to a file, FORMAT=FILE (repeatable), so that one
    /// run feeds CI several ways: `--report sarif=conformance.sarif --report junit=junit.xml`.
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_report)]
    pub reports: Vec<(Format, PathBuf)>,
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
    /// Known failures (JSON, or TOML for a .toml file): a listed check that fails is
    /// `expected-fail` and does not fail the run; one that passes fails it as stale.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write the run's failures as a baseline (keeping the reasons, and the entries of checks
    /// the run did not judge, of --baseline).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// `--ca-cert` and `--insecure`, for a wss:// URL.
    #[command(flatten)]
    pub tls: TlsArgs,
}

pub(super) fn run(
    schemas: &Schemas,
    args: &RunArgs,
    launcher: &dyn Launcher,
    documents: &DocumentRoot,
) -> Result<bool> {
    let ids: Vec<String> = match &args.protocol {
        Some(id) => {
            check_protocol(schemas, id)?;
            vec![id.clone()]
        }
        None => schemas.ids().into_iter().map(str::to_string).collect(),
    };
    let headers = headers(&args.headers)?;
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
    for (flag, path) in [
        ("--output", &args.output),
        ("--write-baseline", &args.write_baseline),
    ] {
        if let Some(path) = path {
            writable(flag, path)?;
        }
    }
    for (_, path) in &args.reports {
        writable("--report", path)?;
    }
    let baseline = match &args.baseline {
        Some(path) => Baseline::read(path, schemas).map_err(|e| usage(format!("{e:#}")))?,
        None => Baseline::default(),
    };
    let credentials = super::credentials::credentials(
        schemas,
        &ids,
        args.token.as_deref(),
        args.jwt_secret.as_deref(),
        &args.only,
        &args.skip,
    )?;
    let base = match &args.url {
        Some(url) => Some(secure(
            Target::parse(url).map_err(|e| usage(format!("{e:#}")))?,
            args,
        )?),
        None if args.tls.given() => {
            return Err(usage(
                "--ca-cert and --insecure apply to wss:// URLs only: the embedded reference \
                 server speaks ws://",
            ));
        }
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
        strict: args.strict,
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
                    target.token = credentials.token.clone();
                    target.jwt_secret = credentials.jwt_secret.clone();
                    (target, None)
                }
                None => {
                    let server = tokio::time::timeout(
                        LAUNCH_TIMEOUT,
                        launcher.launch(id, credentials.jwt_secret.as_deref()),
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
                    target.token = credentials.token.clone().or(server.token.clone());
                    target.jwt_secret =
                        credentials.jwt_secret.clone().or(server.jwt_secret.clone());
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
    for report in &mut reports {
        baseline.apply(report);
    }
    if let Some(path) = &args.write_baseline {
        let text = baseline.of_failures(&reports).to_text(path)?;
        write_out(Some(path), &text)?;
    }
    let failed = reports.iter().any(|r| r.summary.fails());
    for (format, path) in &args.reports {
        write_out(Some(path), &render(*format, &reports, schemas, documents))?;
    }
    let text = render(args.format, &reports, schemas, documents);
    write_out(args.output.as_deref(), &text)?;
    Ok(!failed)
}

/// The reports in a format.
fn render(
    format: Format,
    reports: &[ProtocolReport],
    schemas: &Schemas,
    documents: &DocumentRoot,
) -> String {
    match format {
        Format::Human => reports
            .iter()
            .map(human::table)
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Json => output::json(&document(reports.to_vec())),
        Format::Junit => output::junit::junit(reports),
        Format::Sarif => output::sarif::sarif(reports, schemas, documents),
        Format::Html => output::html::html(reports),
    }
}

/// Reads `FORMAT=FILE`.
fn parse_report(text: &str) -> std::result::Result<(Format, PathBuf), String> {
    let (format, file) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not FORMAT=FILE"))?;
    let format = Format::from_str(format, true)
        .map_err(|_| format!("{format:?} is no format: human, json, junit, sarif or html"))?;
    if file.is_empty() {
        return Err(format!("{text:?} names no file"));
    }
    Ok((format, PathBuf::from(file)))
}

/// A usage error unless `path` can be a file written at the end of the run.
fn writable(flag: &str, path: &Path) -> Result<()> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if path.is_dir() || parent.is_some_and(|p| !p.is_dir()) {
        return Err(usage(format!(
            "{flag} {}: not a file in an existing folder",
            path.display()
        )));
    }
    Ok(())
}

/// Sets up TLS for a `wss://` target.
fn secure(mut target: Target, args: &RunArgs) -> Result<Target> {
    target.tls = args.tls.trust(target.is_secure(), "--url")?;
    target.insecure = target.tls.is_some() && args.tls.insecure;
    Ok(target)
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
