//! Types that are valid by construction. Every wire value passes through one of these
//! parsers before any rule or store sees it; a failure names the field and the rule.

mod device;
mod net;
mod permissions;
mod postgres_url;
mod roles;
mod secret;
mod text;
mod time;

pub use self::device::Device;
pub use self::net::{AllowList, IpPolicy, IpRule, NEED_ONE_RULE};
pub use self::permissions::{
    PerMinute, Permission, Permissions, MAX_PER_MINUTE, NEED_ONE_PERMISSION,
};
pub use self::postgres_url::{redact_url_passwords, PostgresUrl};
pub use self::roles::{Right, Role};
pub use self::secret::{same_secret, Password, PasswordHash, ITERATIONS};
pub use self::text::{
    DestinationUrl, Hostname, KeyName, KeyPrefix, RedirectCode, Slug, Tags, Title, Username,
    RESERVED_SEGMENTS,
};
pub use self::time::{at_reading, now, parse_rfc3339, Timestamp};

/// Building a value read back from the database. It passed its parser when it was written;
/// a rule added since (a new reserved slug, a shorter limit) must never make an existing
/// database unreadable, so this checks the encoding only, never today's input rules.
pub trait FromStored: Sized {
    /// What the value is stored as.
    type Raw: serde::de::DeserializeOwned;
    /// Fails only when the bytes do not mean a value at all (corruption), never on a rule.
    fn from_stored(raw: Self::Raw) -> Result<Self, String>;
}

/// A value that failed its parser: which field, and what the rule is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    pub field: String,
    pub message: String,
}

impl DomainError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error, reported under another field name (`hostname` → `domains[2]`).
    #[must_use]
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

impl std::fmt::Display for DomainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for DomainError {}

/// Where a resource was declared: through the API/UI, or in the config file (read-only).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Api,
    Config,
}

/// A domain's number; a key names the domains it may touch by it.
pub type DomainId = u64;
