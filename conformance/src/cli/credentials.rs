//! The run's credentials: `--token` and `--jwt-secret`, or the environment (`AGENTWIRE_TOKEN`,
//! `AGENTWIRE_JWT_SECRET`), which keeps them out of process lists and CI logs.
//!
//! A credential given where no protocol of the run takes it is a mistake that would otherwise pass
//! silently: given as a flag it is a usage error; from the environment (set for a whole CI job) it
//! is ignored with a warning.

use agentwire_spec::protocol::{AuthMethod, Credential};
use anyhow::Result;

use super::usage;
use crate::plan::plan;
use crate::runner;
use crate::schemas::Schemas;

/// The environment variable of the token.
pub const TOKEN_ENV: &str = "AGENTWIRE_TOKEN";
/// The environment variable of the JWT secret.
pub const JWT_SECRET_ENV: &str = "AGENTWIRE_JWT_SECRET";

/// The credentials a run presents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// A valid credential.
    pub token: Option<String>,
    /// The secret the server verifies HS256 JWTs with.
    pub jwt_secret: Option<String>,
}

/// Where a credential came from.
struct Given {
    value: String,
    /// The flag or the environment variable, as named in messages.
    source: &'static str,
    from_env: bool,
}

/// The flag's value, else the environment variable's (an empty one counts as unset).
fn given(flag: Option<&str>, flag_name: &'static str, env: &'static str) -> Option<Given> {
    match flag {
        Some(value) => Some(Given {
            value: value.to_string(),
            source: flag_name,
            from_env: false,
        }),
        None => std::env::var(env)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|value| Given {
                value,
                source: env,
                from_env: true,
            }),
    }
}

/// Keeps a credential that applies to some protocol of the run; one that applies to none is a
/// usage error from a flag, and ignored with a warning from the environment.
fn applicable(given: Option<Given>, applies: bool, why_not: &str) -> Result<Option<String>> {
    let Some(given) = given else {
        return Ok(None);
    };
    if applies {
        return Ok(Some(given.value));
    }
    if given.from_env {
        eprintln!(
            "conformance: warning: {} is set, but {why_not}: ignored",
            given.source
        );
        return Ok(None);
    }
    Err(usage(format!("{}: {why_not}", given.source)))
}

/// The run's credentials for the protocols `ids` (with the checks `--only` and `--skip` leave).
pub fn credentials(
    schemas: &Schemas,
    ids: &[String],
    token: Option<&str>,
    jwt_secret: Option<&str>,
    only: &[String],
    skip: &[String],
) -> Result<Credentials> {
    let auth_of = |id: &String| {
        schemas
            .protocol(id)
            .expect("checked")
            .description
            .auth
            .as_ref()
    };
    let names = ids.join(", ");
    let token = applicable(
        given(token, "--token", TOKEN_ENV),
        ids.iter().any(|id| auth_of(id).is_some()),
        &format!("{names} takes no credential (its document describes no authentication)"),
    )?;
    let jwt_secret = applicable(
        given(jwt_secret, "--jwt-secret", JWT_SECRET_ENV),
        ids.iter()
            .any(|id| auth_of(id).is_some_and(|a| a.accepts(Credential::Jwt))),
        &format!(
            "no credential of {names} is a JWT (see `auth` in protocol.json), so there is nothing \
             to mint with a secret"
        ),
    )?;
    if let Some(token) = &token {
        check_token(schemas, ids, token, only, skip)?;
    }
    if jwt_secret.as_deref() == Some("") {
        return Err(usage(
            "--jwt-secret: empty (anyone could sign a token with it)",
        ));
    }
    Ok(Credentials { token, jwt_secret })
}

/// A token must travel in an HTTP header; one that cannot travel in a cookie is a usage error where
/// a cookie is how every connection of a protocol would present it (where the cookie is one method
/// among others, only that method's valid-credential check is skipped: the token may suit the
/// others).
fn check_token(
    schemas: &Schemas,
    ids: &[String],
    token: &str,
    only: &[String],
    skip: &[String],
) -> Result<()> {
    if token.is_empty()
        || tokio_tungstenite::tungstenite::http::HeaderValue::from_str(token).is_err()
    {
        return Err(usage(
            "--token: empty, or holds characters an HTTP header (a cookie) cannot carry",
        ));
    }
    if crate::util::cookie_safe(token) {
        return Ok(());
    }
    for id in ids {
        let protocol = schemas.protocol(id).expect("checked");
        if let Some(auth) = &protocol.description.auth
            && auth.required
            && let Some(AuthMethod::Cookie { name, .. }) = auth.methods.first()
            && !runner::select(plan(protocol), only, skip).is_empty()
        {
            return Err(usage(format!(
                "--token: holds characters a cookie value cannot carry (RFC 6265: whitespace, \
                 '\"', ',', ';' or '\\'), and {id} presents it in the cookie `{name}` on every \
                 connection"
            )));
        }
    }
    Ok(())
}
