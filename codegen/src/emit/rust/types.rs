//! Rust items for the model's named types.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::names::{field_ident, type_ident, variant_ident};
use super::{doc, rust_ty};
use crate::model::{
    Additional, Constrained, Encoding, Field, Format, ProtocolModel, Struct, Ty, TypeDef, TypeKind,
};

/// The item (or items) of one named type.
pub fn type_item(model: &ProtocolModel, def: &TypeDef) -> TokenStream {
    let docs = doc(def.doc.as_deref().unwrap_or(""));
    let name = type_ident(&def.name);
    match &def.kind {
        TypeKind::Struct(s) => structure(model, def, s, docs),
        TypeKind::StringEnum(values) => string_enum(&def.name, values, docs),
        TypeKind::Const(value) => constant(&def.name, value, docs),
        TypeKind::Constrained(Constrained::String(rules)) => {
            constrained_string(&def.name, rules, docs)
        }
        TypeKind::Constrained(Constrained::Number(rules)) => {
            constrained_number(&def.name, rules, docs)
        }
        TypeKind::Constrained(Constrained::Array(rules)) => {
            constrained_array(&def.name, rules, docs)
        }
        TypeKind::Alias(ty) => {
            let ty = rust_ty(ty);
            quote! { #docs pub type #name = #ty; }
        }
        TypeKind::OneOfKinds(members) => one_of_kinds(model, &def.name, members, docs),
    }
}

fn structure(model: &ProtocolModel, def: &TypeDef, s: &Struct, docs: TokenStream) -> TokenStream {
    let name = type_ident(&def.name);
    let mut fields = Vec::new();
    let mut params = Vec::new();
    let mut inits = Vec::new();
    for field in &s.fields {
        let ident = field_ident(&field.wire);
        let wire = &field.wire;
        let field_docs = doc(field.doc.as_deref().unwrap_or(""));
        let ty = rust_ty(&field.ty);
        let rename = (ident.to_string().trim_start_matches("r#") != wire.as_str())
            .then(|| quote! { rename = #wire, });
        if field.required {
            let with = matches!(field.ty, Ty::Nullable(_))
                .then(|| quote! { deserialize_with = "::agentwire_runtime::wire::nullable", });
            let attrs = match (&rename, &with) {
                (None, None) => quote! {},
                _ => quote! { #[serde(#rename #with)] },
            };
            fields.push(quote! { #field_docs #attrs pub #ident: #ty, });
            match fixed_value(model, &field.ty) {
                Some(value) => inits.push(quote! { #ident: #value, }),
                None => {
                    params.push(quote! { #ident: #ty });
                    inits.push(quote! { #ident, });
                }
            }
        } else {
            fields.push(quote! {
                #field_docs
                #[serde(#rename default, skip_serializing_if = "::std::option::Option::is_none", deserialize_with = "::agentwire_runtime::wire::present")]
                pub #ident: ::std::option::Option<#ty>,
            });
            inits.push(quote! { #ident: ::std::option::Option::None, });
        }
    }
    let extra = extra_ident(&s.fields);
    let (container, extra_field, extra_init) = match &s.additional {
        // A closed structure decodes through an inherent `deserialize` (`remote = "Self"`), which
        // the trait impl below calls on an object only: serde's derived structs would also read
        // an array, field by field.
        Additional::Denied => (
            quote! { #[serde(remote = "Self", deny_unknown_fields)] },
            quote! {},
            quote! {},
        ),
        Additional::Any => (
            quote! {},
            quote! {
                /// Properties the schema does not name, kept as received.
                #[serde(flatten)]
                pub #extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
            },
            quote! { #extra: ::serde_json::Map::new(), },
        ),
        Additional::Typed(ty) => {
            let ty = rust_ty(ty);
            (
                quote! {},
                quote! {
                    /// The other properties, each of the schema's `additionalProperties` type.
                    #[serde(flatten)]
                    pub #extra: ::std::collections::BTreeMap<::std::string::String, #ty>,
                },
                quote! { #extra: ::std::collections::BTreeMap::new(), },
            )
        }
    };
    let message_impl = model.message_of_type(&def.name).map(|message| {
        let wire_name = &message.name;
        quote! {
            impl ::agentwire_runtime::wire::Message for #name {
                const NAME: &'static str = #wire_name;
            }
        }
    });
    let constructor_doc =
        doc("A value with the given required properties, no optional ones and no others.");
    let too_many = (params.len() > 7).then(|| quote! { #[allow(clippy::too_many_arguments)] });
    let default = params.is_empty().then(|| {
        quote! {
            impl ::std::default::Default for #name {
                fn default() -> Self {
                    Self::new()
                }
            }
        }
    });
    let closed = matches!(s.additional, Additional::Denied).then(|| {
        quote! {
            impl ::serde::Serialize for #name {
                fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                    Self::serialize(self, serializer)
                }
            }

            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                    let object = ::agentwire_runtime::wire::object(deserializer)?;
                    Self::deserialize(object).map_err(<D::Error as ::serde::de::Error>::custom)
                }
            }
        }
    });
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #container
        pub struct #name {
            #(#fields)*
            #extra_field
        }

        #closed

        impl #name {
            #constructor_doc
            #too_many
            pub fn new(#(#params),*) -> Self {
                Self { #(#inits)* #extra_init }
            }
        }

        #default

        #message_impl
    }
}

/// The value of a required field whose type allows exactly one value (a tag, a `null`).
pub(crate) fn fixed_value(model: &ProtocolModel, ty: &Ty) -> Option<TokenStream> {
    match ty {
        Ty::Null => Some(quote! { () }),
        Ty::Named(name) => match model.type_def(name).map(|d| &d.kind) {
            Some(TypeKind::Const(_)) => {
                let ident = type_ident(name);
                Some(quote! { #ident })
            }
            _ => None,
        },
        _ => None,
    }
}

/// The name of the field holding other properties: `extra`, unless a property has that name.
fn extra_ident(fields: &[Field]) -> syn::Ident {
    let mut name = String::from("extra");
    while fields.iter().any(|f| field_ident(&f.wire) == name.as_str()) {
        name.push('_');
    }
    format_ident!("{name}")
}

fn string_enum(type_name: &str, values: &[String], docs: TokenStream) -> TokenStream {
    let name = type_ident(type_name);
    let variants: Vec<_> = values.iter().map(|v| variant_ident(v)).collect();
    let count = values.len();
    quote! {
        #docs
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize)]
        pub enum #name {
            #( #[doc = concat!("`", #values, "`")] #[serde(rename = #values)] #variants, )*
        }

        // By hand: a derived enum would also take `{"value": null}`.
        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                ::agentwire_runtime::wire::expect_one_of(deserializer, &[#(#values),*]).map(|index| Self::ALL[index])
            }
        }

        impl #name {
            /// Every value, in the schema's order.
            pub const ALL: [Self; #count] = [#(Self::#variants),*];

            /// The value as sent.
            pub fn as_str(&self) -> &'static str {
                match self { #(Self::#variants => #values,)* }
            }
        }

        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    }
}

fn constant(type_name: &str, value: &serde_json::Value, docs: TokenStream) -> TokenStream {
    let name = type_ident(type_name);
    let (serialize, deserialize, value_doc) = match value {
        serde_json::Value::String(text) => (
            quote! { serializer.serialize_str(#text) },
            quote! { ::agentwire_runtime::wire::expect_str(deserializer, #text).map(|()| Self) },
            format!("Always `{text:?}`."),
        ),
        other => {
            let json = other.to_string();
            (
                quote! { Self::value().serialize(serializer) },
                quote! { ::agentwire_runtime::wire::expect_value(deserializer, &Self::value()).map(|()| Self) },
                format!("Always `{json}`."),
            )
        }
    };
    let value_fn = (!value.is_string()).then(|| {
        let json = value.to_string();
        quote! {
            impl #name {
                /// The one value.
                pub fn value() -> ::serde_json::Value {
                    ::serde_json::from_str(#json).expect("the generator writes valid JSON")
                }
            }
        }
    });
    let uses_serialize = (!value.is_string()).then(|| quote! { use ::serde::Serialize as _; });
    let value_doc = doc(&value_doc);
    quote! {
        #docs
        #value_doc
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct #name;

        #value_fn

        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                #uses_serialize
                #serialize
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                #deserialize
            }
        }
    }
}

fn constrained_string(
    type_name: &str,
    rules: &crate::model::StringRules,
    docs: TokenStream,
) -> TokenStream {
    let name = type_ident(type_name);
    let mut checks = Vec::new();
    if rules.min_length.is_some() || rules.max_length.is_some() {
        let min = option_u64(rules.min_length);
        let max = option_u64(rules.max_length);
        checks.push(
            quote! { ::agentwire_runtime::wire::check_length(#type_name, value, #min, #max)?; },
        );
    }
    if let Some(pattern) = &rules.pattern {
        // The ECMA-262 pattern in the Rust syntax that means the same (the model checked it).
        let pattern = crate::model::pattern::to_rust(pattern).unwrap_or_else(|_| pattern.clone());
        checks.push(quote! {
            static PATTERN: ::std::sync::LazyLock<::agentwire_runtime::wire::Regex> =
                ::std::sync::LazyLock::new(|| ::agentwire_runtime::wire::compile_pattern(#pattern));
            ::agentwire_runtime::wire::check_pattern(#type_name, value, &PATTERN)?;
        });
    }
    match rules.format {
        Some(Format::DateTime) => {
            checks.push(quote! { ::agentwire_runtime::wire::check_date_time(#type_name, value)?; })
        }
        Some(Format::Uuid) => {
            checks.push(quote! { ::agentwire_runtime::wire::check_uuid(#type_name, value)?; })
        }
        None => {}
    }
    let base64 = (rules.encoding == Some(Encoding::Base64)).then(|| {
        quote! {
            impl #name {
                /// The bytes the text encodes. The schema annotates the text as base64 but does not
                /// require it, so decoding can fail.
                pub fn decode(&self) -> ::std::result::Result<::std::vec::Vec<u8>, ::agentwire_runtime::wire::Base64Error> {
                    ::agentwire_runtime::wire::decode_base64(&self.0)
                }

                /// The base64 text of some bytes.
                pub fn encode(bytes: &[u8]) -> Self {
                    Self(::agentwire_runtime::wire::encode_base64(bytes))
                }
            }
        }
    });
    if checks.is_empty() {
        checks.push(quote! { let _ = value; });
    }
    let describe = describe_string_rules(rules);
    let check_doc = doc(&format!("Checks the constraints: {describe}."));
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(try_from = "::std::string::String", into = "::std::string::String")]
        pub struct #name(::std::string::String);

        impl #name {
            /// The text, if it meets the schema's constraints.
            pub fn new(value: impl ::std::convert::Into<::std::string::String>) -> ::std::result::Result<Self, ::agentwire_runtime::wire::ConstraintError> {
                let value = value.into();
                Self::check(&value)?;
                ::std::result::Result::Ok(Self(value))
            }

            #check_doc
            pub fn check(value: &str) -> ::std::result::Result<(), ::agentwire_runtime::wire::ConstraintError> {
                #(#checks)*
                ::std::result::Result::Ok(())
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_inner(self) -> ::std::string::String {
                self.0
            }
        }

        #base64

        impl ::std::convert::TryFrom<::std::string::String> for #name {
            type Error = ::agentwire_runtime::wire::ConstraintError;
            fn try_from(value: ::std::string::String) -> ::std::result::Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl ::std::convert::From<#name> for ::std::string::String {
            fn from(value: #name) -> Self {
                value.0
            }
        }

        impl ::std::convert::AsRef<str> for #name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    }
}

fn describe_string_rules(rules: &crate::model::StringRules) -> String {
    let mut parts = rules.describe();
    if parts.is_empty() {
        parts.push("any text (base64 is an annotation, not a constraint)".into());
    }
    parts.join(", ")
}

/// A number with bounds; `serde(try_from)` names the inner type as a string.
fn constrained_number(
    type_name: &str,
    rules: &crate::model::NumberRules,
    docs: TokenStream,
) -> TokenStream {
    let name = type_ident(type_name);
    let (inner, inner_str, number) = if rules.integer {
        (
            quote! { ::agentwire_runtime::wire::Integer },
            "::agentwire_runtime::wire::Integer",
            quote! { value.number() },
        )
    } else {
        (
            quote! { ::serde_json::Number },
            "::serde_json::Number",
            quote! { value },
        )
    };
    let [
        minimum,
        maximum,
        exclusive_minimum,
        exclusive_maximum,
        multiple_of,
    ] = [
        rules.minimum,
        rules.maximum,
        rules.exclusive_minimum,
        rules.exclusive_maximum,
        rules.multiple_of,
    ]
    .map(option_f64);
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(try_from = #inner_str, into = #inner_str)]
        pub struct #name(#inner);

        impl #name {
            /// The number, if it meets the schema's bounds.
            pub fn new(value: #inner) -> ::std::result::Result<Self, ::agentwire_runtime::wire::ConstraintError> {
                Self::check(&value)?;
                ::std::result::Result::Ok(Self(value))
            }

            /// Checks the schema's bounds.
            pub fn check(value: &#inner) -> ::std::result::Result<(), ::agentwire_runtime::wire::ConstraintError> {
                const RULES: ::agentwire_runtime::wire::NumberRules = ::agentwire_runtime::wire::NumberRules {
                    minimum: #minimum,
                    maximum: #maximum,
                    exclusive_minimum: #exclusive_minimum,
                    exclusive_maximum: #exclusive_maximum,
                    multiple_of: #multiple_of,
                };
                ::agentwire_runtime::wire::check_number(#type_name, #number, &RULES)
            }

            /// The number.
            pub fn get(&self) -> &#inner {
                &self.0
            }
        }

        impl ::std::convert::TryFrom<#inner> for #name {
            type Error = ::agentwire_runtime::wire::ConstraintError;
            fn try_from(value: #inner) -> ::std::result::Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl ::std::convert::From<#name> for #inner {
            fn from(value: #name) -> Self {
                value.0
            }
        }
    }
}

fn constrained_array(
    type_name: &str,
    rules: &crate::model::ArrayRules,
    docs: TokenStream,
) -> TokenStream {
    let name = type_ident(type_name);
    let item = rust_ty(&rules.items);
    let vec_str = format!("::std::vec::Vec<{item}>").replace(' ', "");
    let min = option_u64(rules.min_items);
    let max = option_u64(rules.max_items);
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(try_from = #vec_str, into = #vec_str)]
        pub struct #name(::std::vec::Vec<#item>);

        impl #name {
            /// The items, if there are as many as the schema allows.
            pub fn new(items: ::std::vec::Vec<#item>) -> ::std::result::Result<Self, ::agentwire_runtime::wire::ConstraintError> {
                ::agentwire_runtime::wire::check_items(#type_name, items.len(), #min, #max)?;
                ::std::result::Result::Ok(Self(items))
            }

            /// The items.
            pub fn items(&self) -> &[#item] {
                &self.0
            }

            /// The items, owned.
            pub fn into_inner(self) -> ::std::vec::Vec<#item> {
                self.0
            }
        }

        impl ::std::convert::TryFrom<::std::vec::Vec<#item>> for #name {
            type Error = ::agentwire_runtime::wire::ConstraintError;
            fn try_from(items: ::std::vec::Vec<#item>) -> ::std::result::Result<Self, Self::Error> {
                Self::new(items)
            }
        }

        impl ::std::convert::From<#name> for ::std::vec::Vec<#item> {
            fn from(value: #name) -> Self {
                value.0
            }
        }
    }
}

fn one_of_kinds(
    model: &ProtocolModel,
    type_name: &str,
    members: &[Ty],
    docs: TokenStream,
) -> TokenStream {
    let name = type_ident(type_name);
    let variants = members.iter().map(|member| {
        let variant = type_ident(&member_name(model, member));
        match member {
            Ty::Null => quote! { /// `null`.
            #variant, },
            other => {
                let ty = rust_ty(other);
                quote! { #variant(#ty), }
            }
        }
    });
    // Each kind converts into the union: `ErrorField::from(false)`, `false.into()`.
    let conversions = members
        .iter()
        .filter(|m| !matches!(m, Ty::Null))
        .map(|member| {
            let variant = type_ident(&member_name(model, member));
            let ty = rust_ty(member);
            let text = matches!(member, Ty::String).then(|| {
                quote! {
                    impl ::std::convert::From<&str> for #name {
                        fn from(value: &str) -> Self {
                            Self::#variant(value.to_string())
                        }
                    }
                }
            });
            quote! {
                impl ::std::convert::From<#ty> for #name {
                    fn from(value: #ty) -> Self {
                        Self::#variant(value)
                    }
                }

                #text
            }
        });
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(untagged)]
        pub enum #name {
            #(#variants)*
        }

        #(#conversions)*
    }
}

/// The variant name of a union member: its JSON kind, or its type's name.
fn member_name(model: &ProtocolModel, ty: &Ty) -> String {
    match ty {
        Ty::Any => "Value".into(),
        Ty::Null => "Null".into(),
        Ty::Bool => "Bool".into(),
        Ty::Integer => "Integer".into(),
        Ty::Number => "Number".into(),
        Ty::String => "String".into(),
        Ty::Object | Ty::Map(_) => "Object".into(),
        Ty::Array(_) => "Array".into(),
        Ty::Named(name) => model
            .type_def(name)
            .map_or_else(|| name.clone(), |d| d.name.clone()),
        Ty::Nullable(inner) => member_name(model, inner),
    }
}

fn option_u64(value: Option<u64>) -> TokenStream {
    match value {
        Some(v) => quote! { ::std::option::Option::Some(#v) },
        None => quote! { ::std::option::Option::None },
    }
}

fn option_f64(value: Option<f64>) -> TokenStream {
    match value {
        Some(v) => {
            let literal = proc_macro2::Literal::f64_suffixed(v);
            quote! { ::std::option::Option::Some(#literal) }
        }
        None => quote! { ::std::option::Option::None },
    }
}
