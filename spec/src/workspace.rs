//! Loading `schema/`: every protocol folder with its description, entry points, examples and
//! source documents, checked for consistency so that every later stage can trust it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::annotations::{JsonKind, MessageAnnotations};
use crate::error::{Error, Result};
use crate::examples::{ExampleIndex, InvalidExample, StandsFor, ValidExample, parse_example};
use crate::protocol::{
    AuthMethod, Direction, Outcome, ProtocolDescription, ReplyForm, SessionOrigin,
};
use crate::quote::normalise;
use crate::source::SchemaSet;
use crate::tree::{SourceTree, join_relative};
use crate::union::Union;

/// Every protocol below a schema root.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Every schema file.
    pub schemas: SchemaSet,
    /// The protocols, by id.
    pub protocols: Vec<ProtocolSource>,
}

/// One protocol folder, loaded and checked.
#[derive(Debug, Clone)]
pub struct ProtocolSource {
    /// The protocol id, which is also the folder name.
    pub id: String,
    /// The folder, as shown in messages.
    pub dir: PathBuf,
    /// `protocol.json`.
    pub description: ProtocolDescription,
    /// The union of `client.schema.json`.
    pub client: Union,
    /// The union of `server.schema.json`.
    pub server: Union,
    /// `examples/index.json`.
    pub examples: ExampleIndex,
    /// The source documents' texts, by file name relative to the folder.
    pub documents: BTreeMap<String, String>,
    /// The parsed example files, by path relative to `examples/`.
    pub example_values: BTreeMap<String, Value>,
    /// What each message's schema annotates, by message name.
    pub annotations: BTreeMap<String, MessageAnnotations>,
    /// Absolute schema URI of every message, by name.
    uris: BTreeMap<String, String>,
    /// Message name of every message schema URI.
    names: BTreeMap<String, String>,
}

/// Where a quote stands in a protocol's documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteLocation {
    /// The document, relative to the protocol folder.
    pub document: String,
    /// The line the quote starts on (1-based).
    pub first_line: usize,
    /// The line it ends on.
    pub last_line: usize,
}

impl Workspace {
    /// Loads and checks every protocol folder (a folder holding `protocol.json`) below `root`.
    pub fn load(root: &Path) -> Result<Self> {
        Self::from_tree(&SourceTree::Disk(root.to_path_buf()))
    }

    /// Loads and checks every protocol folder of a source tree.
    pub fn from_tree(tree: &SourceTree) -> Result<Self> {
        let schemas = SchemaSet::load(tree)?;
        let mut protocols = Vec::new();
        for folder in tree.folders()? {
            if tree.exists(&format!("{folder}/protocol.json")) {
                protocols.push(ProtocolSource::load(&schemas, &folder)?);
            }
        }
        if protocols.is_empty() {
            return Err(Error::in_file(
                tree.display(""),
                "no protocol folder (a folder with protocol.json) found",
            ));
        }
        Ok(Self { schemas, protocols })
    }

    /// The protocol with this id.
    pub fn protocol(&self, id: &str) -> Option<&ProtocolSource> {
        self.protocols.iter().find(|p| p.id == id)
    }

    /// The ids of every protocol.
    pub fn ids(&self) -> Vec<&str> {
        self.protocols.iter().map(|p| p.id.as_str()).collect()
    }
}

impl ProtocolSource {
    fn load(schemas: &SchemaSet, id: &str) -> Result<Self> {
        let tree = schemas.tree();
        let description_path = tree.display(&format!("{id}/protocol.json"));
        let description: ProtocolDescription = serde_json::from_value(
            tree.read_json(&format!("{id}/protocol.json"))?,
        )
        .map_err(|e| {
            Error::in_file(
                &description_path,
                format!("not a protocol description: {e}"),
            )
        })?;
        if !id.starts_with(|c: char| c.is_ascii_lowercase())
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(Error::in_file(
                tree.display(id),
                format!(
                    "the protocol id {id:?} must be lower-case letters, digits and hyphens, starting with a letter: it names packages and folders"
                ),
            ));
        }
        if description.id != id {
            return Err(Error::at(
                &description_path,
                "/id",
                format!(
                    "id {:?} differs from the folder name {id:?}",
                    description.id
                ),
            ));
        }
        let entry = |name: &str| {
            let relative = format!("{id}/{name}");
            let document = schemas
                .by_path(&relative)
                .ok_or_else(|| Error::in_file(tree.display(&relative), "missing entry point"))?;
            Union::from_entry_point(schemas, document)
        };
        let client = entry("client.schema.json")?;
        let server = entry("server.schema.json")?;
        let index_file = format!("{id}/examples/index.json");
        let examples: ExampleIndex =
            serde_json::from_value(tree.read_json(&index_file)?).map_err(|e| {
                Error::in_file(
                    tree.display(&index_file),
                    format!("not an example index: {e}"),
                )
            })?;
        let mut documents = BTreeMap::new();
        for document in &description.documents {
            documents.insert(
                document.file.clone(),
                tree.read(&join_relative(id, &document.file))?,
            );
        }
        let mut protocol = Self {
            id: id.to_string(),
            dir: tree.display(id),
            description,
            client,
            server,
            examples,
            documents,
            example_values: BTreeMap::new(),
            annotations: BTreeMap::new(),
            uris: BTreeMap::new(),
            names: BTreeMap::new(),
        };
        protocol.index_messages(&description_path)?;
        protocol.check_messages(schemas)?;
        protocol
            .check_references()
            .map_err(|(pointer, message)| Error::at(&description_path, pointer, message))?;
        protocol
            .check_quotes()
            .map_err(|(pointer, message)| Error::at(&description_path, pointer, message))?;
        protocol.load_examples(tree)?;
        protocol.load_annotations(schemas)?;
        Ok(protocol)
    }

    /// The union of one direction.
    pub fn union(&self, direction: Direction) -> &Union {
        match direction {
            Direction::Client => &self.client,
            Direction::Server => &self.server,
        }
    }

    /// Resolves every message's schema URI once, so that lookups both ways are cheap.
    fn index_messages(&mut self, description_path: &Path) -> Result<()> {
        let base = format!("{}{}/", crate::SCHEMA_BASE_URI, self.id);
        for (name, info) in &self.description.messages {
            let relative = info
                .schema
                .clone()
                .unwrap_or_else(|| format!("messages/{name}.schema.json"));
            let uri = crate::source::resolve_uri(&base, &relative)
                .map_err(|e| Error::at(description_path, format!("/messages/{name}/schema"), e))?;
            self.names.insert(uri.clone(), name.clone());
            self.uris.insert(name.clone(), uri);
        }
        Ok(())
    }

    /// Absolute URI of a message's schema.
    pub fn message_uri(&self, name: &str) -> Option<String> {
        self.uris.get(name).cloned()
    }

    /// The name of the message whose schema has this URI.
    pub fn message_name(&self, uri: &str) -> Option<&str> {
        self.names.get(uri).map(String::as_str)
    }

    /// The direction of a message.
    pub fn direction_of(&self, name: &str) -> Option<Direction> {
        self.description.messages.get(name).map(|m| m.direction)
    }

    /// Every message named in `protocol.json` is a variant of its direction's entry point and
    /// every variant is named there.
    fn check_messages(&self, schemas: &SchemaSet) -> Result<()> {
        let file = self.dir.join("protocol.json");
        for (name, info) in &self.description.messages {
            let uri = self
                .message_uri(name)
                .ok_or_else(|| Error::at(&file, format!("/messages/{name}"), "bad schema path"))?;
            if schemas.get(&uri).is_none() {
                return Err(Error::at(
                    &file,
                    format!("/messages/{name}"),
                    format!("no schema file has `$id` {uri}"),
                ));
            }
            let union = self.union(info.direction);
            if !union.variants.iter().any(|v| v.schema_uri == uri) {
                return Err(Error::at(
                    &file,
                    format!("/messages/{name}/direction"),
                    format!("{name} is not a variant of {}", union.uri),
                ));
            }
        }
        for direction in [Direction::Client, Direction::Server] {
            for variant in &self.union(direction).variants {
                match self.message_name(&variant.schema_uri) {
                    Some(name) if self.direction_of(name) == Some(direction) => {}
                    _ => {
                        return Err(Error::at(
                            &file,
                            "/messages",
                            format!(
                                "{} (from {}) is not listed as a {direction:?} message",
                                variant.schema_uri,
                                self.union(direction).uri
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Every message a rule names exists with the right direction; every pointer is a pointer.
    fn check_references(&self) -> std::result::Result<(), (String, String)> {
        let d = &self.description;
        let mut wanted: Vec<(String, &str, Direction)> = Vec::new();
        let mut pointers: Vec<(String, &str)> = Vec::new();
        if let Some(auth) = &d.auth {
            for (i, method) in auth.methods.iter().enumerate() {
                if let AuthMethod::FirstMessage {
                    message, pointer, ..
                } = method
                {
                    wanted.push((
                        format!("/auth/methods/{i}/message"),
                        message,
                        Direction::Client,
                    ));
                    pointers.push((format!("/auth/methods/{i}/pointer"), pointer));
                }
            }
        }
        for (i, exchange) in d.exchanges.iter().enumerate() {
            wanted.push((
                format!("/exchanges/{i}/request"),
                &exchange.request,
                Direction::Client,
            ));
            for (j, reply) in exchange.replies.iter().enumerate() {
                let at = format!("/exchanges/{i}/replies/{j}");
                match reply {
                    ReplyForm::Single(single) => {
                        for (k, message) in single.messages.iter().enumerate() {
                            wanted.push((
                                format!("{at}/single/messages/{k}"),
                                message,
                                Direction::Server,
                            ));
                        }
                        for c in &single.correlation {
                            pointers.extend([
                                (format!("{at}/single/correlation"), c.request.as_str()),
                                (format!("{at}/single/correlation"), c.reply.as_str()),
                            ]);
                        }
                        for e in &single.expect {
                            pointers.push((format!("{at}/single/expect"), &e.pointer));
                        }
                    }
                    ReplyForm::Stream(stream) => {
                        for (key, message) in [
                            ("start", &stream.start),
                            ("chunk", &stream.chunk),
                            ("end", &stream.end),
                        ] {
                            wanted.push((format!("{at}/stream/{key}"), message, Direction::Server));
                        }
                        for (key, pointer) in [
                            ("stream_id", &stream.stream_id),
                            ("chunk_text", &stream.chunk_text),
                            ("end_text", &stream.end_text),
                        ] {
                            pointers.push((format!("{at}/stream/{key}"), pointer));
                        }
                    }
                }
            }
        }
        for (i, relay) in d.relays.iter().enumerate() {
            wanted.push((
                format!("/relays/{i}/request"),
                &relay.request,
                Direction::Client,
            ));
            wanted.push((
                format!("/relays/{i}/delivered_as"),
                &relay.delivered_as,
                Direction::Server,
            ));
            pointers.push((format!("/relays/{i}/room"), &relay.room));
            pointers.extend(
                relay
                    .target
                    .iter()
                    .map(|p| (format!("/relays/{i}/target"), p.as_str())),
            );
            pointers.extend(
                relay
                    .sender_id
                    .iter()
                    .map(|p| (format!("/relays/{i}/sender_id"), p.as_str())),
            );
        }
        for (i, unprompted) in d.unprompted.iter().enumerate() {
            wanted.push((
                format!("/unprompted/{i}/message"),
                &unprompted.message,
                Direction::Server,
            ));
        }
        if let Some(sessions) = &d.sessions {
            match &sessions.origin {
                SessionOrigin::Request {
                    message,
                    id_in_reply,
                } => {
                    wanted.push((
                        "/sessions/origin/message".into(),
                        message,
                        Direction::Client,
                    ));
                    pointers.push(("/sessions/origin/id_in_reply".into(), id_in_reply));
                }
                SessionOrigin::Announcement { message, id } => {
                    wanted.push((
                        "/sessions/origin/message".into(),
                        message,
                        Direction::Server,
                    ));
                    pointers.push(("/sessions/origin/id".into(), id));
                }
            }
            for (message, pointer) in &sessions.id_in_requests {
                wanted.push((
                    format!("/sessions/id_in_requests/{message}"),
                    message,
                    Direction::Client,
                ));
                pointers.push((format!("/sessions/id_in_requests/{message}"), pointer));
            }
            for (i, message) in sessions.needed_by.iter().enumerate() {
                wanted.push((
                    format!("/sessions/needed_by/{i}"),
                    message,
                    Direction::Client,
                ));
            }
            for (i, message) in sessions.ended_by.iter().enumerate() {
                if !sessions.id_in_requests.contains_key(message) {
                    return Err((
                        format!("/sessions/ended_by/{i}"),
                        format!("{message} names no session (it is not in id_in_requests)"),
                    ));
                }
            }
            for (key, refusals) in [
                ("unknown", &sessions.unknown),
                ("foreign", &sessions.foreign),
            ] {
                for (i, refusal) in refusals.iter().enumerate() {
                    let at = format!("/sessions/{key}/{i}");
                    if refusal.requests.is_empty() || refusal.outcomes.is_empty() {
                        return Err((at, "names no request or no outcome".into()));
                    }
                    for (j, request) in refusal.requests.iter().enumerate() {
                        if !sessions.id_in_requests.contains_key(request) {
                            return Err((
                                format!("{at}/requests/{j}"),
                                format!("{request} names no session (it is not in id_in_requests)"),
                            ));
                        }
                    }
                    outcome_references(&refusal.outcomes, &at, &mut wanted, &mut pointers);
                }
            }
        }
        for (i, reaction) in d.reactions.iter().enumerate() {
            let at = format!("/reactions/{i}");
            if reaction.outcomes.is_empty() && !reaction.trigger.is_bad_input() {
                return Err((
                    format!("{at}/outcomes"),
                    "only a reaction to bad input may document no outcome".into(),
                ));
            }
            outcome_references(&reaction.outcomes, &at, &mut wanted, &mut pointers);
        }
        for (i, busy) in d.while_busy.iter().enumerate() {
            for (key, request) in [("busy_with", &busy.busy_with), ("request", &busy.request)] {
                if !d.exchanges.iter().any(|e| &e.request == request) {
                    return Err((
                        format!("/while_busy/{i}/{key}"),
                        format!("{request} is the request of no exchange"),
                    ));
                }
            }
        }
        for (i, message) in d.error_messages.iter().enumerate() {
            wanted.push((format!("/error_messages/{i}"), message, Direction::Server));
        }
        if let Some(codes) = &d.error_codes {
            wanted.push((
                "/error_codes/message".into(),
                &codes.message,
                Direction::Server,
            ));
            pointers.push(("/error_codes/pointer".into(), &codes.pointer));
        }
        for (at, name, direction) in wanted {
            match self.direction_of(name) {
                Some(found) if found == direction => {}
                Some(found) => {
                    return Err((
                        at,
                        format!(
                            "{name} is a {found:?} message, a {direction:?} message is needed here"
                        ),
                    ));
                }
                None => return Err((at, format!("{name} is not a message of this protocol"))),
            }
        }
        for (at, pointer) in pointers {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err((at, format!("{pointer:?} is not a JSON Pointer")));
            }
        }
        Ok(())
    }

    /// Every rule quotes its document (whitespace-insensitively).
    fn check_quotes(&self) -> std::result::Result<(), (String, String)> {
        let normalized: BTreeMap<&str, String> = self
            .documents
            .iter()
            .map(|(file, text)| (file.as_str(), normalise(text)))
            .collect();
        let main = self
            .description
            .documents
            .first()
            .map(|d| d.file.as_str())
            .unwrap_or_default();
        for (at, rule) in self.description.rules() {
            let file = rule.document.as_deref().unwrap_or(main);
            let text = normalized.get(file).ok_or_else(|| {
                (
                    at.clone(),
                    format!("document {file} is not listed in `documents`"),
                )
            })?;
            if !text.contains(&normalise(&rule.quote)) {
                return Err((at, format!("the quote {:?} is not in {file}", rule.quote)));
            }
        }
        Ok(())
    }

    /// Every example file is listed and exists, its message has the right direction, and each
    /// example parses.
    fn load_examples(&mut self, tree: &SourceTree) -> Result<()> {
        let folder = format!("{}/examples", self.id);
        let index = tree.display(&format!("{folder}/index.json"));
        let listed: BTreeSet<&str> = self.examples.files().collect();
        let present: BTreeSet<String> = tree
            .files_below(&folder, &|_| true)?
            .into_iter()
            .map(|path| path[folder.len() + 1..].to_string())
            .filter(|path| path != "index.json")
            .collect();
        if let Some(stray) = present.iter().find(|file| !listed.contains(file.as_str())) {
            return Err(Error::in_file(
                tree.display(&format!("{folder}/{stray}")),
                "example file not listed in examples/index.json",
            ));
        }
        if let Some(missing) = listed.iter().find(|file| !present.contains(**file)) {
            return Err(Error::in_file(
                &index,
                format!("lists {missing}, which does not exist"),
            ));
        }
        let messages = self
            .examples
            .valid
            .iter()
            .map(|e| (&e.message, e.direction, &e.file));
        let invalid = self
            .examples
            .invalid
            .iter()
            .filter_map(|e| Some((e.message.as_ref()?, e.direction, &e.file)));
        for (message, direction, file) in messages.chain(invalid) {
            if self.direction_of(message) != Some(direction) {
                return Err(Error::in_file(
                    &index,
                    format!("{file}: {message} is not a {direction:?} message"),
                ));
            }
        }
        for example in &self.examples.valid {
            for source in &example.sources {
                if !self.documents.contains_key(&source.document) {
                    return Err(Error::in_file(
                        &index,
                        format!(
                            "{}: document {} is not listed in protocol.json",
                            example.file, source.document
                        ),
                    ));
                }
            }
        }
        let json_files = self
            .examples
            .valid
            .iter()
            .map(|e| &e.file)
            .chain(self.examples.invalid.iter().map(|e| &e.file));
        let mut values = BTreeMap::new();
        for file in json_files {
            let relative = format!("{folder}/{file}");
            values.insert(
                file.clone(),
                parse_example(&tree.display(&relative), &tree.read(&relative)?)?,
            );
        }
        self.example_values = values;
        Ok(())
    }

    /// Reads every message's annotations, and checks them against the examples: a loose value's
    /// `expected` kinds include those the message's examples show there, and a placeholder marked in an
    /// example stands where its description applies.
    fn load_annotations(&mut self, schemas: &SchemaSet) -> Result<()> {
        let mut annotations = BTreeMap::new();
        for name in self.description.messages.keys() {
            let uri = self.message_uri(name).unwrap_or_default();
            annotations.insert(name.clone(), MessageAnnotations::of(schemas, &uri)?);
        }
        for (name, found) in &annotations {
            for loose in &found.loose {
                let shown: Vec<&Value> = self
                    .valid_examples()
                    .into_iter()
                    .filter(|(e, _)| &e.message == name)
                    .filter_map(|(_, value)| value.pointer(&loose.pointer))
                    .collect();
                let file = || {
                    let (uri, pointer) = loose.location.split_once('#').unwrap_or_default();
                    let shown = schemas.get(uri).map(|d| schemas.display(d));
                    (
                        shown.unwrap_or_else(|| self.dir.clone()),
                        pointer.to_string(),
                    )
                };
                if shown.is_empty() {
                    let (file, pointer) = file();
                    return Err(Error::at(
                        file,
                        pointer,
                        format!(
                            "no example of {name} shows a value at {}, so there is nothing the                              loose value's kinds could be read from",
                            loose.pointer
                        ),
                    ));
                }
                if let Some(other) = shown
                    .iter()
                    .find(|v| !loose.value.expected.iter().any(|k| k.admits(v)))
                {
                    let (file, pointer) = file();
                    return Err(Error::at(
                        file,
                        pointer,
                        format!(
                            "an example of {name} shows a {} at {}, which `expected` does not list",
                            JsonKind::of(other).name(),
                            loose.pointer
                        ),
                    ));
                }
            }
        }
        let index = self.dir.join("examples/index.json");
        let credential_at: Vec<(&str, &str)> = self
            .description
            .auth
            .iter()
            .flat_map(|a| &a.methods)
            .filter_map(|m| match m {
                AuthMethod::FirstMessage {
                    message, pointer, ..
                } => Some((message.as_str(), pointer.as_str())),
                _ => None,
            })
            .collect();
        for (i, example) in self.examples.valid.iter().enumerate() {
            let value = &self.example_values[&example.file];
            for (j, placeholder) in example.placeholders.iter().enumerate() {
                let at = format!("/valid/{i}/placeholders/{j}");
                let pointer = placeholder.pointer.as_str();
                if !matches!(value.pointer(pointer), Some(Value::String(_))) {
                    return Err(Error::at(
                        &index,
                        at,
                        format!("{} holds no string at {pointer}", example.file),
                    ));
                }
                let fits = match placeholder.stands_for {
                    StandsFor::Base64 => annotations
                        .get(&example.message)
                        .is_some_and(|a| a.is_base64(pointer)),
                    StandsFor::Credential => {
                        credential_at.contains(&(example.message.as_str(), pointer))
                    }
                };
                if !fits {
                    let what = match placeholder.stands_for {
                        StandsFor::Base64 => "annotated `contentEncoding: base64` in the schema",
                        StandsFor::Credential => {
                            "where first-message authentication puts the credential"
                        }
                    };
                    return Err(Error::at(
                        &index,
                        at,
                        format!("{pointer} of {} is not {what}", example.message),
                    ));
                }
            }
        }
        self.annotations = annotations;
        Ok(())
    }

    /// Where a quoted sentence stands: the document that has it (`document` first, then the
    /// others of `documents`) and the lines it spans there (1-based, first and last), whitespace
    /// normalised as the loader's quote check does.
    pub fn locate(&self, quote: &str, document: Option<&str>) -> Option<QuoteLocation> {
        let others = self.description.documents.iter().map(|d| d.file.as_str());
        document.into_iter().chain(others).find_map(|file| {
            let text = self.documents.get(file)?;
            let (first_line, last_line) = crate::quote::lines_of(text, quote)?;
            Some(QuoteLocation {
                document: file.to_string(),
                first_line,
                last_line,
            })
        })
    }

    /// The valid examples with their parsed frames.
    pub fn valid_examples(&self) -> Vec<(&ValidExample, &Value)> {
        self.examples
            .valid
            .iter()
            .map(|e| (e, &self.example_values[&e.file]))
            .collect()
    }

    /// The invalid examples with their parsed frames.
    pub fn invalid_examples(&self) -> Vec<(&InvalidExample, &Value)> {
        self.examples
            .invalid
            .iter()
            .map(|e| (e, &self.example_values[&e.file]))
            .collect()
    }
}

/// The messages and pointers a list of outcomes refers to, for the reference check.
fn outcome_references<'d>(
    outcomes: &'d [Outcome],
    at: &str,
    wanted: &mut Vec<(String, &'d str, Direction)>,
    pointers: &mut Vec<(String, &'d str)>,
) {
    for (j, outcome) in outcomes.iter().enumerate() {
        if let Outcome::Reply { message, expect } = outcome {
            wanted.push((
                format!("{at}/outcomes/{j}/reply/message"),
                message,
                Direction::Server,
            ));
            pointers.extend(expect.iter().map(|e| {
                (
                    format!("{at}/outcomes/{j}/reply/expect"),
                    e.pointer.as_str(),
                )
            }));
        }
    }
}
