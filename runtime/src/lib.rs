//! Runtime support for the crates `cargo xtask codegen` generates from `schema/`.
//!
//! [`wire`] holds what the generated types use to accept exactly what their schemas accept:
//! integers that may be written `1.0`, constants, checked strings, numbers and arrays, and the
//! decoding of messages by their discriminators.

pub mod wire;
