//! Minting the JSON Web Tokens of the auth matrix: valid, expired, wrongly signed and `alg: none`.
//!
//! The documents name no algorithm; HS256 with a shared secret (`--jwt-secret`) is what a test
//! setup can share with a server. Signing is `agentwire_runtime::jwt` (jsonwebtoken with an
//! HS256-only crypto provider).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use base64::Engine as _;
use serde_json::json;

/// The subject of minted tokens.
pub const SUBJECT: &str = "agentwire-conformance";
/// A secret no server should accept: tokens signed with it have a wrong signature.
const WRONG_SECRET: &[u8] = b"agentwire-conformance: not the server's secret";

/// A token signed with `secret`, valid for an hour.
pub fn valid(secret: &str) -> Result<String> {
    sign(secret.as_bytes(), now() + 3600)
}

/// A token signed with `secret` that expired an hour ago.
pub fn expired(secret: &str) -> Result<String> {
    sign(secret.as_bytes(), now().saturating_sub(3600))
}

/// A well-formed token signed with a secret the server does not know.
pub fn wrongly_signed() -> Result<String> {
    sign(WRONG_SECRET, now() + 3600)
}

/// An unsigned token (`alg: none`), which a server must never accept.
pub fn unsigned() -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = engine.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let claims = engine.encode(claims(now() + 3600).to_string());
    format!("{header}.{claims}.")
}

/// Text that is not a JWT at all.
pub fn malformed() -> String {
    "not-a-jwt".to_string()
}

fn claims(exp: u64) -> serde_json::Value {
    json!({"sub": SUBJECT, "iat": now(), "exp": exp})
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn sign(secret: &[u8], exp: u64) -> Result<String> {
    agentwire_runtime::jwt::sign(&claims(exp), secret).context("minting an HS256 JWT")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify_only_with_their_secret() {
        use agentwire_runtime::jwt::verify;
        let token = valid("s3cret").unwrap();
        assert!(verify::<serde_json::Value>(&token, b"s3cret").is_ok());
        let expired = expired("s3cret").unwrap();
        assert!(verify::<serde_json::Value>(&expired, b"s3cret").is_err());
        let wrong = wrongly_signed().unwrap();
        assert!(verify::<serde_json::Value>(&wrong, b"s3cret").is_err());
        assert!(verify::<serde_json::Value>(&unsigned(), b"s3cret").is_err());
        assert_eq!(unsigned().split('.').count(), 3);
    }
}
