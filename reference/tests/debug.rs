//! What the library's values show of themselves, and what its errors say.

use agentwire_reference::generalbots::GeneralBots;
use agentwire_reference::socializer::Socializer;
use agentwire_reference::{Options, start};

const SECRET: &str = "s3cret-that-must-not-show";

#[tokio::test]
async fn debug_output_shows_no_secret_and_no_token() {
    let mut options = Options::new("socializer").unwrap();
    options.jwt_secret = SECRET.into();
    let shown = format!("{options:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("socializer"), "{shown}");
    let running = start(options, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let token = running.token.clone().unwrap();
    let shown = format!("{running:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains(&token), "{shown}");
    assert!(shown.contains(&running.url), "{shown}");
    for shown in [
        format!("{:?}", Socializer::new(SECRET)),
        format!("{:?}", GeneralBots::new(SECRET)),
    ] {
        assert!(!shown.contains(SECRET), "{shown}");
    }
}

#[tokio::test]
async fn a_failed_bind_names_the_address() {
    let first = start(
        Options::new("rixa").unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let error = start(Options::new("rixa").unwrap(), first.addr)
        .await
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.contains(&format!("cannot listen on {}", first.addr)),
        "{text}"
    );
}

#[tokio::test]
async fn a_configuration_that_cannot_work_is_refused_before_binding() {
    let mut options = Options::new("rixa").unwrap();
    options.config.max_message_bytes = 0;
    let error = start(options, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("invalid server configuration"), "{text}");
    assert!(text.contains("max_message_bytes is 0"), "{text}");
}
