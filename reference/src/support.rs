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

/// Random bytes from the operating system.
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if read.is_err() {
        // No /dev/urandom: std's hash keys are drawn from the operating system's randomness
        // once per thread, and each `RandomState` differs; SipHash under unknown keys is not
        // predictable from outside.
        use std::hash::{BuildHasher, Hasher};
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_usize(i);
            hasher.write_u128(
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            let word = hasher.finish().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
    bytes
}

/// A random secret for signing tokens, from the operating system.
pub fn random_secret() -> String {
    random_bytes::<24>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A random version-4 UUID: an identifier that other clients cannot guess.
pub fn random_uuid() -> String {
    let mut bytes = random_bytes::<16>();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
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

/// What the reference servers read of a token's claims. Who the token belongs to is its `sub`
/// alone; `username` is only how to address them.
#[derive(Debug, serde::Deserialize)]
pub struct Claims {
    username: Option<String>,
    sub: Option<String>,
    exp: Option<u64>,
}

impl Claims {
    /// Who the token belongs to: its `sub`; `None` when it has none (or an empty one).
    pub fn subject(&self) -> Option<&str> {
        self.sub.as_deref().filter(|s| !s.is_empty())
    }

    /// How to address them: `username`, else `sub`.
    pub fn display_name(&self) -> String {
        self.username
            .clone()
            .or_else(|| self.sub.clone())
            .unwrap_or_else(|| "friend".into())
    }

    /// When the token expires (verified tokens have an `exp`).
    pub fn expiry(&self) -> Option<SystemTime> {
        self.exp
            .and_then(|exp| SystemTime::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(exp)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_uuids_are_version_4_and_differ() {
        let (a, b) = (random_uuid(), random_uuid());
        for id in [&a, &b] {
            let parts: Vec<&str> = id.split('-').collect();
            let lengths: Vec<usize> = parts.iter().map(|p| p.len()).collect();
            assert_eq!(lengths, [8, 4, 4, 4, 12], "{id}");
            assert!(parts[2].starts_with('4'), "{id}");
            assert!(parts[3].starts_with(['8', '9', 'a', 'b']), "{id}");
        }
        // Not a counter: two ids share no 32-bit prefix (a chance of 2^-32 for random ones).
        assert_ne!(a[..8], b[..8]);
    }
}
