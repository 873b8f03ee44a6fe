//! HS256 JSON Web Tokens (feature `jwt`): signing and verifying with a shared secret.
//!
//! `jsonwebtoken` does the encoding and the claim checks; it needs a crypto provider, and its
//! own ones bring RSA and elliptic-curve code that HS256 never uses, so this module installs a
//! provider that handles HS256 only. If a provider is already installed in the process, that
//! one is used, with the same result.

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, new_error};
use jsonwebtoken::signature::{Error as SignatureError, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

pub use jsonwebtoken::errors::Error;

/// Signs claims as an HS256 token. An empty secret is refused (`InvalidKeyFormat`).
pub fn sign(claims: &impl Serialize, secret: &[u8]) -> Result<String, Error> {
    refuse_empty(secret)?;
    install();
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
}

/// Verifies an HS256 token's signature, its `exp` claim (which must be present) and its `nbf`
/// claim when there is one, with no leeway, and returns its claims. Any other algorithm, `none`
/// included, is refused, and so is an empty secret (`InvalidKeyFormat`). No audience is
/// expected: an `aud` claim is not checked.
pub fn verify<C: DeserializeOwned>(token: &str, secret: &[u8]) -> Result<C, Error> {
    refuse_empty(secret)?;
    install();
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp"]);
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.leeway = 0;
    jsonwebtoken::decode::<C>(token, &DecodingKey::from_secret(secret), &validation)
        .map(|data| data.claims)
}

/// Anyone can sign with an empty secret.
fn refuse_empty(secret: &[u8]) -> Result<(), Error> {
    if secret.is_empty() {
        return Err(new_error(ErrorKind::InvalidKeyFormat));
    }
    Ok(())
}

fn install() {
    // Already installed (by an earlier call or another crate) is fine.
    let _ = HS256_ONLY.install_default();
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
    let jsonwebtoken::DecodingKeyKind::SecretOrDer(secret) = key.kind() else {
        return Err(new_error(ErrorKind::InvalidKeyFormat));
    };
    let mac =
        HmacSha256::new_from_slice(secret).map_err(|_| new_error(ErrorKind::InvalidKeyFormat))?;
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
    use serde_json::{Value, json};

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn tokens_verify_with_their_secret_only_and_until_they_expire() {
        let token = sign(&json!({"sub": "ada", "exp": now() + 60}), b"s3cret").unwrap();
        let claims: Value = verify(&token, b"s3cret").unwrap();
        assert_eq!(claims["sub"], "ada");
        assert!(verify::<Value>(&token, b"other").is_err());
        let expired = sign(&json!({"sub": "ada", "exp": now() - 60}), b"s3cret").unwrap();
        assert!(verify::<Value>(&expired, b"s3cret").is_err());
        let no_exp = sign(&json!({"sub": "ada"}), b"s3cret").unwrap();
        assert!(verify::<Value>(&no_exp, b"s3cret").is_err());
        // alg: none is refused.
        let (_, rest) = token.split_once('.').unwrap();
        let payload = rest.split('.').next().unwrap();
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(verify::<Value>(&unsigned, b"s3cret").is_err());
        assert!(verify::<Value>("not-a-jwt", b"s3cret").is_err());
    }
}
