//! Minting the JSON Web Tokens of the auth matrix: valid, expired, wrongly signed and `alg: none`.
//!
//! The documents name no algorithm; HS256 with a shared secret (`--jwt-secret`) is what a test
//! setup can share with a server. `jsonwebtoken` encodes the tokens; it needs a crypto provider,
//! and the crate's own ones pull RSA and elliptic-curve code the suite never uses, so this module
//! installs a provider that signs HS256 only (if another provider is already installed in the
//! process, that one signs, with the same result).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, new_error};
use jsonwebtoken::signature::{Error as SignatureError, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey, Header};
use serde_json::json;
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
    // Already installed (by an earlier call or another crate) is fine.
    let _ = HS256_ONLY.install_default();
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(exp),
        &EncodingKey::from_secret(secret),
    )
    .context("minting an HS256 JWT")
}

static HS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

type HmacSha256 = Hmac<Sha256>;

struct Hs256(HmacSha256);

fn signer(
    algorithm: &Algorithm,
    key: &EncodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::HS256 || key.family() != AlgorithmFamily::Hmac {
        return Err(new_error(ErrorKind::InvalidAlgorithm));
    }
    let mac = HmacSha256::new_from_slice(key.as_bytes())
        .map_err(|_| new_error(ErrorKind::InvalidKeyFormat))?;
    Ok(Box::new(Hs256(mac)))
}

fn verifier(
    algorithm: &Algorithm,
    key: &DecodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::HS256 {
        return Err(new_error(ErrorKind::InvalidAlgorithm));
    }
    let secret = match key.kind() {
        jsonwebtoken::DecodingKeyKind::SecretOrDer(bytes) => bytes.clone(),
        _ => return Err(new_error(ErrorKind::InvalidKeyFormat)),
    };
    let mac =
        HmacSha256::new_from_slice(&secret).map_err(|_| new_error(ErrorKind::InvalidKeyFormat))?;
    Ok(Box::new(Hs256(mac)))
}

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, SignatureError> {
        let mut mac = self.0.clone();
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), SignatureError> {
        let mut mac = self.0.clone();
        mac.update(message);
        mac.verify_slice(signature)
            .map_err(|_| SignatureError::new())
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify_only_with_their_secret() {
        let token = valid("s3cret").unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        let key = DecodingKey::from_secret(b"s3cret");
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).is_ok());
        let expired = expired("s3cret").unwrap();
        assert!(jsonwebtoken::decode::<serde_json::Value>(&expired, &key, &validation).is_err());
        let wrong = wrongly_signed().unwrap();
        assert!(jsonwebtoken::decode::<serde_json::Value>(&wrong, &key, &validation).is_err());
        assert_eq!(unsigned().split('.').count(), 3);
    }
}
