//! Types that are valid by construction. Every wire value passes through one of these
//! parsers before any rule or store sees it; a failure names the field and the rule.

mod net;
mod text;
mod time;

pub use self::net::{AllowList, IpRule};
pub use self::text::{
    DestinationUrl, Hostname, KeyName, KeyPrefix, Password, RedirectCode, Slug, Tags, Title,
    Username, RESERVED_SEGMENTS,
};
pub use self::time::{now, parse_rfc3339, Timestamp};

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
