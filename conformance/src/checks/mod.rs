//! The checks: short scenarios over [`Conversation`]s, one file per kind of check, and what they
//! share: the run's context ([`Ctx`]) and how a check ends early ([`Stop`]).
//!
//! A check returns nothing: it records evidence in its [`Recorder`]; the worst severity recorded
//! decides its status. Each check opens its own connections, so checks are independent.
//!
//! [`Conversation`]: crate::conversation::Conversation

pub mod auth;
pub mod busy;
pub mod example;
pub mod exchange;
pub mod handshake;
pub mod limit;
pub mod reaction;
pub mod refusal;
pub mod relay;
pub mod robustness;
pub mod session;
pub mod unprompted;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentwire_spec::ProtocolSource;
use agentwire_spec::protocol::{Correlation, Credential, ReplyBudget};

use crate::connection::Recorder;
use crate::conversation::{Conversation, Unserved};
use crate::frames::Requests;
use crate::plan::{CheckKind, CheckSpec};
use crate::report::{Severity, SkipKind};
use crate::schemas::Schemas;
use crate::target::Target;
use crate::validate::ProtocolValidators;

/// Everything a check needs.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The protocol.
    pub protocol: &'a ProtocolSource,
    /// Every schema.
    pub schemas: &'a Schemas,
    /// The protocol's validators.
    pub validators: &'a Arc<ProtocolValidators>,
    /// The endpoint.
    pub target: &'a Target,
    /// Timeouts and limits of the run.
    pub settings: &'a Settings,
}

/// Timeouts and limits of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Deadline of every wait, and the budget of replies the server's own logic produces.
    pub timeout: Duration,
    /// The budget of replies a model generates (`budget: generated` in `protocol.json`).
    pub reply_timeout: Duration,
    /// How long a new connection must be quiet before its first request.
    pub settle: Duration,
    /// Largest frame accepted from a server.
    pub max_frame_bytes: usize,
    /// Messages in the rate-limit burst.
    pub burst: usize,
    /// Most connections the per-IP limit check opens.
    pub max_connections: u64,
}

/// The ways a check can end early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The check applies but cannot run here (no credential, a prerequisite the server did not
    /// provide): nothing was verified, which `--strict` fails; the reason.
    Skip(String),
    /// The check does not apply (no documented limit, no example to build from, the server chose
    /// the reply form another check judges): nothing to verify; the reason.
    NotApplicable(String),
    /// The check already recorded why it failed.
    Recorded,
}

/// Why a check did not run to a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Whether anything was left unverified.
    pub kind: SkipKind,
    /// Why.
    pub reason: String,
}

/// What a credential is attached as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// No credential.
    Nothing,
    /// This credential via this method of `auth.methods`.
    Via(usize, String),
}

impl<'a> Ctx<'a> {
    /// The request builder.
    pub fn requests(&self) -> Requests<'a> {
        Requests {
            protocol: self.protocol,
            validators: self.validators,
            schemas: self.schemas,
        }
    }

    /// A deadline one timeout from now.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.settings.timeout
    }

    /// How long the answer to `exchanges[index]` may take: the generated-reply budget where a
    /// model produces it, else the control budget.
    pub fn budget_of(&self, index: usize) -> Duration {
        match self.protocol.description.exchanges[index].budget {
            ReplyBudget::Generated => self.settings.reply_timeout,
            ReplyBudget::Control => self.settings.timeout,
        }
    }

    /// A valid credential, if the run has one: `--token`, or a JWT minted with `--jwt-secret`.
    pub fn valid_token(&self) -> Option<String> {
        if let Some(token) = &self.target.token {
            return Some(token.clone());
        }
        let auth = self.protocol.description.auth.as_ref()?;
        let secret = self.target.jwt_secret.as_deref()?;
        auth.accepts(Credential::Jwt)
            .then(|| crate::jwt::valid(secret).ok())
            .flatten()
    }

    /// How this run authenticates ordinary connections: the first documented method with the
    /// run's valid credential, nothing when the protocol needs none, or a skip when it needs one
    /// the run does not have.
    pub fn presented(&self) -> Result<Presented, Stop> {
        match &self.protocol.description.auth {
            Some(auth) if auth.required => match self.valid_token() {
                Some(token) => Ok(Presented::Via(0, token)),
                None => Err(Stop::Skip(
                    "the protocol requires a credential: pass --token, or --jwt-secret for JWTs"
                        .into(),
                )),
            },
            _ => Ok(Presented::Nothing),
        }
    }

    /// An ordinary conversation (authenticated, settled); a failed handshake is recorded at
    /// `severity`.
    pub async fn connect(
        &self,
        name: &str,
        recorder: &Recorder,
        severity: Severity,
    ) -> Result<Conversation<'a>, Stop> {
        Conversation::connect(*self, name, recorder, severity).await
    }

    /// Whether a request needs a session on its connection first.
    pub fn needs_session(&self, message: &str) -> bool {
        self.protocol
            .description
            .sessions
            .as_ref()
            .is_some_and(|s| {
                s.id_in_requests.contains_key(message) || s.needed_by.iter().any(|m| m == message)
            })
    }

    /// The correlations of an exchange's reply forms (what a request must carry).
    pub fn correlation_of(&self, request: &str) -> Vec<Correlation> {
        self.requests().correlation_of(request)
    }

    /// The first exchange whose request needs no session and has a valid example to build it
    /// from: the simplest request a connection can be asked.
    pub fn simple_exchange(&self) -> Option<usize> {
        self.protocol.description.exchanges.iter().position(|e| {
            !self.needs_session(&e.request) && self.requests().example(&e.request).is_some()
        })
    }
}

/// Whether a conversation in use is still served: the simplest request answered, or for a
/// protocol without requests of its own (Meet), the connection taking part in a relay.
pub async fn served(
    ctx: &Ctx<'_>,
    conversation: &mut Conversation<'_>,
    recorder: &Recorder,
) -> Result<(), Unserved> {
    if ctx.simple_exchange().is_none() && !ctx.protocol.description.relays.is_empty() {
        return relay::still_served(ctx, conversation, recorder).await;
    }
    conversation.probe().await
}

/// Runs one check, recording into `recorder`; why it did not run to a verdict, if it did not.
pub async fn run(ctx: &Ctx<'_>, spec: &CheckSpec, recorder: &Recorder) -> Option<Skipped> {
    let level = Severity::from(spec.requirement.level);
    let result = match &spec.kind {
        CheckKind::Handshake => handshake::run(ctx, level, recorder).await,
        CheckKind::Auth { method, case } => auth::run(ctx, level, *method, *case, recorder).await,
        CheckKind::Unprompted { index } => unprompted::run(ctx, level, *index, recorder).await,
        CheckKind::Exchange { index } => exchange::run(ctx, level, *index, recorder).await,
        CheckKind::Stream { index, form } => {
            exchange::run_stream(ctx, level, *index, *form, recorder).await
        }
        CheckKind::Example { index } => example::run(ctx, level, *index, recorder).await,
        CheckKind::Session => session::run(ctx, level, recorder).await,
        CheckKind::SessionRefused {
            foreign,
            index,
            request,
        } => refusal::run(ctx, level, *foreign, *index, request, recorder).await,
        CheckKind::Busy { index } => busy::run(ctx, level, *index, recorder).await,
        CheckKind::Reaction { index } => reaction::run(ctx, level, *index, recorder).await,
        CheckKind::SizeAccepted => limit::size_accepted(ctx, level, recorder).await,
        CheckKind::PingInterval => limit::ping_interval(ctx, level, recorder).await,
        CheckKind::Relay { index } => relay::run(ctx, level, *index, recorder).await,
        CheckKind::Robustness => robustness::run(ctx, level, recorder).await,
    };
    match result {
        Ok(()) | Err(Stop::Recorded) => None,
        Err(Stop::Skip(reason)) => Some(Skipped {
            kind: SkipKind::NotRun,
            reason,
        }),
        Err(Stop::NotApplicable(reason)) => Some(Skipped {
            kind: SkipKind::NotApplicable,
            reason,
        }),
    }
}
