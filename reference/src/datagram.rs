//! datagram: ping, and sessions with create/resume/status/destroy; chat echoes the decoded text
//! back, base64 encoded. Every response carries its request's `cid`.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use agentwire_datagram as datagram;
use agentwire_datagram::server::{Conn, Handler, Invalid, Reply};
use agentwire_datagram::{
    Base64Text, ChatResponse, ChatResponseContent, ErrorField, Pong, SessionResponse,
    SessionResponseContent, SessionState, Settings, SystemMessage, SystemMessageContent,
};

use crate::StateLimits;
use crate::support::random_uuid;

/// The datagram reference server.
#[derive(Debug, Clone, Default)]
pub struct Datagram {
    shared: Arc<Shared>,
    limits: StateLimits,
}

#[derive(Debug, Default)]
struct Shared {
    sessions: Mutex<Sessions>,
}

/// Every live session, by id, and how many each address created. Sessions outlive their
/// connections (a client may resume one later), so at a limit one that no connection is using
/// makes room: at an address's quota, that address's own unused longest; at the server's, the
/// one unused longest of the address that holds the most. A client can only push out its own
/// sessions, or those of whoever holds more than it.
#[derive(Debug, Default)]
struct Sessions {
    map: HashMap<String, Session>,
    per_ip: HashMap<IpAddr, usize>,
    /// Counts uses, to find the one unused longest.
    clock: u64,
}

#[derive(Debug)]
struct Session {
    /// The settings as the client sent them, kept as compact JSON text.
    settings: Box<str>,
    /// The address that created it, whose quota it counts against.
    owner: IpAddr,
    /// Connections whose session in use it is.
    users: usize,
    /// When it was last taken into use.
    used: u64,
}

/// Why a session cannot be created.
enum NoRoom {
    Address,
    Server,
}

impl Sessions {
    /// Makes `id` the session in use instead of `previous`.
    fn switch(&mut self, previous: Option<&str>, id: &str) {
        if previous == Some(id) {
            return;
        }
        if let Some(session) = previous.and_then(|p| self.map.get_mut(p)) {
            session.users -= 1;
        }
        self.clock += 1;
        if let Some(session) = self.map.get_mut(id) {
            session.users += 1;
            session.used = self.clock;
        }
    }

    /// Adds a session created by `owner`, making room under the limits if need be.
    fn insert(&mut self, id: String, session: Session, limits: &StateLimits) -> Result<(), NoRoom> {
        let owner = session.owner;
        if self.per_ip.get(&owner).copied().unwrap_or(0) >= limits.max_sessions_per_ip
            && !self.evict(|s| s.owner == owner)
        {
            return Err(NoRoom::Address);
        }
        while self.map.len() >= limits.max_sessions {
            // Per address, its session unused longest; then that of the address holding most.
            let mut oldest: HashMap<IpAddr, (&String, u64)> = HashMap::new();
            for (id, session) in self.map.iter().filter(|(_, s)| s.users == 0) {
                let entry = oldest.entry(session.owner).or_insert((id, session.used));
                if session.used < entry.1 {
                    *entry = (id, session.used);
                }
            }
            let victim = oldest
                .iter()
                .max_by_key(|(ip, (_, used))| (self.per_ip.get(ip).copied(), Reverse(*used)))
                .map(|(_, (id, _))| (*id).clone());
            let Some(victim) = victim else {
                return Err(NoRoom::Server);
            };
            self.remove(&victim);
        }
        *self.per_ip.entry(owner).or_default() += 1;
        self.map.insert(id, session);
        Ok(())
    }

    /// Drops the session unused longest among those `which` picks that no connection uses;
    /// `false` when there is none.
    fn evict(&mut self, which: impl Fn(&Session) -> bool) -> bool {
        let oldest = self
            .map
            .iter()
            .filter(|(_, s)| s.users == 0 && which(s))
            .min_by_key(|(_, s)| s.used)
            .map(|(id, _)| id.clone());
        match oldest {
            Some(id) => {
                self.remove(&id);
                true
            }
            None => false,
        }
    }

    fn remove(&mut self, id: &str) {
        if let Some(session) = self.map.remove(id)
            && let Some(count) = self.per_ip.get_mut(&session.owner)
        {
            *count -= 1;
            if *count == 0 {
                self.per_ip.remove(&session.owner);
            }
        }
    }
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
    /// A server with these bounds on its state.
    pub fn with_limits(limits: StateLimits) -> Self {
        Self {
            shared: Arc::default(),
            limits,
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
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
        conn: &Conn,
    ) -> Reply {
        let settings = serde_json::to_string(&message.content.settings).unwrap_or_default();
        if settings.len() > self.limits.max_settings_bytes {
            return Reply::one(failure(
                message.cid,
                &format!(
                    "settings of {} bytes: at most {} are kept",
                    settings.len(),
                    self.limits.max_settings_bytes
                ),
            ));
        }
        // Random: a session id is all it takes to resume, and then destroy, a session.
        let id = random_uuid();
        {
            let mut sessions = self.sessions();
            let session = Session {
                settings: settings.into_boxed_str(),
                owner: conn.peer().ip(),
                users: 0,
                used: 0,
            };
            if let Err(no_room) = sessions.insert(id.clone(), session, &self.limits) {
                let why = match no_room {
                    NoRoom::Address => {
                        "too many sessions in use from this address: try again later"
                    }
                    NoRoom::Server => "too many sessions in use: try again later",
                };
                return Reply::one(failure(message.cid, why));
            }
            sessions.switch(state.current.as_deref(), &id);
        }
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
        {
            let mut sessions = self.sessions();
            if !sessions.map.contains_key(&id) {
                return Reply::one(failure(
                    message.cid,
                    &format!("session {id} does not exist"),
                ));
            }
            sessions.switch(state.current.as_deref(), &id);
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
        let settings = self
            .sessions()
            .map
            .get(&id)
            .and_then(|s| serde_json::from_str::<Settings>(&s.settings).ok());
        let Some(settings) = settings else {
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
            .filter(|id| self.sessions().map.contains_key(id.as_str()));
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

    async fn on_close(&self, state: State, _conn: &Conn) {
        if let Some(id) = state.current
            && let Some(session) = self.sessions().map.get_mut(&id)
        {
            session.users -= 1;
        }
    }

    async fn on_invalid(&self, _state: &mut State, invalid: Invalid, _conn: &Conn) -> Reply {
        // The document says nothing of bad frames; a system message (from the system, not the
        // agent) tells the client without inventing a message. Refused by the transport
        // (binary, too large, too fast), the frame was not read: no cid to give.
        Reply::one(system(
            String::new(),
            &format!("ignored a frame: {invalid}"),
        ))
    }

    async fn on_invalid_frame(
        &self,
        _state: &mut State,
        invalid: Invalid,
        text: &str,
        _conn: &Conn,
    ) -> Reply {
        // "Every response carries its request's cid": a frame that names one gets it back, so
        // that a client waiting for that request's answer learns it was refused.
        let cid = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|frame| frame.get("cid")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        Reply::one(system(cid, &format!("ignored a frame: {invalid}")))
    }
}
