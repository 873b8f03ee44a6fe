//! RIXA: settings, chat modes, plugin settings, a small plugin function registry and
//! `execute_plugin_code`. Every command is answered with a `{role, content}` response, every
//! error with a `{type: "status", level: "error", content}` message.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use agentwire_rixa as rixa;
use agentwire_rixa::server::{Conn, Handler, Invalid, Reply};
use agentwire_rixa::{Response, SettingName, Status};
use serde_json::{Value, json};

/// The chat modes every user may choose.
const CHAT_MODES: &[&str] = &["default", "research", "concise"];
/// How long the assistant takes to answer a user message, as a model would. A user message or a
/// function call that arrives meanwhile is ignored, with an error notice: "Messages outside the
/// usual conversation cycle will be ignored"; "If a chat message is being processed, most likely
/// RIXA will ignore a function call."
pub const THINKING: Duration = Duration::from_millis(200);

/// The RIXA reference server.
#[derive(Debug, Clone, Default)]
pub struct Rixa {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    started: Instant,
    connections: AtomicUsize,
    /// Global plugin settings: plugin → setting → value.
    plugins: BTreeMap<&'static str, BTreeMap<&'static str, Value>>,
}

impl Default for Shared {
    fn default() -> Self {
        let mut plugins = BTreeMap::new();
        plugins.insert(
            "my_plugin",
            BTreeMap::from([("api_key", json!("")), ("greeting", json!("hello"))]),
        );
        plugins.insert("math", BTreeMap::from([("precision", json!(2))]));
        Self {
            started: Instant::now(),
            connections: AtomicUsize::new(0),
            plugins,
        }
    }
}

/// One user's connection.
#[derive(Debug)]
pub struct State {
    enable_function_calls: bool,
    enable_knowledge_retrieval: bool,
    selected_chat_mode: String,
    /// The user's plugin settings, overriding the global ones.
    overrides: BTreeMap<(String, String), Value>,
    /// Messages in the conversation so far (counted, not kept: a connection's state stays
    /// the same size however long it talks).
    tracker: usize,
    /// Whether a user message is being answered.
    processing: Arc<AtomicBool>,
    /// The task answering it, stopped when the connection closes.
    answering: Option<tokio::task::AbortHandle>,
}

fn response(role: &str, content: Value) -> Response {
    let mut response = Response::new();
    response.role = Some(role.to_string());
    response.content = Some(content);
    response
}

fn respond(role: &str, content: Value) -> Reply {
    Reply::one(response(role, content))
}

fn error(text: impl Into<String>) -> Reply {
    Reply::one(Status::new("error".into(), text.into()))
}

impl State {
    fn user_settings(&self) -> Value {
        json!({
            "enable_function_calls": self.enable_function_calls,
            "enable_knowledge_retrieval": self.enable_knowledge_retrieval,
            "selected_chat_mode": self.selected_chat_mode,
        })
    }
}

impl Rixa {
    fn plugin_settings(&self, state: &State) -> Value {
        let mut out = serde_json::Map::new();
        for (plugin, settings) in &self.shared.plugins {
            let mut merged = serde_json::Map::new();
            for (setting, global) in settings {
                let own = state
                    .overrides
                    .get(&(plugin.to_string(), setting.to_string()));
                merged.insert(setting.to_string(), own.unwrap_or(global).clone());
            }
            out.insert(plugin.to_string(), Value::Object(merged));
        }
        Value::Object(out)
    }
}

/// The plugin functions: `help`, `echo`, `add`, `upper`.
fn call(
    function: &str,
    args: &[Value],
    kwargs: &serde_json::Map<String, Value>,
) -> Result<Value, String> {
    match function {
        "help" => Ok(json!({"functions": ["help()", "echo(...)", "add(a, b)", "upper(text)"]})),
        "echo" => Ok(json!({"args": args, "kwargs": kwargs})),
        "add" => {
            let numbers: Option<Vec<f64>> = args.iter().map(Value::as_f64).collect();
            match numbers.as_deref() {
                Some([a, b]) => Ok(json!(a + b)),
                _ => Err("add takes two numbers".into()),
            }
        }
        "upper" => match args {
            [Value::String(text)] => Ok(json!(text.to_uppercase())),
            _ => Err("upper takes one string".into()),
        },
        other => Err(format!("unknown plugin function {other:?}")),
    }
}

/// Runs code enclosed in `#`s: `#name(arg, ...)#`, the arguments being JSON values or bare words.
fn execute(code: &str) -> Result<Value, String> {
    let body = code.trim_matches('#').trim();
    let (name, rest) = body
        .split_once('(')
        .ok_or("code must look like #name(arguments)#")?;
    let inner = rest.strip_suffix(')').ok_or("missing `)`")?;
    let args: Vec<Value> = if inner.trim().is_empty() {
        Vec::new()
    } else {
        inner
            .split(',')
            .map(|arg| serde_json::from_str(arg.trim()).unwrap_or_else(|_| json!(arg.trim())))
            .collect()
    };
    call(name.trim(), &args, &serde_json::Map::new())
}

impl Handler for Rixa {
    type State = State;

    async fn open(&self, _conn: &Conn) -> (State, Reply) {
        self.shared.connections.fetch_add(1, Ordering::Relaxed);
        let state = State {
            enable_function_calls: false,
            enable_knowledge_retrieval: false,
            selected_chat_mode: CHAT_MODES[0].to_string(),
            overrides: BTreeMap::new(),
            tracker: 0,
            processing: Arc::default(),
            answering: None,
        };
        (state, Reply::none())
    }

    async fn on_execute_plugin_code(
        &self,
        _state: &mut State,
        message: rixa::ExecutePluginCode,
        _conn: &Conn,
    ) -> Reply {
        match execute(message.content.as_str()) {
            Ok(result) => respond("plugin_result", result),
            Err(why) => error(why),
        }
    }

    async fn on_call_plugin_function(
        &self,
        state: &mut State,
        message: rixa::CallPluginFunction,
        _conn: &Conn,
    ) -> Reply {
        if state.processing.load(Ordering::Acquire) {
            return error("a chat message is being processed: the function call is ignored");
        }
        let args = message.args.unwrap_or_default();
        let kwargs = message.kwargs.unwrap_or_default();
        match call(&message.function_name, &args, &kwargs) {
            Ok(result) => respond(
                "function_result",
                json!({"function_name": message.function_name, "result": result}),
            ),
            Err(why) => error(why),
        }
    }

    async fn on_usr_msg(&self, state: &mut State, message: rixa::UsrMsg, conn: &Conn) -> Reply {
        if state.processing.load(Ordering::Acquire) {
            return error("a message is being processed: this one is ignored");
        }
        state.tracker += 1;
        let answer = format!(
            "You said: {} ({} messages in this chat, mode {})",
            message.content, state.tracker, state.selected_chat_mode
        );
        // Answered later, as a model would, while the connection goes on reading.
        let processing = Arc::clone(&state.processing);
        processing.store(true, Ordering::Release);
        let outbox = conn.outbox();
        let task = tokio::spawn(async move {
            tokio::time::sleep(THINKING).await;
            // Free before the answer leaves: a client that answers it is inside the cycle.
            processing.store(false, Ordering::Release);
            let _ = outbox.send(&response("assistant", json!(answer)).into());
        });
        state.answering = Some(task.abort_handle());
        Reply::none()
    }

    async fn on_change_setting(
        &self,
        state: &mut State,
        message: rixa::ChangeSetting,
        _conn: &Conn,
    ) -> Reply {
        match (message.setting, &message.value) {
            (SettingName::EnableFunctionCalls, Value::Bool(on)) => {
                state.enable_function_calls = *on
            }
            (SettingName::EnableKnowledgeRetrieval, Value::Bool(on)) => {
                state.enable_knowledge_retrieval = *on
            }
            (SettingName::SelectedChatMode, Value::String(mode))
                if CHAT_MODES.contains(&mode.as_str()) =>
            {
                state.selected_chat_mode = mode.clone()
            }
            (SettingName::SelectedChatMode, _) => {
                return error(format!("selected_chat_mode must be one of {CHAT_MODES:?}"));
            }
            (setting, _) => return error(format!("{setting} takes true or false")),
        }
        respond("user_settings", state.user_settings())
    }

    async fn on_update_plugin_setting(
        &self,
        state: &mut State,
        message: rixa::UpdatePluginSetting,
        _conn: &Conn,
    ) -> Reply {
        let known = self
            .shared
            .plugins
            .get(message.plugin_id.as_str())
            .is_some_and(|s| s.contains_key(message.setting_id.as_str()));
        if !known {
            return error(format!(
                "plugin {:?} has no setting {:?}",
                message.plugin_id, message.setting_id
            ));
        }
        state
            .overrides
            .insert((message.plugin_id, message.setting_id), message.value);
        respond("plugin_settings", self.plugin_settings(state))
    }

    async fn on_bug_report(
        &self,
        _state: &mut State,
        message: rixa::BugReport,
        _conn: &Conn,
    ) -> Reply {
        let with_image = if message.image.is_some() {
            " with an image"
        } else {
            ""
        };
        respond(
            "bug_report",
            json!(format!(
                "Thank you: your report of {} characters{with_image} was received.",
                message.report.chars().count()
            )),
        )
    }

    async fn on_delete_current_tracker(
        &self,
        state: &mut State,
        _message: rixa::DeleteCurrentTracker,
        _conn: &Conn,
    ) -> Reply {
        state.tracker = 0;
        respond("tracker", json!("deleted: a new chat starts"))
    }

    async fn on_get_chat_modes(
        &self,
        _state: &mut State,
        _message: rixa::GetChatModes,
        _conn: &Conn,
    ) -> Reply {
        respond("chat_modes", json!(CHAT_MODES))
    }

    async fn on_get_plugin_settings(
        &self,
        state: &mut State,
        _message: rixa::GetPluginSettings,
        _conn: &Conn,
    ) -> Reply {
        respond("plugin_settings", self.plugin_settings(state))
    }

    async fn on_user_settings(
        &self,
        state: &mut State,
        _message: rixa::UserSettings,
        _conn: &Conn,
    ) -> Reply {
        respond("user_settings", state.user_settings())
    }

    async fn on_get_utilization_info(
        &self,
        _state: &mut State,
        _message: rixa::GetUtilizationInfo,
        _conn: &Conn,
    ) -> Reply {
        let connections = self.shared.connections.load(Ordering::Relaxed);
        respond(
            "utilization_info",
            json!({"connections": connections, "uptime_seconds": self.shared.started.elapsed().as_secs()}),
        )
    }

    async fn on_get_global_settings(
        &self,
        _state: &mut State,
        _message: rixa::GetGlobalSettings,
        _conn: &Conn,
    ) -> Reply {
        respond(
            "global_settings",
            json!({"website_title": "RIXA reference server"}),
        )
    }

    async fn on_get_chat_start_info(
        &self,
        _state: &mut State,
        message: rixa::GetChatStartInfo,
        _conn: &Conn,
    ) -> Reply {
        if !CHAT_MODES.contains(&message.selected_chat_mode.as_str()) {
            return error(format!(
                "unknown chat mode {:?}",
                message.selected_chat_mode
            ));
        }
        respond(
            "chat_start_info",
            json!({
                "title": format!("RIXA: {} mode", message.selected_chat_mode),
                "custom_ui_elements": [],
                "onboarding_messages": ["Hello! Ask me anything."],
            }),
        )
    }

    async fn on_invalid(&self, _state: &mut State, invalid: Invalid, _conn: &Conn) -> Reply {
        error(invalid.to_string())
    }

    async fn on_close(&self, state: State, _conn: &Conn) {
        if let Some(task) = state.answering {
            task.abort();
        }
        self.shared.connections.fetch_sub(1, Ordering::Relaxed);
    }
}
