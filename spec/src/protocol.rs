//! The format of `schema/<id>/protocol.json`: what a protocol's JSON Schemas cannot say.
//!
//! Every rule carries the sentence of the source document it rests on and whether the document
//! states it as a requirement or leaves it open, so that the conformance suite can cite the
//! sentence and choose the severity (`fail` for requirements, at most `warn` otherwise).
//! Messages are named by their schema file stem (`messages/<name>.schema.json`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The machine-readable description of one WebSocket protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "ProtocolDescription")]
pub struct ProtocolDescription {
    /// Path of this format's JSON Schema, relative to the file.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Protocol id: the folder name, the CLI's `--protocol` value, the generated package name.
    pub id: String,
    /// Human-readable name of the protocol.
    pub title: String,
    /// One paragraph on what the protocol is for.
    pub summary: String,
    /// The documents this description transcribes, first the main one.
    pub documents: Vec<SourceDocument>,
    /// Where clients connect.
    pub endpoint: Endpoint,
    /// The sentence saying frames are JSON text, when the document has one: a binary frame or
    /// text that does not parse breaks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framing: Option<Rule>,
    /// How clients authenticate; absent when the document describes no authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    /// Every message of the protocol, by schema file stem.
    pub messages: BTreeMap<String, MessageInfo>,
    /// Which server messages answer which client request, and how they are correlated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<Exchange>,
    /// Client messages whose effect the server delivers to other connections.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relays: Vec<Relay>,
    /// Server messages sent without a request (welcome, system, session events).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unprompted: Vec<Unprompted>,
    /// How sessions are obtained and referred to, when the protocol has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<Sessions>,
    /// What the server does with bad input, failed authentication and exceeded limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// What happens to a request sent while the server is still busy with another one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub while_busy: Vec<WhileBusy>,
    /// Documented limits.
    #[serde(default, skip_serializing_if = "Limits::is_empty")]
    pub limits: Limits,
    /// The documented error codes, when the protocol has a table of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_codes: Option<ErrorCodes>,
    /// Server messages that report an error rather than carry an answer: a request answered
    /// only by one of them was answered, but not served.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_messages: Vec<String>,
    /// WebSocket close codes the document names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub close_codes: Vec<CloseCode>,
    /// The sentence a server frame breaks when no message's discriminators select it (a frame of
    /// a kind the document does not show, an error in a shape other than the documented one);
    /// its level sets the severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmatched: Option<Rule>,
}

/// A source document, kept verbatim next to the schemas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceDocument {
    /// Path of the verbatim copy, relative to the protocol folder.
    pub file: String,
    /// Where the document comes from (repository and path).
    pub origin: String,
}

/// A rule and the sentence of the document it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The sentence, quoted from the document (whitespace may be normalised).
    pub quote: String,
    /// Whether the document states the rule as a requirement or leaves it open.
    pub level: Level,
    /// Which document the quote is from, when not the first one of `documents`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// How the rule reads the sentence, where the reading is not obvious (see NOTES.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
}

/// How firmly a document states a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The document states it ("will", "must", "requires"): breaking it is a failure.
    Required,
    /// The document shows or suggests it ("may", "e.g.", "generally"): breaking it is a warning.
    Open,
}

/// Where clients connect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Path template; `{name}` marks a path parameter, e.g. `/ws/ai/ai-chat/{client_id}`.
    pub path: String,
    /// The path parameters, in order of appearance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path_params: Vec<PathParam>,
    /// URLs the document shows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// The sentence that names the endpoint.
    pub rule: Rule,
}

/// One path parameter of an endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathParam {
    /// Name as written between braces in the path.
    pub name: String,
    /// What the parameter is.
    pub description: String,
    /// A value to use when none is given.
    pub example: String,
}

/// How clients authenticate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// Whether a connection without credentials is refused.
    pub required: bool,
    /// What the credential is.
    pub credential: Credential,
    /// Other kinds the credential may be where the document leaves its form open (NOTES.md says
    /// why): a test run may present any kind the protocol accepts (`--jwt-secret` mints JWTs for
    /// a protocol that accepts them, and is refused elsewhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_accepts: Vec<Credential>,
    /// The ways of passing it; any one of them suffices.
    pub methods: Vec<AuthMethod>,
    /// The sentence that requires authentication.
    pub rule: Rule,
}

impl Auth {
    /// Whether a credential of this kind may be presented: the documented one, or one the
    /// description also accepts.
    pub fn accepts(&self, kind: Credential) -> bool {
        self.credential == kind || self.also_accepts.contains(&kind)
    }
}

/// What kind of credential a protocol uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    /// A JSON Web Token: its signature and expiry can be checked.
    Jwt,
    /// A token whose form the document does not state.
    Opaque,
}

/// One way of passing the credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "via", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthMethod {
    /// A query parameter of the connection URL.
    QueryParameter {
        /// The parameter's name.
        name: String,
        /// The sentence that documents it.
        rule: Rule,
    },
    /// A cookie sent with the handshake.
    Cookie {
        /// The cookie's name.
        name: String,
        /// The sentence that documents it.
        rule: Rule,
    },
    /// The first message after the handshake.
    FirstMessage {
        /// The client message that carries the credential.
        message: String,
        /// JSON Pointer of the credential inside that message.
        pointer: String,
        /// The sentence that documents it.
        rule: Rule,
    },
}

/// Direction and documentation of one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageInfo {
    /// Who sends it.
    pub direction: Direction,
    /// Path of its schema relative to the protocol folder, when not `messages/<name>.schema.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The heading or sentence of the document that introduces it.
    pub rule: Rule,
    /// JSON Pointer of a value that tells kinds of this message apart where its discriminators
    /// do not (RIXA's `role`): a frame of a kind the server also sends unprompted is never taken
    /// as the answer to a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The sentence saying the connection may end after this message: a client message that ends
    /// it, or a server message after which the server may close it. Elsewhere a server that
    /// closes the connection in answer to a valid message breaks the exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_connection: Option<Rule>,
}

/// Who sends a message.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Client to server.
    Client,
    /// Server to client.
    Server,
}

/// A client request and the server messages that answer it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// The client message that opens the exchange.
    pub request: String,
    /// The accepted forms of the answer; any one of them answers the request.
    pub replies: Vec<ReplyForm>,
    /// How long an answer may take: what produces it.
    #[serde(default, skip_serializing_if = "ReplyBudget::is_control")]
    pub budget: ReplyBudget,
    /// The sentence that documents the answer.
    pub rule: Rule,
}

/// What produces the answer to a request, and so how long it may take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplyBudget {
    /// The server's own logic: answered at once (the suite's control budget, `--timeout-ms`).
    #[default]
    Control,
    /// A model (a chat answer): it may take seconds (the generated-reply budget,
    /// `--reply-timeout-ms`).
    Generated,
}

impl ReplyBudget {
    /// Whether this is the default, [`ReplyBudget::Control`].
    pub fn is_control(&self) -> bool {
        *self == ReplyBudget::Control
    }
}

/// One accepted form of an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ReplyForm {
    /// A single server message.
    Single(SingleReply),
    /// A stream: a start frame, chunk frames and an end frame sharing one id.
    Stream(StreamReply),
}

/// A single server message answering a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SingleReply {
    /// The server messages that may answer.
    pub messages: Vec<String>,
    /// Values the reply copies from the request; empty when the next such message answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correlation: Vec<Correlation>,
    /// What the reply to this request shows beyond its schema.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<Expectation>,
}

/// A streamed answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamReply {
    /// The message that opens the stream.
    pub start: String,
    /// The message that carries one chunk.
    pub chunk: String,
    /// The message that closes the stream.
    pub end: String,
    /// JSON Pointer of the id that every frame of one stream shares.
    pub stream_id: String,
    /// JSON Pointer of a chunk's text.
    pub chunk_text: String,
    /// JSON Pointer of the end frame's text, which is the chunks joined.
    pub end_text: String,
    /// Values the start frame copies from the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correlation: Vec<Correlation>,
    /// The sentence that says how chunks add up.
    pub rule: Rule,
}

/// A value a reply copies from its request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Correlation {
    /// JSON Pointer into the request.
    pub request: String,
    /// JSON Pointer into the reply.
    pub reply: String,
}

/// Something a particular frame shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// JSON Pointer into the frame.
    pub pointer: String,
    /// The value there; when absent, the value only has to be present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// The sentence behind the expectation, when it is not the exchange's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
}

/// A client message that the server delivers, as a server message, to other connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Relay {
    /// The client message.
    pub request: String,
    /// The server message the other connections receive.
    pub delivered_as: String,
    /// Who receives it.
    pub to: Audience,
    /// JSON Pointer of the room in the request.
    pub room: String,
    /// JSON Pointer, in the request, of the participant it is addressed to (audience `target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// JSON Pointer, in the delivered message, of the sender's participant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<String>,
    /// Values the delivered message copies from the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copies: Vec<Correlation>,
    /// The sentence that documents the message.
    pub rule: Rule,
}

/// Who receives a relayed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Every other participant of the room.
    Room,
    /// The one participant the request names.
    Target,
}

/// A server message sent without a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Unprompted {
    /// The server message.
    pub message: String,
    /// When it is sent.
    pub when: UnpromptedWhen,
    /// The sentence that documents it.
    pub rule: Rule,
}

/// When an unprompted message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnpromptedWhen {
    /// Right after a successful connection (and authentication).
    OnConnect,
    /// At any time.
    AnyTime,
}

/// How sessions are obtained and referred to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sessions {
    /// How a session comes to exist.
    pub origin: SessionOrigin,
    /// For each client message that names a session, the JSON Pointer of the session id in it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub id_in_requests: BTreeMap<String, String>,
    /// Client messages that need a session on the connection but do not name it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needed_by: Vec<String>,
    /// Client messages that end the session they name (a destroy): once one is answered without
    /// a refusal, the connection has no session until it obtains another.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ended_by: Vec<String>,
    /// Other ways the documents show of having a session, tried in order when `origin` is an open
    /// reading and gives none: an open reading is never a prerequisite.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<SessionAlternative>,
    /// How requests naming a session that was never created are refused ("if it exists").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<SessionRefusal>,
    /// How requests naming a session made on another connection are refused, where the document
    /// restricts them to the sender's own session ("only the session you are currently using").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<SessionRefusal>,
    /// The sentence that documents sessions.
    pub rule: Rule,
}

/// Requests that name a session the server must not serve, and how it refuses them. Whatever
/// the answer, the connection stays open: a close in answer to a valid request fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRefusal {
    /// The client messages (keys of `id_in_requests`) this refusal applies to.
    pub requests: Vec<String>,
    /// The documented refusals; any one of them is conforming. A reply of the request's own
    /// exchange that is none of them is a success, and breaks the rule.
    pub outcomes: Vec<Outcome>,
    /// The sentence that says the request must not be served.
    pub rule: Rule,
}

/// A request sent while the server is busy with another one, and what becomes of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhileBusy {
    /// The client request the server is busy with (a request of `exchanges`).
    pub busy_with: String,
    /// The client request sent right after it, before its answer (a request of `exchanges`).
    pub request: String,
    /// What becomes of the second request.
    pub outcome: BusyOutcome,
    /// The sentence that says so.
    pub rule: Rule,
}

/// What becomes of a request sent while the server is busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BusyOutcome {
    /// It is not served: of the two requests, one is answered (an error message saying the
    /// other was ignored is allowed).
    Ignored,
}

/// Another way of having a session than the description's `origin`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "by", rename_all = "snake_case", deny_unknown_fields)]
pub enum SessionAlternative {
    /// The client picks the id; the session comes to be when a request first names it.
    ClientChosen {
        /// The sentence (or example) that shows a client naming a session it chose.
        rule: Rule,
    },
}

/// How a session comes to exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "by", rename_all = "snake_case", deny_unknown_fields)]
pub enum SessionOrigin {
    /// The client asks for one; the reply carries its id.
    Request {
        /// The client message that creates the session.
        message: String,
        /// JSON Pointer of the new session's id in the reply.
        id_in_reply: String,
    },
    /// The server announces one unprompted.
    Announcement {
        /// The server message that announces it.
        message: String,
        /// JSON Pointer of the session id in that message.
        id: String,
    },
}

/// What the server does when something happens. After bad input (a frame that is no message)
/// the connection stays usable, unless an outcome closes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reaction {
    /// What happens.
    pub trigger: Trigger,
    /// The accepted outcomes; any one of them is conforming. Empty when the document names no
    /// answer (bad input only): whatever the server answers is judged on its own, and only the
    /// connection staying usable is checked.
    pub outcomes: Vec<Outcome>,
    /// The sentence that documents the reaction.
    pub rule: Rule,
}

/// Something a client does wrong, or a limit it exceeds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A text frame that is not JSON.
    MalformedJson,
    /// A JSON value that is not an object.
    NotAnObject,
    /// An object whose discriminator names no documented message.
    UnknownType,
    /// An object without the discriminator every message has (`type`, `msg`).
    MissingDiscriminator,
    /// A documented message without one of its required fields.
    MissingField,
    /// A documented message with a field of the wrong JSON type.
    WrongFieldType,
    /// A frame larger than the documented maximum.
    OversizedFrame,
    /// A connection without credentials.
    AuthMissing,
    /// A connection with a credential that is not valid.
    AuthInvalid,
    /// A connection with an expired credential.
    AuthExpired,
    /// More messages than the rate limit allows.
    RateExceeded,
    /// More connections from one IP address than allowed.
    TooManyConnections,
    /// No traffic for longer than the idle timeout.
    Idle,
}

/// What the server does in response to a trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// It sends a message.
    Reply {
        /// The server message.
        message: String,
        /// What the message shows.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        expect: Vec<Expectation>,
    },
    /// It closes the connection with one of these codes.
    Close {
        /// Accepted close codes; empty when the document names none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        codes: Vec<u16>,
    },
}

/// A documented limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// The value, in the unit the field's name gives.
    pub value: u64,
    /// The sentence (or table row) that states it.
    pub rule: Rule,
}

/// The documented limits; a missing entry means the document states none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted message, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_message_bytes: Option<Limit>,
    /// Most simultaneous connections from one IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections_per_ip: Option<Limit>,
    /// Seconds without traffic after which the server closes the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_seconds: Option<Limit>,
    /// Seconds between keep-alive pings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_interval_seconds: Option<Limit>,
    /// Rate limiting, whose amounts the documents do not give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<Rule>,
}

/// The documented error codes and where they appear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorCodes {
    /// The server message that carries a code.
    pub message: String,
    /// JSON Pointer of the code in that message.
    pub pointer: String,
    /// The codes, in the document's order.
    pub codes: Vec<ErrorCode>,
    /// The sentence or table that lists them.
    pub rule: Rule,
}

/// One documented error code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorCode {
    /// The code as sent.
    pub code: String,
    /// The document's description.
    pub description: String,
}

/// A WebSocket close code the document names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseCode {
    /// The code.
    pub code: u16,
    /// Its name, e.g. "Policy Violation".
    pub name: String,
    /// When the server closes with it.
    pub when: String,
    /// The sentence that names it.
    pub rule: Rule,
}

impl Trigger {
    /// Whether the trigger is a frame that is no message (bad input), after which the connection
    /// stays usable unless a documented outcome closes it.
    pub fn is_bad_input(self) -> bool {
        matches!(
            self,
            Trigger::MalformedJson
                | Trigger::NotAnObject
                | Trigger::UnknownType
                | Trigger::MissingDiscriminator
                | Trigger::MissingField
                | Trigger::WrongFieldType
        )
    }
}

impl Limits {
    /// Whether the document states no limit at all.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl ProtocolDescription {
    /// The JSON Schema of this format, as checked in at `schema/protocol.schema.json`.
    pub fn json_schema() -> Value {
        crate::checked_in_schema(
            schemars::schema_for!(ProtocolDescription),
            "protocol.schema.json",
        )
    }

    /// Every rule of the description, with the JSON Pointer of where it sits.
    pub fn rules(&self) -> Vec<(String, &Rule)> {
        let mut out = vec![("/endpoint/rule".to_string(), &self.endpoint.rule)];
        if let Some(framing) = &self.framing {
            out.push(("/framing".into(), framing));
        }
        if let Some(auth) = &self.auth {
            out.push(("/auth/rule".into(), &auth.rule));
            for (i, method) in auth.methods.iter().enumerate() {
                let rule = match method {
                    AuthMethod::QueryParameter { rule, .. }
                    | AuthMethod::Cookie { rule, .. }
                    | AuthMethod::FirstMessage { rule, .. } => rule,
                };
                out.push((format!("/auth/methods/{i}/rule"), rule));
            }
        }
        for (name, info) in &self.messages {
            out.push((format!("/messages/{name}/rule"), &info.rule));
            if let Some(rule) = &info.ends_connection {
                out.push((format!("/messages/{name}/ends_connection"), rule));
            }
        }
        for (i, exchange) in self.exchanges.iter().enumerate() {
            out.push((format!("/exchanges/{i}/rule"), &exchange.rule));
            for (j, reply) in exchange.replies.iter().enumerate() {
                match reply {
                    ReplyForm::Single(single) => {
                        for (k, expectation) in single.expect.iter().enumerate() {
                            if let Some(rule) = &expectation.rule {
                                out.push((
                                    format!("/exchanges/{i}/replies/{j}/single/expect/{k}/rule"),
                                    rule,
                                ));
                            }
                        }
                    }
                    ReplyForm::Stream(stream) => {
                        out.push((
                            format!("/exchanges/{i}/replies/{j}/stream/rule"),
                            &stream.rule,
                        ));
                    }
                }
            }
        }
        for (i, relay) in self.relays.iter().enumerate() {
            out.push((format!("/relays/{i}/rule"), &relay.rule));
        }
        for (i, unprompted) in self.unprompted.iter().enumerate() {
            out.push((format!("/unprompted/{i}/rule"), &unprompted.rule));
        }
        if let Some(sessions) = &self.sessions {
            out.push(("/sessions/rule".into(), &sessions.rule));
            for (i, alternative) in sessions.alternatives.iter().enumerate() {
                let SessionAlternative::ClientChosen { rule } = alternative;
                out.push((format!("/sessions/alternatives/{i}/rule"), rule));
            }
            for (i, refusal) in sessions.unknown.iter().enumerate() {
                out.push((format!("/sessions/unknown/{i}/rule"), &refusal.rule));
            }
            for (i, refusal) in sessions.foreign.iter().enumerate() {
                out.push((format!("/sessions/foreign/{i}/rule"), &refusal.rule));
            }
        }
        for (i, reaction) in self.reactions.iter().enumerate() {
            out.push((format!("/reactions/{i}/rule"), &reaction.rule));
        }
        for (i, busy) in self.while_busy.iter().enumerate() {
            out.push((format!("/while_busy/{i}/rule"), &busy.rule));
        }
        let limits = [
            ("max_message_bytes", &self.limits.max_message_bytes),
            (
                "max_connections_per_ip",
                &self.limits.max_connections_per_ip,
            ),
            ("idle_timeout_seconds", &self.limits.idle_timeout_seconds),
            ("ping_interval_seconds", &self.limits.ping_interval_seconds),
        ];
        for (name, limit) in limits {
            if let Some(limit) = limit {
                out.push((format!("/limits/{name}/rule"), &limit.rule));
            }
        }
        if let Some(rule) = &self.limits.rate_limit {
            out.push(("/limits/rate_limit".into(), rule));
        }
        if let Some(codes) = &self.error_codes {
            out.push(("/error_codes/rule".into(), &codes.rule));
        }
        for (i, close) in self.close_codes.iter().enumerate() {
            out.push((format!("/close_codes/{i}/rule"), &close.rule));
        }
        if let Some(rule) = &self.unmatched {
            out.push(("/unmatched".into(), rule));
        }
        out
    }
}
