//! The intermediate model between the schemas and every emitter.

pub mod union;
