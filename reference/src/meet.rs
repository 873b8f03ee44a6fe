//! General Bots `/ws/meet`: rooms that participants join and leave, with their join, leave and
//! WebRTC signal messages relayed to the other participants (the reading NOTES.md explains).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use agentwire_generalbots_meet as meet;
use agentwire_generalbots_meet::server::{Conn, Handler, Invalid, Outbox, Problem, Reply};
use agentwire_generalbots_meet::{
    ErrorCode, ErrorMessage, JoinNotice, LeaveNotice, ServerMessage, SignalRelay,
};

use crate::StateLimits;
use crate::support::Ids;

/// The Meet reference server.
#[derive(Debug, Clone, Default)]
pub struct Meet {
    shared: Arc<Shared>,
    limits: StateLimits,
}

#[derive(Debug, Default)]
struct Shared {
    rooms: Mutex<Rooms>,
    ids: Ids,
}

/// Every open room, how many each address opened, and the bytes of room ids and names each
/// address's participants hold.
#[derive(Debug, Default)]
struct Rooms {
    map: HashMap<String, Room>,
    opened_by: HashMap<IpAddr, usize>,
    names_by: HashMap<IpAddr, usize>,
}

/// A room: the address that opened it (whose quota it counts against until it closes), and
/// its participants by id.
#[derive(Debug)]
struct Room {
    opener: IpAddr,
    participants: BTreeMap<String, Participant>,
}

impl Rooms {
    /// Counts `added` more bytes of names against `ip`, and `removed` fewer.
    fn count_names(&mut self, ip: IpAddr, added: usize, removed: usize) {
        let held = self.names_by.entry(ip).or_default();
        *held = (*held + added).saturating_sub(removed);
        if *held == 0 {
            self.names_by.remove(&ip);
        }
    }

    fn remove(&mut self, room_id: &str) {
        if let Some(room) = self.map.remove(room_id)
            && let Some(count) = self.opened_by.get_mut(&room.opener)
        {
            *count -= 1;
            if *count == 0 {
                self.opened_by.remove(&room.opener);
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Participant {
    name: String,
    outbox: Outbox,
    /// The address its room id and name count against.
    ip: IpAddr,
}

/// One connection: its participant id and the rooms it is in.
#[derive(Debug)]
pub struct State {
    id: String,
    rooms: HashSet<String>,
}

impl Meet {
    /// A server with these bounds on its state.
    pub fn with_limits(limits: StateLimits) -> Self {
        Self {
            shared: Arc::default(),
            limits,
        }
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, Rooms> {
        self.shared.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes a participant from a room and tells the others.
    fn leave(&self, room_id: &str, participant: &str) {
        let others: Vec<Outbox> = {
            let mut rooms = self.rooms();
            let Some(room) = rooms.map.get_mut(room_id) else {
                return;
            };
            let Some(gone) = room.participants.remove(participant) else {
                return;
            };
            let others = room
                .participants
                .values()
                .map(|p| p.outbox.clone())
                .collect();
            if room.participants.is_empty() {
                rooms.remove(room_id);
            }
            rooms.count_names(gone.ip, 0, room_id.len() + gone.name.len());
            others
        };
        let mut notice = LeaveNotice::new(room_id.to_string());
        notice.participant_id = Some(participant.to_string());
        let notice: ServerMessage = notice.into();
        for outbox in others {
            let _ = outbox.send(&notice);
        }
    }
}

/// A join refused at a limit. The document has no code for it; joining is subscribing to a
/// room's notices and signals, so SUBSCRIPTION_FAILED.
fn refused(text: String) -> Reply {
    Reply::one(ErrorMessage::new(ErrorCode::SubscriptionFailed, text))
}

fn join_notice(room_id: &str, id: &str, name: &str) -> ServerMessage {
    let mut notice = JoinNotice::new(room_id.to_string(), name.to_string());
    notice.participant_id = Some(id.to_string());
    notice.into()
}

impl Handler for Meet {
    type State = State;

    async fn open(&self, _conn: &Conn) -> (State, Reply) {
        let id = format!("participant-{}", self.shared.ids.next_number());
        (
            State {
                id,
                rooms: HashSet::new(),
            },
            Reply::none(),
        )
    }

    async fn on_join(&self, state: &mut State, message: meet::Join, conn: &Conn) -> Reply {
        let me = join_notice(&message.room_id, &state.id, &message.participant_name);
        let again = state.rooms.contains(&message.room_id);
        if !again && state.rooms.len() >= self.limits.max_rooms_per_connection {
            return refused(format!(
                "Cannot join room: at most {} rooms per connection",
                self.limits.max_rooms_per_connection
            ));
        }
        let ip = conn.peer().ip();
        let (others, present) = {
            let mut rooms = self.rooms();
            let full = match rooms.map.get(&message.room_id) {
                Some(room) => (!again
                    && room.participants.len() >= self.limits.max_participants_per_room)
                    .then_some("it is full"),
                None if rooms.map.len() >= self.limits.max_rooms => Some("the server is full"),
                None if rooms.opened_by.get(&ip).copied().unwrap_or(0)
                    >= self.limits.max_rooms_per_ip =>
                {
                    Some("too many rooms opened from this address")
                }
                None => None,
            };
            // Room ids and names are kept: an address may hold so many bytes of them.
            let before = rooms
                .map
                .get(&message.room_id)
                .and_then(|room| room.participants.get(&state.id))
                .map_or(0, |p| message.room_id.len() + p.name.len());
            let after = message.room_id.len() + message.participant_name.len();
            let held = rooms.names_by.get(&ip).copied().unwrap_or(0);
            let full = full.or_else(|| {
                (held - before + after > self.limits.max_name_bytes_per_ip)
                    .then_some("this address holds too many bytes of room ids and names")
            });
            if let Some(why) = full {
                drop(rooms);
                return refused(format!("Cannot join room: {why}"));
            }
            rooms.count_names(ip, after, before);
            if !rooms.map.contains_key(&message.room_id) {
                *rooms.opened_by.entry(ip).or_default() += 1;
            }
            let room = rooms
                .map
                .entry(message.room_id.clone())
                .or_insert_with(|| Room {
                    opener: ip,
                    participants: BTreeMap::new(),
                });
            let others: Vec<Outbox> = room
                .participants
                .iter()
                .filter(|(id, _)| **id != state.id)
                .map(|(_, p)| p.outbox.clone())
                .collect();
            let present: Vec<ServerMessage> = room
                .participants
                .iter()
                .filter(|(id, _)| **id != state.id)
                .map(|(id, p)| join_notice(&message.room_id, id, &p.name))
                .collect();
            room.participants.insert(
                state.id.clone(),
                Participant {
                    name: message.participant_name.clone(),
                    outbox: conn.outbox(),
                    ip,
                },
            );
            (others, present)
        };
        state.rooms.insert(message.room_id);
        for outbox in others {
            let _ = outbox.send(&me);
        }
        // The joiner learns who is there, and its own id, in the same shape.
        let mut frames = present;
        frames.push(me);
        Reply::many(frames)
    }

    async fn on_leave(&self, state: &mut State, message: meet::Leave, _conn: &Conn) -> Reply {
        if state.rooms.remove(&message.room_id) {
            self.leave(&message.room_id, &state.id);
        }
        Reply::none()
    }

    async fn on_signal(&self, state: &mut State, message: meet::Signal, _conn: &Conn) -> Reply {
        let target = self.rooms().map.get(&message.room_id).and_then(|room| {
            let members = &room.participants;
            members
                .contains_key(&state.id)
                .then(|| members.get(&message.target_id).map(|p| p.outbox.clone()))
                .flatten()
        });
        if let Some(outbox) = target {
            let mut relay = SignalRelay::new(message.room_id, message.target_id, message.signal);
            relay.sender_id = Some(state.id.clone());
            let _ = outbox.send(&relay.into());
        }
        Reply::none()
    }

    async fn on_invalid(&self, _state: &mut State, invalid: Invalid, _conn: &Conn) -> Reply {
        let frame = match &invalid {
            Invalid::NotJson(_) => {
                ErrorMessage::new(ErrorCode::InvalidFormat, "Malformed JSON".into())
            }
            Invalid::Transport(Problem::TooLarge { limit, .. }) => ErrorMessage::new(
                ErrorCode::MessageTooLarge,
                format!("Exceeds {} KB limit", limit / 1024),
            ),
            Invalid::Transport(Problem::RateLimited) => {
                ErrorMessage::new(ErrorCode::RateLimited, "Too many messages".into())
            }
            other => ErrorMessage::new(ErrorCode::InvalidFormat, other.to_string()),
        };
        Reply::one(frame)
    }

    async fn on_close(&self, state: State, _conn: &Conn) {
        for room in &state.rooms {
            self.leave(room, &state.id);
        }
    }
}
