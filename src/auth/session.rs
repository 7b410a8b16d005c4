//! Session tokens: 32 random bytes in an `HttpOnly; SameSite=Strict` cookie. Only their
//! SHA-256 is stored. The CSRF token is derived from the session token, so it needs no storage
//! and cannot be known without the cookie.

use std::fmt;

use ring::digest::{digest, SHA256};
use ring::rand::SecureRandom;

use crate::keys::{hex, unhex};

pub const COOKIE: &str = "linkdock_session";
/// Sessions end this long after sign-in.
pub const TTL_SECS: i64 = 7 * 24 * 3600;
pub const CSRF_HEADER: &str = "x-csrf-token";

pub struct SessionToken([u8; 32]);

impl SessionToken {
    pub fn generate(rng: &dyn SecureRandom) -> Self {
        let mut b = [0u8; 32];
        rng.fill(&mut b).expect("system random source");
        Self(b)
    }

    pub fn from_cookie(value: &str) -> Option<Self> {
        let bytes: [u8; 32] = unhex(value)?.try_into().ok()?;
        Some(Self(bytes))
    }

    pub fn cookie_value(&self) -> String {
        hex(&self.0)
    }

    pub fn digest(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest(&SHA256, &self.0).as_ref());
        out
    }

    pub fn csrf_token(&self) -> String {
        let mut input = b"linkdock-csrf:".to_vec();
        input.extend_from_slice(&self.0);
        hex(digest(&SHA256, &input).as_ref())
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

/// Compare two secrets without an early exit (the lengths are public).
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
