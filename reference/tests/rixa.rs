//! The RIXA reference server over real sockets: every command's `{role, content}` response,
//! settings, chat modes, plugin settings and functions, and status errors.

mod support;

use serde_json::{Value, json};
use support::{Client, Protocol, start_server};

/// Sends a command and returns the response's content, checking its role.
async fn ask(client: &mut Client, command: Value, role: &str) -> Value {
    client.send(&command).await;
    let response = client.recv("response").await;
    assert_eq!(response["role"], role, "{command} → {response}");
    response["content"].clone()
}

/// Sends a command and returns the status error's text.
async fn refused(client: &mut Client, command: &str) -> String {
    client.send_text(command).await;
    let status = client.recv("status").await;
    assert_eq!(status["type"], "status");
    assert_eq!(status["level"], "error", "{command} → {status}");
    status["content"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn user_messages_are_answered_by_the_assistant_and_tracked() {
    let server = start_server(Protocol::Rixa).await;
    let mut client = server.client().await;
    let first = ask(
        &mut client,
        json!({"type": "usr_msg", "content": "What's the weather like today?"}),
        "assistant",
    )
    .await;
    assert_eq!(
        first,
        "You said: What's the weather like today? (1 messages in this chat, mode default)"
    );
    let second = ask(
        &mut client,
        json!({"type": "usr_msg", "content": "and tomorrow?"}),
        "assistant",
    )
    .await;
    assert!(second.as_str().unwrap().contains("(2 messages"), "{second}");

    let deleted = ask(
        &mut client,
        json!({"type": "delete_current_tracker"}),
        "tracker",
    )
    .await;
    assert_eq!(deleted, "deleted: a new chat starts");
    let fresh = ask(
        &mut client,
        json!({"type": "usr_msg", "content": "hi"}),
        "assistant",
    )
    .await;
    assert!(fresh.as_str().unwrap().contains("(1 messages"), "{fresh}");
}

#[tokio::test]
async fn user_settings_change_and_are_reported() {
    let server = start_server(Protocol::Rixa).await;
    let mut client = server.client().await;
    let defaults = json!({
        "enable_function_calls": false,
        "enable_knowledge_retrieval": false,
        "selected_chat_mode": "default",
    });
    assert_eq!(
        ask(
            &mut client,
            json!({"type": "user_settings"}),
            "user_settings"
        )
        .await,
        defaults
    );
    let changed = ask(
        &mut client,
        json!({"type": "change_setting", "setting": "enable_function_calls", "value": true}),
        "user_settings",
    )
    .await;
    assert_eq!(changed["enable_function_calls"], true);
    let changed = ask(
        &mut client,
        json!({"type": "change_setting", "setting": "enable_knowledge_retrieval", "value": true}),
        "user_settings",
    )
    .await;
    assert_eq!(changed["enable_knowledge_retrieval"], true);
    let changed = ask(
        &mut client,
        json!({"type": "change_setting", "setting": "selected_chat_mode", "value": "research"}),
        "user_settings",
    )
    .await;
    assert_eq!(
        changed,
        json!({
            "enable_function_calls": true,
            "enable_knowledge_retrieval": true,
            "selected_chat_mode": "research",
        })
    );
    // The chat mode shows in the assistant's answers.
    let answer = ask(
        &mut client,
        json!({"type": "usr_msg", "content": "x"}),
        "assistant",
    )
    .await;
    assert!(answer.as_str().unwrap().ends_with("mode research)"));

    // Settings belong to the connection.
    let mut other = server.client().await;
    assert_eq!(
        ask(
            &mut other,
            json!({"type": "user_settings"}),
            "user_settings"
        )
        .await,
        defaults
    );
}

#[tokio::test]
async fn wrong_setting_values_are_status_errors_and_change_nothing() {
    let server = start_server(Protocol::Rixa).await;
    let mut client = server.client().await;
    let why = refused(
        &mut client,
        r#"{"type": "change_setting", "setting": "enable_function_calls", "value": "yes"}"#,
    )
    .await;
    assert_eq!(why, "enable_function_calls takes true or false");
    let why = refused(
        &mut client,
        r#"{"type": "change_setting", "setting": "selected_chat_mode", "value": "loud"}"#,
    )
    .await;
    assert!(
        why.starts_with("selected_chat_mode must be one of"),
        "{why}"
    );
    // Not a documented setting: the schema's enumeration refuses it.
    let why = refused(
        &mut client,
        r#"{"type": "change_setting", "setting": "volume", "value": 11}"#,
    )
    .await;
    assert!(why.starts_with("invalid change_setting"), "{why}");
    let settings = ask(
        &mut client,
        json!({"type": "user_settings"}),
        "user_settings",
    )
    .await;
    assert_eq!(settings["enable_function_calls"], false);
    assert_eq!(settings["selected_chat_mode"], "default");
}

#[tokio::test]
async fn chat_modes_and_chat_start_info() {
    let server = start_server(Protocol::Rixa).await;
    let mut client = server.client().await;
    assert_eq!(
        ask(&mut client, json!({"type": "get_chat_modes"}), "chat_modes").await,
        json!(["default", "research", "concise"])
    );
    let info = ask(
        &mut client,
        json!({"type": "get_chat_start_info", "selected_chat_mode": "concise"}),
        "chat_start_info",
    )
    .await;
    assert_eq!(info["title"], "RIXA: concise mode");
    assert_eq!(
        info["onboarding_messages"],
        json!(["Hello! Ask me anything."])
    );
    let why = refused(
        &mut client,
        r#"{"type": "get_chat_start_info", "selected_chat_mode": "poetry"}"#,
    )
    .await;
    assert_eq!(why, "unknown chat mode \"poetry\"");
}

#[tokio::test]
async fn plugin_settings_are_overridden_per_user() {
    let server = start_server(Protocol::Rixa).await;
    let mut client = server.client().await;
    let global = json!({
        "math": {"precision": 2},
        "my_plugin": {"api_key": "", "greeting": "hello"},
    });
    assert_eq!(
        ask(
            &mut client,
            json!({"type": "get_plugin_settings"}),
            "plugin_settings"
        )
        .await,
        global
    );
    let updated = ask(
        &mut client,
        json!({"type": "update_plugin_setting", "plugin_id": "my_plugin", "setting_id": "api_key", "value": "new_api_key_value"}),
        "plugin_settings",
    )
    .await;
    assert_eq!(updated["my_plugin"]["api_key"], "new_api_key_value");
    assert_eq!(updated["my_plugin"]["greeting"], "hello");
    assert_eq!(
        ask(
            &mut client,
            json!({"type": "get_plugin_settings"}),
            "plugin_settings"
        )
        .await,
        updated
    );
    let mut other = server.client().await;
    assert_eq!(
        ask(
            &mut other,
            json!({"type": "get_plugin_settings"}),
            "plugin_settings"
        )
        .await,
        global
    );
    for (plugin, setting) in [("my_plugin", "colour"), ("nope", "api_key")] {
        let command = json!({"type": "update_plugin_setting", "plugin_id": plugin, "setting_id": setting, "value": 1});
        let why = refused(&mut client, &command.to_string()).await;
        assert_eq!(why, format!("plugin {plugin:?} has no setting {setting:?}"));
    }
}

#[tokio::test]
async fn plugin_code_runs_the_function_registry() {
    let server = start_server(Protocol::Rixa).await;
    let mut client = server.client().await;
    let help = ask(
        &mut client,
        json!({"type": "execute_plugin_code", "content": "##help()#"}),
        "plugin_result",
    )
    .await;
    assert_eq!(
        help["functions"],
        json!(["help()", "echo(...)", "add(a, b)", "upper(text)"])
    );
    assert_eq!(
        ask(
            &mut client,
            json!({"type": "execute_plugin_code", "content": "#add(1, 2.5)#"}),
            "plugin_result"
        )
        .await,
        json!(3.5)
    );
    assert_eq!(
        ask(
            &mut client,
            json!({"type": "execute_plugin_code", "content": "#upper(shout)#"}),
            "plugin_result"
        )
        .await,
        "SHOUT"
    );
    for (code, expected) in [
        ("#nothing()#", "unknown plugin function \"nothing\""),
        ("#help#", "code must look like #name(arguments)#"),
        ("#help(#", "missing `)`"),
        ("#add(1)#", "add takes two numbers"),
    ] {
        let command = json!({"type": "execute_plugin_code", "content": code});
        assert_eq!(refused(&mut client, &command.to_string()).await, expected);
    }
    // Code not enclosed in #s is no execute_plugin_code at all.
    let why = refused(
        &mut client,
        r#"{"type": "execute_plugin_code", "content": "help()"}"#,
    )
    .await;
    assert!(why.starts_with("invalid execute_plugin_code"), "{why}");
}

#[tokio::test]
async fn plugin_functions_are_called_with_args_and_kwargs() {
    let server = start_server(Protocol::Rixa).await;
    let mut client = server.client().await;
    let echoed = ask(
        &mut client,
        json!({"type": "call_plugin_function", "function_name": "echo", "args": ["arg1", "arg2"], "kwargs": {"key1": "value1"}}),
        "function_result",
    )
    .await;
    assert_eq!(
        echoed,
        json!({"function_name": "echo", "result": {"args": ["arg1", "arg2"], "kwargs": {"key1": "value1"}}})
    );
    // args and kwargs are optional.
    let bare = ask(
        &mut client,
        json!({"type": "call_plugin_function", "function_name": "echo"}),
        "function_result",
    )
    .await;
    assert_eq!(bare["result"], json!({"args": [], "kwargs": {}}));
    let sum = ask(
        &mut client,
        json!({"type": "call_plugin_function", "function_name": "add", "args": [40, 2]}),
        "function_result",
    )
    .await;
    assert_eq!(sum["result"], json!(42.0));
    let why = refused(
        &mut client,
        r#"{"type": "call_plugin_function", "function_name": "my_function", "args": ["arg1"]}"#,
    )
    .await;
    assert_eq!(why, "unknown plugin function \"my_function\"");
    let why = refused(
        &mut client,
        r#"{"type": "call_plugin_function", "function_name": "upper", "args": [1]}"#,
    )
    .await;
    assert_eq!(why, "upper takes one string");
}

#[tokio::test]
async fn bug_reports_global_settings_and_utilization() {
    let server = start_server(Protocol::Rixa).await;
    let mut client = server.client().await;
    let thanks = ask(
        &mut client,
        json!({"type": "bug_report", "report": "It broke.", "image": "data:image/png;base64,iVBORw0KGgoAAAAN..."}),
        "bug_report",
    )
    .await;
    assert_eq!(
        thanks,
        "Thank you: your report of 9 characters with an image was received."
    );
    let thanks = ask(
        &mut client,
        json!({"type": "bug_report", "report": "ça casse"}),
        "bug_report",
    )
    .await;
    assert_eq!(
        thanks,
        "Thank you: your report of 8 characters was received."
    );
    assert_eq!(
        ask(
            &mut client,
            json!({"type": "get_global_settings"}),
            "global_settings"
        )
        .await,
        json!({"website_title": "RIXA reference server"})
    );

    let mut second = server.client().await;
    let info = ask(
        &mut second,
        json!({"type": "get_utilization_info"}),
        "utilization_info",
    )
    .await;
    assert_eq!(info["connections"], 2);
    assert!(info["uptime_seconds"].is_u64());
    client.close().await;
    // The count drops once the server has seen the close.
    let mut connections = Value::Null;
    for _ in 0..100 {
        connections = ask(
            &mut second,
            json!({"type": "get_utilization_info"}),
            "utilization_info",
        )
        .await["connections"]
            .clone();
        if connections == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(connections, 1);
}

#[tokio::test]
async fn bad_frames_are_status_errors_and_the_connection_stays_open() {
    let server = start_server(Protocol::Rixa).await;
    let mut client = server.client().await;
    let cases = [
        ("{\"type\": ", "not JSON"),
        ("\"usr_msg\"", "no ClientMessage"),
        ("[]", "no ClientMessage"),
        (r#"{"type": "dance"}"#, "no ClientMessage"),
        (r#"{"content": "no type"}"#, "no ClientMessage"),
        (r#"{"type": "usr_msg"}"#, "invalid usr_msg"),
        (r#"{"type": "usr_msg", "content": 7}"#, "invalid usr_msg"),
        (
            r#"{"type": "call_plugin_function", "args": []}"#,
            "invalid call_plugin_function",
        ),
        // The server's own message is not a command.
        (
            r#"{"type": "status", "level": "error", "content": "x"}"#,
            "no ClientMessage",
        ),
    ];
    for (frame, why) in cases {
        let text = refused(&mut client, frame).await;
        assert!(text.contains(why), "{frame} → {text}");
    }
    ask(&mut client, json!({"type": "get_chat_modes"}), "chat_modes").await;
}

#[tokio::test]
async fn a_message_sent_while_one_is_processed_is_ignored_with_a_notice() {
    let server = start_server(Protocol::Rixa).await;
    let mut client = server.client().await;
    // "Messages outside the usual conversation cycle will be ignored", and "if a chat message
    // is being processed, most likely RIXA will ignore a function call".
    client
        .send(&json!({"type": "usr_msg", "content": "first"}))
        .await;
    client
        .send(&json!({"type": "usr_msg", "content": "second"}))
        .await;
    client
        .send(&json!({"type": "call_plugin_function", "function_name": "help"}))
        .await;
    let ignored = client.recv("status").await;
    assert!(
        ignored["content"].as_str().unwrap().contains("ignored"),
        "{ignored}"
    );
    let ignored = client.recv("status").await;
    assert!(
        ignored["content"]
            .as_str()
            .unwrap()
            .contains("function call is ignored"),
        "{ignored}"
    );
    let answer = client.recv("response").await;
    assert_eq!(
        answer["content"],
        "You said: first (1 messages in this chat, mode default)"
    );
    // Once answered, the next message is inside the cycle again.
    let next = ask(
        &mut client,
        json!({"type": "usr_msg", "content": "third"}),
        "assistant",
    )
    .await;
    assert!(next.as_str().unwrap().contains("(2 messages"), "{next}");
}
