//! Outboxes of detached connections: what other tasks queue, and closes that must not be lost.

use agentwire_runtime::server::close_code::TRY_AGAIN_LATER;
use agentwire_runtime::server::{Connection, ConnectionInfo, Gone};

fn info() -> ConnectionInfo {
    ConnectionInfo {
        id: 1,
        peer: "127.0.0.1:1".parse().unwrap(),
        path: "/ws".into(),
        params: Vec::new(),
        query: Vec::new(),
        cookies: Vec::new(),
    }
}

#[test]
fn a_close_is_not_lost_when_the_queue_is_full() {
    let (conn, mut queued) = Connection::<u32>::detached(info(), 1);
    let outbox = conn.outbox();
    outbox.send(&1).unwrap();
    outbox.close(4000, "done");
    assert_eq!(queued.try_next(), Some(Ok("1".to_string())));
    let close = queued.try_next().expect("the close").unwrap_err();
    assert_eq!((close.code, close.reason.as_str()), (4000, "done"));
    assert_eq!(queued.try_next(), None);
}

#[test]
fn a_full_queue_asks_for_a_close_without_a_runtime() {
    // No tokio runtime here: sending to a full queue must neither spawn nor panic.
    let (conn, mut queued) = Connection::<u32>::detached(info(), 1);
    let outbox = conn.outbox();
    outbox.send(&1).unwrap();
    for n in 2..1000 {
        assert_eq!(outbox.send(&n), Err(Gone));
    }
    assert_eq!(queued.try_next(), Some(Ok("1".to_string())));
    let close = queued.try_next().expect("the close").unwrap_err();
    assert_eq!(close.code, TRY_AGAIN_LATER);
    assert_eq!(queued.try_next(), None);
}

#[test]
fn a_close_with_room_in_the_queue_comes_after_what_was_queued() {
    let (conn, mut queued) = Connection::<u32>::detached(info(), 4);
    let outbox = conn.outbox();
    outbox.send(&1).unwrap();
    outbox.close(1000, "bye");
    assert_eq!(queued.try_next(), Some(Ok("1".to_string())));
    assert_eq!(queued.try_next().unwrap().unwrap_err().code, 1000);
    assert_eq!(queued.try_next(), None);
}
