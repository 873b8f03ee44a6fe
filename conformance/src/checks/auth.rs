//! `auth.*`: the auth matrix of `protocol.json`'s `auth` and `reactions`. A valid credential via
//! each documented method is accepted; a missing, malformed, wrongly signed, unsigned or expired
//! one is refused the documented way (close code, error reply, or a refused handshake where no
//! close code is documented).

use agentwire_spec::protocol::{AuthMethod, Credential, Outcome, Trigger};

use crate::checks::{Ctx, Presented, Stop};
use crate::connection::{DialError, Recorder};
use crate::conversation::Conversation;
use crate::judge::{OutcomeSeen, describe, documented_outcomes, refusal_outcome};
use crate::plan::AuthCase;
use crate::report::Severity;

/// Runs one case of the matrix; `method` indexes `auth.methods` (`None` for no credential).
pub async fn run(
    ctx: &Ctx<'_>,
    level: Severity,
    method: Option<usize>,
    case: AuthCase,
    recorder: &Recorder,
) -> Result<(), Stop> {
    if matches!(
        case,
        AuthCase::BadSignature | AuthCase::AlgNone | AuthCase::Expired
    ) && let Some(why) = jwt_cases_not_applicable(ctx)
    {
        return Err(Stop::NotApplicable(why));
    }
    let token = match case {
        AuthCase::Valid => Some(ctx.valid_token().ok_or_else(|| {
            Stop::Skip("no valid credential: pass --token, or --jwt-secret for JWTs".into())
        })?),
        AuthCase::Missing => None,
        AuthCase::Malformed => Some(
            match ctx.protocol.description.auth.as_ref().map(|a| a.credential) {
                Some(Credential::Jwt) => crate::jwt::malformed(),
                _ => format!("conformance-invalid-{}", crate::util::fresh_id()),
            },
        ),
        AuthCase::BadSignature => Some(
            crate::jwt::wrongly_signed()
                .map_err(|e| Stop::Skip(format!("could not mint a token: {e:#}")))?,
        ),
        AuthCase::AlgNone => Some(crate::jwt::unsigned()),
        AuthCase::Expired => {
            let secret = ctx.target.jwt_secret.as_deref().ok_or_else(|| {
                Stop::Skip(
                    "an expired JWT the server would otherwise accept needs --jwt-secret".into(),
                )
            })?;
            Some(
                crate::jwt::expired(secret)
                    .map_err(|e| Stop::Skip(format!("could not mint a token: {e:#}")))?,
            )
        }
    };
    if case == AuthCase::Valid
        && let (Some(index), Some(token)) = (method, &token)
        && let Some(AuthMethod::Cookie { name, .. }) = ctx
            .protocol
            .description
            .auth
            .as_ref()
            .and_then(|a| a.methods.get(index))
        && !crate::util::cookie_safe(token)
    {
        return Err(Stop::Skip(format!(
            "--token holds characters a cookie value cannot carry (RFC 6265: whitespace, '\"', \
             ',', ';' or '\\'), so it cannot be presented in the cookie `{name}`; pass a token \
             without them to check this method"
        )));
    }
    let presented = match (method, token) {
        (Some(index), Some(token)) => Presented::Via(index, token),
        _ => Presented::Nothing,
    };
    let connected = Conversation::dial(*ctx, "A", &presented, recorder).await;
    if case == AuthCase::Valid {
        let mut conversation = match connected {
            Ok(conversation) => conversation,
            Err(error) => {
                recorder.finding(level, format!("a valid credential was refused: {error}"));
                return Err(Stop::Recorded);
            }
        };
        conversation.settle().await;
        if let Err(unserved) = conversation.probe().await {
            recorder.finding(
                unserved.severity(level),
                format!(
                    "the connection with a valid credential is not served: {}",
                    unserved.why
                ),
            );
        }
        conversation.close().await;
        return Ok(());
    }
    let outcomes = outcomes(ctx, case);
    let seen = match connected {
        Err(DialError::Refused(status)) => refusal_outcome(&outcomes, &DialError::Refused(status)),
        Err(error) => OutcomeSeen::Missing(vec![format!("{error}")]),
        Ok(mut conversation) => {
            if case == AuthCase::Missing && first_message_documented(ctx) {
                // The server waits for the first message: send an ordinary request instead.
                if let Some(frame) = first_request(ctx) {
                    conversation.send(&frame).await;
                }
            }
            let seen = conversation.await_outcome(&outcomes, ctx.deadline()).await;
            conversation.close().await;
            seen
        }
    };
    match seen {
        OutcomeSeen::Matched(how) => recorder.info(format!("refused as documented: {how}")),
        OutcomeSeen::Missing(instead) => recorder.finding(
            level,
            format!(
                "not refused as documented ({}){}",
                documented_outcomes(&outcomes),
                describe(&instead)
            ),
        ),
    }
    Ok(())
}

/// Why the JWT cases do not apply to this run: the protocol's credential is not documented as a
/// JWT, only accepted as one, and the run presents no JWT (no `--jwt-secret`).
fn jwt_cases_not_applicable(ctx: &Ctx<'_>) -> Option<String> {
    let auth = ctx.protocol.description.auth.as_ref()?;
    (auth.credential != Credential::Jwt && ctx.target.jwt_secret.is_none()).then(|| {
        "the protocol's token may be a JWT, and this run presents none: with --jwt-secret (the \
         secret a server verifies HS256 JWTs with) the JWT cases run"
            .to_string()
    })
}

/// The documented outcomes of this case's trigger (falling back to `auth_invalid`'s, then to
/// any close).
fn outcomes(ctx: &Ctx<'_>, case: AuthCase) -> Vec<Outcome> {
    let reactions = &ctx.protocol.description.reactions;
    let find = |trigger: Trigger| reactions.iter().find(|r| r.trigger == trigger);
    case.trigger()
        .and_then(find)
        .or_else(|| find(Trigger::AuthInvalid))
        .map(|r| r.outcomes.clone())
        .unwrap_or_else(|| vec![Outcome::Close { codes: Vec::new() }])
}

fn first_message_documented(ctx: &Ctx<'_>) -> bool {
    ctx.protocol
        .description
        .auth
        .iter()
        .flat_map(|a| &a.methods)
        .any(|m| matches!(m, AuthMethod::FirstMessage { .. }))
}

/// An ordinary request (the simple exchange's).
fn first_request(ctx: &Ctx<'_>) -> Option<serde_json::Value> {
    let exchange = &ctx.protocol.description.exchanges[ctx.simple_exchange()?];
    let correlation = ctx.correlation_of(&exchange.request);
    Some(
        ctx.requests()
            .build(&exchange.request, None, &correlation)?
            .frame,
    )
}
