//! Secrets people type or hold: passwords (PBKDF2-HMAC-SHA256 through ring) and the
//! constant-time comparison every other secret (CSRF and setup tokens) goes through.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::OnceLock;

use ring::rand::SecureRandom;
use ring::{hmac, pbkdf2};
use serde::Deserialize;

use super::DomainError;
use crate::encoding::{hex, unhex};

/// PBKDF2 rounds for every password set through linkdock (OWASP 2023). A hash declared in the
/// config file carries its own count, so tests can declare users that are cheap to check.
pub const ITERATIONS: NonZeroU32 = match NonZeroU32::new(600_000) {
    Some(n) => n,
    None => unreachable!(),
};
const SCHEME: &str = "pbkdf2-sha256";

/// A password as typed: 8–1024 characters. `Debug` never prints it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// The fewest characters a password may have.
    pub const MIN_CHARS: usize = 8;
    /// The most characters a password may have.
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(raw: String) -> Result<Self, DomainError> {
        let n = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n) {
            return Err(DomainError::new(
                "password",
                format!("must be {} long", Self::rule()),
            ));
        }
        Ok(Self(raw))
    }

    /// The rule `parse` enforces, in words ("8 to 1024 characters"): forms state it before
    /// anyone fails it.
    pub fn rule() -> String {
        format!("{} to {} characters", Self::MIN_CHARS, Self::MAX_CHARS)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// A stored password hash: `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Check the shape of a hash written by hand or by `linkdock password hash`.
    pub fn parse(s: &str) -> Result<Self, String> {
        parts(s).ok_or_else(|| {
            format!("expected `{SCHEME}$<iterations>$<salt hex>$<hash hex>` as printed by `linkdock password hash`")
        })?;
        Ok(Self(s.to_owned()))
    }

    /// A hash read back from the database: kept as it is, whatever rule holds today. A hash
    /// that no longer parses simply never verifies.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// Hash `password` with a fresh salt and the full iteration count.
    pub fn new(
        password: &Password,
        rng: &dyn SecureRandom,
    ) -> Result<Self, ring::error::Unspecified> {
        let mut salt = [0u8; 16];
        rng.fill(&mut salt)?;
        let mut out = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            ITERATIONS,
            &salt,
            password.expose().as_bytes(),
            &mut out,
        );
        Ok(Self(format!(
            "{SCHEME}${ITERATIONS}${}${}",
            hex(&salt),
            hex(&out)
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The iteration count this hash was made with (0 when it does not parse).
    pub fn iterations(&self) -> u32 {
        parts(&self.0).map_or(0, |(n, _, _)| n.get())
    }

    /// Constant-time check of `password` against this hash. This is the slow part of a
    /// sign-in: callers run it off the request workers.
    pub fn verify(&self, password: &str) -> bool {
        let Some((iterations, salt, expected)) = parts(&self.0) else {
            return false;
        };
        pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &salt,
            password.as_bytes(),
            &expected,
        )
        .is_ok()
    }

    /// Spend the time of a real check, for unknown users (no user enumeration by timing).
    pub fn verify_dummy(password: &str) {
        static DUMMY: OnceLock<Option<PasswordHash>> = OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            let pw = Password::parse("dummy-password".into()).ok()?;
            PasswordHash::new(&pw, &ring::rand::SystemRandom::new()).ok()
        });
        if let Some(h) = dummy {
            let _ = h.verify(password);
        }
    }
}

impl TryFrom<String> for PasswordHash {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

fn parts(s: &str) -> Option<(NonZeroU32, Vec<u8>, Vec<u8>)> {
    let mut it = s.split('$');
    if it.next()? != SCHEME {
        return None;
    }
    let iterations = NonZeroU32::new(it.next()?.parse().ok()?)?;
    let salt = unhex(it.next()?)?;
    let hash = unhex(it.next()?)?;
    if it.next().is_some() || salt.len() < 16 || hash.len() != 32 {
        return None;
    }
    Some((iterations, salt, hash))
}

/// Compare two secrets in constant time (with respect to their contents). Both sides are
/// MACed under a per-process random key and the tags compared by `ring::hmac::verify`, so
/// no early exit reveals where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    static KEY: OnceLock<Option<hmac::Key>> = OnceLock::new();
    let key = KEY.get_or_init(|| {
        hmac::Key::generate(hmac::HMAC_SHA256, &ring::rand::SystemRandom::new()).ok()
    });
    match key {
        Some(k) => hmac::verify(k, b.as_bytes(), hmac::sign(k, a.as_bytes()).as_ref()).is_ok(),
        // No random source at all: refuse every comparison rather than compare in the clear.
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_wrong_passwords_do_not() {
        let rng = ring::rand::SystemRandom::new();
        let h = PasswordHash::new(&Password::parse("correct horse".into()).unwrap(), &rng).unwrap();
        assert!(h.as_str().starts_with("pbkdf2-sha256$600000$"));
        assert_eq!(h.iterations(), 600_000);
        assert!(h.verify("correct horse"));
        assert!(!h.verify("correct horsf"));
        assert!(PasswordHash::parse(h.as_str()).is_ok());
        assert!(PasswordHash::parse("plain").is_err());
        assert!(!PasswordHash::from_stored("garbage".into()).verify("x"));
    }

    #[test]
    fn a_declared_hash_keeps_its_own_iteration_count() {
        let mut out = [0u8; 32];
        let salt = [7u8; 16];
        let n = NonZeroU32::new(1000).unwrap();
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            n,
            &salt,
            b"pw-for-tests",
            &mut out,
        );
        let h =
            PasswordHash::parse(&format!("{SCHEME}$1000${}${}", hex(&salt), hex(&out))).unwrap();
        assert_eq!(h.iterations(), 1000);
        assert!(h.verify("pw-for-tests"));
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(same_secret("", ""));
    }
}
