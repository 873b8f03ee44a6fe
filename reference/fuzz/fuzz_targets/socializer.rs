//! Arbitrary bytes as text frames: decoded as socializer's `ClientMessage`, then dispatched to
//! the reference server through the generated skeleton (see `src/lib.rs`).

#![no_main]

use harness::Handshake;

harness::fuzz_protocol!(
    agentwire_socializer,
    agentwire_reference::socializer::Socializer::new(harness::SECRET),
    // The token in the query, and in the cookie.
    [
        Handshake {
            path: "/ws/ai/ai-chat/fuzz",
            params: vec![("client_id".into(), "fuzz".into())],
            query: vec![("token".into(), harness::token())],
            ..Handshake::default()
        },
        Handshake {
            path: "/ws/ai/ai-chat/fuzz",
            params: vec![("client_id".into(), "fuzz".into())],
            cookies: vec![("access_token".into(), harness::token())],
            ..Handshake::default()
        },
    ],
);
