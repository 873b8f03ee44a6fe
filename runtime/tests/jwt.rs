//! HS256 tokens: the claims checked and the secrets refused.

use agentwire_runtime::jwt::{sign, verify};
use serde_json::{Value, json};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn a_token_with_an_audience_verifies() {
    // No audience is expected, so whatever `aud` says is not checked.
    let token = sign(
        &json!({"sub": "ada", "aud": "chat", "exp": now() + 60}),
        b"s",
    )
    .unwrap();
    let claims: Value = verify(&token, b"s").unwrap();
    assert_eq!(claims["aud"], "chat");
    let token = sign(
        &json!({"sub": "ada", "aud": ["a", "b"], "exp": now() + 60}),
        b"s",
    )
    .unwrap();
    assert!(verify::<Value>(&token, b"s").is_ok());
}

#[test]
fn a_token_not_yet_valid_is_refused() {
    let later = sign(
        &json!({"sub": "ada", "nbf": now() + 60, "exp": now() + 120}),
        b"s",
    )
    .unwrap();
    assert!(verify::<Value>(&later, b"s").is_err());
    let valid = sign(
        &json!({"sub": "ada", "nbf": now() - 60, "exp": now() + 120}),
        b"s",
    )
    .unwrap();
    assert!(verify::<Value>(&valid, b"s").is_ok());
}

#[test]
fn an_empty_secret_is_refused() {
    let claims = json!({"sub": "ada", "exp": now() + 60});
    assert!(sign(&claims, b"").is_err());
    // Nothing verifies with an empty secret.
    let token = sign(&claims, b"s").unwrap();
    assert!(verify::<Value>(&token, b"").is_err());
}
