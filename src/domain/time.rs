use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::DomainError;

/// A UTC instant with whole seconds, written as RFC 3339 (`2027-01-31T23:59:00Z`). Always
/// within [`Timestamp::MIN`]..=[`Timestamp::MAX`], the years RFC 3339 can write in UTC: a time
/// outside could be stored but never read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Timestamp(i64);

impl Timestamp {
    /// 0000-01-01T00:00:00Z.
    pub const MIN: Self = Self(-62_167_219_200);
    /// 9999-12-31T23:59:59Z.
    pub const MAX: Self = Self(253_402_300_799);

    pub fn unix(self) -> i64 {
        self.0
    }

    /// The instant `secs` seconds after 1970-01-01T00:00:00Z, held to the range (a stored
    /// link time outside it, written before the bound, reads as the nearest end).
    pub fn from_unix(secs: i64) -> Self {
        Self(secs.clamp(Self::MIN.0, Self::MAX.0))
    }

    /// The instant `secs` seconds after 1970-01-01T00:00:00Z; `None` outside the range.
    pub fn checked_from_unix(secs: i64) -> Option<Self> {
        (Self::MIN.0..=Self::MAX.0)
            .contains(&secs)
            .then_some(Self(secs))
    }

    pub fn rfc3339(self) -> String {
        self.to_string()
    }

    /// `secs` later, held to the range: for times the server computes from its own clock
    /// (a session's end). A time computed from input uses [`Timestamp::checked_plus_secs`].
    #[must_use]
    pub fn plus_secs(self, secs: i64) -> Self {
        Self::from_unix(self.0.saturating_add(secs))
    }

    /// `secs` later; `None` past the range.
    pub fn checked_plus_secs(self, secs: i64) -> Option<Self> {
        Self::checked_from_unix(self.0.checked_add(secs)?)
    }
}

/// Written straight from the seconds (days → civil date, H. Hinnant's algorithm): every API
/// answer carries a few of these, so they are formatted without `time`'s machinery or an
/// intermediate `String`.
impl Timestamp {
    /// `YYYY-MM-DDTHH:MM:SSZ` for years 0 to 9999 (all that RFC 3339 can write).
    pub fn rfc3339_bytes(self) -> Option<[u8; 20]> {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        if !(0..=9999).contains(&year) {
            return None;
        }
        // Two digits at a time from a table: no division loop per digit.
        const PAIRS: &[u8; 200] = b"000102030405060708091011121314151617181920212223242526272829\
30313233343536373839404142434445464748495051525354555657585960616263646566676869\
707172737475767778798081828384858687888990919293949596979899";
        let mut out = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, n: i64| {
            let i = usize::try_from(n).unwrap_or(0) * 2;
            out[at..at + 2].copy_from_slice(&PAIRS[i..i + 2]);
        };
        put(0, year / 100);
        put(2, year % 100);
        put(5, month);
        put(8, day);
        put(11, secs / 3600);
        put(14, secs / 60 % 60);
        put(17, secs % 60);
        Some(out)
    }
}

/// Written straight from the seconds (days → civil date, H. Hinnant's algorithm) into a stack
/// buffer: every API answer carries a few of these, so neither `time`'s formatting machinery
/// nor an intermediate `String` is paid for.
impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rfc3339_bytes() {
            Some(b) => f.write_str(std::str::from_utf8(&b).unwrap_or("")),
            // Out of RFC 3339's years: still say when, in the same shape.
            None => write!(f, "@{}", self.0),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.rfc3339_bytes() {
            Some(b) => s.serialize_str(std::str::from_utf8(&b).unwrap_or("")),
            None => s.collect_str(self),
        }
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
        t.to_string()
    }
}

/// Now, in whole seconds, from the server's clock (`clock`, which tests can move).
pub fn now() -> Timestamp {
    Timestamp(crate::clock::unix_secs())
}

/// A reading of the system clock as the server's time (`clock::unix_secs_at`), for a caller
/// that also measures from that reading.
pub fn at_reading(reading: std::time::SystemTime) -> Timestamp {
    Timestamp(crate::clock::unix_secs_at(reading))
}

/// Parse an RFC 3339 time (any offset), reporting failures under `field`.
pub fn parse_rfc3339(raw: &str, field: &str) -> Result<Timestamp, DomainError> {
    let t = OffsetDateTime::parse(raw.trim(), &Rfc3339).map_err(|_| {
        DomainError::new(
            field,
            "must be an RFC 3339 time such as 2027-01-31T23:59:00Z",
        )
    })?;
    // An offset can carry a four-digit year past either end in UTC (9999-12-31T23:00:00-12:00).
    Timestamp::checked_from_unix(t.unix_timestamp()).ok_or_else(|| {
        DomainError::new(
            field,
            "must be between 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z in UTC",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_time_past_the_years_rfc3339_can_write_is_ever_made() {
        for raw in ["9999-12-31T23:00:00-12:00", "0000-01-01T00:00:00+01:00"] {
            let e = parse_rfc3339(raw, "expires_at").unwrap_err();
            assert_eq!(e.field, "expires_at", "{raw}");
            assert!(e.message.contains("9999-12-31T23:59:59Z"), "{}", e.message);
            assert!(
                serde_json::from_value::<Timestamp>(raw.into()).is_err(),
                "{raw}"
            );
        }
        let max = parse_rfc3339("10000-01-01T11:59:59+12:00", "t");
        assert!(max.is_err(), "five-digit years are not RFC 3339");
        assert_eq!(
            parse_rfc3339("9999-12-31T23:59:59Z", "t").unwrap(),
            Timestamp::MAX
        );
        assert_eq!(Timestamp::MAX.checked_plus_secs(1), None);
        assert_eq!(Timestamp::MIN.checked_plus_secs(-1), None);
        assert_eq!(
            Timestamp::MAX.checked_plus_secs(-1).map(Timestamp::unix),
            Some(Timestamp::MAX.0 - 1)
        );
        assert_eq!(now().checked_plus_secs(99_999_999_999 * 86_400), None);
        assert_eq!(now().checked_plus_secs(i64::MAX), None);
        assert_eq!(now().plus_secs(i64::MAX), Timestamp::MAX);
        assert_eq!(Timestamp::from_unix(i64::MIN), Timestamp::MIN);
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59Z");
        assert_eq!(Timestamp::MIN.to_string(), "0000-01-01T00:00:00Z");
    }

    #[test]
    fn formatting_matches_rfc3339_as_the_time_crate_writes_it() {
        for secs in [
            0_i64,
            951_782_400,   // 2000-02-29
            1_798_761_599, // 2026-12-31T23:59:59Z
            4_102_444_800, // 2100-01-01 (not a leap year)
            -86_400,
            253_402_300_799, // 9999-12-31T23:59:59Z
        ] {
            let expected = OffsetDateTime::from_unix_timestamp(secs)
                .unwrap()
                .format(&Rfc3339)
                .unwrap();
            assert_eq!(Timestamp(secs).to_string(), expected, "{secs}");
            assert_eq!(parse_rfc3339(&expected, "t").unwrap(), Timestamp(secs));
        }
        // Every day of four years, around leap days.
        for day in -800..800 {
            let secs = 1_700_000_000 + day * 86_400 + 3_661;
            let expected = OffsetDateTime::from_unix_timestamp(secs)
                .unwrap()
                .format(&Rfc3339)
                .unwrap();
            assert_eq!(Timestamp(secs).to_string(), expected);
        }
    }
}
