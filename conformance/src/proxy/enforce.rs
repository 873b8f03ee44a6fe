//! `--enforce`: the error frame a protocol documents for bad input, built once from the
//! document's own example of that message with what the reaction says it shows (a RIXA status
//! with `level: error`, a General Bots error with `code: INVALID_FORMAT`), and checked against
//! `server.schema.json`. A protocol that documents no such reply gets none: the invalid frame is
//! dropped and only the report says so.

use agentwire_spec::ProtocolSource;
use agentwire_spec::protocol::{Direction, Outcome, Trigger};

use crate::judge::trigger::trigger_of;
use crate::util::set_pointer;
use crate::validate::ProtocolValidators;
use crate::watch::Inspected;

/// The documented error frames of one protocol, by the bad input they answer.
#[derive(Debug, Clone, Default)]
pub struct ErrorFrames {
    by_trigger: Vec<(Trigger, String)>,
}

impl ErrorFrames {
    /// Builds the frames from `protocol`'s reactions to bad input and its examples.
    pub fn new(protocol: &ProtocolSource, validators: &ProtocolValidators) -> Self {
        let examples = protocol.valid_examples();
        let mut by_trigger = Vec::new();
        for reaction in &protocol.description.reactions {
            if !reaction.trigger.is_bad_input() {
                continue;
            }
            let built = reaction.outcomes.iter().find_map(|outcome| {
                let Outcome::Reply { message, expect } = outcome else {
                    return None;
                };
                let (_, example) = examples
                    .iter()
                    .find(|(e, _)| e.direction == Direction::Server && &e.message == message)?;
                let mut frame = (*example).clone();
                for expectation in expect {
                    match &expectation.equals {
                        Some(value) => {
                            set_pointer(&mut frame, &expectation.pointer, value.clone());
                        }
                        None if frame.pointer(&expectation.pointer).is_none() => return None,
                        None => {}
                    }
                }
                validators
                    .server
                    .is_valid(&frame)
                    .then(|| frame.to_string())
            });
            if let Some(frame) = built {
                by_trigger.push((reaction.trigger, frame));
            }
        }
        Self { by_trigger }
    }

    /// The frame that tells a client its frame was not forwarded: the one documented for the
    /// bad input it is, else the first one the protocol documents for any bad input.
    pub fn for_frame(&self, validators: &ProtocolValidators, frame: &Inspected) -> Option<&str> {
        let trigger = trigger_of(&validators.client, frame.as_sent());
        self.by_trigger
            .iter()
            .find(|(t, _)| Some(*t) == trigger)
            .or(self.by_trigger.first())
            .map(|(_, frame)| frame.as_str())
    }

    /// Whether the protocol documents any.
    pub fn is_empty(&self) -> bool {
        self.by_trigger.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Schemas;
    use serde_json::{Value, json};

    #[test]
    fn each_protocol_answers_bad_input_with_its_documented_error() {
        let schemas = Schemas::embedded().expect("schemas");
        let built = |id: &str| {
            let validators = schemas.validators(id).unwrap();
            let frames = ErrorFrames::new(schemas.protocol(id).unwrap(), &validators);
            let bad = Inspected::text(&validators, Direction::Client, "{not json");
            frames
                .for_frame(&validators, &bad)
                .map(|text| serde_json::from_str::<Value>(text).unwrap())
        };
        let generalbots = built("generalbots").expect("generalbots documents one");
        assert_eq!(generalbots["type"], json!("error"));
        assert_eq!(generalbots["code"], json!("INVALID_FORMAT"));
        let rixa = built("rixa").expect("rixa documents one");
        assert_eq!(
            (&rixa["type"], &rixa["level"]),
            (&json!("status"), &json!("error"))
        );
        assert!(built("socializer").is_some());
        // The datagram document names no answer to bad input.
        assert_eq!(built("datagram"), None);
    }
}
