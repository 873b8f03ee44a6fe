//! What every generated client knows of a protocol, whatever its language: for each client
//! message, the values the client fills in (the schema's constants, correlation ids it makes up
//! when the caller gives none, the current session), and what answers it (nothing, one of some
//! messages, or a stream).
//!
//! The TypeScript and Rust client emitters both read this, so that the two clients fill the same
//! fields and wait for the same answers.

use agentwire_spec::protocol::{ErrorCodes, ReplyForm, StreamReply};
use agentwire_spec::union::join;
use serde_json::{Map, Value};

use crate::model::{Constrained, Format, Message, ProtocolModel, Ty, TypeKind};

/// How a client makes up a correlation id the caller did not give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreshId {
    /// 32 lowercase hexadecimal digits.
    Hex,
    /// A random (version 4) UUID, hyphenated.
    Uuid,
    /// The next of a counter from 1.
    Integer,
}

impl FreshId {
    /// The name the TypeScript runtime uses.
    pub fn ts_name(self) -> &'static str {
        match self {
            FreshId::Hex => "string",
            FreshId::Uuid => "uuid",
            FreshId::Integer => "integer",
        }
    }
}

/// What the client fills in one client message.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Values the schema fixes (discriminators, `null`), by JSON Pointer: always filled.
    pub fixed: Vec<(String, Value)>,
    /// Correlation ids made up when the caller gives none, by JSON Pointer.
    pub fresh: Vec<(String, FreshId)>,
    /// The JSON Pointer of the session id, filled from the current session when not given.
    pub session: Option<String>,
    /// Whether the message needs a session on the connection (without naming it).
    pub needs_session: bool,
}

/// How the client fills a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Always: the schema allows one value.
    Always,
    /// When the caller does not give it: a correlation id.
    FreshId,
    /// When the caller does not give it: the current session.
    Session,
}

impl Plan {
    /// The plan of a client message.
    pub fn of(model: &ProtocolModel, message: &Message) -> Self {
        let mut fixed = Vec::new();
        if let Some(def) = model.type_def(&message.type_name) {
            fixed_values(model, &def.kind, "", &mut fixed, 0);
        }
        let sessions = model.description.sessions.as_ref();
        let session = sessions.and_then(|s| s.id_in_requests.get(&message.name).cloned());
        let needs_session = sessions.is_some_and(|s| s.needed_by.contains(&message.name));
        let mut fresh: Vec<(String, FreshId)> = Vec::new();
        for form in replies(model, message) {
            let correlation = match form {
                ReplyForm::Single(single) => &single.correlation,
                ReplyForm::Stream(stream) => &stream.correlation,
            };
            for c in correlation {
                let taken = session.as_deref() == Some(c.request.as_str())
                    || fixed.iter().any(|(p, _)| *p == c.request)
                    || fresh.iter().any(|(p, _)| *p == c.request);
                if taken {
                    continue;
                }
                if let Some(kind) = fresh_kind(model, message, &c.request) {
                    fresh.push((c.request.clone(), kind));
                }
            }
        }
        Self {
            fixed,
            fresh,
            session,
            needs_session,
        }
    }

    /// How the client fills the value at a pointer, if it does.
    pub fn fills(&self, pointer: &str) -> Option<Fill> {
        if self.fixed.iter().any(|(p, _)| p == pointer) {
            Some(Fill::Always)
        } else if self.fresh.iter().any(|(p, _)| p == pointer) {
            Some(Fill::FreshId)
        } else if self.session.as_deref() == Some(pointer) {
            Some(Fill::Session)
        } else {
            None
        }
    }

    /// Every pointer the client fills.
    pub fn filled(&self) -> impl Iterator<Item = &str> {
        self.fixed
            .iter()
            .map(|(p, _)| p.as_str())
            .chain(self.fresh.iter().map(|(p, _)| p.as_str()))
            .chain(self.session.as_deref())
    }

    /// Whether the client fills anything below a pointer.
    pub fn fills_below(&self, pointer: &str) -> bool {
        let prefix = format!("{pointer}/");
        self.filled().any(|p| p.starts_with(&prefix))
    }

    /// A document's example of the message without what the client fills in: what a caller
    /// gives to send it.
    pub fn input_of(&self, example: &Value) -> Value {
        let mut input = example.clone();
        for pointer in self.filled() {
            remove(&mut input, pointer);
        }
        input
    }
}

/// What answers a client message.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<'a> {
    /// Nothing: the protocol defines no reply; the message is only sent.
    None,
    /// One message of these (by name).
    Single(Vec<&'a str>),
    /// A stream, or one message of `singles` (which may be none).
    Streamed {
        /// The messages that answer at once.
        singles: Vec<&'a str>,
        /// The stream forms.
        streams: Vec<&'a StreamReply>,
    },
}

impl<'a> Answer<'a> {
    /// What answers a client message, by `protocol.json`'s exchanges.
    pub fn of(model: &'a ProtocolModel, message: &Message) -> Self {
        let mut exchanges = model
            .description
            .exchanges
            .iter()
            .filter(|e| e.request == message.name)
            .peekable();
        if exchanges.peek().is_none() {
            return Answer::None;
        }
        let mut singles = Vec::new();
        let mut streams = Vec::new();
        for form in exchanges.flat_map(|e| &e.replies) {
            match form {
                ReplyForm::Single(single) => {
                    for name in &single.messages {
                        if !singles.contains(&name.as_str()) {
                            singles.push(name.as_str());
                        }
                    }
                }
                ReplyForm::Stream(stream) => streams.push(stream),
            }
        }
        if streams.is_empty() {
            Answer::Single(singles)
        } else {
            Answer::Streamed { singles, streams }
        }
    }
}

/// The reply forms of a client message's exchanges.
fn replies<'a>(model: &'a ProtocolModel, message: &Message) -> impl Iterator<Item = &'a ReplyForm> {
    let name = message.name.clone();
    model
        .description
        .exchanges
        .iter()
        .filter(move |e| e.request == name)
        .flat_map(|e| &e.replies)
}

/// The protocol's error message, when it fails requests: only where no exchange already names it
/// as a reply (there it answers the request, as one of its replies).
pub fn failing_errors(model: &ProtocolModel) -> Option<&ErrorCodes> {
    let d = &model.description;
    let errors = d.error_codes.as_ref()?;
    let a_reply = d
        .exchanges
        .iter()
        .flat_map(|e| &e.replies)
        .any(|form| match form {
            ReplyForm::Single(single) => single.messages.contains(&errors.message),
            ReplyForm::Stream(stream) => {
                [&stream.start, &stream.chunk, &stream.end].contains(&&errors.message)
            }
        });
    (!a_reply).then_some(errors)
}

/// The values a schema fixes (constants, `null`), through required properties only: a constant
/// below an optional property is the caller's to give.
fn fixed_values(
    model: &ProtocolModel,
    kind: &TypeKind,
    pointer: &str,
    out: &mut Vec<(String, Value)>,
    depth: usize,
) {
    let TypeKind::Struct(structure) = kind else {
        return;
    };
    if depth > 16 {
        return;
    }
    for field in structure.fields.iter().filter(|f| f.required) {
        let at = join(pointer, &field.wire);
        match &field.ty {
            Ty::Null => out.push((at, Value::Null)),
            Ty::Named(name) => match model.type_def(name).map(|d| &d.kind) {
                Some(TypeKind::Const(value)) => out.push((at, value.clone())),
                Some(inner @ TypeKind::Struct(_)) => {
                    fixed_values(model, inner, &at, out, depth + 1)
                }
                _ => {}
            },
            _ => {}
        }
    }
}

/// How to make up a correlation id of this field's type, if the client can: a plain string (32
/// hexadecimal digits, where the schema's lengths allow them), a UUID, or an integer.
fn fresh_kind(model: &ProtocolModel, message: &Message, pointer: &str) -> Option<FreshId> {
    let mut ty = Ty::Named(message.type_name.clone());
    for segment in pointer.split('/').skip(1) {
        let key = segment.replace("~1", "/").replace("~0", "~");
        let Ty::Named(name) = resolve(model, &ty) else {
            return None;
        };
        let TypeKind::Struct(s) = &model.type_def(&name)?.kind else {
            return None;
        };
        ty = s.fields.iter().find(|f| f.wire == key)?.ty.clone();
    }
    match resolve(model, &ty) {
        Ty::String => Some(FreshId::Hex),
        Ty::Integer | Ty::Number => Some(FreshId::Integer),
        Ty::Named(name) => match &model.type_def(&name)?.kind {
            TypeKind::Constrained(Constrained::String(rules)) => match rules.format {
                Some(Format::Uuid) => Some(FreshId::Uuid),
                Some(Format::DateTime) => None,
                None if rules.pattern.is_none() && rules.min_length.unwrap_or(0) <= 32 => {
                    (rules.max_length.unwrap_or(u64::MAX) >= 32).then_some(FreshId::Hex)
                }
                None => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// Follows aliases.
pub fn resolve(model: &ProtocolModel, ty: &Ty) -> Ty {
    let mut current = ty.clone();
    for _ in 0..16 {
        let Ty::Named(name) = &current else { break };
        match model.type_def(name).map(|d| &d.kind) {
            Some(TypeKind::Alias(inner)) => current = inner.clone(),
            _ => break,
        }
    }
    current
}

/// Removes the value at a JSON Pointer, and the objects the removal leaves empty.
fn remove(value: &mut Value, pointer: &str) -> bool {
    let Some(rest) = pointer.strip_prefix('/') else {
        return false;
    };
    let (head, tail) = match rest.split_once('/') {
        Some((head, tail)) => (head, Some(tail)),
        None => (rest, None),
    };
    let key = head.replace("~1", "/").replace("~0", "~");
    let Some(object) = value.as_object_mut() else {
        return false;
    };
    match tail {
        None => object.remove(&key).is_some(),
        Some(tail) => match object.get_mut(&key) {
            Some(inner) => {
                let removed = remove(inner, &format!("/{tail}"));
                if removed && inner.as_object().is_some_and(Map::is_empty) {
                    object.remove(&key);
                }
                removed
            }
            None => false,
        },
    }
}
