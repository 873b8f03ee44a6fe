//! The `ClientMessage` and `ServerMessage` enums: decoding by discriminator, encoding by variant.

use proc_macro2::TokenStream;
use quote::quote;

use super::doc;
use super::names::type_ident;
use crate::model::{Message, ProtocolModel, TagTest, TagValue, UnionModel};

/// The enum of one union, with its decoding.
pub fn union_item(model: &ProtocolModel, union: &UnionModel) -> TokenStream {
    let name = type_ident(&union.name);
    let union_name = &union.name;
    // The model keeps each direction's messages in the union's order.
    let messages: Vec<&Message> = model.messages_of(union.direction).collect();
    let variants: Vec<_> = messages.iter().map(|m| type_ident(&m.type_name)).collect();
    let wire_names: Vec<&str> = messages.iter().map(|m| m.name.as_str()).collect();
    let variant_docs = messages.iter().map(|m| doc(model.message_doc(m)));
    let count = messages.len();
    let mut pointers: Vec<&str> = Vec::new();
    for test in messages.iter().flat_map(|m| &m.when) {
        if !pointers.contains(&test.pointer.as_str()) {
            pointers.push(&test.pointer);
        }
    }
    let decode_arms = messages.iter().zip(&variants).map(|(message, variant)| {
        let wire = &message.name;
        let decode = quote! {
            ::agentwire_runtime::wire::decode(value, #wire).map(Self::#variant)
        };
        if message.when.is_empty() {
            // The one untagged message is the whole decoding.
            decode
        } else {
            let tests = message.when.iter().map(tag_test);
            quote! { if #(#tests)&&* { return #decode; } }
        }
    });
    let untagged = messages.iter().any(|m| m.when.is_empty());
    let fallthrough = (!untagged).then(|| {
        quote! {
            ::std::result::Result::Err(::agentwire_runtime::wire::DecodeError::UnknownMessage {
                union: #union_name,
                tags: ::agentwire_runtime::wire::describe_tags(&value, &[#(#pointers),*]),
            })
        }
    });
    let docs = doc(&union.doc);
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq)]
        // Frames are decoded one at a time; boxing the large messages would cost an allocation
        // each and make matching clumsier.
        #[allow(clippy::large_enum_variant)]
        pub enum #name {
            #( #variant_docs #variants(#variants), )*
        }

        impl #name {
            /// The names of the messages, in the schema's order.
            pub const NAMES: [&'static str; #count] = [#(#wire_names),*];

            /// The name of this message in the protocol description, e.g. `session_create`.
            pub fn name(&self) -> &'static str {
                match self { #(Self::#variants(_) => #wire_names,)* }
            }

            /// Decodes a frame: the discriminators select the message, whose schema the frame
            /// must then match.
            pub fn from_value(value: ::serde_json::Value) -> ::std::result::Result<Self, ::agentwire_runtime::wire::DecodeError> {
                #(#decode_arms)*
                #fallthrough
            }

            /// Decodes a text frame.
            pub fn from_json(text: &str) -> ::std::result::Result<Self, ::agentwire_runtime::wire::DecodeError> {
                let value = ::serde_json::from_str(text).map_err(::agentwire_runtime::wire::DecodeError::Json)?;
                Self::from_value(value)
            }

            /// The message as a JSON value.
            pub fn to_value(&self) -> ::serde_json::Value {
                ::serde_json::to_value(self).expect("messages always serialise to JSON")
            }

            /// The message as JSON text.
            pub fn to_json(&self) -> ::std::string::String {
                ::serde_json::to_string(self).expect("messages always serialise to JSON")
            }
        }

        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                match self { #(Self::#variants(message) => message.serialize(serializer),)* }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let value = <::serde_json::Value as ::serde::Deserialize>::deserialize(deserializer)?;
                Self::from_value(value).map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }

        #(
            impl ::std::convert::From<#variants> for #name {
                fn from(message: #variants) -> Self {
                    Self::#variants(message)
                }
            }
        )*
    }
}

fn tag_test(test: &TagTest) -> TokenStream {
    let pointer = &test.pointer;
    match &test.value {
        TagValue::Equals(serde_json::Value::String(text)) => {
            quote! { ::agentwire_runtime::wire::tag_is(&value, #pointer, #text) }
        }
        TagValue::Equals(other) => {
            let json = other.to_string();
            quote! {
                ::agentwire_runtime::wire::tag_equals(&value, #pointer, &::serde_json::from_str::<::serde_json::Value>(#json).expect("the generator writes valid JSON"))
            }
        }
        TagValue::Absent => quote! { ::agentwire_runtime::wire::tag_absent(&value, #pointer) },
    }
}
