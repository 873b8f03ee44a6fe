//! Small things every reference server uses: clocks, identifiers, secrets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// Now, as RFC 3339 with microseconds: `2024-01-01T10:00:00.123456Z`.
pub fn rfc3339_now() -> String {
    humantime::format_rfc3339_micros(SystemTime::now()).to_string()
}

/// Now, in the style of Python's `datetime.isoformat()` on a naive datetime:
/// `2025-10-01T20:00:00.123456`.
pub fn local_iso_now() -> String {
    rfc3339_now().trim_end_matches('Z').to_string()
}

/// A counter that hands out identifiers shaped like version-4 UUIDs, unique in the process.
#[derive(Debug, Default)]
pub struct Ids(AtomicU64);

impl Ids {
    /// The next identifier.
    pub fn next_uuid(&self) -> String {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        format!("00000000-0000-4000-8000-{n:012x}")
    }

    /// The next number.
    pub fn next_number(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// A random secret for signing tokens, from the operating system.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 24];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if read.is_err() {
        // No /dev/urandom: the clock and the address of a local are poor entropy, but this is a
        // development server.
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
            ^ (&bytes as *const _ as u128);
        bytes[..16].copy_from_slice(&seed.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A token the reference servers accept: HS256, signed with `secret`, valid for a day.
pub fn token_for(subject: &str, secret: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 24 * 3600;
    let claims = serde_json::json!({"sub": subject, "username": subject, "exp": exp});
    agentwire_runtime::jwt::sign(&claims, secret.as_bytes()).expect("HS256 signing does not fail")
}

/// The name a token's claims give: `username`, else `sub`.
#[derive(Debug, serde::Deserialize)]
pub struct Claims {
    username: Option<String>,
    sub: Option<String>,
}

impl Claims {
    /// Who the token belongs to.
    pub fn name(&self) -> String {
        self.username
            .clone()
            .or_else(|| self.sub.clone())
            .unwrap_or_else(|| "friend".into())
    }
}
