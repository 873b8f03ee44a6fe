//! Correlation ids: the fields that tie a reply to its request (`cid`, `session_id`), the frames
//! of one stream (`message_id`) and the messages of one session.
//!
//! An AsyncAPI message has a single `correlationId`; a message with several gets the strongest
//! (request/reply first, then stream, then session) and lists all of them in
//! `x-agentwire-correlation-ids`.

use std::collections::BTreeMap;

use agentwire_spec::protocol::{Correlation, ReplyForm, SessionOrigin};
use serde_json::{Map, Value, json};

use super::{Context, component_key};

/// What ties messages together through one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A reply copies it from its request.
    Reply,
    /// Every frame of one stream carries it.
    Stream,
    /// It names a session.
    Session,
}

/// One correlation id: a field (JSON Pointer into the payload) and what it ties together.
#[derive(Debug)]
struct Id {
    /// The key in `components.correlationIds`.
    key: String,
    /// The JSON Pointer into the payload.
    pointer: String,
    /// What it ties together, in words, once each: request/reply pairs for [`Kind::Reply`].
    uses: Vec<(Kind, String)>,
}

/// Every correlation id of a protocol, and which messages carry which.
#[derive(Debug, Default)]
pub(super) struct CorrelationIds {
    ids: Vec<Id>,
    /// For each message, the ids it carries (by index into `ids`) with their kinds.
    carried: BTreeMap<String, Vec<(Kind, usize)>>,
}

impl CorrelationIds {
    /// Reads the exchanges and sessions of `protocol.json`.
    pub(super) fn of(context: &Context<'_>) -> Self {
        let description = &context.protocol.description;
        let mut ids = Self::default();
        for exchange in &description.exchanges {
            for reply in &exchange.replies {
                match reply {
                    ReplyForm::Single(single) => {
                        let pair =
                            format!("`{}` → `{}`", exchange.request, single.messages.join("`/`"));
                        ids.copies(
                            &exchange.request,
                            &single.messages,
                            &single.correlation,
                            &pair,
                        );
                    }
                    ReplyForm::Stream(stream) => {
                        let pair = format!("`{}` → `{}`", exchange.request, stream.start);
                        ids.copies(
                            &exchange.request,
                            std::slice::from_ref(&stream.start),
                            &stream.correlation,
                            &pair,
                        );
                        let frames = [&stream.start, &stream.chunk, &stream.end];
                        let use_ = format!(
                            "every frame of one stream (`{}`, `{}`, `{}`) carries the same value",
                            stream.start, stream.chunk, stream.end
                        );
                        for message in frames {
                            ids.carry(message, &stream.stream_id, Kind::Stream, &use_);
                        }
                    }
                }
            }
        }
        if let Some(sessions) = &description.sessions {
            let (origin, pointer, how) = match &sessions.origin {
                SessionOrigin::Request {
                    message,
                    id_in_reply,
                } => (message, id_in_reply, "the reply to"),
                SessionOrigin::Announcement { message, id } => (message, id, ""),
            };
            let use_ = if how.is_empty() {
                format!("names a session, announced by `{origin}`")
            } else {
                format!("names a session, created by {how} `{origin}`")
            };
            if how.is_empty() {
                ids.carry(origin, pointer, Kind::Session, &use_);
            } else {
                for reply in replies_to(context, origin) {
                    ids.carry(reply, pointer, Kind::Session, &use_);
                }
            }
            for (message, pointer) in &sessions.id_in_requests {
                ids.carry(message, pointer, Kind::Session, &use_);
            }
        }
        ids
    }

    /// Registers the fields a reply copies from its request.
    fn copies(&mut self, request: &str, replies: &[String], copied: &[Correlation], pair: &str) {
        for correlation in copied {
            let pair = if correlation.request == correlation.reply {
                pair.to_string()
            } else {
                format!(
                    "{pair}, from `{}` into `{}`",
                    correlation.request, correlation.reply
                )
            };
            self.carry(request, &correlation.request, Kind::Reply, &pair);
            for reply in replies {
                self.carry(reply, &correlation.reply, Kind::Reply, &pair);
            }
        }
    }

    /// Records that `message` carries the field at `pointer`.
    fn carry(&mut self, message: &str, pointer: &str, kind: Kind, use_: &str) {
        let index = match self.ids.iter().position(|id| id.pointer == pointer) {
            Some(index) => index,
            None => {
                let base =
                    component_key(pointer.trim_start_matches('/').replace('/', ".").as_str());
                let mut key = base.clone();
                let mut n = 2;
                while self.ids.iter().any(|id| id.key == key) {
                    key = format!("{base}_{n}");
                    n += 1;
                }
                self.ids.push(Id {
                    key,
                    pointer: pointer.into(),
                    uses: Vec::new(),
                });
                self.ids.len() - 1
            }
        };
        let id = &mut self.ids[index];
        if !id.uses.iter().any(|(k, u)| *k == kind && u == use_) {
            id.uses.push((kind, use_.into()));
        }
        let carried = self.carried.entry(message.into()).or_default();
        if !carried.iter().any(|(_, i)| *i == index) {
            carried.push((kind, index));
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The `correlationId` of a message, and the runtime expressions of every id it carries
    /// when there are several.
    pub(super) fn of_message(&self, message: &str) -> (Option<Value>, Option<Value>) {
        let Some(carried) = self.carried.get(message) else {
            return (None, None);
        };
        let mut carried = carried.clone();
        carried.sort_by_key(|(kind, _)| *kind);
        let main = carried.first().map(
            |(_, i)| json!({"$ref": format!("#/components/correlationIds/{}", self.ids[*i].key)}),
        );
        let all = (carried.len() > 1).then(|| {
            Value::Array(
                carried
                    .iter()
                    .map(|(_, i)| json!(location(&self.ids[*i].pointer)))
                    .collect(),
            )
        });
        (main, all)
    }

    /// `components.correlationIds`.
    pub(super) fn components(&self) -> Map<String, Value> {
        self.ids
            .iter()
            .map(|id| {
                let pairs: Vec<&str> = id
                    .uses
                    .iter()
                    .filter(|(kind, _)| *kind == Kind::Reply)
                    .map(|(_, pair)| pair.as_str())
                    .collect();
                let mut uses: Vec<String> = id
                    .uses
                    .iter()
                    .filter(|(kind, _)| *kind != Kind::Reply)
                    .map(|(_, text)| text.clone())
                    .collect();
                if !pairs.is_empty() {
                    uses.insert(
                        0,
                        format!("a reply copies it from its request ({})", pairs.join(", ")),
                    );
                }
                let description = format!("`{}`: {}.", id.pointer, uses.join("; "));
                (
                    id.key.clone(),
                    json!({"description": description, "location": location(&id.pointer)}),
                )
            })
            .collect()
    }
}

/// The runtime expression of a payload field.
fn location(pointer: &str) -> String {
    format!("$message.payload#{pointer}")
}

/// The messages that may answer a request (single replies and stream starts).
fn replies_to<'c>(context: &'c Context<'_>, request: &str) -> Vec<&'c str> {
    context
        .protocol
        .description
        .exchanges
        .iter()
        .filter(|e| e.request == request)
        .flat_map(|e| &e.replies)
        .flat_map(|reply| match reply {
            ReplyForm::Single(single) => single.messages.iter().map(String::as_str).collect(),
            ReplyForm::Stream(stream) => vec![stream.start.as_str()],
        })
        .collect()
}
