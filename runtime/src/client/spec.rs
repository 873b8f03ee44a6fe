//! What a client knows of its protocol: the generated crate writes one [`ProtocolSpec`] as a
//! `static` from `protocol.json` and the schemas, and the client core works from it alone.

/// Everything the client core knows of a protocol.
#[derive(Debug, Clone, Copy)]
pub struct ProtocolSpec {
    /// The protocol id, e.g. `datagram`.
    pub id: &'static str,
    /// The endpoint's path; `{name}` marks a path parameter.
    pub path: &'static str,
    /// How clients authenticate, if they do.
    pub auth: Option<Auth>,
    /// What the client fills in each client message.
    pub outgoing: &'static [Outgoing],
    /// The accepted forms of the answer to each request.
    pub exchanges: &'static [Exchange],
    /// How sessions come to exist, if the protocol has them.
    pub sessions: Option<SessionOrigin>,
    /// The close codes the protocol documents, after which reconnecting is pointless.
    pub close_codes: &'static [u16],
    /// The server message that carries the protocol's error codes, when it fails requests
    /// (the protocol documents error codes and no exchange names that message as a reply).
    pub errors: Option<ErrorMessage>,
}

impl ProtocolSpec {
    /// What the client fills in a client message.
    pub fn outgoing(&self, message: &str) -> Option<&'static Outgoing> {
        self.outgoing.iter().find(|o| o.message == message)
    }

    /// The reply forms of a request; empty for a message nothing answers.
    pub fn replies(&self, request: &str) -> &'static [ReplyForm] {
        self.exchanges
            .iter()
            .find(|e| e.request == request)
            .map_or(&[], |e| e.replies)
    }
}

/// How clients authenticate.
#[derive(Debug, Clone, Copy)]
pub struct Auth {
    /// Whether a credential is required.
    pub required: bool,
    /// The ways of passing it, in the document's order.
    pub methods: &'static [AuthMethod],
}

/// One way of passing the credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// A query parameter of the endpoint URL.
    QueryParameter {
        /// Its name.
        name: &'static str,
    },
    /// A cookie sent with the handshake.
    Cookie {
        /// Its name.
        name: &'static str,
    },
    /// The first message after the connection opens.
    FirstMessage {
        /// The client message that carries it.
        message: &'static str,
        /// JSON Pointer of the token in that message.
        pointer: &'static str,
    },
}

impl AuthMethod {
    /// Which way this is.
    pub fn via(&self) -> AuthVia {
        match self {
            AuthMethod::QueryParameter { .. } => AuthVia::QueryParameter,
            AuthMethod::Cookie { .. } => AuthVia::Cookie,
            AuthMethod::FirstMessage { .. } => AuthVia::FirstMessage,
        }
    }
}

/// A way of passing the credential, to choose one of those a protocol documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthVia {
    /// As a query parameter of the endpoint URL.
    QueryParameter,
    /// As a cookie in the handshake's `Cookie` header.
    Cookie,
    /// In the first message, as soon as the connection opens.
    FirstMessage,
}

impl std::fmt::Display for AuthVia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuthVia::QueryParameter => "query_parameter",
            AuthVia::Cookie => "cookie",
            AuthVia::FirstMessage => "first_message",
        })
    }
}

/// What the client fills in one client message.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing {
    /// The message's name, e.g. `session_create`.
    pub message: &'static str,
    /// Values the schema fixes (discriminators, `null` fields), always filled.
    pub fixed: &'static [Fixed],
    /// Correlation ids the client makes up when the caller gives none.
    pub fresh: &'static [Fresh],
    /// JSON Pointer of the session id, filled from the current session when not given.
    pub session: Option<&'static str>,
    /// Whether the message needs a session on the connection (without naming it).
    pub needs_session: bool,
}

/// A value the schema fixes.
#[derive(Debug, Clone, Copy)]
pub struct Fixed {
    /// Where, as a JSON Pointer.
    pub pointer: &'static str,
    /// The value, as JSON text.
    pub json: &'static str,
}

/// A correlation id the client makes up when the caller gives none.
#[derive(Debug, Clone, Copy)]
pub struct Fresh {
    /// Where, as a JSON Pointer.
    pub pointer: &'static str,
    /// What kind of id.
    pub kind: FreshId,
}

/// How a correlation id is made up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreshId {
    /// 32 random lowercase hexadecimal digits.
    Hex,
    /// A random (version 4) UUID, hyphenated.
    Uuid,
    /// The next of the client's counter, from 1.
    Integer,
}

/// The answers a request accepts.
#[derive(Debug, Clone, Copy)]
pub struct Exchange {
    /// The request's message name.
    pub request: &'static str,
    /// Its accepted reply forms.
    pub replies: &'static [ReplyForm],
}

/// One accepted form of the answer to a request.
#[derive(Debug, Clone, Copy)]
pub enum ReplyForm {
    /// One message.
    Single {
        /// The server messages that may answer.
        messages: &'static [&'static str],
        /// Values the reply copies from the request; none means the next such message answers.
        correlation: &'static [Correlation],
    },
    /// A stream: a start frame, chunks, and an end frame carrying the chunks joined.
    Stream(StreamForm),
}

/// A streamed reply.
#[derive(Debug, Clone, Copy)]
pub struct StreamForm {
    /// The message that starts a stream.
    pub start: &'static str,
    /// The message of each chunk.
    pub chunk: &'static str,
    /// The message that ends it.
    pub end: &'static str,
    /// JSON Pointer of the id every frame of one stream shares.
    pub stream_id: &'static str,
    /// JSON Pointer of a chunk's text.
    pub chunk_text: &'static str,
    /// JSON Pointer of the end frame's text: the chunks joined.
    pub end_text: &'static str,
    /// Values the start frame copies from the request.
    pub correlation: &'static [Correlation],
}

/// A value a reply copies from its request.
#[derive(Debug, Clone, Copy)]
pub struct Correlation {
    /// JSON Pointer into the request.
    pub request: &'static str,
    /// JSON Pointer into the reply.
    pub reply: &'static str,
}

/// How sessions come to exist.
#[derive(Debug, Clone, Copy)]
pub enum SessionOrigin {
    /// The reply to a request carries the new session's id.
    Request {
        /// The request.
        message: &'static str,
        /// JSON Pointer of the id in its reply.
        id_in_reply: &'static str,
    },
    /// The server announces a session.
    Announcement {
        /// The announcing message.
        message: &'static str,
        /// JSON Pointer of the id in it.
        id: &'static str,
    },
}

/// The server message that carries the protocol's error codes.
#[derive(Debug, Clone, Copy)]
pub struct ErrorMessage {
    /// Its name, e.g. `error_message`.
    pub message: &'static str,
    /// JSON Pointer of the code in it.
    pub code: &'static str,
}
