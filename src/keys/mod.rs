//! API keys: generation, the offline format check and hashing. The in-memory verification
//! index lives with the store that keeps it in step (`store::key_index`).
//!
//! Format: `<prefix>_<body><checksum>`. The body is 32 random bytes as two fixed-width base62
//! numbers (44 characters); the checksum is the CRC32 of the body in 6 base62 characters, so a
//! client or a secret scanner can reject a mistyped or invented key without asking the server.
//! Only the SHA-256 of the whole key is kept: keys carry 256 random bits, so a slow KDF buys
//! nothing here (passwords, which people choose, do get one).
//!
//! A key's record and its rules (edit, roll, disable/enable, revoke) are here too, as pure
//! functions (`record.rs`, `rules.rs`); the store runs them inside its transactions.

use std::borrow::Cow;
use std::fmt;

use ring::digest::{digest, SHA256};
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};

use crate::domain::{KeyPrefix, Timestamp};
use crate::encoding::{base62_fixed, base62_into, hex, unhex};

mod record;
mod rules;

pub use self::record::{KeyEnds, KeyId, KeyRecord, KeyStatus};
pub use self::rules::{KeyPatch, KeyRuleError, Outcome, Rolled, Transition};

const BODY_LEN: usize = 44;
const CHECKSUM_LEN: usize = 6;
/// How many leading characters of a key are kept for display.
pub const DISPLAY_PREFIX_LEN: usize = 12;

/// Why a presented API key is refused. The text says which, never echoing the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFailure {
    /// Not `<prefix>_` followed by 50 base62 characters.
    Malformed,
    /// The right shape, but the checksum does not match: mistyped or truncated.
    Checksum,
    Unknown,
    Revoked,
    Expired,
    /// Rolled: its grace period ended `at`, and the key that replaced it works instead.
    Rotated {
        at: Timestamp,
    },
    /// Switched off by a user; enabling it makes it work again.
    Disabled,
}

impl KeyFailure {
    /// Stable label, used in metrics and in the problem `type`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Checksum => "checksum",
            Self::Unknown => "unknown",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::Rotated { .. } => "rotated",
            Self::Disabled => "disabled",
        }
    }

    pub fn detail(self) -> Cow<'static, str> {
        match self {
            Self::Malformed => "the API key is malformed".into(),
            Self::Checksum => {
                "the API key checksum does not match: the key was mistyped or truncated".into()
            }
            Self::Unknown => "the API key is not known".into(),
            Self::Revoked => "the API key has been revoked".into(),
            Self::Expired => "the API key has expired".into(),
            Self::Rotated { at } => format!(
                "the API key was rotated: it was replaced by a new key and stopped working at {at}; use the new key"
            )
            .into(),
            Self::Disabled => {
                "the API key is disabled: it works again once someone who manages it enables it"
                    .into()
            }
        }
    }

    /// Whether the failure is visible without any lookup: a malformed key costs nothing.
    pub fn is_offline(self) -> bool {
        matches!(self, Self::Malformed | Self::Checksum)
    }
}

/// The CRC32 of the body in base62, as the key's last six characters.
fn checksum(body: &str) -> [u8; CHECKSUM_LEN] {
    let mut out = [0u8; CHECKSUM_LEN];
    base62_into(u128::from(crc32fast::hash(body.as_bytes())), &mut out);
    out
}

/// A key in plain text: exists only between generation and the create response.
pub struct PlainKey(String);

impl PlainKey {
    pub fn reveal(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn display_prefix(&self) -> String {
        self.0.chars().take(DISPLAY_PREFIX_LEN).collect()
    }
}

impl fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainKey(..)")
    }
}

/// SHA-256 of a whole key: what is stored and indexed.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyDigest([u8; 32]);

impl KeyDigest {
    pub fn of(key: &str) -> Self {
        let d = digest(&SHA256, key.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Self(out)
    }

    pub fn to_hex(self) -> String {
        hex(&self.0)
    }

    /// Parse `sha256:<64 hex>` (the form written in the config file) or bare hex.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let hex_part = raw.trim().strip_prefix("sha256:").unwrap_or(raw.trim());
        let bytes = unhex(hex_part).ok_or("expected `sha256:` followed by 64 hex digits")?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "expected `sha256:` followed by 64 hex digits")?;
        Ok(Self(arr))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyDigest({}…)", &self.to_hex()[..8])
    }
}

impl Serialize for KeyDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("sha256:{}", self.to_hex()))
    }
}

impl<'de> Deserialize<'de> for KeyDigest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Generate a new key and its digest. Fails only when the OS has no random source.
pub fn issue(
    rng: &dyn SecureRandom,
    prefix: &KeyPrefix,
) -> Result<(PlainKey, KeyDigest), ring::error::Unspecified> {
    let mut secret = [0u8; 32];
    rng.fill(&mut secret)?;
    let plain = key_for_secret(prefix, &secret);
    let digest = KeyDigest::of(&plain);
    Ok((PlainKey(plain), digest))
}

/// The key text for 32 secret bytes: two fixed-width base62 halves, then the checksum.
fn key_for_secret(prefix: &KeyPrefix, secret: &[u8; 32]) -> String {
    let hi = u128::from_be_bytes(std::array::from_fn(|i| secret[i]));
    let lo = u128::from_be_bytes(std::array::from_fn(|i| secret[16 + i]));
    let body = format!("{}{}", base62_fixed(hi, 22), base62_fixed(lo, 22));
    let sum = checksum(&body);
    format!(
        "{prefix}_{body}{}",
        std::str::from_utf8(&sum).unwrap_or_default()
    )
}

/// The offline check of a presented key: shape, then checksum. Needs no lookup.
pub fn parse_presented(raw: &str, prefix: &KeyPrefix) -> Result<KeyDigest, KeyFailure> {
    check_format(raw, prefix)?;
    Ok(KeyDigest::of(raw))
}

/// Shape and checksum only, without hashing: what a browser or a secret scanner can check.
pub fn check_format(raw: &str, prefix: &KeyPrefix) -> Result<(), KeyFailure> {
    let rest = raw
        .strip_prefix(prefix.as_str())
        .and_then(|r| r.strip_prefix('_'))
        .ok_or(KeyFailure::Malformed)?;
    if rest.len() != BODY_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(KeyFailure::Malformed);
    }
    let (body, sum) = rest.split_at(BODY_LEN);
    if checksum(body) != sum.as_bytes() {
        return Err(KeyFailure::Checksum);
    }
    Ok(())
}

/// The regular expression that finds keys of this prefix, for secret scanners (gitleaks,
/// trufflehog, GitHub custom patterns): the shape only, the key in capture group 1;
/// [`CHECKSUM_RULE`] tells a real key from a look-alike, and `linkdock keys check` applies it.
///
/// Not `\b…\b`: a key follows `_` (`KEY_ldk_…_old`) or an escape (`Bearer%20ldk_…`,
/// `\nldk_…`) where `\b` sees no boundary. Before the key: the start, anything but a letter
/// or digit, `%XX`, or `\n` `\r` `\t`; after it `\b` or `_`, which consumes nothing but a `_`,
/// so keys one per line or space-separated are all found. No lookaround: RE2 (gitleaks,
/// trufflehog) has none.
pub fn scanner_regex(prefix: &KeyPrefix) -> String {
    // A prefix is lower-case letters and digits: nothing in it needs escaping.
    format!(
        r"(?:^|[^0-9A-Za-z]|%[0-9A-Fa-f]{{2}}|\\[nrt])({prefix}_[0-9A-Za-z]{{{}}})(?:\b|_)",
        BODY_LEN + CHECKSUM_LEN
    )
}

/// The checksum of a key in words, as secret scanners and `api-key-format.js` apply it.
pub const CHECKSUM_RULE: &str = "after the prefix and `_` come 50 characters: a 44-character random body and a 6-character checksum, which is the CRC-32 (IEEE 802.3, as zlib's crc32) of the body's 44 ASCII characters written in base 62 (alphabet 0-9A-Za-z, most significant digit first, left-padded with 0 to 6 characters)";

/// Whether a string anywhere contains something shaped like a key of this prefix with a valid
/// checksum. Used to refuse secrets in playground history.
pub fn contains_key(text: &str, prefix: &KeyPrefix) -> bool {
    let needle = format!("{prefix}_");
    let mut from = 0;
    while let Some(pos) = text[from..].find(&needle) {
        let start = from + pos;
        let candidate: String = text[start..]
            .chars()
            .take(prefix.as_str().len() + 1 + BODY_LEN + CHECKSUM_LEN)
            .collect();
        if check_format(&candidate, prefix).is_ok() {
            return true;
        }
        from = start + needle.len();
    }
    false
}

/// What replaces the secret part of a key-shaped run in anything stored or logged.
pub const REDACTED: &str = "[redacted]";

/// `text` with the secret part of everything key-shaped replaced by [`REDACTED`], for request
/// paths, queries and messages that are stored or logged. Key-shaped is wider than a key: any
/// prefix character (a lower-case letter or digit), `_`, then 50 or more base-62 characters,
/// so keys of an earlier prefix, look-alikes and keys with text glued on are caught too.
/// Percent-encoded text is judged decoded. Borrowed, after one `memchr` for `_` or `%`, when
/// there is nothing to hide.
pub fn redact_keys(text: &str) -> Cow<'_, str> {
    const SHORTEST: usize = 2 + BODY_LEN + CHECKSUM_LEN;
    if text.len() < SHORTEST {
        return Cow::Borrowed(text);
    }
    if text.contains('%') {
        // `ldk%5F…` is the same key to the server that decodes it.
        let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
        if let Cow::Owned(redacted) = redact_plain(&decoded) {
            return Cow::Owned(redacted);
        }
        return Cow::Borrowed(text);
    }
    redact_plain(text)
}

fn redact_plain(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    // `text[..copied]` is in `out` already.
    let mut copied = 0;
    let mut from = 0;
    while let Some(i) = text[from..].find('_') {
        let at = from + i;
        let run = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        let prefixed = at > 0 && (b[at - 1].is_ascii_lowercase() || b[at - 1].is_ascii_digit());
        if prefixed && run >= BODY_LEN + CHECKSUM_LEN {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..=at]);
            o.push_str(REDACTED);
            copied = at + 1 + run;
        }
        from = at + 1 + run;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    #[test]
    fn issued_keys_have_the_documented_shape_and_verify() {
        let rng = SystemRandom::new();
        let prefix = KeyPrefix::default();
        let (plain, digest) = issue(&rng, &prefix).unwrap();
        let k = plain.reveal();
        assert!(k.starts_with("ldk_"));
        assert_eq!(k.len(), 4 + BODY_LEN + CHECKSUM_LEN);
        assert_eq!(parse_presented(k, &prefix), Ok(digest));
        assert_eq!(plain.display_prefix().len(), DISPLAY_PREFIX_LEN);
        assert!(contains_key(
            &format!("curl -H 'Authorization: Bearer {k}'"),
            &prefix
        ));
        assert!(!contains_key("ldk_short", &prefix));
    }

    #[test]
    fn the_scanner_pattern_is_the_documented_one() {
        let readme = include_str!("../../README.md");
        assert_eq!(
            readme_block(readme, "regular expression finds them").trim(),
            scanner_regex(&KeyPrefix::default()),
            "README.md shows the scanner pattern"
        );
        assert!(
            readme.contains("CRC-32"),
            "README.md states the checksum rule"
        );
    }

    /// The first fenced block after `marker` in `text`.
    fn readme_block<'a>(text: &'a str, marker: &str) -> &'a str {
        let after = &text[text.find(marker).expect(marker)..];
        let open = after.find("```").expect("a fenced block");
        let body = &after[open..];
        let body = &body[body.find('\n').unwrap() + 1..];
        &body[..body.find("```").expect("a closed block")]
    }

    /// Text between `start` and the next `end` after it, in the README's scanner section.
    fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
        let from = &text[text.find(start).expect(start) + start.len()..];
        &from[..from.find(end).expect(end)]
    }

    /// What a scanner reports with `pattern`: capture group 1 of each match (gitleaks'
    /// `secretGroup`; the whole match without one), and of those what the checksum accepts.
    fn scan(pattern: &str, text: &str) -> (Vec<String>, Vec<String>) {
        let re = regex::Regex::new(pattern).expect(pattern);
        let found: Vec<String> = re
            .captures_iter(text)
            .map(|c| c.get(1).or(c.get(0)).unwrap().as_str().to_owned())
            .collect();
        let keys = found
            .iter()
            .filter(|k| check_format(k, &KeyPrefix::default()).is_ok())
            .cloned()
            .collect();
        (found, keys)
    }

    #[test]
    fn every_documented_scanner_pattern_finds_keys_wherever_they_stand_and_nothing_else() {
        let prefix = KeyPrefix::default();
        let a = key_for_secret(&prefix, &[7; 32]);
        let b = key_for_secret(&prefix, &[200; 32]);
        // Same shape, last character changed: the regex matches it, the checksum refuses it.
        let fake = format!(
            "{}{}",
            &a[..a.len() - 1],
            if a.ends_with('0') { '1' } else { '0' }
        );
        assert_eq!(check_format(&fake, &prefix), Err(KeyFailure::Checksum));
        let some = |ks: &[&String]| ks.iter().map(|k| (*k).clone()).collect::<Vec<_>>();
        // (text, what the regex reports, what the checksum keeps)
        let table: Vec<(String, Vec<String>, Vec<String>)> = vec![
            (a.clone(), some(&[&a]), some(&[&a])),
            (
                format!("Authorization: Bearer {a}"),
                some(&[&a]),
                some(&[&a]),
            ),
            (
                format!("Authorization: Bearer%20{a}"),
                some(&[&a]),
                some(&[&a]),
            ),
            (format!("KEY_{a}_old"), some(&[&a]), some(&[&a])),
            (
                format!("export LINKDOCK_KEY='{a}'"),
                some(&[&a]),
                some(&[&a]),
            ),
            (
                format!(r#"{{"key":"{a}","next":"{b}"}}"#),
                some(&[&a, &b]),
                some(&[&a, &b]),
            ),
            (
                format!(r#"{{"log":"line\n{a}\tend"}}"#),
                some(&[&a]),
                some(&[&a]),
            ),
            (
                format!("https://x.example/cb?token={a}&x=1"),
                some(&[&a]),
                some(&[&a]),
            ),
            (
                format!("https://x.example/cb?t=%22{a}%22"),
                some(&[&a]),
                some(&[&a]),
            ),
            (format!("{a}\n{b}\n"), some(&[&a, &b]), some(&[&a, &b])),
            (format!("{a} {b}"), some(&[&a, &b]), some(&[&a, &b])),
            (format!("`{a}`."), some(&[&a]), some(&[&a])),
            // Inside a longer word: not a key.
            (format!("x{a}"), vec![], vec![]),
            (format!("0{a}"), vec![], vec![]),
            (format!("{a}x"), vec![], vec![]),
            (format!("{a}0 and {}", &b[..b.len() - 1]), vec![], vec![]),
            // The right shape, the wrong checksum: found by the regex, refused by the check.
            (format!("Bearer {fake}"), some(&[&fake]), vec![]),
            (format!("KEY_{fake}_old"), some(&[&fake]), vec![]),
        ];
        let readme = include_str!("../../README.md");
        let patterns = [
            ("scanner_regex (LLM.txt)", scanner_regex(&prefix)),
            (
                "README",
                readme_block(readme, "regular expression finds them")
                    .trim()
                    .to_owned(),
            ),
            (
                "README gitleaks",
                between(readme, "regex = '''", "'''").to_owned(),
            ),
            (
                "README trufflehog",
                between(readme, "key: '", "'").to_owned(),
            ),
        ];
        for (source, pattern) in &patterns {
            for (text, found, keys) in &table {
                assert_eq!(
                    &scan(pattern, text),
                    &(found.clone(), keys.clone()),
                    "{source} on {text:?}"
                );
            }
        }
    }

    #[test]
    fn every_single_character_change_is_rejected_offline() {
        let rng = SystemRandom::new();
        let prefix = KeyPrefix::default();
        for _ in 0..50 {
            let (plain, _) = issue(&rng, &prefix).unwrap();
            let k = plain.reveal().as_bytes().to_vec();
            for i in 4..k.len() {
                for replacement in [b'0', b'a', b'Z'] {
                    if k[i] == replacement {
                        continue;
                    }
                    let mut m = k.clone();
                    m[i] = replacement;
                    let m = String::from_utf8(m).unwrap();
                    assert!(parse_presented(&m, &prefix).is_err(), "{m}");
                }
            }
        }
    }

    #[test]
    fn keys_are_unique_and_digests_round_trip() {
        let rng = SystemRandom::new();
        let prefix = KeyPrefix::parse("abc").unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let (plain, digest) = issue(&rng, &prefix).unwrap();
            assert!(seen.insert(plain.into_string()));
            assert_eq!(
                KeyDigest::parse(&format!("sha256:{}", digest.to_hex())),
                Ok(digest)
            );
        }
        assert_eq!(
            parse_presented("ldk_x", &prefix),
            Err(KeyFailure::Malformed)
        );
    }

    #[test]
    fn key_shaped_text_is_redacted_and_the_rest_kept() {
        let rng = SystemRandom::new();
        let (plain, _) = issue(&rng, &KeyPrefix::default()).unwrap();
        let k = plain.reveal();
        let secret = &k[4..];
        for (text, want) in [
            (
                format!("/api/v1/links/{k}"),
                "/api/v1/links/ldk_[redacted]".to_owned(),
            ),
            (
                format!("search={k}&x={k}"),
                "search=ldk_[redacted]&x=ldk_[redacted]".to_owned(),
            ),
            (format!("/a/old7_{secret}"), "/a/old7_[redacted]".to_owned()),
            (format!("{k}tail"), "ldk_[redacted]".to_owned()),
            (format!("/a/ldk%5F{secret}"), "/a/ldk_[redacted]".to_owned()),
            (
                format!("/a/ldk%5f{secret}?q=%20"),
                "/a/ldk_[redacted]?q= ".to_owned(),
            ),
        ] {
            let got = redact_keys(&text);
            assert_eq!(got, want, "{text}");
            assert!(!got.contains(secret));
        }
        // Nothing key-shaped: the same text, not a copy.
        let short = format!("/api/v1/links/ldk_{}", &secret[1..]);
        for text in [
            "/api/v1/links/42",
            short.as_str(),
            "/x/_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "/x/A_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "/x/%41%42",
        ] {
            assert!(
                matches!(redact_keys(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn key_from(seed: [u8; 32]) -> String {
        key_for_secret(&KeyPrefix::default(), &seed)
    }

    proptest! {
        #[test]
        fn any_generated_key_has_the_format_and_verifies(seed in any::<[u8; 32]>()) {
            let k = key_from(seed);
            prop_assert_eq!(k.len(), 4 + BODY_LEN + CHECKSUM_LEN);
            prop_assert!(k[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
            prop_assert_eq!(parse_presented(&k, &KeyPrefix::default()), Ok(KeyDigest::of(&k)));
        }

        #[test]
        fn any_single_character_change_is_rejected_offline(
            seed in any::<[u8; 32]>(),
            pos in 4usize..(4 + BODY_LEN + CHECKSUM_LEN),
            replacement in proptest::sample::select(crate::encoding::base62_alphabet().to_vec()),
        ) {
            let k = key_from(seed);
            prop_assume!(k.as_bytes()[pos] != replacement);
            let mut m = k.into_bytes();
            m[pos] = replacement;
            let m = String::from_utf8(m).unwrap();
            prop_assert!(parse_presented(&m, &KeyPrefix::default()).is_err());
        }

        #[test]
        fn distinct_secrets_give_distinct_keys(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            prop_assume!(a != b);
            prop_assert_ne!(key_from(a), key_from(b));
        }
    }
}
