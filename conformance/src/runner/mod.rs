//! Running a protocol's checks against a target: a first handshake that shows the endpoint can be
//! tested at all, selection (`--only`, `--skip`, opt-in slow checks), concurrency with results in
//! plan order, a deadline per check and for the whole run ([`budget`]), and word of long waits
//! ([`waits`]).

pub mod budget;
pub mod waits;

use std::time::{Duration, Instant};

use agentwire_spec::protocol::Level;
use anyhow::{Result, anyhow};
use futures_util::StreamExt;

use crate::checks::{self, Ctx, Presented, Settings, Skipped};
use crate::connection::{DialError, Recorder};
use crate::conversation::Conversation;
use crate::plan::{CheckSpec, plan};
use crate::report::{
    CheckReport, Evidence, ProtocolReport, Severity, SkipKind, Status, Summary, Tool,
};
use crate::schemas::Schemas;
use crate::target::Target;
use waits::{InFlight, Waiting};

/// How to run the suite.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Deadline of every wait, and the budget of replies the server's own logic produces
    /// (`--timeout-ms`).
    pub timeout: Duration,
    /// The budget of replies a model generates (`--reply-timeout-ms`): exchanges marked
    /// `budget: generated` in `protocol.json`.
    pub reply_timeout: Duration,
    /// How long a new connection must be quiet before its first request (`--settle-ms`).
    pub settle: Duration,
    /// Deadline of the whole run of one protocol, from its start (the CLI passes what is left of
    /// `--run-timeout-ms`, which bounds every protocol's run together); derived when `None`.
    pub run_timeout: Option<Duration>,
    /// Largest frame accepted from the server (`--max-frame-bytes`).
    pub max_frame_bytes: usize,
    /// Whether to run checks that wait for documented timeouts (`--include-slow`).
    pub include_slow: bool,
    /// Only these checks (ids or dotted prefixes); all when empty.
    pub only: Vec<String>,
    /// Not these checks (ids or dotted prefixes).
    pub skip: Vec<String>,
    /// Requests in the rate-limit burst (`--burst`).
    pub burst: usize,
    /// Most connections the per-IP limit check may open (`--max-connections`).
    pub max_connections: u64,
    /// Checks run at once (`--concurrency`).
    pub concurrency: usize,
    /// Whether a check that was not run fails (`--strict`): a skip is no proof.
    pub strict: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(2000),
            reply_timeout: Duration::from_millis(30_000),
            settle: Duration::from_millis(250),
            run_timeout: None,
            max_frame_bytes: 1 << 20,
            include_slow: false,
            only: Vec::new(),
            skip: Vec::new(),
            burst: 50,
            max_connections: 256,
            concurrency: 8,
            strict: false,
        }
    }
}

/// Told about each check as it ends (the human format's progress lines).
pub trait Progress: Sync {
    /// A protocol's run starts with this many checks.
    fn start(&self, _protocol: &str, _total: usize) {}
    /// A check ended; `done` checks of `total` have.
    fn done(&self, _protocol: &str, _done: usize, _total: usize, _check: &CheckReport) {}
    /// These checks have been running for a while (every [`waits::REPORT_EVERY`]).
    fn waiting(&self, _protocol: &str, _waits: &[Waiting]) {}
}

/// Reports no progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}

/// Whether a check id is selected by a pattern: the id itself, a dotted prefix of it (`auth`,
/// `auth.query`), or a prefix ending in `*`.
pub fn matches(pattern: &str, id: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix('*') {
        return id.starts_with(prefix);
    }
    id == pattern
        || id
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// The checks `--only` and `--skip` leave, in plan order.
pub fn select(checks: Vec<CheckSpec>, only: &[String], skip: &[String]) -> Vec<CheckSpec> {
    checks
        .into_iter()
        .filter(|c| only.is_empty() || only.iter().any(|p| matches(p, &c.id)))
        .filter(|c| !skip.iter().any(|p| matches(p, &c.id)))
        .collect()
}

/// Runs the suite of protocol `id` against `target`.
pub async fn run_protocol(
    schemas: &Schemas,
    id: &str,
    target: &Target,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<ProtocolReport> {
    let protocol = schemas
        .protocol(id)
        .ok_or_else(|| anyhow!("no protocol {id:?}; known: {}", schemas.ids().join(", ")))?;
    let validators = schemas
        .validators(id)
        .ok_or_else(|| anyhow!("no validators for {id}"))?;
    let settings = Settings {
        timeout: options.timeout,
        reply_timeout: options.reply_timeout,
        settle: options.settle,
        max_frame_bytes: options.max_frame_bytes,
        burst: options.burst.max(1),
        max_connections: options.max_connections,
    };
    let ctx = Ctx {
        protocol,
        schemas,
        validators: &validators,
        target,
        settings: &settings,
    };
    let all = plan(protocol);
    let planned = all.len();
    let specs = select(all, &options.only, &options.skip);
    let started = Instant::now();
    let started_at = std::time::SystemTime::now();
    let run_deadline = started
        + options.run_timeout.unwrap_or_else(|| {
            let budgets: Vec<_> = specs
                .iter()
                .map(|s| (budget::budget(s, options, &ctx), s.exclusive))
                .collect();
            budget::run_timeout(&budgets, options.concurrency)
        });
    // Boxed, as are the checks below: a run's futures are large (a debug build nests every
    // conversation step), and a caller's stack need not hold them.
    if let Some(untestable) = Box::pin(first_handshake(&ctx, run_deadline)).await {
        return Err(anyhow::Error::new(untestable));
    }
    let total = specs.len();
    progress.start(id, total);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let finish = |report: CheckReport| {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress.done(id, n, total, &report);
        report
    };
    let in_flight = InFlight::default();
    type Indexed<'s> = Vec<(usize, &'s CheckSpec)>;
    let (shared, exclusive): (Indexed<'_>, Indexed<'_>) =
        specs.iter().enumerate().partition(|(_, s)| !s.exclusive);
    let mut results: Vec<Option<CheckReport>> = vec![None; total];
    let work = async {
        let concurrent = futures_util::stream::iter(shared.into_iter().map(|(i, spec)| {
            let (ctx, finish, in_flight) = (&ctx, &finish, &in_flight);
            async move {
                let report = run_one(ctx, spec, options, run_deadline, in_flight).await;
                (i, finish(report))
            }
        }))
        .buffered(options.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
        for (i, report) in concurrent {
            results[i] = Some(report);
        }
        for (i, spec) in exclusive {
            let report = run_one(&ctx, spec, options, run_deadline, &in_flight).await;
            results[i] = Some(finish(report));
        }
    };
    let tell_long_waits = async {
        let mut every = tokio::time::interval(waits::REPORT_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            let long = in_flight.long_waits(Instant::now(), waits::REPORT_AFTER);
            if !long.is_empty() {
                progress.waiting(id, &long);
            }
        }
    };
    tokio::select! {
        () = Box::pin(work) => {}
        () = tell_long_waits => {}
    }
    let checks: Vec<CheckReport> = results.into_iter().flatten().collect();
    Ok(ProtocolReport {
        protocol: id.to_string(),
        title: protocol.description.title.clone(),
        target: target.shown_url(protocol, None),
        tool: Tool::default(),
        duration_ms: started.elapsed().as_millis() as u64,
        started_at: Some(started_at),
        summary: Summary::of(&checks, planned),
        checks,
    })
}

/// The endpoint could not be tested: no handshake succeeds (refused, an HTTP status, nothing
/// listening, a name that does not resolve). That is no verdict on the server: exit 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untestable {
    /// The protocol.
    pub protocol: String,
    /// The endpoint, credentials redacted.
    pub url: String,
    /// What happened.
    pub cause: String,
    /// What to change.
    pub hint: String,
}

impl std::fmt::Display for Untestable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at {} could not be tested: {}. Hint: {}",
            self.protocol, self.url, self.cause, self.hint
        )
    }
}

impl std::error::Error for Untestable {}

/// One handshake the way ordinary connections make it, before any check: when it is refused for
/// a reason that says nothing of the server (see [`crate::judge::untestable`]), every check would
/// fail the same way, so the run stops instead. So it does when the run's valid credential is
/// refused the documented way (a wrong `--token` or `--jwt-secret`: the user's mistake, not the
/// server's). No time left: the checks report that.
async fn first_handshake(ctx: &Ctx<'_>, run_deadline: Instant) -> Option<Untestable> {
    let left = run_deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return None;
    }
    let presented = ctx.presented().unwrap_or(Presented::Nothing);
    let credentialed = presented != Presented::Nothing;
    let quiet = Recorder::default();
    let first = async {
        let mut conversation = Conversation::dial(*ctx, "first", &presented, &quiet).await?;
        let served = if credentialed {
            conversation.settle().await;
            conversation.probe().await.is_ok()
        } else {
            true
        };
        conversation.close_unread().await;
        Ok::<bool, DialError>(served)
    };
    let untestable = |cause: String, hint: String| Untestable {
        protocol: ctx.protocol.description.id.clone(),
        url: ctx.target.shown_url(ctx.protocol, None),
        cause,
        hint,
    };
    let error = match tokio::time::timeout(left, first).await {
        Err(_) | Ok(Ok(true)) => return None,
        Ok(Ok(false)) => {
            let refusals = crate::judge::credential::refusals(ctx.protocol);
            let how = crate::judge::credential::refused(&refusals, &quiet.take())?;
            let (what, hint) = credential_source(ctx.target);
            return Some(untestable(
                format!("the valid credential ({what}) was refused: {how}"),
                hint.to_string(),
            ));
        }
        Ok(Err(error)) => error,
    };
    let endpoint = &ctx.protocol.description.endpoint;
    let path_required = endpoint.rule.level == Level::Required && !ctx.target.overrides_path();
    let path = ctx.target.endpoint_path(ctx.protocol);
    let (cause, hint) = crate::judge::untestable(&error, &path, path_required, credentialed)?;
    Some(untestable(cause, hint))
}

/// Where the run's valid credential came from, and what to check when it is refused.
fn credential_source(target: &Target) -> (&'static str, &'static str) {
    if target.token.is_some() {
        (
            "the token of --token or AGENTWIRE_TOKEN",
            "check that the token is current and issued for this server",
        )
    } else {
        (
            "an HS256 JWT minted with --jwt-secret or AGENTWIRE_JWT_SECRET",
            "check that the secret is the one this server verifies JWTs with",
        )
    }
}

async fn run_one(
    ctx: &Ctx<'_>,
    spec: &CheckSpec,
    options: &RunOptions,
    run_deadline: Instant,
    in_flight: &InFlight,
) -> CheckReport {
    let started = Instant::now();
    let recorder = Recorder::default();
    let skip = if spec.slow && !options.include_slow {
        Some(Skipped {
            kind: SkipKind::NotSelected,
            reason: "waits for a documented timeout: opt in with --include-slow".into(),
        })
    } else if started >= run_deadline {
        // A failure whatever the rule's level: a run cut short must not pass for a run that
        // found nothing.
        Some(Skipped {
            kind: SkipKind::NotRun,
            reason: "the run's deadline (--run-timeout-ms) passed before this check started".into(),
        })
    } else {
        let own = budget::budget(spec, options, ctx);
        let allowed = own.min(run_deadline - started);
        let what = budget::documented_wait(spec, ctx)
            .map_or_else(|| format!("{} (its answers)", spec.title), |(_, what)| what);
        in_flight.start(&spec.id, what, allowed);
        let check = Box::pin(checks::run(ctx, spec, &recorder));
        let ran = tokio::time::timeout(allowed, guarded(check)).await;
        in_flight.end(&spec.id);
        match ran {
            Ok(Ok(skip)) => skip,
            Ok(Err(panic)) => {
                recorder.finding(
                    Severity::Fail,
                    format!(
                        "the suite itself failed in this check (a bug of the suite, please report it): {panic}"
                    ),
                );
                None
            }
            Err(_) => {
                recorder.push(Evidence::Timeout {
                    connection: "-".into(),
                    waited_ms: allowed.as_millis() as u64,
                    waiting_for: "the check to finish".into(),
                });
                if allowed < own {
                    // Cut by the run's deadline, not by its own budget: the server was not
                    // given the time to show it conforms, so this fails whatever the level.
                    recorder.finding(
                        Severity::Fail,
                        format!(
                            "cut short by the run's deadline (--run-timeout-ms) after {} ms",
                            allowed.as_millis()
                        ),
                    );
                } else {
                    recorder.finding(
                        Severity::from(spec.requirement.level),
                        format!("the check did not finish within {} ms", allowed.as_millis()),
                    );
                }
                None
            }
        }
    };
    let strict_fails = |skip: &Skipped| {
        skip.kind == SkipKind::NotRun && (options.strict || started >= run_deadline)
    };
    let status = match (&skip, recorder.worst()) {
        (Some(skip), _) if strict_fails(skip) => {
            let why = if options.strict {
                "not run, which --strict fails"
            } else {
                "not run"
            };
            recorder.finding(Severity::Fail, format!("{why}: {}", skip.reason));
            Status::Fail
        }
        (Some(_), _) => Status::Skip,
        (None, Some(Severity::Fail)) => Status::Fail,
        (None, Some(Severity::Warn)) => Status::Warn,
        (None, _) => Status::Pass,
    };
    CheckReport {
        id: spec.id.clone(),
        status,
        title: spec.title.clone(),
        requirement: spec.requirement.clone(),
        skip_kind: skip.as_ref().map(|s| s.kind),
        skip_reason: skip.map(|s| s.reason),
        baseline_reason: None,
        duration_ms: started.elapsed().as_millis() as u64,
        evidence: recorder.take(),
    }
}

/// Runs a future, turning a panic into its message: a bug of one check must not take the run, and
/// the report of every other check, down with it.
pub async fn guarded<F: std::future::Future>(future: F) -> Result<F::Output, String> {
    use futures_util::FutureExt as _;
    std::panic::AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .map_err(|panic| {
            panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into())
        })
}

#[cfg(test)]
mod tests {
    use super::{guarded, matches};

    #[tokio::test]
    async fn a_panicking_check_becomes_a_message() {
        assert_eq!(guarded(async { 7 }).await, Ok(7));
        let index = 3;
        let caught = guarded(async move {
            let empty: Vec<u8> = Vec::new();
            empty[index]
        })
        .await;
        assert!(caught.unwrap_err().contains("index out of bounds"));
        assert_eq!(
            guarded(async { panic!("boom") }).await,
            Err::<(), _>("boom".into())
        );
    }

    #[test]
    fn patterns_select_ids_and_dotted_prefixes() {
        assert!(matches("auth", "auth.query.valid"));
        assert!(matches("auth.query", "auth.query.valid"));
        assert!(matches("auth.query.valid", "auth.query.valid"));
        assert!(!matches("auth.q", "auth.query.valid"));
        assert!(matches("auth.q*", "auth.query.valid"));
        assert!(!matches("exchange.ping", "exchange.ping_pong"));
    }
}
