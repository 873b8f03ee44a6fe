//! The checks of a protocol, derived from its `protocol.json`: one per handshake, auth case,
//! unprompted message, exchange, stream form, session lifecycle, reaction, checkable limit and
//! relay, plus a robustness check. The order is stable and is the order of every report.

use agentwire_spec::ProtocolSource;
use agentwire_spec::protocol::{
    AuthMethod, Credential, Direction, ReplyForm, Rule, Trigger, UnpromptedWhen,
};

use crate::report::{Requirement, RuleLevel};

/// One check of the suite.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    /// Stable dotted id.
    pub id: String,
    /// What it verifies, in one line.
    pub title: String,
    /// The sentence it rests on.
    pub requirement: Requirement,
    /// What it does.
    pub kind: CheckKind,
    /// Whether it waits for a documented timeout (opt-in with `--include-slow`).
    pub slow: bool,
    /// Whether it must run alone (it loads the server or limits the connection count).
    pub exclusive: bool,
}

/// What a check does; indexes point into `protocol.json`'s arrays.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckKind {
    /// Connect at the documented path; the connection stays open.
    Handshake,
    /// One case of the auth matrix.
    Auth {
        /// Index of the method in `auth.methods`, or `None` for a connection without credentials.
        method: Option<usize>,
        /// Which credential is presented.
        case: AuthCase,
    },
    /// An unprompted message sent on connect arrives (`unprompted[index]`).
    Unprompted {
        /// Index in `unprompted`.
        index: usize,
    },
    /// A request answered with a schema-valid, correlated reply (`exchanges[index]`).
    Exchange {
        /// Index in `exchanges`.
        index: usize,
    },
    /// A streamed reply holds together (`exchanges[index].replies[form]`).
    Stream {
        /// Index in `exchanges`.
        index: usize,
        /// Index of the stream form in its `replies`.
        form: usize,
    },
    /// The document's example `examples.valid[index]` (a client message), sent as shown.
    Example {
        /// Index in `examples/index.json`'s `valid`.
        index: usize,
    },
    /// Sessions are obtained and used as `sessions` says.
    Session,
    /// A request naming a session the server must not serve: one never created
    /// (`sessions.unknown[index]`), or one made on another connection (`sessions.foreign[index]`).
    SessionRefused {
        /// Whether the session was made on another connection (else it was never created).
        foreign: bool,
        /// Index in `sessions.unknown` or `sessions.foreign`.
        index: usize,
        /// The request sent.
        request: String,
    },
    /// Two requests back to back, the second while the server is busy with the first
    /// (`while_busy[index]`).
    Busy {
        /// Index in `while_busy`.
        index: usize,
    },
    /// The documented reaction to bad input or an exceeded limit (`reactions[index]`).
    Reaction {
        /// Index in `reactions`.
        index: usize,
    },
    /// A frame below the size limit is accepted.
    SizeAccepted,
    /// The server sends keep-alive pings at the documented interval.
    PingInterval,
    /// A client message reaches the other participants (`relays[index]`).
    Relay {
        /// Index in `relays`.
        index: usize,
    },
    /// The server still answers after bad input.
    Robustness,
}

/// Which credential an auth check presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthCase {
    /// A valid one (`--token`, or minted with `--jwt-secret`).
    Valid,
    /// None at all.
    Missing,
    /// Text that is no credential.
    Malformed,
    /// A JWT signed with another secret.
    BadSignature,
    /// An unsigned JWT (`alg: none`).
    AlgNone,
    /// A JWT that has expired (needs `--jwt-secret`).
    Expired,
}

impl AuthCase {
    fn id(self) -> &'static str {
        match self {
            AuthCase::Valid => "valid",
            AuthCase::Missing => "missing",
            AuthCase::Malformed => "malformed",
            AuthCase::BadSignature => "bad_signature",
            AuthCase::AlgNone => "alg_none",
            AuthCase::Expired => "expired",
        }
    }

    /// The reaction trigger this case provokes.
    pub fn trigger(self) -> Option<Trigger> {
        match self {
            AuthCase::Valid => None,
            AuthCase::Missing => Some(Trigger::AuthMissing),
            AuthCase::Expired => Some(Trigger::AuthExpired),
            _ => Some(Trigger::AuthInvalid),
        }
    }
}

/// The short name of an auth method in check ids.
pub fn method_id(method: &AuthMethod) -> &'static str {
    match method {
        AuthMethod::QueryParameter { .. } => "query",
        AuthMethod::Cookie { .. } => "cookie",
        AuthMethod::FirstMessage { .. } => "first_message",
    }
}

/// The `snake_case` name of a trigger, as in `protocol.json`.
pub fn trigger_id(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::MalformedJson => "malformed_json",
        Trigger::NotAnObject => "not_an_object",
        Trigger::UnknownType => "unknown_type",
        Trigger::MissingDiscriminator => "missing_discriminator",
        Trigger::MissingField => "missing_field",
        Trigger::WrongFieldType => "wrong_field_type",
        Trigger::OversizedFrame => "oversized_frame",
        Trigger::AuthMissing => "auth_missing",
        Trigger::AuthInvalid => "auth_invalid",
        Trigger::AuthExpired => "auth_expired",
        Trigger::RateExceeded => "rate_exceeded",
        Trigger::TooManyConnections => "too_many_connections",
        Trigger::Idle => "idle",
    }
}

/// The idle timeout assumed when a protocol documents an idle reaction but no
/// `limits.idle_timeout_seconds`.
pub const DEFAULT_IDLE_SECONDS: u64 = 300;

/// Seconds without traffic after which the server closes a connection: the documented limit, or
/// [`DEFAULT_IDLE_SECONDS`].
pub fn idle_seconds(protocol: &ProtocolSource) -> u64 {
    protocol
        .description
        .limits
        .idle_timeout_seconds
        .as_ref()
        .map_or(DEFAULT_IDLE_SECONDS, |l| l.value)
}

/// The requirement a rule of `protocol.json` states.
pub fn requirement(
    protocol: &ProtocolSource,
    rule: &Rule,
    source: impl Into<String>,
) -> Requirement {
    let main = protocol
        .description
        .documents
        .first()
        .map(|d| d.file.clone())
        .unwrap_or_default();
    Requirement {
        quote: rule.quote.clone(),
        level: RuleLevel::from(rule.level),
        document: rule.document.clone().unwrap_or(main),
        reading: rule.reading.clone(),
        source: source.into(),
    }
}

/// The rule an example check rests on: the exchange its message opens (else its relay, else the
/// message's own rule), its JSON Pointer, and whether a reply to the sender is documented.
fn example_rule<'p>(protocol: &'p ProtocolSource, message: &str) -> (&'p Rule, String, bool) {
    let d = &protocol.description;
    if let Some(i) = d.exchanges.iter().position(|e| e.request == message) {
        return (&d.exchanges[i].rule, format!("/exchanges/{i}/rule"), true);
    }
    if let Some(i) = d.relays.iter().position(|r| r.request == message) {
        return (&d.relays[i].rule, format!("/relays/{i}/rule"), false);
    }
    (
        &d.messages[message].rule,
        format!("/messages/{message}/rule"),
        false,
    )
}

/// Every check of a protocol, in order.
pub fn plan(protocol: &ProtocolSource) -> Vec<CheckSpec> {
    let d = &protocol.description;
    // First-message credentials are the auth checks' business: `auth.first_message.valid`
    // sends that example, its placeholder filled with the credential.
    let auth_messages: Vec<&String> = d
        .auth
        .iter()
        .flat_map(|a| &a.methods)
        .filter_map(|m| match m {
            AuthMethod::FirstMessage { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    let mut add = |id: String, title: String, requirement: Requirement, kind: CheckKind| {
        let slow = matches!(kind, CheckKind::PingInterval)
            || matches!(kind, CheckKind::Reaction { index } if d.reactions[index].trigger == Trigger::Idle);
        let exclusive = matches!(kind, CheckKind::Reaction { index }
            if matches!(d.reactions[index].trigger, Trigger::RateExceeded | Trigger::TooManyConnections));
        out.push(CheckSpec {
            id,
            title,
            requirement,
            kind,
            slow,
            exclusive,
        });
    };

    add(
        "handshake.connect".into(),
        format!(
            "A WebSocket handshake at {} succeeds and the connection stays open",
            d.endpoint.path
        ),
        requirement(protocol, &d.endpoint.rule, "/endpoint/rule"),
        CheckKind::Handshake,
    );

    if let Some(auth) = &d.auth {
        let reaction = |trigger: Trigger| {
            d.reactions
                .iter()
                .position(|r| r.trigger == trigger)
                .map(|i| {
                    requirement(
                        protocol,
                        &d.reactions[i].rule,
                        format!("/reactions/{i}/rule"),
                    )
                })
        };
        if auth.required {
            add(
                "auth.missing".into(),
                "A connection without credentials is refused as documented".into(),
                reaction(Trigger::AuthMissing)
                    .unwrap_or_else(|| requirement(protocol, &auth.rule, "/auth/rule")),
                CheckKind::Auth {
                    method: None,
                    case: AuthCase::Missing,
                },
            );
        }
        for (i, method) in auth.methods.iter().enumerate() {
            let rule = match method {
                AuthMethod::QueryParameter { rule, .. }
                | AuthMethod::Cookie { rule, .. }
                | AuthMethod::FirstMessage { rule, .. } => rule,
            };
            let how = match method {
                AuthMethod::QueryParameter { name, .. } => {
                    format!("in the query parameter `{name}`")
                }
                AuthMethod::Cookie { name, .. } => format!("in the cookie `{name}`"),
                AuthMethod::FirstMessage { message, .. } => {
                    format!("in a first `{message}` message")
                }
            };
            let mut cases = vec![AuthCase::Valid, AuthCase::Malformed];
            if auth.accepts(Credential::Jwt) {
                cases.extend([AuthCase::BadSignature, AuthCase::AlgNone, AuthCase::Expired]);
            }
            for case in cases {
                let (title, requirement) = match case {
                    AuthCase::Valid => (
                        format!("A valid credential {how} is accepted"),
                        requirement(protocol, rule, format!("/auth/methods/{i}/rule")),
                    ),
                    other => {
                        let what = match other {
                            AuthCase::Malformed => "A malformed credential",
                            AuthCase::BadSignature => "A JWT signed with another secret",
                            AuthCase::AlgNone => "An unsigned JWT (alg: none)",
                            _ => "An expired JWT",
                        };
                        let trigger = other.trigger().unwrap_or(Trigger::AuthInvalid);
                        (
                            format!("{what} {how} is refused as documented"),
                            reaction(trigger)
                                .or_else(|| reaction(Trigger::AuthInvalid))
                                .unwrap_or_else(|| requirement(protocol, &auth.rule, "/auth/rule")),
                        )
                    }
                };
                add(
                    format!("auth.{}.{}", method_id(method), case.id()),
                    title,
                    requirement,
                    CheckKind::Auth {
                        method: Some(i),
                        case,
                    },
                );
            }
        }
    }

    for (i, unprompted) in d.unprompted.iter().enumerate() {
        if unprompted.when == UnpromptedWhen::OnConnect {
            add(
                format!("unprompted.{}", unprompted.message),
                format!(
                    "A schema-valid `{}` arrives unprompted on connect",
                    unprompted.message
                ),
                requirement(protocol, &unprompted.rule, format!("/unprompted/{i}/rule")),
                CheckKind::Unprompted { index: i },
            );
        }
    }

    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for (i, exchange) in d.exchanges.iter().enumerate() {
        let count = seen.entry(exchange.request.as_str()).or_default();
        let suffix = if *count == 0 {
            String::new()
        } else {
            format!(".{count}")
        };
        *count += 1;
        let kinds: Vec<String> = exchange
            .replies
            .iter()
            .map(|r| match r {
                ReplyForm::Single(s) => s.messages.join(" or "),
                ReplyForm::Stream(s) => format!("a {}…{} stream", s.start, s.end),
            })
            .collect();
        add(
            format!("exchange.{}{suffix}", exchange.request),
            format!(
                "`{}` is answered by {}, correlated as documented",
                exchange.request,
                kinds.join(", or ")
            ),
            requirement(protocol, &exchange.rule, format!("/exchanges/{i}/rule")),
            CheckKind::Exchange { index: i },
        );
        for (j, reply) in exchange.replies.iter().enumerate() {
            if let ReplyForm::Stream(stream) = reply {
                add(
                    format!("stream.{}{suffix}", exchange.request),
                    format!(
                        "A streamed answer to `{}` keeps one {} and its chunks join to the `{}` text",
                        exchange.request, stream.stream_id, stream.end
                    ),
                    requirement(
                        protocol,
                        &stream.rule,
                        format!("/exchanges/{i}/replies/{j}/stream/rule"),
                    ),
                    CheckKind::Stream { index: i, form: j },
                );
            }
        }
    }

    for (index, (example, _)) in protocol.valid_examples().into_iter().enumerate() {
        if example.direction != Direction::Client || auth_messages.contains(&&example.message) {
            continue;
        }
        let (rule, source, answered) = example_rule(protocol, &example.message);
        let stem = example
            .file
            .rsplit('/')
            .next()
            .and_then(|name| name.split('.').next())
            .unwrap_or(&example.file);
        let place = example
            .sources
            .first()
            .map(|s| format!(" ({} line {})", s.document, s.line))
            .unwrap_or_default();
        add(
            format!("example.{stem}"),
            format!(
                "The document's example of `{}`{place}, sent as shown, {}",
                example.message,
                if answered {
                    "is answered as documented on an open connection"
                } else {
                    "leaves the connection open and served"
                }
            ),
            requirement(protocol, rule, source),
            CheckKind::Example { index },
        );
    }

    if let Some(sessions) = &d.sessions {
        add(
            "session.lifecycle".into(),
            "A session is obtained as documented and every request naming it is answered".into(),
            requirement(protocol, &sessions.rule, "/sessions/rule"),
            CheckKind::Session,
        );
        for (foreign, key, refusals) in [
            (false, "unknown", &sessions.unknown),
            (true, "foreign", &sessions.foreign),
        ] {
            for (index, refusal) in refusals.iter().enumerate() {
                for request in &refusal.requests {
                    let whose = if foreign {
                        "a session made on another connection does not succeed"
                    } else {
                        "a session that was never created is refused as documented"
                    };
                    add(
                        format!("session.{key}.{request}"),
                        format!("`{request}` naming {whose}, on an open connection"),
                        requirement(
                            protocol,
                            &refusal.rule,
                            format!("/sessions/{key}/{index}/rule"),
                        ),
                        CheckKind::SessionRefused {
                            foreign,
                            index,
                            request: request.clone(),
                        },
                    );
                }
            }
        }
    }

    for (i, relay) in d.relays.iter().enumerate() {
        add(
            format!("relay.{}", relay.request),
            format!(
                "`{}` from one connection reaches {} as `{}`",
                relay.request,
                match relay.to {
                    agentwire_spec::protocol::Audience::Room =>
                        "the other participants of the room",
                    agentwire_spec::protocol::Audience::Target => "the participant it names",
                },
                relay.delivered_as
            ),
            requirement(protocol, &relay.rule, format!("/relays/{i}/rule")),
            CheckKind::Relay { index: i },
        );
    }

    for (i, busy) in d.while_busy.iter().enumerate() {
        add(
            format!("busy.{}.{}", busy.busy_with, busy.request),
            format!(
                "`{}` sent while `{}` is processed is ignored as documented: one of the two is answered",
                busy.request, busy.busy_with
            ),
            requirement(protocol, &busy.rule, format!("/while_busy/{i}/rule")),
            CheckKind::Busy { index: i },
        );
    }

    for (i, reaction) in d.reactions.iter().enumerate() {
        let bad_input = match reaction.trigger {
            Trigger::MalformedJson => Some("A text frame that is not JSON"),
            Trigger::NotAnObject => Some("JSON that is not an object"),
            Trigger::UnknownType => Some("A message with an unknown discriminator"),
            Trigger::MissingDiscriminator => Some("An object without the discriminator"),
            Trigger::MissingField => Some("A message without a required field"),
            Trigger::WrongFieldType => Some("A message with a field of the wrong JSON type"),
            _ => None,
        };
        if let Some(what) = bad_input {
            let title = if reaction.outcomes.is_empty() {
                format!("{what} leaves the connection usable (no reaction is documented)")
            } else {
                format!("{what} gets the documented reaction, and the connection stays usable")
            };
            add(
                format!("reaction.{}", trigger_id(reaction.trigger)),
                title,
                requirement(protocol, &reaction.rule, format!("/reactions/{i}/rule")),
                CheckKind::Reaction { index: i },
            );
            continue;
        }
        let title = match reaction.trigger {
            Trigger::AuthMissing | Trigger::AuthInvalid | Trigger::AuthExpired => continue,
            Trigger::MalformedJson
            | Trigger::NotAnObject
            | Trigger::UnknownType
            | Trigger::MissingDiscriminator
            | Trigger::MissingField
            | Trigger::WrongFieldType => continue,
            Trigger::OversizedFrame => "A frame above the size limit gets the documented reaction",
            Trigger::RateExceeded => {
                "A bounded burst of requests meets the documented rate limiting"
            }
            Trigger::TooManyConnections => {
                "A connection beyond the per-IP limit is refused as documented"
            }
            Trigger::Idle => "An idle connection is closed after the documented timeout (slow)",
        };
        add(
            format!("reaction.{}", trigger_id(reaction.trigger)),
            title.into(),
            requirement(protocol, &reaction.rule, format!("/reactions/{i}/rule")),
            CheckKind::Reaction { index: i },
        );
    }

    if let Some(limit) = &d.limits.max_message_bytes {
        add(
            "limit.max_message_bytes".into(),
            format!(
                "A frame below the {} byte limit (and below its 1000-based reading) is accepted",
                limit.value
            ),
            requirement(protocol, &limit.rule, "/limits/max_message_bytes/rule"),
            CheckKind::SizeAccepted,
        );
    }
    if let Some(limit) = &d.limits.ping_interval_seconds {
        add(
            "limit.ping_interval_seconds".into(),
            format!(
                "The server sends a WebSocket ping within {} seconds (slow)",
                limit.value
            ),
            requirement(protocol, &limit.rule, "/limits/ping_interval_seconds/rule"),
            CheckKind::PingInterval,
        );
    }

    // What the check asks of the server after the bad input: its first request, else (with no
    // request of its own) a relay between two connections.
    let (rule, source) = match (d.exchanges.first(), d.relays.first()) {
        (Some(exchange), _) => (&exchange.rule, "/exchanges/0/rule".to_string()),
        (None, Some(relay)) => (&relay.rule, "/relays/0/rule".to_string()),
        (None, None) => (&d.endpoint.rule, "/endpoint/rule".to_string()),
    };
    add(
        "robustness.after_bad_input".into(),
        "The server still answers after malformed, deeply nested and binary input".into(),
        requirement(protocol, rule, source),
        CheckKind::Robustness,
    );
    out
}
