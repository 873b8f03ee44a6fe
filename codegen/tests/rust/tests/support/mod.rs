//! Reference servers for the conversations: in-process, on a free loopback port.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use agentwire_client_tests::{Target, client_examples, next_of};
use agentwire_datagram::client::{Event, Reconnect, Stream};
use agentwire_reference::{Options, Running, start, token_for};

/// The repository's `schema/`.
pub fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../schema")
}

/// Starts a protocol's reference server with its documented configuration, changed by
/// `configure`.
pub async fn reference_with(protocol: &str, configure: impl FnOnce(&mut Options)) -> Running {
    let mut options = Options::new(protocol).expect("a known protocol");
    configure(&mut options);
    start(options, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the server starts")
}

/// A protocol's reference server and what a conversation with it needs.
pub async fn reference(protocol: &str) -> (Running, Target) {
    let running = reference_with(protocol, |_| {}).await;
    let target = target(protocol, &running);
    (running, target)
}

/// What a conversation with a running server needs: its URL, a valid and a forged token, the
/// document's examples.
pub fn target(protocol: &str, running: &Running) -> Target {
    Target {
        url: running.url.clone(),
        token: running.token.clone(),
        forged_token: running
            .token
            .as_ref()
            .map(|_| token_for("mallory", "not-the-secret")),
        examples: client_examples(&schema_dir(), protocol),
    }
}

/// The document's example of a client message.
pub fn example(protocol: &str, message: &str) -> serde_json::Value {
    client_examples(&schema_dir(), protocol)
        .into_iter()
        .find(|(name, _)| name == message)
        .map(|(_, frame)| frame)
        .unwrap_or_else(|| panic!("{protocol} has no example of {message}"))
}

/// Reconnection at once: three attempts, 10 to 50 ms apart.
pub fn quick_reconnect() -> Reconnect {
    Reconnect {
        retries: 3,
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        factor: 2.0,
    }
}

/// datagram's reference server closing connections idle for 300 ms (1001, Going Away).
pub async fn idle_closing_datagram() -> Running {
    reference_with("datagram", |options| {
        options.config.idle_timeout = Some(Duration::from_millis(300));
    })
    .await
}

/// Waits for the idle close of a client that reconnects, then for the reopened connection.
pub async fn idle_close_and_reopening<S, M>(events: &mut S)
where
    S: Stream<Item = Event<M>> + Unpin,
{
    let closed = next_of(events, "the idle close", |e| match e {
        Event::Closed(info) => Some(info),
        _ => None,
    })
    .await;
    assert_eq!(
        (closed.code, closed.reconnecting),
        (1001, true),
        "{closed:?}"
    );
    next_of(events, "the reopened connection", |e| {
        matches!(e, Event::Opened).then_some(())
    })
    .await;
}
