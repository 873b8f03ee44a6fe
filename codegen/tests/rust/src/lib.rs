//! Full conversations of each protocol's generated Rust client with a server that speaks the
//! protocol the way its reference server does: every request and its typed reply, streams,
//! pushes and messages sent unprompted, sessions, the document's own correlation ids, and the
//! refusal of a bad credential as a typed error.
//!
//! The same code runs in the workspace (`tests/conversations.rs`, against in-process reference
//! servers) and from a crate built outside it against the packed crates (`tests/packed.rs` builds
//! `src/` there with the `converse` program): it uses only the generated crates, Tokio and
//! serde_json. A conversation panics, naming what went wrong, when the client or the server
//! misbehaves.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

mod datagram;
mod generalbots;
mod meet;
mod rixa;
mod socializer;

/// The protocols, by id.
pub const PROTOCOLS: [&str; 5] = [
    "rixa",
    "datagram",
    "socializer",
    "generalbots",
    "generalbots-meet",
];

/// The longest a conversation waits for anything.
pub const WAIT: Duration = Duration::from_secs(10);

/// A server to talk to.
#[derive(Debug, Clone)]
pub struct Target {
    /// The endpoint's URL, as the server prints it (`ws://127.0.0.1:PORT/PATH`).
    pub url: String,
    /// A credential the server accepts, for the protocols with authentication.
    pub token: Option<String>,
    /// A credential it refuses (signed with another secret).
    pub forged_token: Option<String>,
    /// The documents' client examples, verbatim: `(message, frame)`.
    pub examples: Vec<(String, Value)>,
}

impl Target {
    /// The token; fails for a protocol without one.
    pub fn token(&self) -> &str {
        self.token.as_deref().expect("this protocol needs a token")
    }

    /// The forged token.
    pub fn forged_token(&self) -> &str {
        self.forged_token
            .as_deref()
            .expect("this protocol needs a forged token")
    }

    /// The origin of the URL (`ws://127.0.0.1:PORT`): the client appends the endpoint's path.
    pub fn origin(&self) -> &str {
        let after_scheme = self.url.find("://").map_or(0, |i| i + 3);
        match self.url[after_scheme..].find('/') {
            Some(slash) => &self.url[..after_scheme + slash],
            None => &self.url,
        }
    }

    /// The document's example of a client message.
    pub fn example(&self, message: &str) -> &Value {
        self.examples
            .iter()
            .find(|(name, _)| name == message)
            .map(|(_, frame)| frame)
            .unwrap_or_else(|| panic!("the document has no example of {message}"))
    }
}

/// The documents' client examples of a protocol, from `schema/<id>/examples/` (JSON files; the
/// annotated `.jsonc` ones are left out).
pub fn client_examples(schema: &Path, protocol: &str) -> Vec<(String, Value)> {
    let folder = schema.join(protocol).join("examples");
    let index: Value = read_json(&folder.join("index.json"));
    let mut examples = Vec::new();
    for entry in index["valid"].as_array().into_iter().flatten() {
        let file = entry["file"].as_str().unwrap_or_default();
        if entry["direction"] != "client" || !file.ends_with(".json") {
            continue;
        }
        let message = entry["message"].as_str().unwrap_or_default().to_string();
        examples.push((message, read_json(&folder.join(file))));
    }
    examples
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Holds a protocol's whole conversation with the server at `target`.
pub async fn converse(protocol: &str, target: &Target) {
    match protocol {
        "rixa" => rixa::conversation(target).await,
        "datagram" => datagram::conversation(target).await,
        "socializer" => socializer::conversation(target).await,
        "generalbots" => generalbots::conversation(target).await,
        "generalbots-meet" => meet::conversation(target).await,
        other => panic!("no conversation for the protocol {other:?}"),
    }
}

/// Awaits something that should happen soon; fails after [`WAIT`].
pub async fn soon<F: Future>(future: F, what: &str) -> F::Output {
    match tokio::time::timeout(WAIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

/// The next item of a stream that `pick` takes; fails when the stream ends or after [`WAIT`].
pub async fn next_of<S, M, T>(stream: &mut S, what: &str, pick: impl Fn(M) -> Option<T>) -> T
where
    S: agentwire_datagram::client::Stream<Item = M> + Unpin,
{
    use agentwire_datagram::client::StreamExt as _;
    soon(
        async {
            while let Some(item) = stream.next().await {
                if let Some(found) = pick(item) {
                    return found;
                }
            }
            panic!("the stream ended before {what}")
        },
        what,
    )
    .await
}
