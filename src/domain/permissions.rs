//! What an API key may do, independent of which domains it may touch: a set of action
//! permissions, and an optional number of requests per minute. One type each, parsed the same
//! way for the API, the command line and `[[api_keys]]` in the config file.

use std::fmt;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::DomainError;

/// One action a key may be allowed. The names are the wire form (`links:read`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    LinksRead,
    LinksWrite,
    DomainsRead,
    DomainsWrite,
    LinksImport,
    LinksExport,
}

impl Permission {
    /// Every permission, in the order the API lists them.
    pub const ALL: [Self; 6] = [
        Self::LinksRead,
        Self::LinksWrite,
        Self::DomainsRead,
        Self::DomainsWrite,
        Self::LinksImport,
        Self::LinksExport,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LinksRead => "links:read",
            Self::LinksWrite => "links:write",
            Self::DomainsRead => "domains:read",
            Self::DomainsWrite => "domains:write",
            Self::LinksImport => "links:import",
            Self::LinksExport => "links:export",
        }
    }

    /// What it allows, in words (for the UI and the docs).
    pub const fn describe(self) -> &'static str {
        match self {
            Self::LinksRead => "list, search and read links",
            Self::LinksWrite => "create, change and delete links",
            Self::DomainsRead => "list and read domains",
            Self::DomainsWrite => "add, rename and delete domains",
            Self::LinksImport => "import links from CSV",
            Self::LinksExport => "export links as CSV",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Permission`]s, as a bitset: checking one on a request is a single `&`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permissions(u8);

impl Permissions {
    /// Every permission: the default of a new key and of a key stored before permissions
    /// existed.
    pub const ALL: Self = Self(0b11_1111);
    /// The "Read only" preset: reading links and domains. Export is left out on purpose: it
    /// hands out every link at once, so it is its own choice.
    pub const READ_ONLY: Self = Self(Permission::LinksRead.bit() | Permission::DomainsRead.bit());

    pub const fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    pub fn is_all(self) -> bool {
        self == Self::ALL
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }

    /// The wire names, in the canonical order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Permission::as_str).collect()
    }

    /// Parse a list of names; each unknown one is reported with its index under `field`. An
    /// empty list is refused: a key that may do nothing is a mistake, not a choice. Repeated
    /// names count once.
    pub fn parse<S: AsRef<str>>(field: &str, items: &[S]) -> Result<Self, Vec<DomainError>> {
        let mut bits = 0u8;
        let mut errors = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match Permission::parse(item.as_ref()) {
                Some(p) => bits |= p.bit(),
                None => errors.push(DomainError::new(
                    format!("{field}[{i}]"),
                    format!(
                        "“{}” is not a permission; the permissions are {}",
                        item.as_ref().trim(),
                        Self::ALL.names().join(", ")
                    ),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if bits == 0 {
            return Err(vec![DomainError::new(field, NEED_ONE_PERMISSION)]);
        }
        Ok(Self(bits))
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Self(iter.into_iter().fold(0, |bits, p| bits | p.bit()))
    }
}

/// The rule every key's permissions follow.
pub const NEED_ONE_PERMISSION: &str = "must list at least one permission";

impl Default for Permissions {
    fn default() -> Self {
        Self::ALL
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Serialize for Permissions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

/// Input (the config file): every name must be known and the list not empty.
impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        Self::parse("permissions", &names).map_err(|errs| {
            serde::de::Error::custom(
                errs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
    }
}

impl super::FromStored for Permissions {
    type Raw = Vec<String>;
    /// A name this build does not know is dropped: a stored key can only lose a permission
    /// this way, never gain one, and the database still opens.
    fn from_stored(raw: Vec<String>) -> Result<Self, String> {
        Ok(Self(
            raw.iter()
                .filter_map(|n| Permission::parse(n))
                .fold(0, |bits, p| bits | p.bit()),
        ))
    }
}

/// The most requests per minute a key may be given.
pub const MAX_PER_MINUTE: u32 = 1_000_000;

/// A key's rate limit: requests per minute, 1 to [`MAX_PER_MINUTE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PerMinute(NonZeroU32);

impl PerMinute {
    pub fn parse(field: &str, n: u64) -> Result<Self, DomainError> {
        u32::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_PER_MINUTE)
            .and_then(NonZeroU32::new)
            .map(Self)
            .ok_or_else(|| {
                DomainError::new(
                    field,
                    format!("must be a whole number from 1 to {MAX_PER_MINUTE}"),
                )
            })
    }

    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for PerMinute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for PerMinute {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.get())
    }
}

/// Input (the config file): 1 to [`MAX_PER_MINUTE`].
impl<'de> Deserialize<'de> for PerMinute {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(d)?;
        Self::parse("rate_limit_per_minute", n).map_err(serde::de::Error::custom)
    }
}

impl super::FromStored for PerMinute {
    type Raw = u32;
    /// Any positive number stored is taken back, whatever today's maximum.
    fn from_stored(raw: u32) -> Result<Self, String> {
        NonZeroU32::new(raw)
            .map(Self)
            .ok_or_else(|| "a rate limit of 0 requests per minute".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FromStored;

    #[test]
    fn permissions_parse_by_name_in_any_order_and_list_in_the_canonical_one() {
        let p = Permissions::parse("permissions", &["links:export", "links:read", "links:read"])
            .unwrap();
        assert_eq!(p.names(), ["links:read", "links:export"]);
        assert!(p.contains(Permission::LinksRead));
        assert!(!p.contains(Permission::LinksWrite));
        assert_eq!(Permissions::ALL.names().len(), 6);
        assert!(Permissions::default().is_all());
        assert_eq!(
            Permissions::READ_ONLY.names(),
            ["links:read", "domains:read"]
        );
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            assert!(Permissions::ALL.contains(p));
        }
    }

    #[test]
    fn unknown_names_and_an_empty_list_are_refused_on_input_but_not_on_decoding() {
        let errs = Permissions::parse("permissions", &["links:read", "links:delete"]).unwrap_err();
        assert_eq!(errs[0].field, "permissions[1]");
        assert!(errs[0].message.contains("links:delete"), "{errs:?}");
        let errs = Permissions::parse::<&str>("permissions", &[]).unwrap_err();
        assert_eq!(errs[0].message, NEED_ONE_PERMISSION);
        assert!(serde_json::from_str::<Permissions>(r#"["nope"]"#).is_err());
        let stored =
            Permissions::from_stored(vec!["links:read".into(), "from:the_future".into()]).unwrap();
        assert_eq!(stored.names(), ["links:read"]);
        let json = serde_json::to_string(&stored).unwrap();
        assert_eq!(json, r#"["links:read"]"#);
    }

    #[test]
    fn a_rate_limit_is_a_positive_number_up_to_the_maximum() {
        assert_eq!(PerMinute::parse("r", 60).unwrap().get(), 60);
        assert!(PerMinute::parse("r", 0).is_err());
        assert!(PerMinute::parse("r", u64::from(MAX_PER_MINUTE) + 1).is_err());
        assert!(serde_json::from_str::<PerMinute>("0").is_err());
        assert_eq!(PerMinute::from_stored(5_000_000).unwrap().get(), 5_000_000);
        assert!(PerMinute::from_stored(0).is_err());
    }
}
