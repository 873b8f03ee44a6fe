//! Arbitrary bytes as text frames: decoded as rixa's `ClientMessage`, then dispatched to
//! the reference server through the generated skeleton (see `src/lib.rs`).

#![no_main]

harness::fuzz_protocol!(
    agentwire_rixa,
    agentwire_reference::rixa::Rixa::default(),
    [harness::at("/ws/"), harness::at("/ws/")],
);
