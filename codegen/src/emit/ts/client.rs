//! The typed client of a protocol: its connection options, one method per client message (with
//! an input type that leaves out what the client fills), one subscription per server message,
//! and the protocol description the runtime's client core works from.
//!
//! What a method returns follows `protocol.json`: a message with an exchange is a request whose
//! Promise resolves with the reply, or a stream when one of its reply forms is a stream; any other
//! message is only sent.

use std::collections::BTreeSet;

use agentwire_spec::error::{Error, Result};
use agentwire_spec::protocol::{
    AuthMethod, Credential, Direction, ErrorCodes, ReplyForm, SessionOrigin,
};
use agentwire_spec::union::join;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::names::{
    camel_case, doc_comment, json_literal, paragraphs, property_key, string_literal,
};
use super::types::ts_type;
use crate::model::{Format, Message, ProtocolModel, Struct, Ty, TypeKind};

/// Members of the runtime's `ClientCore` that generated methods must not shadow.
const CORE_MEMBERS: &[&str] = &[
    "constructor",
    "connect",
    "close",
    "connected",
    "session",
    "useSession",
    "on",
    "onAny",
    "next",
    "onOpen",
    "onClose",
    "onError",
    "send",
    "request",
    "stream",
    "spec",
];

/// Everything `client.ts` needs.
#[derive(Debug, Serialize)]
pub struct ClientData {
    /// The protocol description for the client core, as a TypeScript object literal.
    pub description: String,
    /// The fields of the protocol's `ConnectOptions`, rendered.
    pub options: String,
    /// Input types of the methods.
    pub inputs: Vec<InputDecl>,
    /// One method per client message.
    pub methods: Vec<Method>,
    /// One subscription per server message.
    pub subscriptions: Vec<Subscription>,
}

/// The input type of one method.
#[derive(Debug, Serialize)]
pub struct InputDecl {
    /// Its doc comment.
    pub doc: String,
    /// Its name, `<Message>Input`.
    pub name: String,
    /// Its definition: an object type, or `Record<string, never>` when nothing is left to give.
    pub body: String,
}

/// One method of the client.
#[derive(Debug, Serialize)]
pub struct Method {
    /// Its doc comment, indented.
    pub doc: String,
    /// Its name, camelCase of the message name.
    pub name: String,
    /// The message name, as a string literal.
    pub message: String,
    /// The input type.
    pub input: String,
    /// The default of the input parameter (`= {}` when every field is optional).
    pub default: String,
    /// The return type.
    pub returns: String,
    /// The core call: `send`, `request<R>` or `stream<...>`.
    pub call: String,
    /// Whether the call takes request options.
    pub with_options: bool,
}

/// One subscription method.
#[derive(Debug, Serialize)]
pub struct Subscription {
    /// Its doc comment, indented.
    pub doc: String,
    /// `on<Message>`.
    pub name: String,
    /// The message name, as a string literal.
    pub message: String,
    /// The message type.
    pub ty: String,
}

/// The client data of a protocol.
pub fn client(model: &ProtocolModel) -> Result<ClientData> {
    let mut taken: BTreeSet<String> = CORE_MEMBERS.iter().map(|s| s.to_string()).collect();
    let mut inputs = Vec::new();
    let mut methods = Vec::new();
    let mut outgoing = Map::new();
    for message in model.messages_of(Direction::Client) {
        let plan = Plan::of(model, message);
        outgoing.insert(message.name.clone(), plan.outgoing());
        let def = model
            .type_def(&message.type_name)
            .expect("messages have types");
        let TypeKind::Struct(structure) = &def.kind else {
            unreachable!("the model checks that messages are objects")
        };
        let name = unique(method_name(&message.name, &taken), &mut taken, model)?;
        let input_name = format!("{}Input", message.type_name);
        let (body, all_optional) = input_body(model, structure, "", &plan, "");
        inputs.push(InputDecl {
            doc: doc_comment(
                &format!(
                    "What to give {{@link Client.{name}}}: a `{}` message without what the client fills in.",
                    message.name
                ),
                "",
            ),
            name: input_name.clone(),
            body,
        });
        methods.push(method(model, message, name, input_name, all_optional));
    }
    let mut subscriptions = Vec::new();
    for message in model.messages_of(Direction::Server) {
        let base = format!("on{}", message.type_name);
        let name = unique(base, &mut taken, model)?;
        subscriptions.push(Subscription {
            doc: doc_comment(
                &format!(
                    "Calls `handler` with every valid `{}` message.",
                    message.name
                ),
                "  ",
            ),
            name,
            message: string_literal(&message.name),
            ty: format!("t.{}", message.type_name),
        });
    }
    Ok(ClientData {
        description: description(model, outgoing),
        options: options(model),
        inputs,
        methods,
        subscriptions,
    })
}

/// A call of a client method, for the README: the method and its argument, which leaves out
/// what the client fills in of the document's example (empty when the method needs nothing).
#[derive(Debug, Clone, Serialize)]
pub struct ExampleCall {
    /// The method's name.
    pub method: String,
    /// Its argument, a TypeScript object literal, or empty.
    pub argument: String,
}

/// The README's calls of a protocol's client: its first request that can be written from the
/// document's examples (or needs no argument), and likewise its first streamed request.
pub fn example_calls(model: &ProtocolModel) -> Result<(Option<ExampleCall>, Option<ExampleCall>)> {
    let data = client(model)?;
    let mut request = None;
    let mut stream = None;
    for (message, method) in model.messages_of(Direction::Client).zip(&data.methods) {
        let slot = if method.call.starts_with("stream<") {
            &mut stream
        } else if method.call.starts_with("request<") {
            &mut request
        } else {
            continue;
        };
        if slot.is_some() {
            continue;
        }
        let plan = Plan::of(model, message);
        let documented = model
            .examples
            .iter()
            .find(|(example, _)| example.message == message.name)
            .map(|(_, frame)| {
                let mut input = frame.clone();
                for pointer in plan.filled() {
                    remove(&mut input, pointer);
                }
                input
            });
        let argument = match documented {
            Some(input) if input.as_object().is_some_and(|o| !o.is_empty()) => {
                json_literal(&input, 0, 80)
            }
            _ if !method.default.is_empty() => String::new(),
            _ => continue,
        };
        *slot = Some(ExampleCall {
            method: method.name.clone(),
            argument,
        });
    }
    Ok((request, stream))
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

fn method_name(message: &str, taken: &BTreeSet<String>) -> String {
    let name = camel_case(message);
    if taken.contains(&name) {
        format!("{name}Message")
    } else {
        name
    }
}

/// Takes a member name, or fails naming the clash.
fn unique(name: String, taken: &mut BTreeSet<String>, model: &ProtocolModel) -> Result<String> {
    if !taken.insert(name.clone()) {
        return Err(Error::message(format!(
            "{}: two client members would be named {name}; rename a message",
            model.id
        )));
    }
    Ok(name)
}

fn method(
    model: &ProtocolModel,
    message: &Message,
    name: String,
    input: String,
    all_optional: bool,
) -> Method {
    let exchange = model
        .description
        .exchanges
        .iter()
        .find(|e| e.request == message.name);
    let type_doc = model
        .type_def(&message.type_name)
        .and_then(|d| d.doc.clone());
    let (returns, call, with_options, what) = match exchange {
        None => (
            "Promise<void>".to_string(),
            "send".to_string(),
            false,
            "Sends it; the protocol defines no reply.".to_string(),
        ),
        Some(exchange) => {
            let mut singles = Vec::new();
            let mut streams = Vec::new();
            for form in &exchange.replies {
                match form {
                    ReplyForm::Single(single) => {
                        singles.extend(single.messages.iter().map(|m| reply_type(model, m)))
                    }
                    ReplyForm::Stream(stream) => streams.push(stream),
                }
            }
            let single = union_of(singles);
            if streams.is_empty() {
                (
                    format!("Promise<{single}>"),
                    format!("request<{single}>"),
                    true,
                    "Resolves with the reply, correlated as the protocol says.".to_string(),
                )
            } else {
                let part = |pick: fn(&agentwire_spec::protocol::StreamReply) -> &String| {
                    union_of(streams.iter().map(|s| reply_type(model, pick(s))).collect())
                };
                let args = format!(
                    "{single}, {}, {}, {}",
                    part(|s| &s.start),
                    part(|s| &s.chunk),
                    part(|s| &s.end)
                );
                (
                    format!("rt.ReplyStream<{args}>"),
                    format!("stream<{args}>"),
                    true,
                    "The reply may be streamed: iterate the result for its chunks (the last event carries the full text), or await its `result`.".to_string(),
                )
            }
        }
    };
    let refused = match (exchange, failing_errors(model)) {
        (Some(_), Some(errors)) => format!(
            " Rejects with a {{@link rt.ServerError}} when the server answers with `{}` instead.",
            errors.message
        ),
        _ => String::new(),
    };
    let doc = paragraphs([
        type_doc.as_deref(),
        Some(&format!("Sends `{}`. {what}{refused}", message.name)),
    ]);
    Method {
        doc: doc_comment(&doc, "  "),
        name,
        message: string_literal(&message.name),
        input,
        default: if all_optional {
            " = {}".into()
        } else {
            String::new()
        },
        returns,
        call,
        with_options,
    }
}

fn reply_type(model: &ProtocolModel, message: &str) -> String {
    model
        .message(message)
        .map_or_else(|| "never".into(), |m| format!("t.{}", m.type_name))
}

fn union_of(mut types: Vec<String>) -> String {
    let mut seen = BTreeSet::new();
    types.retain(|t| seen.insert(t.clone()));
    if types.is_empty() {
        "never".into()
    } else {
        types.join(" | ")
    }
}

/// What the client fills in one message.
struct Plan {
    /// Values the schema fixes, by pointer.
    fixed: Vec<(String, Value)>,
    /// Ids made up when not given, by pointer, with their kind.
    fresh: Vec<(String, &'static str)>,
    /// The session id's pointer.
    session: Option<String>,
    /// Whether the message needs a session without naming it.
    needs_session: bool,
}

impl Plan {
    fn of(model: &ProtocolModel, message: &Message) -> Self {
        let mut fixed = Vec::new();
        if let Some(def) = model.type_def(&message.type_name) {
            fixed_values(model, &def.kind, "", &mut fixed, 0);
        }
        let sessions = model.description.sessions.as_ref();
        let session = sessions.and_then(|s| s.id_in_requests.get(&message.name).cloned());
        let needs_session = sessions.is_some_and(|s| s.needed_by.contains(&message.name));
        let mut fresh = Vec::new();
        let exchange = model
            .description
            .exchanges
            .iter()
            .filter(|e| e.request == message.name);
        for form in exchange.flat_map(|e| &e.replies) {
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

    /// Whether the client fills the value at a pointer, and whether it always does.
    fn fills(&self, pointer: &str) -> Option<bool> {
        if self.fixed.iter().any(|(p, _)| p == pointer) {
            Some(true)
        } else if self.fresh.iter().any(|(p, _)| p == pointer)
            || self.session.as_deref() == Some(pointer)
        {
            Some(false)
        } else {
            None
        }
    }

    /// Every pointer the client fills.
    fn filled(&self) -> impl Iterator<Item = &str> {
        self.fixed
            .iter()
            .map(|(p, _)| p.as_str())
            .chain(self.fresh.iter().map(|(p, _)| p.as_str()))
            .chain(self.session.as_deref())
    }

    /// Whether the client fills anything below a pointer.
    fn fills_below(&self, pointer: &str) -> bool {
        let prefix = format!("{pointer}/");
        self.fixed
            .iter()
            .map(|(p, _)| p.as_str())
            .chain(self.fresh.iter().map(|(p, _)| p.as_str()))
            .chain(self.session.as_deref())
            .any(|p| p.starts_with(&prefix))
    }

    fn outgoing(&self) -> Value {
        let fixed: Vec<Value> = self
            .fixed
            .iter()
            .map(|(pointer, value)| json!({"pointer": pointer, "value": value}))
            .collect();
        let fresh: Vec<Value> = self
            .fresh
            .iter()
            .map(|(pointer, kind)| json!({"pointer": pointer, "kind": kind}))
            .collect();
        let mut out = json!({"fixed": fixed, "fresh": fresh, "needsSession": self.needs_session});
        if let Some(session) = &self.session {
            out["session"] = json!(session);
        }
        out
    }
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

/// How to make up a correlation id of this field's type, if the client can.
fn fresh_kind(model: &ProtocolModel, message: &Message, pointer: &str) -> Option<&'static str> {
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
        Ty::String => Some("string"),
        Ty::Integer | Ty::Number => Some("integer"),
        Ty::Named(name) => match &model.type_def(&name)?.kind {
            TypeKind::Constrained(crate::model::Constrained::String(rules)) => match rules.format {
                Some(Format::Uuid) => Some("uuid"),
                Some(Format::DateTime) => None,
                None if rules.pattern.is_none() && rules.min_length.unwrap_or(0) <= 32 => {
                    (rules.max_length.unwrap_or(u64::MAX) >= 32).then_some("string")
                }
                None => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// Follows aliases.
fn resolve(model: &ProtocolModel, ty: &Ty) -> Ty {
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

/// The input type of an object type: without the values the client always fills, optional where
/// it fills them when they are missing. Returns the type and whether every property is optional.
fn input_body(
    model: &ProtocolModel,
    structure: &Struct,
    pointer: &str,
    plan: &Plan,
    indent: &str,
) -> (String, bool) {
    let mut lines = String::new();
    let mut all_optional = true;
    let inner = format!("{indent}  ");
    for field in &structure.fields {
        let at = join(pointer, &field.wire);
        let (ty, mut optional) = match plan.fills(&at) {
            Some(true) => continue,
            Some(false) => (ts_type(&field.ty, "t."), true),
            None => match (&field.ty, plan.fills_below(&at)) {
                (Ty::Named(name), true) => match model.type_def(name).map(|d| &d.kind) {
                    Some(TypeKind::Struct(nested)) => {
                        let (body, nested_optional) = input_body(model, nested, &at, plan, &inner);
                        (body, nested_optional)
                    }
                    _ => (ts_type(&field.ty, "t."), false),
                },
                _ => (ts_type(&field.ty, "t."), false),
            },
        };
        optional |= !field.required;
        all_optional &= optional;
        lines.push_str(&doc_comment(field.doc.as_deref().unwrap_or(""), &inner));
        lines.push_str(&format!(
            "{inner}{}{}: {ty};\n",
            property_key(&field.wire),
            if optional { "?" } else { "" }
        ));
    }
    if lines.is_empty() {
        return ("Record<string, never>".into(), true);
    }
    (format!("{{\n{lines}{indent}}}"), all_optional)
}

/// The fields of `ConnectOptions` that the protocol adds or narrows.
fn options(model: &ProtocolModel) -> String {
    let d = &model.description;
    let mut out = String::new();
    if let Some(auth) = &d.auth {
        let vias: Vec<String> = auth
            .methods
            .iter()
            .map(|m| {
                string_literal(match m {
                    AuthMethod::QueryParameter { .. } => "query_parameter",
                    AuthMethod::Cookie { .. } => "cookie",
                    AuthMethod::FirstMessage { .. } => "first_message",
                })
            })
            .collect();
        let credential = match auth.credential {
            Credential::Jwt => "a JSON Web Token",
            Credential::Opaque => "a token whose form the document does not state",
        };
        let ways: Vec<String> = auth.methods.iter().map(describe_method).collect();
        out.push_str(&doc_comment(
            &format!(
                "The credential, {credential}, passed {}.",
                ways.join(", or ")
            ),
            "  ",
        ));
        out.push_str(&format!(
            "  readonly token{}: string;\n",
            if auth.required { "" } else { "?" }
        ));
        out.push_str(&doc_comment(
            "How to pass the credential; default the first documented way, query parameter preferred.",
            "  ",
        ));
        out.push_str(&format!("  readonly authVia?: {};\n", vias.join(" | ")));
    } else {
        out.push_str(&doc_comment("The protocol has no authentication.", "  "));
        out.push_str("  readonly token?: undefined;\n");
        out.push_str("  readonly authVia?: undefined;\n");
    }
    if !d.endpoint.path_params.is_empty() {
        let mut fields = String::new();
        for param in &d.endpoint.path_params {
            fields.push_str(&doc_comment(
                &format!("{} E.g. `{}`.", param.description, param.example),
                "    ",
            ));
            fields.push_str(&format!(
                "    readonly {}: string;\n",
                property_key(&param.name)
            ));
        }
        out.push_str(&doc_comment(
            &format!("The endpoint's path parameters: `{}`.", d.endpoint.path),
            "  ",
        ));
        out.push_str(&format!("  readonly params: {{\n{fields}  }};\n"));
    }
    out
}

fn describe_method(method: &AuthMethod) -> String {
    match method {
        AuthMethod::QueryParameter { name, .. } => format!("as the query parameter `{name}`"),
        AuthMethod::Cookie { name, .. } => {
            format!(
                "as the cookie `{name}` (set with `document.cookie` in a browser page, sent in the handshake's `Cookie` header in Node)"
            )
        }
        AuthMethod::FirstMessage {
            message, pointer, ..
        } => format!("in the first message, `{message}` at `{pointer}`"),
    }
}

/// The protocol description for the client core, without the unions (which are code).
fn description(model: &ProtocolModel, outgoing: Map<String, Value>) -> String {
    let d = &model.description;
    let mut out = Map::new();
    out.insert("id".into(), json!(d.id));
    out.insert("path".into(), json!(d.endpoint.path));
    if let Some(auth) = &d.auth {
        let methods: Vec<Value> = auth
            .methods
            .iter()
            .map(|m| match m {
                AuthMethod::QueryParameter { name, .. } => {
                    json!({"via": "query_parameter", "name": name})
                }
                AuthMethod::Cookie { name, .. } => json!({"via": "cookie", "name": name}),
                AuthMethod::FirstMessage {
                    message, pointer, ..
                } => json!({"via": "first_message", "message": message, "pointer": pointer}),
            })
            .collect();
        out.insert(
            "auth".into(),
            json!({"required": auth.required, "methods": methods}),
        );
    }
    out.insert("outgoing".into(), Value::Object(outgoing));
    let mut exchanges = Map::new();
    for exchange in &d.exchanges {
        let forms: Vec<Value> = exchange
            .replies
            .iter()
            .map(|form| match form {
                ReplyForm::Single(single) => json!({
                    "kind": "single",
                    "messages": single.messages,
                    "correlation": correlation(&single.correlation),
                }),
                ReplyForm::Stream(stream) => json!({
                    "kind": "stream",
                    "start": stream.start,
                    "chunk": stream.chunk,
                    "end": stream.end,
                    "streamId": stream.stream_id,
                    "chunkText": stream.chunk_text,
                    "endText": stream.end_text,
                    "correlation": correlation(&stream.correlation),
                }),
            })
            .collect();
        exchanges.insert(exchange.request.clone(), Value::Array(forms));
    }
    out.insert("exchanges".into(), Value::Object(exchanges));
    if let Some(sessions) = &d.sessions {
        let origin = match &sessions.origin {
            SessionOrigin::Request {
                message,
                id_in_reply,
            } => json!({"by": "request", "message": message, "idInReply": id_in_reply}),
            SessionOrigin::Announcement { message, id } => {
                json!({"by": "announcement", "message": message, "id": id})
            }
        };
        out.insert("sessions".into(), origin);
    }
    let codes: Vec<u16> = d.close_codes.iter().map(|c| c.code).collect();
    out.insert("closeCodes".into(), json!(codes));
    if let Some(errors) = failing_errors(model) {
        out.insert(
            "errors".into(),
            json!({"message": errors.message, "code": errors.pointer}),
        );
    }
    json_literal(&Value::Object(out), 0, 100)
}

/// The protocol's error message, when it fails requests: only where no exchange already names it
/// as a reply (there it resolves the request, typed as one of its replies).
fn failing_errors(model: &ProtocolModel) -> Option<&ErrorCodes> {
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

fn correlation(pairs: &[agentwire_spec::protocol::Correlation]) -> Value {
    pairs
        .iter()
        .map(|c| json!({"request": c.request, "reply": c.reply}))
        .collect()
}
