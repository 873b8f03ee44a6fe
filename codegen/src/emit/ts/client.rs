//! The typed client of a protocol: its connection options, one method per client message (with
//! an input type that leaves out what the client fills), one subscription per server message,
//! and the protocol description the runtime's client core works from.
//!
//! What a method returns follows `protocol.json`: a message with an exchange is a request whose
//! Promise resolves with the reply, or a stream when one of its reply forms is a stream; any other
//! message is only sent.

use std::collections::BTreeSet;

use agentwire_spec::error::{Error, Result};
use agentwire_spec::protocol::{AuthMethod, Credential, Direction, ReplyForm, SessionOrigin};
use agentwire_spec::union::join;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::names::{
    camel_case, doc_comment, json_literal, paragraphs, property_key, string_literal,
};
use super::types::ts_type;
use crate::emit::client::{Answer, Fill, Plan, failing_errors};
use crate::model::{Message, ProtocolModel, Struct, Ty, TypeKind};

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
        outgoing.insert(message.name.clone(), outgoing_of(&plan));
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
            .map(|(_, frame)| plan.input_of(frame));
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
    let answer = Answer::of(model, message);
    let type_doc = model
        .type_def(&message.type_name)
        .and_then(|d| d.doc.clone());
    let types = |names: &[&str]| union_of(names.iter().map(|m| reply_type(model, m)).collect());
    let (returns, call, with_options, what) = match &answer {
        Answer::None => (
            "Promise<void>".to_string(),
            "send".to_string(),
            false,
            "Sends it; the protocol defines no reply.".to_string(),
        ),
        Answer::Single(singles) => {
            let single = types(singles);
            (
                format!("Promise<{single}>"),
                format!("request<{single}>"),
                true,
                "Resolves with the reply, correlated as the protocol says.".to_string(),
            )
        }
        Answer::Streamed { singles, streams } => {
            let part = |pick: fn(&agentwire_spec::protocol::StreamReply) -> &String| {
                union_of(streams.iter().map(|s| reply_type(model, pick(s))).collect())
            };
            let args = format!(
                "{}, {}, {}, {}",
                types(singles),
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
    };
    let refused = match (&answer, failing_errors(model)) {
        (Answer::Single(_) | Answer::Streamed { .. }, Some(errors)) => format!(
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

/// What the client fills in a message, for the client core.
fn outgoing_of(plan: &Plan) -> Value {
    let fixed: Vec<Value> = plan
        .fixed
        .iter()
        .map(|(pointer, value)| json!({"pointer": pointer, "value": value}))
        .collect();
    let fresh: Vec<Value> = plan
        .fresh
        .iter()
        .map(|(pointer, kind)| json!({"pointer": pointer, "kind": kind.ts_name()}))
        .collect();
    let mut out = json!({"fixed": fixed, "fresh": fresh, "needsSession": plan.needs_session});
    if let Some(session) = &plan.session {
        out["session"] = json!(session);
    }
    out
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
            Some(Fill::Always) => continue,
            Some(Fill::FreshId | Fill::Session) => (ts_type(&field.ty, "t."), true),
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

fn correlation(pairs: &[agentwire_spec::protocol::Correlation]) -> Value {
    pairs
        .iter()
        .map(|c| json!({"request": c.request, "reply": c.reply}))
        .collect()
}
