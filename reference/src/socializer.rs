//! Socializer: HS256 JWT authentication (query parameter `token` or cookie `access_token`),
//! close 1008 on failure, a welcome message, and an AI that answers every message.

use std::sync::Arc;

use agentwire_runtime::server::close_code::POLICY_VIOLATION;
use agentwire_socializer as socializer;
use agentwire_socializer::server::{Conn, Credential, Handler, Invalid, Problem, Refusal, Reply};
use agentwire_socializer::{AiResponse, ErrorMessage, SystemMessage, Timestamp};

use crate::support::{Claims, local_iso_now};

/// The Socializer reference server.
#[derive(Clone)]
pub struct Socializer {
    secret: Arc<str>,
}

impl std::fmt::Debug for Socializer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret signs tokens: never in logs.
        f.debug_struct("Socializer")
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Socializer {
    /// A server that accepts tokens signed with `secret`.
    pub fn new(secret: &str) -> Self {
        Self {
            secret: secret.into(),
        }
    }
}

/// One user's chat.
#[derive(Debug)]
pub struct State {
    username: String,
    messages: usize,
}

fn now() -> Timestamp {
    Timestamp::new(local_iso_now()).expect("the clock writes the document's timestamp style")
}

fn error(text: impl Into<String>) -> Reply {
    Reply::one(ErrorMessage::new(text.into(), now()))
}

impl Handler for Socializer {
    type State = State;
    type Identity = String;

    async fn authenticate(&self, credential: Credential, conn: &Conn) -> Result<String, Refusal> {
        match agentwire_runtime::jwt::verify::<Claims>(&credential.token, self.secret.as_bytes()) {
            // A token names its holder by `sub`: without one it names no one.
            Ok(claims) if claims.subject().is_some() => {
                if let Some(expiry) = claims.expiry() {
                    // "The server validates the token": an expired one no longer is.
                    conn.expires_at(expiry);
                }
                Ok(claims.display_name())
            }
            _ => Err(Refusal::close(POLICY_VIOLATION, "invalid token")),
        }
    }

    async fn open(&self, username: String, _conn: &Conn) -> (State, Reply) {
        let welcome = SystemMessage::new(
            format!("Welcome to AI Chat, {username}! How can I assist you today?"),
            now(),
        );
        (
            State {
                username,
                messages: 0,
            },
            Reply::one(welcome),
        )
    }

    async fn on_chat_message(
        &self,
        state: &mut State,
        message: socializer::ChatMessage,
        _conn: &Conn,
    ) -> Reply {
        state.messages += 1;
        let answer = if message.content.trim().is_empty() {
            format!("Say something, {}!", state.username)
        } else {
            format!(
                "You said \"{}\", {} (message {}).",
                message.content, state.username, state.messages
            )
        };
        Reply::one(AiResponse::new(answer, now()))
    }

    async fn on_invalid(&self, _state: &mut State, invalid: Invalid, _conn: &Conn) -> Reply {
        match invalid {
            // "If a client sends too many messages in a short period, the server may close the
            // connection." The document gives no code for it; 1008 (Policy Violation) is the one
            // it uses for a client that breaks its rules, and RFC 6455's for a message against
            // policy. 1013 (Try Again Later) is for the server's own temporary condition, and
            // would invite reconnecting at once. The error message first says why, as the
            // document's error messages do.
            Invalid::Transport(Problem::RateLimited) => error("Too many messages: slow down.")
                .then_close(POLICY_VIOLATION, "rate limit exceeded"),
            other => error(format!("Invalid message format: {other}")),
        }
    }
}
