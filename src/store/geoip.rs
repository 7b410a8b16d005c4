//! Countries from a MaxMind-format database the operator already has (`analytics.geoip_db`):
//! nothing is downloaded. Read into memory once at start (a country database is a few MB) by
//! the `maxminddb` crate, and looked up only on the batched writer's thread, never on the
//! worker that answers the redirect. Only the ISO country code is kept; the address is
//! dropped once looked up.

use std::net::IpAddr;
use std::path::Path;

/// What a click counts under when its address is not in the database (a private network, a
/// gap in the file) or the database names no country for it.
pub const UNKNOWN: &str = "unknown";

/// An opened MaxMind DB (GeoLite2/GeoIP2 Country or City, or any file whose records have
/// `country.iso_code`).
pub struct GeoIp {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIp")
            .field("database_type", &self.reader.metadata().database_type)
            .finish()
    }
}

impl GeoIp {
    /// Read the file at `path`. The error is one line naming the file.
    pub fn open(path: &Path) -> Result<Self, String> {
        let reader = maxminddb::Reader::open_readfile(path).map_err(|e| {
            format!(
                "analytics.geoip_db: {} is not a readable MaxMind DB file: {e}",
                path.display()
            )
        })?;
        // Checked whole once at start: a lookup in a damaged file could otherwise fail (or
        // worse) on the writer thread, click after click.
        reader.verify().map_err(|e| {
            format!(
                "analytics.geoip_db: {} is not a valid MaxMind DB file: {e}",
                path.display()
            )
        })?;
        Ok(Self { reader })
    }

    /// The ISO 3166-1 alpha-2 code of the country `ip` is in (`DE`), or [`UNKNOWN`]. The
    /// country where the network is registered stands in when the database has no other.
    pub fn country(&self, ip: IpAddr) -> &str {
        let Ok(found) = self.reader.lookup(ip.to_canonical()) else {
            return UNKNOWN;
        };
        for field in ["country", "registered_country"] {
            let path = [
                maxminddb::PathElement::Key(field),
                maxminddb::PathElement::Key("iso_code"),
            ];
            if let Ok(Some(code)) = found.decode_path::<&str>(&path) {
                if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
                    return code;
                }
            }
        }
        UNKNOWN
    }
}

#[cfg(test)]
#[path = "../../tests/support/mmdb.rs"]
pub(crate) mod mmdb;

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn the_test_writers_database_reads_back_with_maxminddb() {
        let db = mmdb::country_db(&[
            (Ipv4Addr::new(127, 0, 0, 0), 8, "DE"),
            (Ipv4Addr::new(192, 0, 2, 0), 24, "FR"),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("country.mmdb");
        std::fs::write(&path, &db).unwrap();
        let geo = GeoIp::open(&path).unwrap();
        let reader = &geo.reader;
        assert_eq!(reader.metadata().ip_version, 4);
        assert_eq!(reader.metadata().database_type, "linkdock-test-country");
        reader.verify().unwrap();
        assert_eq!(geo.country(IpAddr::from([127, 0, 0, 1])), "DE");
        assert_eq!(geo.country(IpAddr::from([127, 255, 1, 2])), "DE");
        assert_eq!(geo.country(IpAddr::from([192, 0, 2, 77])), "FR");
        // An IPv4-mapped IPv6 address is looked up as the IPv4 one.
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(geo.country(mapped), "DE");
        assert_eq!(geo.country(IpAddr::from([10, 0, 0, 1])), UNKNOWN);
        assert_eq!(geo.country("2001:db8::1".parse().unwrap()), UNKNOWN);
    }

    #[test]
    fn a_file_that_is_not_a_maxmind_db_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-geo.mmdb");
        std::fs::write(&path, b"hello").unwrap();
        let e = GeoIp::open(&path).unwrap_err();
        assert!(e.contains("not-geo.mmdb") && !e.contains('\n'), "{e}");
        let e = GeoIp::open(&dir.path().join("missing.mmdb")).unwrap_err();
        assert!(e.contains("missing.mmdb") && !e.contains('\n'), "{e}");
    }
}
