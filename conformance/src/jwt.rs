//! Minting the JSON Web Tokens of the auth matrix: valid, expired, wrongly signed, `alg: none`
//! and malformed.
//!
//! The documents name no algorithm; HS256 with a shared secret (`--jwt-secret`) is what a test
//! setup can share with a server. Signing is done here, with `hmac` and `sha2` (RFC 7515 §7.1,
//! RFC 7518 §3.2), and shares no code with any server: a suite that minted tokens with the code a
//! server verifies them with would pass that server's bugs (DESIGN.md: the checker is independent
//! of what it checks). The tests prove the minting against published vectors on their own.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Result, anyhow};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

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
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let claims = URL_SAFE_NO_PAD.encode(claims(now() + 3600).to_string());
    format!("{header}.{claims}.")
}

/// Text that is not a JWT at all.
pub fn malformed() -> String {
    "not-a-jwt".to_string()
}

fn claims(exp: u64) -> Value {
    json!({"sub": SUBJECT, "iat": now(), "exp": exp})
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn sign(secret: &[u8], exp: u64) -> Result<String> {
    encode(&json!({"alg": "HS256", "typ": "JWT"}), &claims(exp), secret)
}

/// The compact serialization of a JWS with this header and these claims, signed with HS256.
pub fn encode(header: &Value, claims: &Value, secret: &[u8]) -> Result<String> {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = hs256(input.as_bytes(), secret)?;
    Ok(format!("{input}.{signature}"))
}

/// The base64url HMAC-SHA256 of a JWS signing input.
fn hs256(input: &[u8], secret: &[u8]) -> Result<String> {
    if secret.is_empty() {
        return Err(anyhow!("minting an HS256 JWT: the secret is empty"));
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret).map_err(|e| anyhow!("minting an HS256 JWT: {e}"))?;
    mac.update(input);
    Ok(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7515, appendix A.1: the JWS signing input, key and signature of the HS256 example.
    #[test]
    fn hs256_matches_rfc_7515_appendix_a1() {
        let input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
            .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let key = URL_SAFE_NO_PAD
            .decode(
                "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
            )
            .unwrap();
        assert_eq!(
            hs256(input.as_bytes(), &key).unwrap(),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
    }

    /// The example token of jwt.io, built whole: header and claims serialized, encoded, signed.
    #[test]
    fn encode_matches_the_jwt_io_example() {
        let token = encode(
            &json!({"alg": "HS256", "typ": "JWT"}),
            &json!({"sub": "1234567890", "name": "John Doe", "iat": 1516239022}),
            b"your-256-bit-secret",
        )
        .unwrap();
        assert_eq!(
            token,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\
             .eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ\
             .SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
        );
    }

    fn decode_part(token: &str, part: usize) -> Value {
        let text = token.split('.').nth(part).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
    }

    fn signature_ok(token: &str, secret: &[u8]) -> bool {
        let (input, signature) = token.rsplit_once('.').unwrap();
        hs256(input.as_bytes(), secret).unwrap() == signature
    }

    #[test]
    fn minted_tokens_are_what_they_claim() {
        let secret = "s3cret";
        let token = valid(secret).unwrap();
        assert_eq!(
            decode_part(&token, 0),
            json!({"alg": "HS256", "typ": "JWT"})
        );
        let claims = decode_part(&token, 1);
        assert_eq!(claims["sub"], SUBJECT);
        assert!(claims["exp"].as_u64().unwrap() > now());
        assert!(signature_ok(&token, secret.as_bytes()));

        let expired = expired(secret).unwrap();
        assert!(signature_ok(&expired, secret.as_bytes()));
        assert!(decode_part(&expired, 1)["exp"].as_u64().unwrap() < now());

        let wrong = wrongly_signed().unwrap();
        assert!(!signature_ok(&wrong, secret.as_bytes()));
        assert!(decode_part(&wrong, 1)["exp"].as_u64().unwrap() > now());

        let none = unsigned();
        assert_eq!(decode_part(&none, 0)["alg"], "none");
        assert!(none.ends_with('.'));
        assert_eq!(none.split('.').count(), 3);

        assert_ne!(malformed().split('.').count(), 3);
        assert!(valid("").is_err());
    }
}
