//! Emitters: each turns the model into files of one kind.

pub mod asyncapi;
pub mod client;
pub mod rust;
pub mod ts;
