use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::DomainError;

/// A UTC instant with whole seconds, written as RFC 3339 (`2027-01-31T23:59:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn unix(self) -> i64 {
        self.0
    }

    pub fn rfc3339(self) -> String {
        OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default()
    }

    #[must_use]
    pub fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl TryFrom<String> for Timestamp {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        parse_rfc3339(&s, "time")
    }
}

impl From<Timestamp> for String {
    fn from(t: Timestamp) -> String {
        t.rfc3339()
    }
}

/// Now, in whole seconds.
pub fn now() -> Timestamp {
    Timestamp(OffsetDateTime::now_utc().unix_timestamp())
}

/// Parse an RFC 3339 time (any offset), reporting failures under `field`.
pub fn parse_rfc3339(raw: &str, field: &str) -> Result<Timestamp, DomainError> {
    let t = OffsetDateTime::parse(raw.trim(), &Rfc3339).map_err(|_| {
        DomainError::new(
            field,
            "must be an RFC 3339 time such as 2027-01-31T23:59:00Z",
        )
    })?;
    Ok(Timestamp(t.unix_timestamp()))
}
