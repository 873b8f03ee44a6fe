//! The frame → decode → dispatch path of the reference servers, without sockets.
//!
//! An input is split at `0xFF` bytes (which no UTF-8 text contains) into up to
//! [`MAX_FRAMES`] frames. Each frame goes, as the transport would hand it over, to the
//! protocol's generated `server::Skeleton` (its `App::text`), alternately from two
//! connections so that relays between connections (subscriptions, rooms) run too; a frame that
//! starts with `0xFE` is a transport problem instead (binary, too large, rate limited). Every
//! message the server answers with, and every frame it queues for another connection, must
//! decode as the protocol's `ServerMessage`; a panic anywhere is a crash.

use std::sync::OnceLock;

use agentwire_runtime::server::{App, Connection, ConnectionInfo, Detached, Problem};
use serde::Serialize;

/// The most frames one input is cut into.
pub const MAX_FRAMES: usize = 16;

/// The secret the fuzzed servers check tokens with.
pub const SECRET: &str = "fuzz-secret";

/// The protocol-specific parts of a target.
pub struct Target<A> {
    /// The server under test.
    pub app: A,
    /// Decodes a frame as the protocol's `ServerMessage`.
    pub check: fn(&str) -> Result<(), String>,
    /// The two connections' query parameters and cookies.
    pub handshakes: [Handshake; 2],
}

/// What a connection's handshake carried.
#[derive(Debug, Default, Clone)]
pub struct Handshake {
    pub path: &'static str,
    pub params: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub cookies: Vec<(String, String)>,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        // Timers too: the RIXA reference answers user messages after a while, as a model would.
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
    })
}

/// A token the fuzzed servers accept, valid until 2100 (signed once per process).
pub fn token() -> String {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN
        .get_or_init(|| {
            let claims = serde_json::json!({"sub": "fuzz", "exp": 4_102_444_800u64});
            agentwire_runtime::jwt::sign(&claims, SECRET.as_bytes()).expect("HS256 signs")
        })
        .clone()
}

/// A path template's handshake with nothing else.
pub fn at(path: &'static str) -> Handshake {
    Handshake {
        path,
        ..Handshake::default()
    }
}

/// Defines a fuzz target for one protocol: `fuzz_protocol!(generated_crate, app, [handshake; 2])`.
///
/// Each input is first decoded alone (whatever decodes must encode back to the same message),
/// then fed to `app` through the crate's generated `server::Skeleton` by [`run`], with every
/// frame the server sends checked against the crate's `ServerMessage`.
#[macro_export]
macro_rules! fuzz_protocol {
    ($protocol:ident, $app:expr, $handshakes:expr $(,)?) => {
        libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            if let Ok(text) = std::str::from_utf8(data)
                && let Ok(message) = $protocol::ClientMessage::from_json(text)
            {
                let again = $protocol::ClientMessage::from_json(&message.to_json());
                assert_eq!(again.ok().as_ref(), Some(&message), "{text}");
            }
            let target = $crate::Target {
                app: $protocol::server::Skeleton($app),
                check: |text: &str| {
                    $protocol::ServerMessage::from_json(text)
                        .map(drop)
                        .map_err(|e| e.to_string())
                },
                handshakes: $handshakes,
            };
            $crate::run(&target, data);
        });
    };
}

fn check_all<M: Serialize>(check: fn(&str) -> Result<(), String>, messages: &[M]) {
    for message in messages {
        let text = serde_json::to_string(message).expect("server messages serialise");
        if let Err(error) = check(&text) {
            panic!("the server would send an invalid frame: {error}\n{text}");
        }
    }
}

fn drain(check: fn(&str) -> Result<(), String>, queued: &mut Detached) {
    while let Some(next) = queued.try_next() {
        if let Ok(text) = next
            && let Err(error) = check(&text)
        {
            panic!("the server would relay an invalid frame: {error}\n{text}");
        }
    }
}

/// Feeds one input to the target.
pub fn run<A: App>(target: &Target<A>, data: &[u8]) {
    runtime().block_on(async {
        let app = &target.app;
        let mut conns = Vec::new();
        for (i, handshake) in target.handshakes.iter().enumerate() {
            let info = ConnectionInfo {
                id: i as u64 + 1,
                peer: "127.0.0.1:40000".parse().expect("an address"),
                path: handshake.path.to_string(),
                params: handshake.params.clone(),
                query: handshake.query.clone(),
                cookies: handshake.cookies.clone(),
            };
            let (conn, queued): (Connection<A::Out>, Detached) = Connection::detached(info, 256 * 1024);
            let state = match app.open(&conn).await {
                Ok((state, greeting)) => {
                    let (messages, close) = greeting.collect().await;
                    check_all(target.check, &messages);
                    close.is_none().then_some(state)
                }
                Err(refusal) => {
                    check_all(target.check, &refusal.messages);
                    None
                }
            };
            conns.push((conn, queued, state));
        }
        for (i, frame) in data.split(|b| *b == 0xFF).take(MAX_FRAMES).enumerate() {
            let (conn, _, state) = &mut conns[i % 2];
            let Some(live) = state else { continue };
            let reply = match frame {
                [0xFE, kind, ..] => {
                    let problem = match kind % 3 {
                        0 => Problem::Binary { bytes: frame.len() },
                        1 => Problem::TooLarge {
                            bytes: frame.len() * 1000,
                            limit: 65_536,
                        },
                        _ => Problem::RateLimited,
                    };
                    app.problem(live, problem, conn).await
                }
                _ => {
                    let text = String::from_utf8_lossy(frame).into_owned();
                    app.text(live, text, conn).await
                }
            };
            let (messages, close) = reply.collect().await;
            check_all(target.check, &messages);
            if close.is_some()
                && let Some(state) = state.take()
            {
                app.close(state, conn).await;
            }
            for (_, queued, _) in &mut conns {
                drain(target.check, queued);
            }
        }
        for (conn, _, state) in &mut conns {
            if let Some(state) = state.take() {
                app.close(state, conn).await;
            }
        }
        for (_, queued, _) in &mut conns {
            drain(target.check, queued);
        }
    });
}
