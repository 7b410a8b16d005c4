//! Password hashing: PBKDF2-HMAC-SHA256 through ring, 600,000 iterations (OWASP 2023).

use std::fmt;
use std::num::NonZeroU32;

use ring::pbkdf2;
use ring::rand::SecureRandom;
use serde::Deserialize;

use crate::domain::Password;
use crate::keys::{hex, unhex};

pub const ITERATIONS: u32 = 600_000;
const SCHEME: &str = "pbkdf2-sha256";

/// A stored password hash: `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn parse(s: &str) -> Result<Self, String> {
        parts(s).ok_or_else(|| {
            format!("expected `{SCHEME}$<iterations>$<salt hex>$<hash hex>` as printed by `linkdock password hash`")
        })?;
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
    if it.next().is_some() || salt.len() < 16 || hash.len() != 32 || iterations.get() < 100_000 {
        return None;
    }
    Some((iterations, salt, hash))
}

pub fn hash(password: &Password, rng: &dyn SecureRandom) -> PasswordHash {
    let mut salt = [0u8; 16];
    rng.fill(&mut salt).expect("system random source");
    let mut out = [0u8; 32];
    let iterations = NonZeroU32::new(ITERATIONS).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password.expose().as_bytes(),
        &mut out,
    );
    PasswordHash(format!(
        "{SCHEME}${ITERATIONS}${}${}",
        hex(&salt),
        hex(&out)
    ))
}

/// Constant-time check of `password` against a stored hash string.
pub fn verify(password: &str, stored: &str) -> bool {
    let Some((iterations, salt, expected)) = parts(stored) else {
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

/// Spend the same time as a real check, for unknown users (no user-enumeration by timing).
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<PasswordHash> = std::sync::OnceLock::new();
    let h = DUMMY.get_or_init(|| {
        hash(
            &Password::parse("dummy-password".into()).unwrap_or_else(|_| unreachable!()),
            &ring::rand::SystemRandom::new(),
        )
    });
    let _ = verify(password, h.as_str());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_wrong_passwords_do_not() {
        let rng = ring::rand::SystemRandom::new();
        let h = hash(&Password::parse("correct horse".into()).unwrap(), &rng);
        assert!(h.as_str().starts_with("pbkdf2-sha256$600000$"));
        assert!(verify("correct horse", h.as_str()));
        assert!(!verify("correct horsf", h.as_str()));
        assert!(PasswordHash::parse(h.as_str()).is_ok());
        assert!(PasswordHash::parse("plain").is_err());
    }
}
