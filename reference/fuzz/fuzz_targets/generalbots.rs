//! Arbitrary bytes as text frames: decoded as generalbots's `ClientMessage`, then dispatched to
//! the reference server through the generated skeleton (see `src/lib.rs`).

#![no_main]

use harness::Handshake;

harness::fuzz_protocol!(
    agentwire_generalbots,
    agentwire_reference::generalbots::GeneralBots::new(harness::SECRET),
    // Authenticated by the URL, and by a first auth message.
    [
        Handshake {
            path: "/ws",
            query: vec![("token".into(), harness::token())],
            ..Handshake::default()
        },
        harness::at("/ws"),
    ],
);
