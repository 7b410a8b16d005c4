use std::fmt;

use serde::{Deserialize, Serialize};

use super::DomainError;

/// First path segments that belong to linkdock itself and can never be slugs.
pub const RESERVED_SEGMENTS: &[&str] = &["ui", "api", "swagger-ui", "healthz", "metrics", "static"];

macro_rules! string_newtype {
    ($name:ident) => {
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// A value read back from the database, kept as written (see [`super::FromStored`]).
            pub fn from_stored(raw: String) -> Self {
                Self(raw)
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(raw: String) -> Result<Self, DomainError> {
                Self::parse(&raw)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl super::FromStored for $name {
            type Raw = String;
            fn from_stored(raw: String) -> Result<Self, String> {
                Ok(Self(raw))
            }
        }
    };
}

/// A managed domain's host name: lower-case ASCII (IDN converted to punycode), no port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Hostname(String);
string_newtype!(Hostname);

impl Hostname {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let err = |m: &str| DomainError::new("hostname", m);
        let s = raw.trim().trim_end_matches('.');
        if s.is_empty() {
            return Err(err("must not be empty"));
        }
        if s.contains([':', '/', '@', '?', '#']) || s.chars().any(char::is_whitespace) {
            return Err(err(
                "must be a bare host name such as go.example.com, without scheme, port or path",
            ));
        }
        let ascii = match url::Host::parse(s) {
            Ok(url::Host::Domain(d)) => d,
            Ok(url::Host::Ipv4(ip)) => ip.to_string(),
            Ok(url::Host::Ipv6(_)) | Err(_) => return Err(err("is not a valid host name")),
        };
        let ascii = ascii.to_ascii_lowercase();
        if ascii.len() > 253 {
            return Err(err("must be at most 253 characters long"));
        }
        for label in ascii.split('.') {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !ok {
                return Err(err(
                    "must be made of labels of 1 to 63 letters, digits or inner hyphens, such as go.example.com",
                ));
            }
        }
        Ok(Self(ascii))
    }
}

/// A short link's path: 1–64 of `[A-Za-z0-9_-]`, not one of linkdock's own segments.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);
string_newtype!(Slug);

impl Slug {
    pub const GENERATED_LEN: usize = 7;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if raw.is_empty() || raw.len() > 64 || !ok_chars {
            return Err(DomainError::new(
                "slug",
                "must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -",
            ));
        }
        if RESERVED_SEGMENTS
            .iter()
            .any(|r| r.eq_ignore_ascii_case(raw))
        {
            return Err(DomainError::new(
                "slug",
                format!("cannot be “{raw}”: that name is reserved by linkdock"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A random 7-character base62 slug.
    pub fn generate(rng: &dyn ring::rand::SecureRandom) -> Result<Self, ring::error::Unspecified> {
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes)?;
        let n = u128::from_le_bytes(bytes);
        Ok(Self(crate::encoding::base62_fixed(n, Self::GENERATED_LEN)))
    }
}

/// An absolute http(s) URL a link redirects to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DestinationUrl(String);
string_newtype!(DestinationUrl);

impl DestinationUrl {
    pub const MAX_LEN: usize = 4096;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let err = |m: &str| DomainError::new("destination_url", m);
        if raw.chars().count() > Self::MAX_LEN {
            return Err(err("must be at most 4096 characters long"));
        }
        let s = raw.trim();
        if s.is_empty() {
            return Err(err("must not be empty"));
        }
        if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(err("must not contain spaces or control characters"));
        }
        let url =
            url::Url::parse(s).map_err(|_| err("must be an absolute http:// or https:// URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(err("must start with http:// or https://"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(err("must name a host"));
        }
        // Stored in its WHATWG form: IDN hosts as punycode, paths and queries percent-encoded,
        // so what a browser follows is exactly what the list shows.
        let normal = String::from(url);
        if normal.len() > Self::MAX_LEN {
            return Err(err("must be at most 4096 characters long"));
        }
        Ok(Self(normal))
    }
}

/// One of the HTTP redirect codes a link may answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct RedirectCode(u16);

impl RedirectCode {
    pub const DEFAULT: Self = Self(302);

    pub fn parse(code: u16) -> Result<Self, DomainError> {
        if matches!(code, 301 | 302 | 307 | 308) {
            Ok(Self(code))
        } else {
            Err(DomainError::new(
                "redirect_code",
                "must be one of 301, 302, 307 or 308",
            ))
        }
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl super::FromStored for RedirectCode {
    type Raw = u16;
    fn from_stored(raw: u16) -> Result<Self, String> {
        Ok(Self(raw))
    }
}

impl TryFrom<u16> for RedirectCode {
    type Error = DomainError;
    fn try_from(code: u16) -> Result<Self, DomainError> {
        Self::parse(code)
    }
}

impl From<RedirectCode> for u16 {
    fn from(c: RedirectCode) -> u16 {
        c.0
    }
}

/// Unicode bidirectional controls: they can make text display in another order than it is
/// stored (a name that reads differently from what it is), so names and titles refuse them.
fn has_bidi_control(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
    })
}

/// A link's optional human title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Title(String);
string_newtype!(Title);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        // The limit counts what was sent, spaces around it included (as the API documents).
        if raw.chars().count() > 200 {
            return Err(DomainError::new(
                "title",
                "must be at most 200 characters long",
            ));
        }
        let s = raw.trim();
        if s.chars().any(char::is_control) || has_bidi_control(s) {
            return Err(DomainError::new(
                "title",
                "must not contain control or text-direction characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// A link's tags: at most 20, each 1–32 of letters, digits, `_`, `-`, `.`, `:`; duplicates dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct Tags(Vec<String>);

impl Tags {
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, DomainError> {
        let mut out: Vec<String> = Vec::with_capacity(raw.len());
        for (i, t) in raw.iter().enumerate() {
            let t = t.as_ref().trim();
            let ok = !t.is_empty()
                && t.len() <= 32
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b));
            if !ok {
                return Err(DomainError::new(
                    format!("tags[{i}]"),
                    "must each be 1 to 32 characters of letters, digits, _ - . and :",
                ));
            }
            if !out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
                out.push(t.to_owned());
            }
        }
        if out.len() > 20 {
            return Err(DomainError::new("tags", "must be at most 20"));
        }
        Ok(Self(out))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn contains(&self, tag: &str) -> bool {
        self.0.iter().any(|t| t.eq_ignore_ascii_case(tag))
    }
}

impl super::FromStored for Tags {
    type Raw = Vec<String>;
    fn from_stored(raw: Vec<String>) -> Result<Self, String> {
        Ok(Self(raw))
    }
}

impl TryFrom<Vec<String>> for Tags {
    type Error = DomainError;
    fn try_from(raw: Vec<String>) -> Result<Self, DomainError> {
        Self::parse(&raw)
    }
}

impl From<Tags> for Vec<String> {
    fn from(t: Tags) -> Vec<String> {
        t.0
    }
}

/// A user name: 1–64 of letters, digits, `_`, `.`, `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);
string_newtype!(Username);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !ok {
            return Err(DomainError::new(
                "username",
                "must be 1 to 64 characters of letters, digits, _ . and -",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// An API key's display name: 1–64 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyName(String);
string_newtype!(KeyName);

impl KeyName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        if s.is_empty()
            || raw.chars().count() > 64
            || s.chars().any(char::is_control)
            || has_bidi_control(s)
        {
            return Err(DomainError::new(
                "name",
                "must be 1 to 64 printable characters, without text-direction characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// The fixed first part of every key (`ldk` in `ldk_…`): 1–16 lower-case letters or digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyPrefix(String);
string_newtype!(KeyPrefix);

impl KeyPrefix {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let ok = !raw.is_empty()
            && raw.len() <= 16
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !ok {
            return Err(DomainError::new(
                "prefix",
                "must be 1 to 16 lower-case letters or digits",
            ));
        }
        Ok(Self(raw.to_owned()))
    }
}

impl Default for KeyPrefix {
    fn default() -> Self {
        Self("ldk".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_are_lowercased_and_checked() {
        assert_eq!(
            Hostname::parse("Go.Example.COM").unwrap().as_str(),
            "go.example.com"
        );
        assert_eq!(
            Hostname::parse("bücher.de").unwrap().as_str(),
            "xn--bcher-kva.de"
        );
        for bad in [
            "",
            "go.example.com:8080",
            "http://x.y",
            "-a.com",
            "a..b",
            "a b.com",
            "x/y",
        ] {
            assert!(Hostname::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slugs_follow_the_charset_and_avoid_reserved_segments() {
        assert!(Slug::parse("My_link-1").is_ok());
        for bad in ["", "a/b", "ü", "api", "UI", "swagger-ui", &"x".repeat(65)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        let s = Slug::generate(&ring::rand::SystemRandom::new()).unwrap();
        assert_eq!(s.as_str().len(), 7);
        assert!(Slug::parse(s.as_str()).is_ok());
    }

    #[test]
    fn destinations_must_be_absolute_http() {
        assert!(DestinationUrl::parse("https://example.com/a?b=c").is_ok());
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "/relative",
            "ftp://x.y",
            "https://",
            "http://a b",
        ] {
            assert!(DestinationUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn destinations_are_kept_in_their_whatwg_form() {
        for (raw, stored) in [
            (
                "https://bücher.de/straße?q=ä",
                "https://xn--bcher-kva.de/stra%C3%9Fe?q=%C3%A4",
            ),
            ("HTTPS://Example.COM", "https://example.com/"),
            ("http://example.com:80/a", "http://example.com/a"),
        ] {
            assert_eq!(
                DestinationUrl::parse(raw).unwrap().as_str(),
                stored,
                "{raw}"
            );
        }
    }

    #[test]
    fn names_and_titles_refuse_text_direction_controls() {
        assert!(Title::parse("invoice \u{202E}fdp.exe").is_err());
        assert!(KeyName::parse("ci\u{2066}key").is_err());
        assert!(Title::parse("Ünïcödé is fine").is_ok());
    }

    #[test]
    fn redirect_codes_and_tags() {
        assert!(RedirectCode::parse(308).is_ok());
        assert!(RedirectCode::parse(200).is_err());
        let t = Tags::parse(&["a", "A", "b"]).unwrap();
        assert_eq!(t.as_slice(), ["a", "b"]);
        assert!(Tags::parse(&["bad tag"]).is_err());
    }
}
