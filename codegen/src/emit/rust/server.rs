//! The server skeleton of a protocol's crate (feature `server`): a `Handler` trait with one
//! async method per client message, and the glue that runs it on `agentwire_runtime::server`.
//!
//! What `protocol.json` says becomes code where it can: where credentials are looked for, how
//! a connection without them is refused (when the document gives a close code), the documented
//! limits as the default configuration, and first-message authentication.

use agentwire_spec::protocol::{AuthMethod, Direction, Outcome, Trigger};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::doc;
use super::names::type_ident;
use crate::model::naming::snake_case;
use crate::model::{Message, ProtocolModel};

/// The `server` module's items.
pub fn server_module(model: &ProtocolModel) -> TokenStream {
    let messages: Vec<&Message> = model.messages_of(Direction::Client).collect();
    let auth = model.description.auth.as_ref();
    let (query, cookie, first_message) = credential_places(model);
    let authenticated = auth.is_some();
    let option_str = |v: Option<&String>| match v {
        Some(v) => quote! { ::std::option::Option::Some(#v) },
        None => quote! { ::std::option::Option::None },
    };
    let query_tokens = option_str(query.as_ref());
    let cookie_tokens = option_str(cookie.as_ref());

    let handler_methods = messages.iter().map(|message| {
        let method = format_ident!("on_{}", snake_case(&message.name));
        let ty = type_ident(&message.type_name);
        let text = model.type_def(&message.type_name).and_then(|d| d.doc.clone()).unwrap_or_default();
        let docs = doc(&format!("A client sent `{}`: {text}", message.name));
        let is_auth_message = first_message.as_ref().is_some_and(|(name, _)| name == &message.name);
        if is_auth_message {
            quote! {
                #docs
                ///
                /// The first one authenticates the connection (see [`Handler::authenticate`]); this
                /// method sees any later one, and by default ignores it.
                fn #method(&self, state: &mut Self::State, message: crate::#ty, conn: &Conn) -> impl ::std::future::Future<Output = Reply> + ::std::marker::Send {
                    let _ = (state, message, conn);
                    async { Reply::none() }
                }
            }
        } else {
            quote! {
                #docs
                fn #method(&self, state: &mut Self::State, message: crate::#ty, conn: &Conn) -> impl ::std::future::Future<Output = Reply> + ::std::marker::Send;
            }
        }
    });
    let dispatch_arms = messages.iter().map(|message| {
        let method = format_ident!("on_{}", snake_case(&message.name));
        let ty = type_ident(&message.type_name);
        quote! { crate::ClientMessage::#ty(message) => handler.#method(state, message, conn).await, }
    });

    let auth_items = authenticated.then(|| {
        let rule = &auth.expect("authenticated").rule.quote;
        let auth_doc = doc(&format!("Checks a credential. The document: \"{rule}\""));
        let missing = missing_credential_default(model);
        quote! {
            /// Who a credential belongs to.
            type Identity: ::std::marker::Send + 'static;

            #auth_doc
            ///
            /// Return the refusal the protocol documents when it is not valid. A credential that
            /// expires (a token's `exp`) should say when with [`Conn::expires_at`]: the transport
            /// then closes the connection with 1008 (Policy Violation) when it does.
            fn authenticate(&self, credential: ::agentwire_runtime::server::Credential, conn: &Conn) -> impl ::std::future::Future<Output = ::std::result::Result<Self::Identity, Refusal>> + ::std::marker::Send;

            #missing
        }
    });
    let open_signature = if authenticated {
        quote! { fn open(&self, identity: Self::Identity, conn: &Conn) -> impl ::std::future::Future<Output = (Self::State, Reply)> + ::std::marker::Send; }
    } else {
        quote! { fn open(&self, conn: &Conn) -> impl ::std::future::Future<Output = (Self::State, Reply)> + ::std::marker::Send; }
    };
    let unprompted: Vec<String> = model
        .description
        .unprompted
        .iter()
        .map(|u| {
            let when = match u.when {
                agentwire_spec::protocol::UnpromptedWhen::OnConnect => "on connect",
                agentwire_spec::protocol::UnpromptedWhen::AnyTime => "at any time",
            };
            format!("`{}` ({when})", u.message)
        })
        .collect();
    let open_doc = doc(&format!(
        "A connection is open{}: its state, and what the server sends first.{}",
        if authenticated {
            " and authenticated"
        } else {
            ""
        },
        if unprompted.is_empty() {
            String::new()
        } else {
            format!(
                " The document has the server send {} unprompted.",
                unprompted.join(", ")
            )
        }
    ));

    let (state_type, app_open, app_text, app_problem, app_close) = glue(
        authenticated,
        first_message.as_ref(),
        &dispatch_arms.collect::<Vec<_>>(),
    );
    let config = default_config(model);
    let protocol_title = &model.description.title;
    let module_doc = format!(
        " The server skeleton of the {protocol_title} protocol: implement [`Handler`] (one method per client message) and [`serve`] it. The runtime enforces the limits of [`default_config`]."
    );
    quote! {
        #![doc = #module_doc]

        pub use ::agentwire_runtime::server::{Credential, CredentialSpec, Invalid, Problem, Server, ServerConfig, ServerStats, TcpListener};

        /// A connection of this protocol.
        pub type Conn = ::agentwire_runtime::server::Connection<crate::ServerMessage>;
        /// What the server sends in answer: nothing, messages, a stream, and maybe a close.
        pub type Reply = ::agentwire_runtime::server::Reply<crate::ServerMessage>;
        /// How a connection is refused: messages, then a close.
        pub type Refusal = ::agentwire_runtime::server::Refusal<crate::ServerMessage>;
        /// A handle that sends to a connection from anywhere.
        pub type Outbox = ::agentwire_runtime::server::Outbox<crate::ServerMessage>;

        /// Where the protocol looks for a credential in the handshake.
        pub const CREDENTIALS: CredentialSpec = CredentialSpec { query: #query_tokens, cookie: #cookie_tokens };

        #config

        /// The protocol's behaviour: one method per client message, each answering with a
        /// [`Reply`] built from the generated types.
        pub trait Handler: ::std::marker::Send + ::std::marker::Sync + 'static {
            /// What the server keeps per connection.
            type State: ::std::marker::Send + 'static;

            #auth_items

            #open_doc
            #open_signature

            #(#handler_methods)*

            /// A frame that is no message of this protocol (not JSON, an unknown type, a
            /// missing field) or that the transport refused (binary, too large, too fast).
            /// By default nothing is sent.
            fn on_invalid(&self, state: &mut Self::State, invalid: Invalid, conn: &Conn) -> impl ::std::future::Future<Output = Reply> + ::std::marker::Send {
                let _ = (state, invalid, conn);
                async { Reply::none() }
            }

            /// A text frame that is no message of this protocol, with its text (to read a
            /// correlation id from, say). By default [`Handler::on_invalid`].
            fn on_invalid_frame(&self, state: &mut Self::State, invalid: Invalid, text: &str, conn: &Conn) -> impl ::std::future::Future<Output = Reply> + ::std::marker::Send {
                let _ = text;
                self.on_invalid(state, invalid, conn)
            }

            /// The connection is over.
            fn on_close(&self, state: Self::State, conn: &Conn) -> impl ::std::future::Future<Output = ()> + ::std::marker::Send {
                let _ = (state, conn);
                async {}
            }
        }

        /// Runs a [`Handler`] on the runtime: decodes each frame into a
        /// [`ClientMessage`](crate::ClientMessage) and calls the handler's method for it.
        #[derive(Debug)]
        pub struct Skeleton<H>(pub H);

        #state_type

        impl<H: Handler> ::agentwire_runtime::server::App for Skeleton<H> {
            type Out = crate::ServerMessage;
            type State = Stage<H::State>;

            #app_open
            #app_text
            #app_problem
            #app_close
        }

        /// A server of a handler at the protocol's endpoint ([`ENDPOINT_PATH`](crate::ENDPOINT_PATH)),
        /// ready to [run](Server::run); its [`stats`](Server::stats) read what it holds while it does.
        /// A configuration that cannot work is an error of kind `InvalidInput`.
        pub fn server<H: Handler>(handler: H, listener: TcpListener, config: ServerConfig) -> ::std::io::Result<Server<Skeleton<H>>> {
            Server::new(listener, crate::ENDPOINT_PATH, Skeleton(handler), config)
        }

        /// Serves a handler at the protocol's endpoint ([`ENDPOINT_PATH`](crate::ENDPOINT_PATH))
        /// until `shutdown` completes.
        pub async fn serve<H: Handler>(handler: H, listener: TcpListener, config: ServerConfig, shutdown: impl ::std::future::Future<Output = ()>) -> ::std::io::Result<()> {
            server(handler, listener, config)?.run(shutdown).await
        }
    }
}

/// The query parameter, cookie and first message (with the pointer of its token) that carry
/// credentials.
fn credential_places(
    model: &ProtocolModel,
) -> (Option<String>, Option<String>, Option<(String, String)>) {
    let (mut query, mut cookie, mut first) = (None, None, None);
    for method in model.description.auth.iter().flat_map(|a| &a.methods) {
        match method {
            AuthMethod::QueryParameter { name, .. } => query = Some(name.clone()),
            AuthMethod::Cookie { name, .. } => cookie = Some(name.clone()),
            AuthMethod::FirstMessage {
                message, pointer, ..
            } => first = Some((message.clone(), pointer.clone())),
        }
    }
    (query, cookie, first)
}

/// `missing_credential`, with a default when the document closes the connection for it. With
/// first-message authentication it also refuses a connection whose first message does not come
/// within the configuration's `auth_timeout`.
fn missing_credential_default(model: &ProtocolModel) -> TokenStream {
    let reaction = model
        .description
        .reactions
        .iter()
        .find(|r| r.trigger == Trigger::AuthMissing);
    let close = reaction.and_then(|r| {
        r.outcomes.iter().find_map(|o| match o {
            Outcome::Close { codes } => Some(codes.first().copied().unwrap_or(1008)),
            Outcome::Reply { .. } => None,
        })
    });
    let quote_text = reaction.map(|r| r.rule.quote.clone()).unwrap_or_default();
    let first_message = credential_places(model).2.is_some();
    let docs = doc(&format!(
        "No credential was presented{}. The document: \"{quote_text}\"",
        if first_message {
            ": none in the handshake and a first message that is not one, or no first message within the configuration's `auth_timeout`"
        } else {
            ""
        }
    ));
    match close {
        Some(code) => {
            let code = Literal::u16_unsuffixed(code);
            quote! {
                #docs
                ///
                /// By default the connection is closed with the code the document gives.
                fn missing_credential(&self, conn: &Conn) -> Refusal {
                    let _ = conn;
                    Refusal::close(#code, "missing credentials")
                }
            }
        }
        None => quote! {
            #docs
            fn missing_credential(&self, conn: &Conn) -> Refusal;
        },
    }
}

/// The documented limits as a configuration.
fn default_config(model: &ProtocolModel) -> TokenStream {
    let limits = &model.description.limits;
    let mut settings = Vec::new();
    let mut notes = Vec::new();
    if let Some(limit) = &limits.max_message_bytes {
        let bytes = Literal::usize_unsuffixed(limit.value as usize);
        settings.push(quote! { config = config.with_max_message_bytes(#bytes); });
        notes.push(format!(
            "messages up to {} bytes (\"{}\")",
            limit.value, limit.rule.quote
        ));
    }
    if let Some(limit) = &limits.max_connections_per_ip {
        let count = Literal::usize_unsuffixed(limit.value as usize);
        settings
            .push(quote! { config.max_connections_per_ip = ::std::option::Option::Some(#count); });
        notes.push(format!("{} connections per IP address", limit.value));
    }
    if let Some(limit) = &limits.idle_timeout_seconds {
        let seconds = Literal::u64_unsuffixed(limit.value);
        settings.push(quote! { config.idle_timeout = ::std::option::Option::Some(::std::time::Duration::from_secs(#seconds)); });
        notes.push(format!("an idle timeout of {} s", limit.value));
    }
    if let Some(limit) = &limits.ping_interval_seconds {
        let seconds = Literal::u64_unsuffixed(limit.value);
        settings.push(quote! { config.ping_interval = ::std::option::Option::Some(::std::time::Duration::from_secs(#seconds)); });
        notes.push(format!("a ping every {} s", limit.value));
    }
    let text = if notes.is_empty() {
        "The runtime's defaults: the document states no limits.".to_string()
    } else {
        format!(
            "The documented limits: {}. Rate limiting{} has no documented amounts and is off until configured.",
            notes.join(", "),
            if limits.rate_limit.is_some() {
                " (documented)"
            } else {
                ""
            }
        )
    };
    let docs = doc(&text);
    let body = if settings.is_empty() {
        quote! { ServerConfig::default() }
    } else {
        quote! {
            let mut config = ServerConfig::default();
            #(#settings)*
            config
        }
    };
    quote! {
        #docs
        pub fn default_config() -> ServerConfig {
            #body
        }
    }
}

/// The connection stages and the `App` methods, for the protocol's kind of authentication.
fn glue(
    authenticated: bool,
    first_message: Option<&(String, String)>,
    dispatch: &[TokenStream],
) -> (
    TokenStream,
    TokenStream,
    TokenStream,
    TokenStream,
    TokenStream,
) {
    let stage = quote! {
        /// Where a connection stands.
        #[derive(Debug)]
        pub enum Stage<S> {
            /// Waiting for the first message to carry the credential.
            AwaitingCredential,
            /// Open, with the handler's state.
            Open(S),
        }
    };
    let open_with_identity = quote! {
        let (state, reply) = self.0.open(identity, conn).await;
        ::std::result::Result::Ok((Stage::Open(state), reply))
    };
    let app_open = match (authenticated, first_message.is_some()) {
        (false, _) => quote! {
            async fn open(&self, conn: &Conn) -> ::std::result::Result<(Self::State, Reply), Refusal> {
                let (state, reply) = self.0.open(conn).await;
                ::std::result::Result::Ok((Stage::Open(state), reply))
            }
        },
        (true, first) => {
            let without = if first {
                quote! { ::std::result::Result::Ok((Stage::AwaitingCredential, Reply::none())) }
            } else {
                quote! { ::std::result::Result::Err(self.0.missing_credential(conn)) }
            };
            quote! {
                async fn open(&self, conn: &Conn) -> ::std::result::Result<(Self::State, Reply), Refusal> {
                    match conn.credential(&CREDENTIALS) {
                        ::std::option::Option::Some(credential) => {
                            let identity = self.0.authenticate(credential, conn).await?;
                            #open_with_identity
                        }
                        ::std::option::Option::None => #without,
                    }
                }
            }
        }
    };
    let decode_and_dispatch = quote! {
        let message = match crate::ClientMessage::from_json(&text) {
            ::std::result::Result::Ok(message) => message,
            ::std::result::Result::Err(error) => return handler.on_invalid_frame(state, Invalid::from(error), &text, conn).await,
        };
        match message {
            #(#dispatch)*
        }
    };
    let app_text = match first_message {
        Some((message, pointer)) => {
            quote! {
                async fn text(&self, stage: &mut Self::State, text: ::std::string::String, conn: &Conn) -> Reply {
                    let handler = &self.0;
                    let state = match stage {
                        Stage::Open(state) => state,
                        Stage::AwaitingCredential => {
                            // The first message must carry the credential.
                            let token = ::serde_json::from_str::<::serde_json::Value>(&text)
                                .ok()
                                .filter(|value| crate::ClientMessage::from_value(value.clone()).is_ok_and(|m| m.name() == #message))
                                .and_then(|value| value.pointer(#pointer).and_then(::serde_json::Value::as_str).map(str::to_owned));
                            let refusal = match token {
                                ::std::option::Option::Some(token) => {
                                    let credential = Credential { token, via: ::agentwire_runtime::server::CredentialSource::FirstMessage };
                                    match handler.authenticate(credential, conn).await {
                                        ::std::result::Result::Ok(identity) => {
                                            let (state, reply) = handler.open(identity, conn).await;
                                            *stage = Stage::Open(state);
                                            return reply;
                                        }
                                        ::std::result::Result::Err(refusal) => refusal,
                                    }
                                }
                                ::std::option::Option::None => handler.missing_credential(conn),
                            };
                            return Reply::many(refusal.messages).then_close(refusal.close.code, refusal.close.reason);
                        }
                    };
                    #decode_and_dispatch
                }
            }
        }
        None => quote! {
            async fn text(&self, stage: &mut Self::State, text: ::std::string::String, conn: &Conn) -> Reply {
                let handler = &self.0;
                let Stage::Open(state) = stage else { return Reply::none() };
                #decode_and_dispatch
            }
        },
    };
    // A refused frame (binary, too large, too fast) that should have carried the credential is
    // refused as a missing credential is, the documented way. Only first-message protocols
    // wait for a credential; the others are open from the start.
    let awaiting_problem = if first_message.is_some() {
        quote! {
            Stage::AwaitingCredential => {
                let refusal = self.0.missing_credential(conn);
                Reply::many(refusal.messages).then_close(refusal.close.code, refusal.close.reason)
            }
        }
    } else {
        quote! {
            Stage::AwaitingCredential => Reply::none().then_close(1008, "credentials expected"),
        }
    };
    let app_problem = quote! {
        async fn problem(&self, stage: &mut Self::State, problem: Problem, conn: &Conn) -> Reply {
            match stage {
                Stage::Open(state) => self.0.on_invalid(state, Invalid::Transport(problem), conn).await,
                #awaiting_problem
            }
        }
    };
    // A connection that must authenticate with its first message and never sends it is refused
    // after the configuration's `auth_timeout`, as a missing credential is.
    let auth_timeout = first_message.is_some().then(|| {
        quote! {
            fn awaiting_credential(&self, stage: &Self::State) -> bool {
                ::std::matches!(stage, Stage::AwaitingCredential)
            }

            async fn auth_timed_out(&self, stage: &mut Self::State, conn: &Conn) -> Reply {
                let _ = stage;
                let refusal = self.0.missing_credential(conn);
                Reply::many(refusal.messages).then_close(refusal.close.code, refusal.close.reason)
            }
        }
    });
    let app_close = quote! {
        async fn close(&self, stage: Self::State, conn: &Conn) {
            if let Stage::Open(state) = stage {
                self.0.on_close(state, conn).await;
            }
        }

        #auth_timeout
    };
    (stage, app_open, app_text, app_problem, app_close)
}
