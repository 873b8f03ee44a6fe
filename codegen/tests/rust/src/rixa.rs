//! RIXA: every command answered (by a `{role, content}` response or an error status), several in
//! flight answered in order, as replies carry no id.

use agentwire_rixa::client::{
    BugReportInput, CallPluginFunctionInput, ChangeSettingInput, Client, ConnectOptions,
    DeleteCurrentTrackerInput, ExecutePluginCodeInput, GetChatModesInput, GetChatStartInfoInput,
    GetGlobalSettingsInput, GetPluginSettingsInput, GetUtilizationInfoInput, ResponseOrStatus,
    UpdatePluginSettingInput, UserSettingsInput, UsrMsgInput,
};
use agentwire_rixa::{ExecutePluginCodeContent, SettingName};
use serde_json::{Value, json};

use crate::{Target, WAIT, soon};

/// The content of a response of the given role.
fn content(
    reply: Result<ResponseOrStatus, agentwire_rixa::client::ClientError>,
    role: &str,
) -> Value {
    match reply.expect("a reply") {
        ResponseOrStatus::Response(response) => {
            assert_eq!(response.role.as_deref(), Some(role), "{response:?}");
            response.content.unwrap_or(Value::Null)
        }
        ResponseOrStatus::Status(status) => panic!("expected a {role} response, got {status:?}"),
    }
}

/// The text of an error status.
fn status(reply: Result<ResponseOrStatus, agentwire_rixa::client::ClientError>) -> String {
    match reply.expect("a reply") {
        ResponseOrStatus::Status(status) => {
            assert_eq!(status.level, "error");
            status.content
        }
        ResponseOrStatus::Response(response) => {
            panic!("expected an error status, got {response:?}")
        }
    }
}

fn code(text: &str) -> ExecutePluginCodeContent {
    ExecutePluginCodeContent::new(text).expect("valid plugin code")
}

pub(crate) async fn conversation(target: &Target) {
    let client = Client::new(ConnectOptions::new(target.origin()).timeout(WAIT));
    soon(client.connect(), "connecting")
        .await
        .expect("connects");

    // Three requests in flight: the replies carry no id, so they answer in order.
    let (modes, plugins, user) = tokio::join!(
        client.get_chat_modes(GetChatModesInput::new()),
        client.get_plugin_settings(GetPluginSettingsInput::new()),
        client.user_settings(UserSettingsInput::new()),
    );
    assert_eq!(
        content(modes, "chat_modes"),
        json!(["default", "research", "concise"])
    );
    assert_eq!(
        content(plugins, "plugin_settings")["math"],
        json!({"precision": 2})
    );
    assert_eq!(
        content(user, "user_settings")["selected_chat_mode"],
        "default"
    );

    let mode = |value: Value| ChangeSettingInput::new(SettingName::SelectedChatMode, value);
    let changed = client.change_setting(mode(json!("research"))).await;
    assert_eq!(
        content(changed, "user_settings")["selected_chat_mode"],
        "research"
    );
    assert!(status(client.change_setting(mode(json!("loud"))).await).contains("must be one of"));
    let flag = ChangeSettingInput::new(SettingName::EnableFunctionCalls, json!("yes"));
    assert!(status(client.change_setting(flag).await).contains("true or false"));

    let update = UpdatePluginSettingInput::new("my_plugin".into(), "greeting".into(), json!("hi"));
    let updated = client.update_plugin_setting(update).await;
    assert_eq!(
        content(updated, "plugin_settings")["my_plugin"]["greeting"],
        "hi"
    );
    let unknown = UpdatePluginSettingInput::new("none".into(), "x".into(), json!(1));
    assert!(status(client.update_plugin_setting(unknown).await).contains("has no setting"));

    let added = client
        .execute_plugin_code(ExecutePluginCodeInput::new(code("#add(1, 2)#")))
        .await;
    assert_eq!(content(added, "plugin_result").as_f64(), Some(3.0));
    let launch = client
        .execute_plugin_code(ExecutePluginCodeInput::new(code("#launch(1)#")))
        .await;
    assert!(status(launch).contains("unknown plugin function"));
    let upper = CallPluginFunctionInput::new("upper".into()).with_args(vec![json!("rixa")]);
    let called = client.call_plugin_function(upper).await;
    assert_eq!(
        content(called, "function_result"),
        json!({"function_name": "upper", "result": "RIXA"})
    );
    let bad = CallPluginFunctionInput::new("add".into()).with_args(vec![json!("x")]);
    assert!(status(client.call_plugin_function(bad).await).contains("two numbers"));

    let said = content(
        client.usr_msg(UsrMsgInput::new("hi there".into())).await,
        "assistant",
    );
    assert!(
        said.as_str().expect("text").contains("You said: hi there"),
        "{said}"
    );
    let tracker = content(
        client
            .delete_current_tracker(DeleteCurrentTrackerInput::new())
            .await,
        "tracker",
    );
    assert!(tracker.as_str().expect("text").contains("deleted"));
    let report = BugReportInput::new("it broke".into()).with_image("aGk=");
    let reported = content(client.bug_report(report).await, "bug_report");
    assert!(
        reported.as_str().expect("text").contains("with an image"),
        "{reported}"
    );
    let usage = content(
        client
            .get_utilization_info(GetUtilizationInfoInput::new())
            .await,
        "utilization_info",
    );
    assert!(usage["connections"].is_number());
    let global = content(
        client
            .get_global_settings(GetGlobalSettingsInput::new())
            .await,
        "global_settings",
    );
    assert!(global["website_title"].is_string());
    let start = client
        .get_chat_start_info(GetChatStartInfoInput::new("concise".into()))
        .await;
    assert_eq!(
        content(start, "chat_start_info")["title"],
        "RIXA: concise mode"
    );
    let nope = client
        .get_chat_start_info(GetChatStartInfoInput::new("nope".into()))
        .await;
    assert!(status(nope).contains("unknown chat mode"));
    client.close().await;
}
