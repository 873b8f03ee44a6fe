//! datagram: ping, and sessions with create/resume/status/destroy; chat echoes the decoded text
//! back, base64 encoded. Every response carries its request's `cid`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use agentwire_datagram as datagram;
use agentwire_datagram::server::{Conn, Handler, Invalid, Reply};
use agentwire_datagram::{
    Base64Text, ChatResponse, ChatResponseContent, ErrorField, Pong, SessionResponse,
    SessionResponseContent, SessionState, Settings, SystemMessage, SystemMessageContent,
};

use crate::support::Ids;

/// The datagram reference server.
#[derive(Debug, Clone, Default)]
pub struct Datagram {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Every live session, by id: its settings.
    sessions: Mutex<HashMap<String, Settings>>,
    ids: Ids,
}

/// One client's connection: the session it is using.
#[derive(Debug, Default)]
pub struct State {
    current: Option<String>,
}

fn session_reply(cid: String, content: SessionResponseContent) -> SessionResponse {
    SessionResponse::new(cid, content)
}

fn failure(cid: String, why: &str) -> SessionResponse {
    session_reply(
        cid,
        SessionResponseContent::new(false, ErrorField::String(why.to_string())),
    )
}

fn system(cid: String, text: &str) -> SystemMessage {
    SystemMessage::new(
        cid,
        SystemMessageContent::new("text".into(), Base64Text::encode(text.as_bytes())),
    )
}

impl Datagram {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Settings>> {
        self.shared
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

impl Handler for Datagram {
    type State = State;

    async fn open(&self, _conn: &Conn) -> (State, Reply) {
        (State::default(), Reply::none())
    }

    async fn on_ping(&self, _state: &mut State, message: datagram::Ping, _conn: &Conn) -> Reply {
        Reply::one(Pong::new(message.cid))
    }

    async fn on_session_create(
        &self,
        state: &mut State,
        message: datagram::SessionCreate,
        _conn: &Conn,
    ) -> Reply {
        let id = format!("session-{}", self.shared.ids.next_number());
        self.sessions().insert(id.clone(), message.content.settings);
        state.current = Some(id.clone());
        let mut content = SessionResponseContent::new(true, ErrorField::Null);
        content.session_id = Some(id.clone());
        let notice = system(message.cid.clone(), &format!("session {id} is ready"));
        Reply::many(vec![
            session_reply(message.cid, content).into(),
            notice.into(),
        ])
    }

    async fn on_session_resume(
        &self,
        state: &mut State,
        message: datagram::SessionResume,
        _conn: &Conn,
    ) -> Reply {
        let id = message.content.session_id;
        if !self.sessions().contains_key(&id) {
            return Reply::one(failure(
                message.cid,
                &format!("session {id} does not exist"),
            ));
        }
        state.current = Some(id);
        Reply::one(session_reply(
            message.cid,
            SessionResponseContent::new(true, ErrorField::Null),
        ))
    }

    async fn on_session_status(
        &self,
        _state: &mut State,
        message: datagram::SessionStatus,
        _conn: &Conn,
    ) -> Reply {
        let id = message.content.session_id;
        let Some(settings) = self.sessions().get(&id).cloned() else {
            return Reply::one(failure(
                message.cid,
                &format!("session {id} does not exist"),
            ));
        };
        let mut content = SessionResponseContent::new(true, ErrorField::Null);
        content.status = Some(SessionState::Idle);
        content.settings = Some(settings);
        Reply::one(session_reply(message.cid, content))
    }

    async fn on_session_destroy(
        &self,
        state: &mut State,
        message: datagram::SessionDestroy,
        _conn: &Conn,
    ) -> Reply {
        let id = message.content.session_id;
        if state.current.as_deref() != Some(id.as_str()) {
            return Reply::one(failure(
                message.cid,
                "only the session in use can be destroyed",
            ));
        }
        self.sessions().remove(&id);
        state.current = None;
        Reply::one(session_reply(
            message.cid,
            SessionResponseContent::new(true, ErrorField::Null),
        ))
    }

    async fn on_chat_request(
        &self,
        state: &mut State,
        message: datagram::ChatRequest,
        _conn: &Conn,
    ) -> Reply {
        // The session in use may have been destroyed by another connection that resumed it.
        let live = state
            .current
            .as_ref()
            .filter(|id| self.sessions().contains_key(id.as_str()));
        let text = match (&state.current, live, message.content.data.decode()) {
            (None, _, _) => Err("no session: create one first".to_string()),
            (Some(id), None, _) => Err(format!("session {id} no longer exists")),
            (Some(_), Some(_), Err(_)) => Err("data is not base64".to_string()),
            (Some(_), Some(_), Ok(bytes)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        };
        let (success, error, answer) = match text {
            Ok(text) => (true, ErrorField::Bool(false), format!("Echo: {text}")),
            Err(why) => (false, ErrorField::String(why), String::new()),
        };
        let content = ChatResponseContent::new(
            success,
            error,
            "assistant".into(),
            true,
            "text".into(),
            Base64Text::encode(answer.as_bytes()),
        );
        Reply::one(ChatResponse::new(message.cid, content))
    }

    async fn on_invalid(&self, _state: &mut State, invalid: Invalid, _conn: &Conn) -> Reply {
        // The document says nothing of bad frames; a system message (from the system, not the
        // agent) tells the client without inventing a message.
        Reply::one(system(
            String::new(),
            &format!("ignored a frame: {invalid}"),
        ))
    }
}
