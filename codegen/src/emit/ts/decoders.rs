//! Union decoders: the code that selects a frame's message by its discriminators and checks it.
//!
//! The variants of a union are exclusive (the loader refuses two that one frame could select),
//! so the choice is a decision tree: read one discriminator, `switch` on its values (`undefined`
//! for a variant told by its absence), and go on with the variants each value leaves, until one
//! variant is left with nothing more to test. A value no variant has is the frame's failure,
//! at that discriminator.

use serde_json::Value;

use super::checks::read_property;
use super::code::Code;
use super::guards::check_name;
use super::names::string_literal;
use crate::model::{Message, ProtocolModel, TagTest, TagValue, UnionModel};

/// A variant still possible, and the tests it has left.
#[derive(Clone)]
struct Candidate<'m> {
    message: &'m Message,
    remaining: Vec<&'m TagTest>,
}

struct Writer {
    code: Code,
    union: String,
    map: String,
    tags: String,
}

/// The statements of a union's decoder, over `value`; `tags` names the constant listing its
/// discriminators.
pub fn decoder(model: &ProtocolModel, union: &UnionModel, tags: &str) -> String {
    let candidates: Vec<Candidate> = union
        .messages
        .iter()
        .filter_map(|name| model.message(name))
        .map(|message| Candidate {
            message,
            remaining: message.when.iter().collect(),
        })
        .collect();
    let mut writer = Writer {
        code: Code::body(),
        union: string_literal(&union.name),
        map: format!("t.{}s", union.name),
        tags: tags.to_string(),
    };
    let tagged = candidates.iter().any(|c| !c.remaining.is_empty());
    if tagged {
        writer.code.line(&format!(
            "if (!rt.isObject(value)) return rt.undecided({}, rt.mismatch(\"\", \"type\", \"an object\", value));",
            writer.union
        ));
    }
    writer.node(&candidates, None);
    writer.code.into_text()
}

impl Writer {
    /// An expression of the value at a discriminator's pointer (`undefined` when absent),
    /// declaring the objects on its way.
    fn read(&mut self, pointer: &str) -> String {
        let tokens: Vec<String> = pointer
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        let mut object = "value".to_string();
        let mut checked = true;
        for (i, token) in tokens.iter().enumerate() {
            let read = if checked {
                read_property(&object, token)
            } else {
                format!(
                    "rt.isObject({object}) ? {} : undefined",
                    read_property(&object, token)
                )
            };
            if i + 1 == tokens.len() {
                return read;
            }
            let variable = self.code.fresh("p");
            self.code.line(&format!("const {variable} = {read};"));
            object = variable;
            checked = false;
        }
        object
    }

    /// A `case` or `default` clause deciding among `candidates`: a block when it reads more.
    fn clause(&mut self, label: &str, candidates: &[Candidate], failing: Option<(&str, &str)>) {
        let decided = candidates.first().is_none_or(|c| c.remaining.is_empty());
        self.code
            .line(&format!("{label}{}", if decided { "" } else { " {" }));
        self.code.indent();
        self.node(candidates, failing);
        self.code.outdent();
        if !decided {
            self.code.line("}");
        }
    }

    /// Decides among `candidates`; `failing` is the discriminator that led here and the
    /// variable holding its value.
    fn node(&mut self, candidates: &[Candidate], failing: Option<(&str, &str)>) {
        let Some(first) = candidates.first() else {
            let failure = match failing {
                Some((pointer, found)) => format!(
                    "rt.noMessage({}, {found}, value, {})",
                    string_literal(pointer),
                    self.tags
                ),
                None => "rt.reject(\"\", \"enum\", \"the union has no message\")".into(),
            };
            self.code
                .line(&format!("return rt.undecided({}, {failure});", self.union));
            return;
        };
        let Some(test) = first.remaining.first() else {
            // Its tests all hold, and no other variant can hold with them.
            self.code.line(&format!(
                "return rt.decided<{}>({}, {}, value, {}(value));",
                self.map,
                self.union,
                string_literal(&first.message.name),
                check_name(&first.message.type_name)
            ));
            return;
        };
        let pointer = test.pointer.clone();
        let mut groups: Vec<(&TagValue, Vec<Candidate>)> = Vec::new();
        let mut others = Vec::new();
        for candidate in candidates {
            let Some(at) = candidate
                .remaining
                .iter()
                .position(|t| t.pointer == pointer)
            else {
                others.push(candidate.clone());
                continue;
            };
            let mut rest = candidate.clone();
            let test = rest.remaining.remove(at);
            match groups
                .iter_mut()
                .find(|(value, _)| same(value, &test.value))
            {
                Some((_, members)) => members.push(rest),
                None => groups.push((&test.value, vec![rest])),
            }
        }
        // A variant that does not test this discriminator stays possible whatever its value.
        for (_, members) in &mut groups {
            members.extend(others.iter().cloned());
        }
        let value = self.read(&pointer);
        let found = self.code.fresh("d");
        self.code.line(&format!("const {found} = {value};"));
        let here = Some((pointer.as_str(), found.as_str()));
        if groups.iter().all(|(value, _)| switchable(value)) {
            self.code.open(&format!("switch ({found}) {{"));
            for (tag, members) in &groups {
                self.clause(&format!("case {}:", case_label(tag)), members, here);
            }
            self.clause("default:", &others, here);
            self.code.close();
        } else {
            for (tag, members) in &groups {
                let condition = match tag {
                    TagValue::Equals(expected) => format!("rt.jsonEqual({found}, {expected})"),
                    TagValue::Absent => format!("{found} === undefined"),
                };
                self.code.open(&format!("if ({condition}) {{"));
                self.node(members, here);
                self.code.close();
            }
            self.node(&others, here);
        }
    }
}

/// Whether two tests ask the same of a discriminator (numbers compared by value).
fn same(a: &TagValue, b: &TagValue) -> bool {
    match (a, b) {
        (TagValue::Equals(x), TagValue::Equals(y)) => agentwire_runtime::wire::json_equal(x, y),
        (TagValue::Absent, TagValue::Absent) => true,
        _ => false,
    }
}

/// Whether a `case` label can test for the value (`===` is JSON equality for scalars).
fn switchable(value: &TagValue) -> bool {
    !matches!(value, TagValue::Equals(Value::Array(_) | Value::Object(_)))
}

fn case_label(value: &TagValue) -> String {
    match value {
        TagValue::Equals(value) => value.to_string(),
        TagValue::Absent => "undefined".into(),
    }
}
