//! The generated unions of every protocol, behind one function type, for the tests.

use agentwire_spec::protocol::Direction;
use serde_json::Value;

/// Decodes a frame with a protocol's generated union, returning the message name and the
/// re-encoded value.
pub type Decode = fn(Value) -> Result<(&'static str, Value), String>;

macro_rules! decoder {
    ($union:path) => {{
        fn decode(value: Value) -> Result<(&'static str, Value), String> {
            use $union as Union;
            let message = Union::from_value(value).map_err(|e| e.to_string())?;
            Ok((message.name(), message.to_value()))
        }
        decode as Decode
    }};
}

/// The generated unions of every protocol (the synthetic one included) and direction.
pub fn decoders() -> Vec<(&'static str, Direction, Decode)> {
    vec![
        (
            "rixa",
            Direction::Client,
            decoder!(agentwire_rixa::ClientMessage),
        ),
        (
            "rixa",
            Direction::Server,
            decoder!(agentwire_rixa::ServerMessage),
        ),
        (
            "datagram",
            Direction::Client,
            decoder!(agentwire_datagram::ClientMessage),
        ),
        (
            "datagram",
            Direction::Server,
            decoder!(agentwire_datagram::ServerMessage),
        ),
        (
            "socializer",
            Direction::Client,
            decoder!(agentwire_socializer::ClientMessage),
        ),
        (
            "socializer",
            Direction::Server,
            decoder!(agentwire_socializer::ServerMessage),
        ),
        (
            "generalbots",
            Direction::Client,
            decoder!(agentwire_generalbots::ClientMessage),
        ),
        (
            "generalbots",
            Direction::Server,
            decoder!(agentwire_generalbots::ServerMessage),
        ),
        (
            "generalbots-meet",
            Direction::Client,
            decoder!(agentwire_generalbots_meet::ClientMessage),
        ),
        (
            "generalbots-meet",
            Direction::Server,
            decoder!(agentwire_generalbots_meet::ServerMessage),
        ),
        (
            "synthetic",
            Direction::Client,
            decoder!(agentwire_synthetic::ClientMessage),
        ),
        (
            "synthetic",
            Direction::Server,
            decoder!(agentwire_synthetic::ServerMessage),
        ),
    ]
}

/// The decoder of one protocol and direction.
pub fn decoder_for(id: &str, direction: Direction) -> Decode {
    decoders()
        .into_iter()
        .find(|(i, d, _)| *i == id && *d == direction)
        .map(|(_, _, f)| f)
        .expect("a decoder per protocol and direction")
}
