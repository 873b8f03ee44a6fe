//! Arbitrary bytes as text frames: decoded as datagram's `ClientMessage`, then dispatched to
//! the reference server through the generated skeleton (see `src/lib.rs`).

#![no_main]

harness::fuzz_protocol!(
    agentwire_datagram,
    agentwire_reference::datagram::Datagram::default(),
    [harness::at("/"), harness::at("/")],
);
