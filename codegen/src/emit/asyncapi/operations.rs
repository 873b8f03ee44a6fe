//! `operations`, from the client's point of view: it sends each client message (with the
//! `reply` its exchanges document) and receives each server message.
//!
//! Replies travel on the same connection, so a `reply` names the one channel. What AsyncAPI
//! cannot say about a reply (single message or stream, what it copies, what it shows) is in
//! `x-agentwire-exchanges`, and relays, unprompted messages, sessions and first-message
//! authentication are in extensions of the operation they concern.

use agentwire_spec::protocol::{
    Audience, AuthMethod, Direction, Exchange, ReplyForm, SessionOrigin, UnpromptedWhen,
};
use serde_json::{Map, Value, json};

use super::connection::quote;
use super::{Context, to_json};

/// Every operation, by key: one per message, in the context's order.
pub(super) fn operations(context: &Context<'_>) -> Map<String, Value> {
    context
        .messages
        .iter()
        .map(|entry| {
            let (action, verb, (text, details)) = match entry.direction {
                Direction::Client => ("send", "Send", send(context, entry.name)),
                Direction::Server => ("receive", "Receive", receive(context, entry.name)),
            };
            let mut operation = Map::new();
            operation.insert("action".into(), json!(action));
            operation.insert("channel".into(), context.channel_ref());
            operation.insert("title".into(), json!(format!("{verb} {}", entry.name)));
            operation.insert("description".into(), json!(text.join("\n\n")));
            operation.insert("messages".into(), json!([{"$ref": entry.channel_ref()}]));
            operation.extend(details);
            (entry.operation.clone(), Value::Object(operation))
        })
        .collect()
}

/// Paragraphs describing an operation, and its `reply` and extensions.
type Details = (Vec<String>, Map<String, Value>);

fn send(context: &Context<'_>, name: &str) -> Details {
    let description = &context.protocol.description;
    let mut text = vec![format!("The client sends `{name}`.")];
    let mut out = Map::new();

    let exchanges: Vec<&Exchange> = description
        .exchanges
        .iter()
        .filter(|e| e.request == name)
        .collect();
    if !exchanges.is_empty() {
        let mut replies: Vec<&str> = Vec::new();
        for exchange in &exchanges {
            let forms: Vec<String> = exchange
                .replies
                .iter()
                .map(|form| match form {
                    ReplyForm::Single(single) => {
                        replies.extend(single.messages.iter().map(String::as_str));
                        or_list(&single.messages)
                    }
                    ReplyForm::Stream(stream) => {
                        replies.extend(
                            [&stream.start, &stream.chunk, &stream.end].map(String::as_str),
                        );
                        format!(
                            "a stream of `{}`, `{}`… and `{}` sharing `{}`",
                            stream.start, stream.chunk, stream.end, stream.stream_id
                        )
                    }
                })
                .collect();
            text.push(format!(
                "Answered by {}.\n\n{}",
                forms.join(", or by "),
                quote(&exchange.rule)
            ));
        }
        out.insert(
            "reply".into(),
            json!({"channel": context.channel_ref(), "messages": context.channel_refs(replies)}),
        );
        out.insert("x-agentwire-exchanges".into(), to_json(&exchanges));
    }

    let relays: Vec<_> = description
        .relays
        .iter()
        .filter(|r| r.request == name)
        .collect();
    for relay in &relays {
        let to = match (relay.to, &relay.target) {
            (Audience::Target, Some(target)) => format!("the participant named at `{target}`"),
            (Audience::Target, None) => "the participant it names".into(),
            (Audience::Room, _) => {
                format!("every other participant of the room at `{}`", relay.room)
            }
        };
        text.push(format!(
            "The server delivers it to {to} as `{}`.\n\n{}",
            relay.delivered_as,
            quote(&relay.rule)
        ));
    }
    if !relays.is_empty() {
        out.insert("x-agentwire-relays".into(), to_json(&relays));
    }

    if let Some(auth) = &description.auth {
        for method in &auth.methods {
            if let AuthMethod::FirstMessage {
                message,
                pointer,
                rule,
            } = method
                && message == name
            {
                text.push(format!(
                    "Sent as the connection's first message, it carries the credential at \
                     `{pointer}`.\n\n{}",
                    quote(rule)
                ));
                out.insert("x-agentwire-auth".into(), to_json(method));
            }
        }
    }

    if let Some(sessions) = &description.sessions {
        let mut session = Map::new();
        if let SessionOrigin::Request {
            message,
            id_in_reply,
        } = &sessions.origin
            && message == name
        {
            text.push(format!(
                "It creates a session, whose id the reply shows at `{id_in_reply}`."
            ));
            session.insert("creates".into(), json!({"id_in_reply": id_in_reply}));
        }
        if let Some(pointer) = sessions.id_in_requests.get(name) {
            text.push(format!("It names its session at `{pointer}`."));
            session.insert("id".into(), json!(pointer));
        }
        if sessions.needed_by.iter().any(|m| m == name) {
            text.push("It needs a session on the connection.".into());
            session.insert("needed".into(), json!(true));
        }
        if !session.is_empty() {
            out.insert("x-agentwire-session".into(), Value::Object(session));
        }
    }
    (text, out)
}

fn receive(context: &Context<'_>, name: &str) -> Details {
    let description = &context.protocol.description;
    let mut text = vec![format!("The client receives `{name}`.")];
    let mut out = Map::new();

    let answers: Vec<&str> = description
        .exchanges
        .iter()
        .filter(|exchange| {
            exchange.replies.iter().any(|form| match form {
                ReplyForm::Single(single) => single.messages.iter().any(|m| m == name),
                ReplyForm::Stream(s) => [&s.start, &s.chunk, &s.end].contains(&&name.to_string()),
            })
        })
        .map(|exchange| exchange.request.as_str())
        .collect();
    if !answers.is_empty() {
        let answers: Vec<String> = answers.iter().map(|a| a.to_string()).collect();
        text.push(format!("It answers {}.", or_list(&answers)));
        out.insert("x-agentwire-answers".into(), json!(answers));
    }

    let relays: Vec<_> = description
        .relays
        .iter()
        .filter(|r| r.delivered_as == name)
        .collect();
    for relay in &relays {
        text.push(format!(
            "It delivers another participant's `{}`.",
            relay.request
        ));
    }
    if !relays.is_empty() {
        out.insert("x-agentwire-relayed".into(), to_json(&relays));
    }

    let unprompted: Vec<_> = description
        .unprompted
        .iter()
        .filter(|u| u.message == name)
        .collect();
    for u in &unprompted {
        let when = match u.when {
            UnpromptedWhen::OnConnect => "right after the connection is established",
            UnpromptedWhen::AnyTime => "at any time",
        };
        text.push(format!(
            "The server sends it unprompted, {when}.\n\n{}",
            quote(&u.rule)
        ));
    }
    if !unprompted.is_empty() {
        out.insert("x-agentwire-unprompted".into(), to_json(&unprompted));
    }
    (text, out)
}

/// "`a`", "`a` or `b`", "`a`, `b` or `c`".
fn or_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}
