//! How long a check may take, and the run's deadline derived from the checks selected: enough for
//! each to use its budget, including the documented waits of the slow checks it includes.

use std::time::Duration;

use agentwire_spec::protocol::{ReplyBudget, Trigger};

use crate::checks::Ctx;
use crate::plan::{CheckKind, CheckSpec};
use crate::runner::RunOptions;

/// The shortest deadline derived for a run.
const MIN_RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// The documented wait a slow check makes, in seconds, and what it waits for.
pub fn documented_wait(spec: &CheckSpec, ctx: &Ctx<'_>) -> Option<(u64, String)> {
    let description = &ctx.protocol.description;
    match &spec.kind {
        CheckKind::PingInterval => description.limits.ping_interval_seconds.as_ref().map(|l| {
            (
                l.value,
                format!(
                    "a WebSocket ping from the server (documented interval: {} s)",
                    l.value
                ),
            )
        }),
        CheckKind::Reaction { index } if description.reactions[*index].trigger == Trigger::Idle => {
            let seconds = crate::plan::idle_seconds(ctx.protocol);
            Some((
                seconds,
                format!("the server to close an idle connection (documented timeout: {seconds} s)"),
            ))
        }
        _ => None,
    }
}

/// The longest one check may take: a dozen waits (thirty for those that load the server), a few
/// settling connections, two generated replies where a model answers some request, and the
/// documented wait of a slow check that was opted into.
pub fn budget(spec: &CheckSpec, options: &RunOptions, ctx: &Ctx<'_>) -> Duration {
    let generated = ctx
        .protocol
        .description
        .exchanges
        .iter()
        .any(|e| e.budget == ReplyBudget::Generated);
    let base = options.timeout * if spec.exclusive { 30 } else { 12 }
        + options.settle * 4
        + if generated {
            options.reply_timeout * 2
        } else {
            Duration::ZERO
        };
    match documented_wait(spec, ctx) {
        Some((seconds, _)) if options.include_slow => base + Duration::from_secs(seconds),
        _ => base,
    }
}

/// The run's deadline when `--run-timeout-ms` sets none: the shared checks, `concurrency` at a
/// time, take at most twice their budgets' share and never less than the longest of them (a slow
/// check waits its documented timeout whatever runs beside it); the exclusive ones run alone,
/// one after another.
pub fn run_timeout(budgets: &[(Duration, bool)], concurrency: usize) -> Duration {
    let shared = budgets.iter().filter(|(_, exclusive)| !exclusive);
    let longest = shared.clone().map(|(b, _)| *b).max().unwrap_or_default();
    let spread = shared.map(|(b, _)| *b).sum::<Duration>() / concurrency.max(1) as u32 * 2;
    let alone: Duration = budgets.iter().filter(|(_, e)| *e).map(|(b, _)| *b).sum();
    MIN_RUN_TIMEOUT.max(longest.max(spread) + alone)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn the_deadline_covers_the_longest_check_and_the_exclusive_ones() {
        // Four ordinary checks and a slow one that waits a documented 300 s: a share of the sum
        // alone, (4 * 85 + 385) / 8 * 2 = 181 s, would cut the slow one short.
        let mut budgets = vec![(S(85), false); 4];
        budgets.push((S(385), false));
        assert_eq!(run_timeout(&budgets, 8), S(385));
        budgets.push((S(60), true));
        budgets.push((S(60), true));
        assert_eq!(run_timeout(&budgets, 8), S(385 + 120));
        // Many ordinary checks: their spread over the concurrency decides.
        let many = vec![(S(40), false); 40];
        assert_eq!(run_timeout(&many, 8), S(400));
        assert_eq!(run_timeout(&[], 8), MIN_RUN_TIMEOUT);
        assert_eq!(run_timeout(&[(S(1), false)], 0), MIN_RUN_TIMEOUT);
    }
}
