//! Arbitrary bytes as text frames: decoded as rixa's `ClientMessage`, then dispatched to
//! the reference server through the generated skeleton (see `src/lib.rs`).

#![no_main]

use std::sync::LazyLock;

use agentwire_rixa::server::Skeleton;
use agentwire_rixa::{ClientMessage, ServerMessage};
use harness::{Handshake, Target};
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
static TOKEN: LazyLock<String> = LazyLock::new(harness::token);

fn check(text: &str) -> Result<(), String> {
    ServerMessage::from_json(text)
        .map(drop)
        .map_err(|e| e.to_string())
}

fuzz_target!(|data: &[u8]| {
    // Decoding alone: whatever decodes encodes back to the same message.
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(message) = ClientMessage::from_json(text)
    {
        let again = ClientMessage::from_json(&message.to_json());
        assert_eq!(again.ok().as_ref(), Some(&message), "{text}");
    }
    let target = Target {
        app: Skeleton(agentwire_reference::rixa::Rixa::default()),
        check,
        handshakes: [
            Handshake {
                path: "/ws/",
                ..Handshake::default()
            },
            Handshake {
                path: "/ws/",
                ..Handshake::default()
            },
        ],
    };
    harness::run(&target, data);
});
