//! The crate's README and its examples: what is in the crate (types, `client`, `server`), and a
//! client and a server program that are both `examples/` and the README's doc tests, so that
//! the same code is compiled by `cargo test` (without warnings) and shown to readers.
//!
//! The client example calls the protocol's first request, first streamed request or (for a
//! protocol without requests) first message with the document's own example values, where the
//! generator can write them as Rust; the server example implements every method of `Handler`.

use agentwire_spec::error::Result;
use agentwire_spec::protocol::{AuthMethod, Direction};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use super::client::all_optional;
use super::names::{field_ident, type_ident, variant_ident};
use super::{comment, lib_name, package_name};
use crate::emit::client::{Answer, Plan};
use crate::model::naming::snake_case;
use crate::model::{Message, ProtocolModel, Struct, Ty, TypeKind};

/// The client example's code, without its header.
pub fn client_example(model: &ProtocolModel) -> Result<TokenStream> {
    let lib = format_ident!("{}", lib_name(&model.id));
    let d = &model.description;
    let mut options = quote! { ConnectOptions::new(url) };
    if d.auth.is_some() {
        options = quote! { #options.token(token) };
    }
    for param in &d.endpoint.path_params {
        let (name, example) = (&param.name, &param.example);
        options = quote! { #options.param(#name, #example) };
    }
    let token = d.auth.is_some().then(|| {
        quote! { let token = std::env::var("AGENTWIRE_TOKEN").unwrap_or_default(); }
    });
    let calls = Calls::of(model);
    let mut uses = vec![
        quote! { ConnectOptions },
        quote! { Client },
        quote! { ClientError },
    ];
    let mut body = Vec::new();
    for (message, input) in &calls.requests {
        let method = field_ident(&snake_case(&message.name));
        uses.push(input_ident(message));
        body.push(quote! {
            let reply = client.#method(#input).await?;
            println!("{reply:?}");
        });
    }
    if let Some((message, input)) = &calls.stream {
        let method = field_ident(&snake_case(&message.name));
        uses.extend([input_ident(message), quote! { StreamEvent }]);
        body.push(quote! {
            let mut reply = client.#method(#input).await?;
            while let Some(event) = reply.next().await {
                match event? {
                    StreamEvent::Chunk { text, .. } => print!("{text}"),
                    StreamEvent::End { text, .. } => println!("\nfull text: {text}"),
                    StreamEvent::Message(message) => println!("{message:?}"),
                }
            }
        });
    }
    for (message, input) in &calls.sends {
        let method = field_ident(&snake_case(&message.name));
        uses.push(input_ident(message));
        body.push(quote! { client.#method(#input).await?; });
    }
    uses.push(quote! { StreamExt });
    let subscribe = comment(
        "Everything the server sends (replies, pushes, what it sends unprompted) also comes\nhere, from the moment of subscribing: before connecting, to see a greeting.",
    );
    Ok(quote! {
        use #lib::client::{#(#uses),*};

        #[tokio::main]
        async fn main() -> Result<(), ClientError> {
            let url = std::env::args().nth(1).unwrap_or_else(|| "ws://127.0.0.1:8080".into());
            #token
            let client = Client::new(#options);
            #subscribe
            let mut messages = client.messages();
            tokio::spawn(async move {
                while let Some(message) = messages.next().await {
                    println!("received {}", message.name());
                }
            });
            client.connect().await?;
            #(#body)*
            client.close().await;
            Ok(())
        }
    })
}

/// The server example's code, without its header.
pub fn server_example(model: &ProtocolModel) -> TokenStream {
    let lib = format_ident!("{}", lib_name(&model.id));
    let d = &model.description;
    let first_message = d
        .auth
        .iter()
        .flat_map(|a| &a.methods)
        .find_map(|m| match m {
            AuthMethod::FirstMessage { message, .. } => Some(message.clone()),
            _ => None,
        });
    let mut uses = vec![
        quote! { self },
        quote! { Conn },
        quote! { Handler },
        quote! { Reply },
    ];
    let authentication = d.auth.is_some().then(|| {
        uses.extend([quote! { Credential }, quote! { Refusal }]);
        let check = comment("Check the token here; this example takes any.");
        quote! {
            type Identity = String;

            async fn authenticate(&self, credential: Credential, _conn: &Conn) -> Result<String, Refusal> {
                #check
                Ok(credential.token)
            }

            fn missing_credential(&self, _conn: &Conn) -> Refusal {
                Refusal::close(1008, "a token is required")
            }
        }
    });
    let open = if d.auth.is_some() {
        quote! {
            async fn open(&self, _identity: String, _conn: &Conn) -> ((), Reply) {
                ((), Reply::none())
            }
        }
    } else {
        quote! {
            async fn open(&self, _conn: &Conn) -> ((), Reply) {
                ((), Reply::none())
            }
        }
    };
    let methods = model
        .messages_of(Direction::Client)
        .filter(|m| first_message.as_deref() != Some(m.name.as_str()))
        .enumerate()
        .map(|(index, message)| {
            let method = format_ident!("on_{}", snake_case(&message.name));
            let ty = type_ident(&message.type_name);
            let how = (index == 0).then(|| comment("Answer with `Reply::one(message)`, `Reply::many`, `Reply::stream`."));
            quote! {
                async fn #method(&self, _state: &mut (), _message: #lib::#ty, _conn: &Conn) -> Reply {
                    #how
                    Reply::none()
                }
            }
        });
    let title = &d.title;
    let comment =
        format!(" The {title} server's behaviour: each method answers one client message.");
    quote! {
        use #lib::server::{#(#uses),*};

        #[doc = #comment]
        struct Server;

        impl Handler for Server {
            type State = ();
            #authentication
            #open
            #(#methods)*
        }

        #[tokio::main]
        async fn main() -> std::io::Result<()> {
            let listener = server::TcpListener::bind("127.0.0.1:8080").await?;
            server::serve(Server, listener, server::default_config(), std::future::pending()).await
        }
    }
}

fn input_ident(message: &Message) -> TokenStream {
    let ident = type_ident(&format!("{}Input", message.type_name));
    quote! { #ident }
}

/// The calls of the client example: the first request and the first streamed request that can
/// be written from the document's examples, or the first message when the protocol has no
/// requests.
struct Calls<'a> {
    requests: Vec<(&'a Message, TokenStream)>,
    stream: Option<(&'a Message, TokenStream)>,
    sends: Vec<(&'a Message, TokenStream)>,
}

impl<'a> Calls<'a> {
    fn of(model: &'a ProtocolModel) -> Self {
        let mut calls = Self {
            requests: Vec::new(),
            stream: None,
            sends: Vec::new(),
        };
        let mut first_send = None;
        for message in model.messages_of(Direction::Client) {
            let answer = Answer::of(model, message);
            let wanted = match answer {
                Answer::Single(_) => calls.requests.is_empty(),
                Answer::Streamed { .. } => calls.stream.is_none(),
                Answer::None => first_send.is_none(),
            };
            if !wanted {
                continue;
            }
            let Some(input) = input_expr(model, message) else {
                continue;
            };
            match answer {
                Answer::Single(_) => calls.requests.push((message, input)),
                Answer::Streamed { .. } => calls.stream = Some((message, input)),
                Answer::None => first_send = Some((message, input)),
            }
        }
        if calls.requests.is_empty() && calls.stream.is_none() {
            calls.sends.extend(first_send);
        }
        calls
    }
}

/// `<Message>Input::new(...)` with the document's example values (what the client does not
/// fill in), if the generator can write them.
fn input_expr(model: &ProtocolModel, message: &Message) -> Option<TokenStream> {
    let plan = Plan::of(model, message);
    let example = model
        .examples
        .iter()
        .find(|(example, _)| example.message == message.name)
        .map(|(_, frame)| plan.input_of(frame))
        .unwrap_or_else(|| Value::Object(Default::default()));
    let TypeKind::Struct(structure) = &model.type_def(&message.type_name)?.kind else {
        return None;
    };
    let input = input_ident(message);
    let (args, setters) = struct_args(model, structure, &example, "", &plan, true)?;
    Some(quote! { #input::new(#(#args),*) #(#setters)* })
}

/// The arguments of a constructor and the setters that give the example's values, for an input
/// type (`input`, which has setters and leaves out what the client fills) or a message type.
fn struct_args(
    model: &ProtocolModel,
    structure: &Struct,
    example: &Value,
    pointer: &str,
    plan: &Plan,
    input: bool,
) -> Option<(Vec<TokenStream>, Vec<TokenStream>)> {
    let mut args = Vec::new();
    let mut setters = Vec::new();
    for field in &structure.fields {
        let at = agentwire_spec::union::join(pointer, &field.wire);
        if input && plan.fills(&at).is_some() {
            continue;
        }
        if super::types::fixed_value(model, &field.ty).is_some() && field.required {
            continue;
        }
        let value = example.get(&field.wire);
        if input && plan.fills_below(&at) {
            // A nested input type: made with its own constructor and setters.
            let Ty::Named(name) = &field.ty else {
                return None;
            };
            let TypeKind::Struct(nested) = &model.type_def(name)?.kind else {
                return None;
            };
            let empty = Value::Object(Default::default());
            let (nested_args, nested_setters) =
                struct_args(model, nested, value.unwrap_or(&empty), &at, plan, true)?;
            let ident = type_ident(&format!("{name}Input"));
            let expr = quote! { #ident::new(#(#nested_args),*) #(#nested_setters)* };
            let defaulted = field.required && all_optional(model, plan, nested, &at);
            if !field.required || defaulted {
                if !nested_args.is_empty() || !nested_setters.is_empty() {
                    let setter = setter_ident(&field.wire);
                    setters.push(quote! { .#setter(#expr) });
                }
            } else {
                args.push(expr);
            }
            continue;
        }
        match (field.required, value) {
            (true, Some(value)) => args.push(value_expr(model, &field.ty, value)?),
            (true, None) => return None,
            (false, Some(value)) if input => {
                if let Some(expr) = value_expr(model, &field.ty, value) {
                    let setter = setter_ident(&field.wire);
                    setters.push(quote! { .#setter(#expr) });
                }
            }
            // A message type's optional properties are set after it is made: not in one expression.
            (false, Some(_)) => return None,
            (false, None) => {}
        }
    }
    Some((args, setters))
}

fn setter_ident(wire: &str) -> syn::Ident {
    format_ident!(
        "with_{}",
        field_ident(wire).to_string().trim_start_matches("r#")
    )
}

/// A Rust expression of a JSON value of a type, where one is simple to write.
fn value_expr(model: &ProtocolModel, ty: &Ty, value: &Value) -> Option<TokenStream> {
    let lib = format_ident!("{}", lib_name(&model.id));
    match (ty, value) {
        (Ty::String, Value::String(text)) => Some(quote! { String::from(#text) }),
        (Ty::Bool, Value::Bool(flag)) => Some(quote! { #flag }),
        (Ty::Integer, Value::Number(number)) => {
            let number = number.as_i64()?;
            Some(quote! { #lib::wire::Integer::from(#number) })
        }
        (Ty::Nullable(_), Value::Null) => Some(quote! { None }),
        (Ty::Nullable(inner), value) => {
            let inner = value_expr(model, inner, value)?;
            Some(quote! { Some(#inner) })
        }
        (Ty::Named(name), value) => {
            let ident = type_ident(name);
            match &model.type_def(name)?.kind {
                TypeKind::Alias(inner) => value_expr(model, inner, value),
                TypeKind::StringEnum(values) => {
                    let text = value.as_str().filter(|t| values.iter().any(|v| v == t))?;
                    let variant = variant_ident(text);
                    Some(quote! { #lib::#ident::#variant })
                }
                TypeKind::Struct(structure) => {
                    let plan = Plan {
                        fixed: Vec::new(),
                        fresh: Vec::new(),
                        session: None,
                        needs_session: false,
                    };
                    let (args, _) = struct_args(model, structure, value, "", &plan, false)?;
                    Some(quote! { #lib::#ident::new(#(#args),*) })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The crate's README: what is in it, how to add it, and the examples (doc tests).
pub fn readme(model: &ProtocolModel, client: &str, server: &str) -> String {
    let name = package_name(&model.id);
    let lib = lib_name(&model.id);
    let d = &model.description;
    let list = |direction| {
        model
            .messages_of(direction)
            .map(|m| format!("`{}` ({})", m.type_name, m.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let example = model
        .messages_of(Direction::Client)
        .next()
        .map(|m| m.type_name.clone())
        .unwrap_or_default();
    // With one client message, another is unreachable (and a warning).
    let other = if model.messages_of(Direction::Client).nth(1).is_some() {
        "\n        Ok(other) => println!(\"{}\", other.name()),"
    } else {
        ""
    };
    let version = env!("CARGO_PKG_VERSION");
    let token = if d.auth.is_some() {
        ", which prints a valid token on stderr to pass as `AGENTWIRE_TOKEN`"
    } else {
        ""
    };
    format!(
        r##"<!-- Generated by `cargo xtask codegen` from schema/{id}/. Do not edit. -->
# {name}

Typed Rust messages, a WebSocket client and a server skeleton for the **{title}** protocol
(`{id}`), generated from its JSON Schemas by [agentwire](https://github.com/agentwire/agentwire).

{summary}

| part | feature | what |
|---|---|---|
| types | always | a type per message and shared definition; `ClientMessage` and `ServerMessage`, which decode a frame by its discriminators and check it against its message's schema |
| `client` | `client` | `client::Client`: one async method per client message, taking its `<Message>Input` and returning the typed reply (correlated as the protocol says; a `ReplyStream` where the reply may be streamed); every message the server sends as a stream (`messages()`, `events()`); sessions, timeouts, reconnection with backoff; `ClientError` keeps the close code and the HTTP status of a refused handshake |
| `wss://` | `tls` (with `client`) | the client over TLS (rustls with ring): Mozilla's roots and the certificate authorities given to `ConnectOptions::ca_cert` are trusted; a certificate that is not accepted is a `ClientError::Certificate` naming its `CertificateCause` |
| `server` | `server` | `server::Handler`: one async method per client message; `server::serve` runs it with the documented limits (`server::default_config()`) |

```toml
[dependencies]
{name} = {{ version = "{version}", features = ["client"] }} # "tls" for wss:// too, or "server"
```

## Messages

`ClientMessage` is every frame a client may send: {client_messages}. `ServerMessage` is every
frame the server may send: {server_messages}. A frame decodes exactly when the schema accepts it.
Optional properties are `Option`s, properties that may be `null` are `Option`s too (both for an
optional one that may be `null`), other properties are kept in `extra`, and constrained strings,
numbers and arrays are checked newtypes. `{lib}::wire` holds the runtime's checked types they use
(`wire::Integer`, `wire::ConstraintError`, `wire::DecodeError`).

```rust
use {lib}::ClientMessage;

fn handle(frame: &str) {{
    match ClientMessage::from_json(frame) {{
        Ok(ClientMessage::{example}(message)) => println!("{{message:?}}"),{other}
        Err(error) => eprintln!("rejected: {{error}}"),
    }}
}}

handle(r#"{{"not": "a message"}}"#);
```

## Client

With `features = ["client"]`. The URL is the server's (`ws://host:port`, to which the client
appends the endpoint's path, `{path}`) or the endpoint's own (`ws://host:port{path}`, used as
given). Against the reference server (`cargo run -p agentwire-reference --bin reference --
--protocol {id}`{token}), this is `cargo run --example client --features client`:

```rust,no_run
{client}```

`wss://` needs the feature `tls` (`features = ["tls"]`, which brings `client`): it is left out of
`client` so that a client that only speaks `ws://` (on loopback, behind a proxy that ends TLS, in
tests) builds no TLS stack; without it a `wss://` URL fails at once with a `ClientError::Connect`
that names the feature. Mozilla's roots are trusted. A server whose certificate a private CA
signed, or a self-signed one, needs that CA too:
`ConnectOptions::new("wss://chat.internal").ca_cert(std::fs::read_to_string("ca.pem")?)`. The
name sent (SNI) and checked is the URL's host. A certificate that is not accepted fails `connect`
with `ClientError::Certificate`, whose `cause` says why (`CertificateCause::UnknownIssuer`,
`NotValidForName`, `Expired`, ...) and whose `detail` is rustls's account of it.

## Server

With `features = ["server"]`: implement `server::Handler`, one method per client message (each
answers with a `Reply` of `ServerMessage`s), and serve it. This is
`cargo run --example server --features server`:

```rust,no_run
{server}```
"##,
        id = model.id,
        title = d.title,
        summary = d.summary,
        path = d.endpoint.path,
        client_messages = list(Direction::Client),
        server_messages = list(Direction::Server),
    )
}
