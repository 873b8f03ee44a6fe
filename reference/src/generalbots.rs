//! General Bots `/ws`: token authentication (query parameter or first message, HS256 JWTs), a
//! session per connection, an echo assistant that streams its answers (or answers at once for
//! `/once ...`), tool calls for `/tool name {json}`, typing indicators, subscriptions that share
//! a session's frames with other connections, keep-alive pings and documented error codes.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use agentwire_generalbots as bots;
use agentwire_generalbots::server::{
    Conn, Credential, Handler, Invalid, Outbox, Problem, Refusal, Reply,
};
use agentwire_generalbots::{
    BotTyping, ChatResponse, ErrorCode, ErrorMessage, Pong, ServerMessage, SessionClosed,
    SessionCreated, StreamChunk, StreamEnd, StreamStart, Timestamp, ToolCall, ToolResult,
};
use agentwire_runtime::server::close_code::POLICY_VIOLATION;
use agentwire_runtime::server::stream;
use serde_json::{Value, json};

use crate::StateLimits;
use crate::support::{Claims, Ids, random_uuid, rfc3339_now};

/// The General Bots reference server.
#[derive(Clone)]
pub struct GeneralBots {
    secret: Arc<str>,
    shared: Arc<Shared>,
    limits: StateLimits,
}

impl std::fmt::Debug for GeneralBots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret signs tokens: never in logs.
        f.debug_struct("GeneralBots")
            .field("secret", &"<redacted>")
            .field("shared", &self.shared)
            .field("limits", &self.limits)
            .finish()
    }
}

#[derive(Debug, Default)]
struct Shared {
    sessions: Mutex<HashMap<String, Session>>,
    ids: Ids,
}

/// A chat session: the connection that owns it, whose user it is, and the connections that
/// subscribed to it. Only its user's connections may chat or type in it; any connection that
/// knows its id (random, not guessable) may subscribe to what it says.
#[derive(Debug)]
struct Session {
    owner: u64,
    user: String,
    subscribers: HashMap<u64, Outbox>,
}

/// One connection: who it is (its token's `sub`), the session it owns, and the sessions it
/// subscribed to.
#[derive(Debug)]
pub struct State {
    user: String,
    session_id: String,
    subscriptions: HashSet<String>,
}

impl GeneralBots {
    /// A server that accepts tokens signed with `secret`.
    pub fn new(secret: &str) -> Self {
        Self {
            secret: secret.into(),
            shared: Arc::default(),
            limits: StateLimits::default(),
        }
    }

    /// The same server with other bounds on its state.
    pub fn with_limits(mut self, limits: StateLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether the connection may chat or type in the session: it exists and belongs to the
    /// connection or to its user. Another user's session is answered as one that does not
    /// exist.
    fn may_use(&self, session_id: &str, state: &State, conn: &Conn) -> bool {
        self.sessions()
            .get(session_id)
            .is_some_and(|s| s.owner == conn.id() || s.user == state.user)
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.shared
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Sends frames of a session to its subscribers other than `except`.
    fn share(&self, session_id: &str, except: u64, frames: &[ServerMessage]) {
        let outboxes: Vec<Outbox> = match self.sessions().get(session_id) {
            Some(session) => session
                .subscribers
                .iter()
                .filter(|(id, _)| **id != except)
                .map(|(_, o)| o.clone())
                .collect(),
            None => return,
        };
        for outbox in outboxes {
            for frame in frames {
                if outbox.send(frame).is_err() {
                    break;
                }
            }
        }
    }
}

fn error(code: ErrorCode, text: impl Into<String>) -> ErrorMessage {
    ErrorMessage::new(code, text.into())
}

fn now() -> Timestamp {
    Timestamp::new(rfc3339_now()).expect("the clock writes RFC 3339")
}

/// The frames that answer a chat message in `session_id`.
fn answer(session_id: &str, content: &str, message_id: String) -> Vec<ServerMessage> {
    let mut frames: Vec<ServerMessage> = vec![BotTyping::new(session_id.into(), true).into()];
    let mut text = content.to_string();
    if let Some(call) = content.strip_prefix("/tool ") {
        let (tool, arguments) = call.split_once(' ').unwrap_or((call, "{}"));
        let arguments = match serde_json::from_str::<Value>(arguments) {
            Ok(Value::Object(map)) => map,
            _ => json!({"input": arguments})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        frames.push(ToolCall::new(session_id.into(), tool.into(), arguments.clone()).into());
        frames.push(
            ToolResult::new(
                session_id.into(),
                tool.into(),
                json!({"tool": tool, "echo": arguments}),
            )
            .into(),
        );
        text = format!("I called {tool}.");
    }
    if let Some(once) = text.strip_prefix("/once ") {
        let reply = format!("Echo: {once}");
        frames.push(
            ChatResponse::new(
                session_id.into(),
                message_id,
                "assistant".into(),
                reply,
                now(),
            )
            .into(),
        );
    } else {
        let reply = format!("Echo: {text}");
        frames.push(StreamStart::new(session_id.into(), message_id.clone()).into());
        for chunk in chunks(&reply) {
            frames.push(StreamChunk::new(message_id.clone(), chunk).into());
        }
        frames.push(StreamEnd::new(message_id, reply).into());
    }
    frames.push(BotTyping::new(session_id.into(), false).into());
    frames
}

/// The fewest bytes a stream chunk carries (but the last), and the most.
const CHUNK_BYTES: (usize, usize) = (32, 2048);

/// The reply cut into chunks of at least [`CHUNK_BYTES`]`.0` bytes (but the last) and at most
/// `.1`: whole words, except that a word that does not fit is cut between characters. They
/// join to the reply.
fn chunks(reply: &str) -> Vec<String> {
    let (least, most) = CHUNK_BYTES;
    let mut chunks = Vec::new();
    let mut chunk = String::new();
    for mut word in reply.split_inclusive(' ') {
        // A word that does not fit fills the chunk up to the most, between characters.
        while chunk.len() + word.len() > most {
            let mut cut = most - chunk.len();
            while !word.is_char_boundary(cut) {
                cut -= 1;
            }
            chunk.push_str(&word[..cut]);
            word = &word[cut..];
            chunks.push(std::mem::take(&mut chunk));
        }
        chunk.push_str(word);
        if chunk.len() >= least {
            chunks.push(std::mem::take(&mut chunk));
        }
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    chunks
}

impl Handler for GeneralBots {
    type State = State;
    type Identity = String;

    async fn authenticate(&self, credential: Credential, conn: &Conn) -> Result<String, Refusal> {
        match agentwire_runtime::jwt::verify::<Claims>(&credential.token, self.secret.as_bytes()) {
            // Identity is the token's `sub` alone: a `username` is only a name, and two
            // tokens with the same one may belong to different people.
            Ok(claims) if claims.subject().is_some() => {
                if let Some(expiry) = claims.expiry() {
                    // "Invalid or expired token": the connection ends when its token does.
                    conn.expires_at(expiry);
                }
                Ok(claims.subject().unwrap_or_default().to_string())
            }
            _ => Err(Refusal::reply_then_close(
                error(ErrorCode::AuthFailed, "Invalid or expired token").into(),
                POLICY_VIOLATION,
                "authentication failed",
            )),
        }
    }

    fn missing_credential(&self, _conn: &Conn) -> Refusal {
        let message = "No token: pass ?token= in the URL or send an auth message first";
        Refusal::reply_then_close(
            error(ErrorCode::AuthFailed, message).into(),
            POLICY_VIOLATION,
            "authentication required",
        )
    }

    async fn open(&self, user: String, conn: &Conn) -> (State, Reply) {
        // Random: a session id is all it takes to name a session.
        let session_id = random_uuid();
        let session = Session {
            owner: conn.id(),
            user: user.clone(),
            subscribers: HashMap::from([(conn.id(), conn.outbox())]),
        };
        self.sessions().insert(session_id.clone(), session);
        let created = SessionCreated::new(session_id.clone());
        let state = State {
            user,
            session_id,
            subscriptions: HashSet::new(),
        };
        (state, Reply::one(created))
    }

    async fn on_chat_message(
        &self,
        state: &mut State,
        message: bots::ChatMessage,
        conn: &Conn,
    ) -> Reply {
        if !self.may_use(&message.session_id, state, conn) {
            return Reply::one(error(
                ErrorCode::SessionNotFound,
                "Session does not exist or has expired",
            ));
        }
        let frames = answer(
            &message.session_id,
            &message.content,
            self.shared.ids.next_uuid(),
        );
        self.share(&message.session_id, conn.id(), &frames);
        Reply::stream(stream::iter(frames))
    }

    async fn on_typing_start(
        &self,
        state: &mut State,
        message: bots::TypingStart,
        conn: &Conn,
    ) -> Reply {
        self.known(&message.session_id, state, conn)
    }

    async fn on_typing_stop(
        &self,
        state: &mut State,
        message: bots::TypingStop,
        conn: &Conn,
    ) -> Reply {
        self.known(&message.session_id, state, conn)
    }

    async fn on_subscribe(
        &self,
        state: &mut State,
        message: bots::Subscribe,
        conn: &Conn,
    ) -> Reply {
        let id = message.session_id;
        let new = id != state.session_id && !state.subscriptions.contains(&id);
        if new && state.subscriptions.len() >= self.limits.max_subscriptions {
            return Reply::one(error(
                ErrorCode::SubscriptionFailed,
                format!(
                    "Cannot subscribe to session: at most {} subscriptions per connection",
                    self.limits.max_subscriptions
                ),
            ));
        }
        let mut sessions = self.sessions();
        match sessions.get_mut(&id) {
            Some(session) => {
                session.subscribers.insert(conn.id(), conn.outbox());
                drop(sessions);
                if new {
                    state.subscriptions.insert(id);
                }
                Reply::none()
            }
            None => Reply::one(error(
                ErrorCode::SubscriptionFailed,
                "Cannot subscribe to session: it does not exist",
            )),
        }
    }

    async fn on_unsubscribe(
        &self,
        state: &mut State,
        message: bots::Unsubscribe,
        conn: &Conn,
    ) -> Reply {
        let mut sessions = self.sessions();
        match sessions.get_mut(&message.session_id) {
            Some(session) => {
                session.subscribers.remove(&conn.id());
                drop(sessions);
                state.subscriptions.remove(&message.session_id);
                Reply::none()
            }
            None => Reply::one(error(
                ErrorCode::SessionNotFound,
                "Session does not exist or has expired",
            )),
        }
    }

    async fn on_ping(&self, _state: &mut State, _message: bots::Ping, _conn: &Conn) -> Reply {
        Reply::one(Pong::new(now()))
    }

    async fn on_invalid(&self, _state: &mut State, invalid: Invalid, _conn: &Conn) -> Reply {
        let frame = match &invalid {
            Invalid::NotJson(_) => error(ErrorCode::InvalidFormat, "Malformed JSON"),
            Invalid::Transport(Problem::TooLarge { limit, .. }) => error(
                ErrorCode::MessageTooLarge,
                format!("Exceeds {} KB limit", limit / 1024),
            ),
            Invalid::Transport(Problem::RateLimited) => {
                error(ErrorCode::RateLimited, "Too many messages")
            }
            other => error(ErrorCode::InvalidFormat, other.to_string()),
        };
        Reply::one(frame)
    }

    async fn on_close(&self, state: State, conn: &Conn) {
        let closed = SessionClosed::new(state.session_id.clone(), "user_disconnect".into());
        let mut sessions = self.sessions();
        for id in &state.subscriptions {
            if let Some(session) = sessions.get_mut(id) {
                session.subscribers.remove(&conn.id());
            }
        }
        let mut notify = Vec::new();
        if let Some(session) = sessions.remove(&state.session_id) {
            notify.extend(
                session
                    .subscribers
                    .into_iter()
                    .filter(|(id, _)| *id != conn.id())
                    .map(|(_, outbox)| outbox),
            );
        }
        drop(sessions);
        for outbox in notify {
            let _ = outbox.send(&closed.clone().into());
        }
    }
}

impl GeneralBots {
    /// Nothing for a session the connection may use; SESSION_NOT_FOUND otherwise.
    fn known(&self, session_id: &str, state: &State, conn: &Conn) -> Reply {
        if self.may_use(session_id, state, conn) {
            Reply::none()
        } else {
            Reply::one(error(
                ErrorCode::SessionNotFound,
                "Session does not exist or has expired",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_tens_of_bytes_to_a_few_kb_and_join_to_the_reply() {
        let long_word = "é".repeat(3000);
        for reply in [
            "Echo: hi".to_string(),
            "Echo: ".to_string() + &"a ".repeat(3000),
            format!("Echo: {long_word} end"),
        ] {
            let chunks = chunks(&reply);
            assert_eq!(chunks.concat(), reply);
            let (last, rest) = chunks.split_last().unwrap();
            assert!(last.len() <= CHUNK_BYTES.1);
            for chunk in rest {
                assert!(
                    (CHUNK_BYTES.0..=CHUNK_BYTES.1).contains(&chunk.len()),
                    "{}",
                    chunk.len()
                );
            }
        }
        // 6 KB of one-letter words: about 190 chunks, not 3,000.
        assert!(chunks(&"a ".repeat(3000)).len() < 200);
    }
}
