//! The typed client of a protocol's crate (feature `client`): one async method per client
//! message, with an input type that leaves out what the client fills in, returning the typed
//! reply; the protocol's description for `agentwire_runtime::client`, which does the rest.
//!
//! What a method returns follows `protocol.json` (see `emit::client`): a request answered by one
//! message returns it (an enum of the messages when several may answer), a request whose answer
//! may be streamed returns a `ReplyStream`, and any other message is only sent. The same names
//! (`Client`, `connect`, `<Message>Input`, the core's methods) are generated in every crate.

use std::collections::{BTreeMap, BTreeSet};

use agentwire_spec::error::{Error, Result};
use agentwire_spec::protocol::{AuthMethod, Direction, SessionOrigin, StreamReply};
use agentwire_spec::union::join;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use super::names::{field_ident, type_ident};
use super::types::fixed_value;
use super::{doc, rust_ty_in};
use crate::emit::client::{Answer, Fill, FreshId, Plan, failing_errors};
use crate::model::naming::snake_case;
use crate::model::{Message, ProtocolModel, Struct, Ty, TypeKind};

/// Methods of `Client` that generated message methods must not take the names of.
const CORE_METHODS: &[&str] = &[
    "new",
    "connect",
    "close",
    "is_connected",
    "session",
    "use_session",
    "events",
    "messages",
    "options",
];

/// Names the client module defines or re-exports, which input and reply types must not take.
const MODULE_NAMES: &[&str] = &[
    "AuthVia",
    "Client",
    "ClientError",
    "CloseInfo",
    "ConnectOptions",
    "Event",
    "Events",
    "FrameError",
    "Messages",
    "Never",
    "Reconnect",
    "ReplyStream",
    "STREAM_BUFFER",
    "Stream",
    "StreamEvent",
    "StreamExt",
    "StreamResult",
    "Wire",
    "rt",
];

/// The `client` module's items.
pub fn client_module(model: &ProtocolModel) -> Result<TokenStream> {
    let mut names: BTreeSet<String> = MODULE_NAMES.iter().map(|s| s.to_string()).collect();
    let mut methods_taken: BTreeSet<String> = CORE_METHODS.iter().map(|s| s.to_string()).collect();
    let mut replies = Replies::default();
    let mut inputs = Vec::new();
    let mut methods = Vec::new();
    for message in model.messages_of(Direction::Client) {
        let plan = Plan::of(model, message);
        let def = model
            .type_def(&message.type_name)
            .expect("messages have types");
        let TypeKind::Struct(structure) = &def.kind else {
            unreachable!("the model checks that messages are objects")
        };
        let method = method_name(&message.name, &mut methods_taken, model)?;
        let input = Input {
            model,
            plan: &plan,
            method: &method,
            message: &message.name,
        };
        let input_name = input.emit(&message.type_name, structure, "", &mut inputs, &mut names)?;
        methods.push(client_method(
            model,
            message,
            &method,
            &input_name,
            &mut replies,
            &mut names,
        )?);
    }
    let reply_items = replies.items.values();
    let from_message = replies.single_types.iter().map(|type_name| {
        let ty = type_ident(type_name);
        quote! {
            impl rt::FromMessage<crate::ServerMessage> for crate::#ty {
                #[allow(unreachable_patterns)]
                fn from_message(message: crate::ServerMessage) -> ::std::result::Result<Self, crate::ServerMessage> {
                    match message {
                        crate::ServerMessage::#ty(message) => ::std::result::Result::Ok(message),
                        other => ::std::result::Result::Err(other),
                    }
                }
            }
        }
    });
    let spec = spec_static(model);
    let title = &model.description.title;
    let module_doc = format!(
        " The typed client of the {title} protocol: [`Client`] has one async method per client message, each taking its `<Message>Input` (the message without what the client fills in) and returning the typed reply. See `agentwire_runtime::client` for how it connects, correlates, streams and reconnects."
    );
    let client_doc = doc(&format!(
        "A {title} client. Create it with [`Client::new`], subscribe to its [`Client::events`] or [`Client::messages`] if the server speaks first, then [`Client::connect`]; or use [`connect`].\n\nEvery method fails with a [`ClientError`]: [`ClientError::close_code`] and [`ClientError::http_status`] say how a connection was refused or lost."
    ));
    Ok(quote! {
        #![doc = #module_doc]

        pub use ::agentwire_runtime::client::{
            AuthVia, CertificateCause, ClientError, CloseInfo, ConnectOptions, Event, Events,
            FrameError, Messages, Never, Reconnect, ReplyStream, STREAM_BUFFER, Stream,
            StreamEvent, StreamExt, StreamResult,
        };

        use ::agentwire_runtime::client as rt;

        #spec

        /// The protocol, for the client core.
        #[derive(Debug)]
        enum Wire {}

        impl rt::Protocol for Wire {
            type Incoming = crate::ServerMessage;

            fn spec() -> &'static rt::ProtocolSpec {
                &SPEC
            }

            fn decode(value: ::serde_json::Value) -> ::std::result::Result<crate::ServerMessage, ::agentwire_runtime::wire::DecodeError> {
                crate::ServerMessage::from_value(value)
            }

            fn name(message: &crate::ServerMessage) -> &'static str {
                message.name()
            }

            fn check(value: ::serde_json::Value) -> ::std::result::Result<(&'static str, ::serde_json::Value), ::agentwire_runtime::wire::DecodeError> {
                crate::ClientMessage::from_value(value).map(|message| (message.name(), message.to_value()))
            }
        }

        #(#reply_items)*

        #(#from_message)*

        #(#inputs)*

        #client_doc
        #[derive(Debug)]
        pub struct Client {
            core: rt::ClientCore<Wire>,
        }

        impl Client {
            /// A client that is not connected yet.
            pub fn new(options: ConnectOptions) -> Self {
                Self { core: rt::ClientCore::new(options) }
            }

            /// Opens the connection and sends the credential. Fails with
            /// [`ClientError::Refused`] (the HTTP status of a refused handshake),
            /// [`ClientError::Certificate`] (a `wss://` server's certificate not trusted) or
            /// [`ClientError::Connect`].
            pub async fn connect(&self) -> ::std::result::Result<(), ClientError> {
                self.core.connect().await
            }

            /// Closes the connection and stops reconnecting.
            pub async fn close(&self) {
                self.core.close().await
            }

            /// Whether the connection is open.
            pub fn is_connected(&self) -> bool {
                self.core.is_connected()
            }

            /// The current session's id, once the server has announced or granted one.
            pub fn session(&self) -> ::std::option::Option<::serde_json::Value> {
                self.core.session()
            }

            /// Uses a session id learnt elsewhere (to resume one, say), or none.
            pub fn use_session(&self, id: ::std::option::Option<::serde_json::Value>) {
                self.core.use_session(id)
            }

            /// Every event from now on: opens, closes, valid messages, invalid frames.
            pub fn events(&self) -> Events<crate::ServerMessage> {
                self.core.events()
            }

            /// Every valid message from now on: replies, pushes, and what the server sends
            /// unprompted.
            pub fn messages(&self) -> Messages<crate::ServerMessage> {
                self.core.messages()
            }

            /// The options it connects with.
            pub fn options(&self) -> &ConnectOptions {
                self.core.options()
            }

            #(#methods)*
        }

        /// Creates a client and connects it.
        pub async fn connect(options: ConnectOptions) -> ::std::result::Result<Client, ClientError> {
            let client = Client::new(options);
            client.connect().await?;
            ::std::result::Result::Ok(client)
        }
    })
}

/// The method name of a client message: its snake_case name, `_message` added where the core
/// has a method of that name.
fn method_name(
    message: &str,
    taken: &mut BTreeSet<String>,
    model: &ProtocolModel,
) -> Result<Ident> {
    let mut name = snake_case(message);
    if taken.contains(&name) {
        name.push_str("_message");
    }
    if !taken.insert(name.clone()) {
        return Err(Error::message(format!(
            "{}: two client methods would be named {name}; rename a message",
            model.id
        )));
    }
    Ok(field_ident(&name))
}

/// Takes a type name of the client module, or fails naming the clash.
fn take_name(name: &str, taken: &mut BTreeSet<String>, model: &ProtocolModel) -> Result<()> {
    if !taken.insert(name.to_string()) {
        return Err(Error::message(format!(
            "{}: the client module would define {name} twice; rename a type or message",
            model.id
        )));
    }
    Ok(())
}

/// The reply types: an enum for each set of several messages that may answer, and the message
/// types that answer alone.
#[derive(Default)]
struct Replies {
    items: BTreeMap<String, TokenStream>,
    single_types: BTreeSet<String>,
}

impl Replies {
    /// The type of a reply that is one of these messages: the message's type, an enum of
    /// them, or [`Never`] for none.
    fn of(
        &mut self,
        model: &ProtocolModel,
        names: &[&str],
        taken: &mut BTreeSet<String>,
    ) -> Result<TokenStream> {
        let messages: Vec<&Message> = names.iter().filter_map(|n| model.message(n)).collect();
        match messages.as_slice() {
            [] => Ok(quote! { Never }),
            [one] => {
                self.single_types.insert(one.type_name.clone());
                let ty = type_ident(&one.type_name);
                Ok(quote! { crate::#ty })
            }
            several => {
                let name = several
                    .iter()
                    .map(|m| m.type_name.as_str())
                    .collect::<Vec<_>>()
                    .join("Or");
                let ident = type_ident(&name);
                if let std::collections::btree_map::Entry::Vacant(entry) = self.items.entry(name) {
                    take_name(entry.key(), taken, model)?;
                    entry.insert(reply_enum(model, &ident, several));
                }
                Ok(quote! { #ident })
            }
        }
    }
}

/// An enum of the messages that may answer a request.
fn reply_enum(model: &ProtocolModel, ident: &Ident, messages: &[&Message]) -> TokenStream {
    let listed: Vec<String> = messages.iter().map(|m| format!("`{}`", m.name)).collect();
    let docs = doc(&format!("A reply that is one of {}.", listed.join(", ")));
    let variants: Vec<Ident> = messages.iter().map(|m| type_ident(&m.type_name)).collect();
    let variant_docs = messages.iter().map(|m| doc(model.message_doc(m)));
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum #ident {
            #( #variant_docs #variants(crate::#variants), )*
        }

        impl rt::FromMessage<crate::ServerMessage> for #ident {
            #[allow(unreachable_patterns)]
            fn from_message(message: crate::ServerMessage) -> ::std::result::Result<Self, crate::ServerMessage> {
                match message {
                    #( crate::ServerMessage::#variants(message) => ::std::result::Result::Ok(Self::#variants(message)), )*
                    other => ::std::result::Result::Err(other),
                }
            }
        }
    }
}

/// One method of the client.
fn client_method(
    model: &ProtocolModel,
    message: &Message,
    method: &Ident,
    input: &Ident,
    replies: &mut Replies,
    taken: &mut BTreeSet<String>,
) -> Result<TokenStream> {
    let name = &message.name;
    let type_doc = model.message_doc(message);
    let refused = match failing_errors(model) {
        Some(errors) => format!(
            " Fails with [`ClientError::Server`] when the server answers with `{}` instead.",
            errors.message
        ),
        None => String::new(),
    };
    let answer = Answer::of(model, message);
    let (returns, call, what) = match &answer {
        Answer::None => (
            quote! { () },
            quote! { self.core.send(#name, &input).await },
            "Sends it; the protocol defines no reply.".to_string(),
        ),
        Answer::Single(singles) => {
            let reply = replies.of(model, singles, taken)?;
            (
                reply,
                quote! { self.core.request(#name, &input).await },
                format!("Returns the reply, correlated as the protocol says.{refused}"),
            )
        }
        Answer::Streamed { singles, streams } => {
            let single = replies.of(model, singles, taken)?;
            let mut part = |pick: fn(&StreamReply) -> &String| {
                let names: Vec<&str> = streams.iter().map(|s| pick(s).as_str()).collect();
                replies.of(model, &names, taken)
            };
            let (start, chunk, end) = (part(|s| &s.start)?, part(|s| &s.chunk)?, part(|s| &s.end)?);
            (
                quote! { ReplyStream<#single, #start, #chunk, #end> },
                quote! { self.core.stream(#name, &input).await },
                format!(
                    "The reply may be streamed: read the returned stream for its chunks (the last event, `End`, carries the full text), or take its `result()`.{refused}"
                ),
            )
        }
    };
    let docs = doc(&format!("{type_doc}\n\nSends `{name}`. {what}"));
    Ok(quote! {
        #docs
        pub async fn #method(&self, input: #input) -> ::std::result::Result<#returns, ClientError> {
            #call
        }
    })
}

/// Where a field of an input type stands.
enum Slot {
    /// A parameter of `new`.
    Param,
    /// An `Option`, `None` in `new`, set with its setter.
    Optional,
    /// Its type's default in `new`; `settable` when it has a setter.
    Default { settable: bool },
}

/// Writes the input types of a message: its fields without those the client always fills,
/// optional where it fills them when missing, with a nested input type where it fills something
/// deeper.
struct Input<'a> {
    model: &'a ProtocolModel,
    plan: &'a Plan,
    method: &'a Ident,
    message: &'a str,
}

impl Input<'_> {
    /// Emits the input type of an object type at a pointer (and those nested in it); returns its
    /// name.
    fn emit(
        &self,
        type_name: &str,
        structure: &Struct,
        pointer: &str,
        out: &mut Vec<TokenStream>,
        taken: &mut BTreeSet<String>,
    ) -> Result<Ident> {
        let name = format!("{type_name}Input");
        take_name(&name, taken, self.model)?;
        let ident = type_ident(&name);
        let mut fields = Vec::new();
        let mut params = Vec::new();
        let mut inits = Vec::new();
        let mut setters = Vec::new();
        for field in &structure.fields {
            let at = join(pointer, &field.wire);
            let field_name = field_ident(&field.wire);
            let wire = &field.wire;
            let rename = (field_name.to_string().trim_start_matches("r#") != wire.as_str())
                .then(|| quote! { rename = #wire, });
            let mut text = field.doc.clone().unwrap_or_default();
            let fill = self.plan.fills(&at);
            let (ty, slot) = match fill {
                Some(Fill::Always) => continue,
                Some(Fill::FreshId) => {
                    let how = match self
                        .plan
                        .fresh
                        .iter()
                        .find(|(p, _)| *p == at)
                        .map(|(_, k)| *k)
                    {
                        Some(FreshId::Uuid) => "a random UUID",
                        Some(FreshId::Integer) => "the next of a counter",
                        _ => "32 random hexadecimal digits",
                    };
                    text = join_text(
                        &text,
                        &format!(
                            "The correlation id: any id the schema allows, or, when `None`, one the client makes up ({how})."
                        ),
                    );
                    (crate_ty(&field.ty), Slot::Optional)
                }
                Some(Fill::Session) => {
                    text = join_text(
                        &text,
                        "The session: when `None`, the client's current session.",
                    );
                    (crate_ty(&field.ty), Slot::Optional)
                }
                None => match self.nested(field, &at, out, taken)? {
                    Some((nested, all_optional)) if field.required && all_optional => {
                        (quote! { #nested }, Slot::Default { settable: true })
                    }
                    Some((nested, _)) if field.required => (quote! { #nested }, Slot::Param),
                    Some((nested, _)) => (quote! { #nested }, Slot::Optional),
                    // The one value (a constant, `null`) is its type's default.
                    None if field.required && fixed_value(self.model, &field.ty).is_some() => {
                        (crate_ty(&field.ty), Slot::Default { settable: false })
                    }
                    None if field.required => (crate_ty(&field.ty), Slot::Param),
                    None => (crate_ty(&field.ty), Slot::Optional),
                },
            };
            let rename = rename.as_ref();
            match slot {
                Slot::Param => {
                    params.push(quote! { #field_name: #ty });
                    inits.push(quote! { #field_name, });
                    fields.push(field_tokens(&text, &field_name, rename, &ty, false));
                }
                Slot::Optional => {
                    setters.push(setter(wire, &field_name, &ty, true));
                    inits.push(quote! { #field_name: ::std::option::Option::None, });
                    let optional = quote! { ::std::option::Option<#ty> };
                    fields.push(field_tokens(&text, &field_name, rename, &optional, true));
                }
                Slot::Default { settable } => {
                    if settable {
                        setters.push(setter(wire, &field_name, &ty, false));
                    }
                    inits.push(quote! { #field_name: ::std::default::Default::default(), });
                    fields.push(field_tokens(&text, &field_name, rename, &ty, false));
                }
            }
        }
        let method = self.method;
        let docs = if pointer.is_empty() {
            doc(&format!(
                "What to give [`Client::{method}`]: a `{}` message without what the client fills in.",
                self.message
            ))
        } else {
            doc(&format!(
                "`{pointer}` of a `{}` message, without what the client fills in.",
                self.message
            ))
        };
        let too_many = (params.len() > 7).then(|| quote! { #[allow(clippy::too_many_arguments)] });
        let default = params.is_empty().then(|| {
            quote! {
                impl ::std::default::Default for #ident {
                    fn default() -> Self {
                        Self::new()
                    }
                }
            }
        });
        out.push(quote! {
            #docs
            #[derive(Debug, Clone, PartialEq, ::serde::Serialize)]
            pub struct #ident {
                #(#fields)*
            }

            impl #ident {
                /// The input with the given required properties and no optional ones.
                #too_many
                pub fn new(#(#params),*) -> Self {
                    Self { #(#inits)* }
                }

                #(#setters)*
            }

            #default
        });
        Ok(ident)
    }

    /// The input type of a field whose object the client fills something in, and whether all
    /// its properties are optional.
    fn nested(
        &self,
        field: &crate::model::Field,
        at: &str,
        out: &mut Vec<TokenStream>,
        taken: &mut BTreeSet<String>,
    ) -> Result<Option<(Ident, bool)>> {
        if !self.plan.fills_below(at) {
            return Ok(None);
        }
        let Ty::Named(name) = &field.ty else {
            return Ok(None);
        };
        let Some(TypeKind::Struct(nested)) = self.model.type_def(name).map(|d| &d.kind) else {
            return Ok(None);
        };
        let ident = self.emit(name, nested, at, out, taken)?;
        let all_optional = all_optional(self.model, self.plan, nested, at);
        Ok(Some((ident, all_optional)))
    }
}

/// Whether every property of the input type of an object at a pointer is optional (or filled
/// in), so that the type has a default.
pub(super) fn all_optional(
    model: &ProtocolModel,
    plan: &Plan,
    structure: &Struct,
    at: &str,
) -> bool {
    structure.fields.iter().all(|f| {
        let below = join(at, &f.wire);
        !f.required || plan.fills(&below).is_some() || fixed_value(model, &f.ty).is_some()
    })
}

/// `with_<field>`, which sets a field (an optional one to `Some`).
fn setter(wire: &str, field: &Ident, ty: &TokenStream, optional: bool) -> TokenStream {
    let name = format_ident!("with_{}", field.to_string().trim_start_matches("r#"));
    let docs = doc(&format!("With `{wire}`."));
    let value = if optional {
        quote! { ::std::option::Option::Some(#field.into()) }
    } else {
        quote! { #field.into() }
    };
    quote! {
        #docs
        pub fn #name(mut self, #field: impl ::std::convert::Into<#ty>) -> Self {
            self.#field = #value;
            self
        }
    }
}

fn join_text(first: &str, second: &str) -> String {
    if first.is_empty() {
        second.to_string()
    } else {
        format!("{first} {second}")
    }
}

/// A field of an input type; an optional one is left out of the JSON when `None`.
fn field_tokens(
    text: &str,
    ident: &Ident,
    rename: Option<&TokenStream>,
    ty: &TokenStream,
    optional: bool,
) -> TokenStream {
    let docs = doc(text);
    let skip = optional.then(|| quote! { skip_serializing_if = "::std::option::Option::is_none", });
    let attrs = match (rename, &skip) {
        (None, None) => quote! {},
        _ => quote! { #[serde(#rename #skip)] },
    };
    quote! { #docs #attrs pub #ident: #ty, }
}

/// The protocol description for the client core, as a `static`.
fn spec_static(model: &ProtocolModel) -> TokenStream {
    let d = &model.description;
    let id = &model.id;
    let path = &d.endpoint.path;
    let rt = quote! { rt };
    let auth = match &d.auth {
        None => quote! { ::std::option::Option::None },
        Some(auth) => {
            let required = auth.required;
            let methods = auth.methods.iter().map(|m| match m {
                AuthMethod::QueryParameter { name, .. } => quote! { #rt::AuthMethod::QueryParameter { name: #name } },
                AuthMethod::Cookie { name, .. } => quote! { #rt::AuthMethod::Cookie { name: #name } },
                AuthMethod::FirstMessage { message, pointer, .. } => {
                    quote! { #rt::AuthMethod::FirstMessage { message: #message, pointer: #pointer } }
                }
            });
            quote! { ::std::option::Option::Some(#rt::Auth { required: #required, methods: &[#(#methods),*] }) }
        }
    };
    let outgoing = model.messages_of(Direction::Client).map(|message| {
        let plan = Plan::of(model, message);
        let name = &message.name;
        let fixed = plan.fixed.iter().map(|(pointer, value)| {
            let json = value.to_string();
            quote! { #rt::Fixed { pointer: #pointer, json: #json } }
        });
        let fresh = plan.fresh.iter().map(|(pointer, kind)| {
            let kind = match kind {
                FreshId::Hex => quote! { Hex },
                FreshId::Uuid => quote! { Uuid },
                FreshId::Integer => quote! { Integer },
            };
            quote! { #rt::Fresh { pointer: #pointer, kind: #rt::FreshId::#kind } }
        });
        let session = option_str(plan.session.as_deref());
        let needs_session = plan.needs_session;
        quote! {
            #rt::Outgoing {
                message: #name,
                fixed: &[#(#fixed),*],
                fresh: &[#(#fresh),*],
                session: #session,
                needs_session: #needs_session,
            }
        }
    });
    let exchanges = d.exchanges.iter().map(|exchange| {
        let request = &exchange.request;
        let forms = exchange.replies.iter().map(|form| match form {
            agentwire_spec::protocol::ReplyForm::Single(single) => {
                let messages = &single.messages;
                let correlation = correlation(&single.correlation);
                quote! { #rt::ReplyForm::Single { messages: &[#(#messages),*], correlation: &[#(#correlation),*] } }
            }
            agentwire_spec::protocol::ReplyForm::Stream(s) => {
                let (start, chunk, end) = (&s.start, &s.chunk, &s.end);
                let (stream_id, chunk_text, end_text) = (&s.stream_id, &s.chunk_text, &s.end_text);
                let correlation = correlation(&s.correlation);
                quote! {
                    #rt::ReplyForm::Stream(#rt::StreamForm {
                        start: #start, chunk: #chunk, end: #end,
                        stream_id: #stream_id, chunk_text: #chunk_text, end_text: #end_text,
                        correlation: &[#(#correlation),*],
                    })
                }
            }
        });
        quote! { #rt::Exchange { request: #request, replies: &[#(#forms),*] } }
    });
    let sessions = match d.sessions.as_ref().map(|s| &s.origin) {
        None => quote! { ::std::option::Option::None },
        Some(SessionOrigin::Request {
            message,
            id_in_reply,
        }) => quote! {
            ::std::option::Option::Some(#rt::SessionOrigin::Request { message: #message, id_in_reply: #id_in_reply })
        },
        Some(SessionOrigin::Announcement { message, id }) => quote! {
            ::std::option::Option::Some(#rt::SessionOrigin::Announcement { message: #message, id: #id })
        },
    };
    let close_codes = d
        .close_codes
        .iter()
        .map(|c| Literal::u16_unsuffixed(c.code));
    let errors = match failing_errors(model) {
        None => quote! { ::std::option::Option::None },
        Some(errors) => {
            let (message, code) = (&errors.message, &errors.pointer);
            quote! { ::std::option::Option::Some(#rt::ErrorMessage { message: #message, code: #code }) }
        }
    };
    quote! {
        /// What the client core knows of the protocol, from `protocol.json` and the schemas.
        static SPEC: #rt::ProtocolSpec = #rt::ProtocolSpec {
            id: #id,
            path: #path,
            auth: #auth,
            outgoing: &[#(#outgoing),*],
            exchanges: &[#(#exchanges),*],
            sessions: #sessions,
            close_codes: &[#(#close_codes),*],
            errors: #errors,
        };
    }
}

fn correlation(pairs: &[agentwire_spec::protocol::Correlation]) -> Vec<TokenStream> {
    pairs
        .iter()
        .map(|c| {
            let (request, reply) = (&c.request, &c.reply);
            quote! { rt::Correlation { request: #request, reply: #reply } }
        })
        .collect()
}

fn option_str(value: Option<&str>) -> TokenStream {
    match value {
        Some(v) => quote! { ::std::option::Option::Some(#v) },
        None => quote! { ::std::option::Option::None },
    }
}

/// The Rust type of a model type, from the client module.
fn crate_ty(ty: &Ty) -> TokenStream {
    rust_ty_in(ty, &quote! { crate:: })
}
