//! Arbitrary bytes as text frames: decoded as generalbots-meet's `ClientMessage`, then dispatched to
//! the reference server through the generated skeleton (see `src/lib.rs`).

#![no_main]

harness::fuzz_protocol!(
    agentwire_generalbots_meet,
    agentwire_reference::meet::Meet::default(),
    [harness::at("/ws/meet"), harness::at("/ws/meet")],
);
