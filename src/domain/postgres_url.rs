//! The PostgreSQL database URL (`storage.postgres_url`, `LINKDOCK_DATABASE_URL`,
//! `linkdock migrate --to`). It may carry a password, so nothing that prints it shows one:
//! `Debug` and `Display` mask it, and the full text comes out only through `expose_secret`.

use std::fmt;

use serde::Deserialize;

use super::DomainError;

/// PostgreSQL's own port, when the URL names none.
pub const DEFAULT_PORT: u16 = 5432;

/// Longer than any real URL; bounds what an error path has to look at.
const MAX_LEN: usize = 2048;

/// PostgreSQL truncates identifiers past 63 bytes: a longer name is a different database.
const MAX_DATABASE_BYTES: usize = 63;

const EXAMPLE: &str = "postgres://linkdock@db:5432/linkdock";

/// A `postgres://` or `postgresql://` URL with a host and a database name.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PostgresUrl {
    /// The URL as given (trimmed): what the engine connects with.
    full: String,
    scheme: &'static str,
    /// As written in the URL (percent-encoded); empty when it names no user.
    user: String,
    has_password: bool,
    host: String,
    port: u16,
    database: String,
}

impl PostgresUrl {
    /// Errors never quote the input: it may hold a password.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let fail = |why: &str| DomainError::new("postgres_url", why);
        let s = raw.trim();
        if s.len() > MAX_LEN {
            return Err(fail(&format!("longer than {MAX_LEN} characters")));
        }
        let u = url::Url::parse(s).map_err(|e| {
            fail(&format!(
                "not a URL ({e}); write it like {EXAMPLE} (percent-encode @ : / in the password)"
            ))
        })?;
        let scheme = match u.scheme() {
            "postgres" => "postgres",
            "postgresql" => "postgresql",
            _ => {
                return Err(fail(&format!(
                    "must start with postgres:// or postgresql://, like {EXAMPLE}"
                )))
            }
        };
        let host = u.host_str().unwrap_or("");
        if host.is_empty() {
            return Err(fail(&format!("names no host; write it like {EXAMPLE}")));
        }
        if u.fragment().is_some() {
            return Err(fail("must not have a #fragment"));
        }
        let name = u.path().strip_prefix('/').unwrap_or(u.path());
        if name.is_empty() {
            return Err(fail(&format!(
                "names no database: end it with /<database>, like {EXAMPLE}"
            )));
        }
        let database = percent_encoding::percent_decode_str(name)
            .decode_utf8()
            .map_err(|_| fail("the database name is not UTF-8"))?
            .into_owned();
        if name.contains('/')
            || database.len() > MAX_DATABASE_BYTES
            || database.chars().any(char::is_control)
        {
            return Err(fail(&format!(
                "the database name must be one path segment of at most {MAX_DATABASE_BYTES} bytes, no control characters"
            )));
        }
        Ok(Self {
            full: s.to_owned(),
            scheme,
            user: u.username().to_owned(),
            has_password: u.password().is_some(),
            host: host.to_owned(),
            port: u.port().unwrap_or(DEFAULT_PORT),
            database,
        })
    }

    /// The whole URL, password included, for the engine's connect and nothing else: never
    /// log, print or store what this returns.
    pub fn expose_secret(&self) -> &str {
        &self.full
    }

    /// `host:port/database`: where, without who.
    pub fn describe(&self) -> String {
        format!("{}:{}/{}", self.host, self.port, self.database)
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn database(&self) -> &str {
        &self.database
    }
}

impl TryFrom<String> for PostgresUrl {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Self, DomainError> {
        Self::parse(&raw)
    }
}

/// `postgres://user:***@host:5432/db`: the password masked, the query (which may hold one
/// too) left out.
impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        if !self.user.is_empty() || self.has_password {
            f.write_str(&self.user)?;
            if self.has_password {
                f.write_str(":***")?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.describe())
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({self})")
    }
}

/// `text` with the password of every `scheme://user:password@…` in it replaced by `***`: for
/// error text that quotes what someone wrote (a config file's line), where a URL may not have
/// parsed at all. Up to the last `@` of a word, so an unencoded `@` or `/` in a password
/// is masked too.
pub fn redact_url_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let word_end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>'))
            .unwrap_or(tail.len());
        let word = &tail[..word_end];
        match (word.rfind('@'), word.find(':')) {
            (Some(userinfo_end), Some(colon)) if colon < userinfo_end => {
                out.push_str(&word[..=colon]);
                out.push_str("***");
                out.push_str(&word[userinfo_end..]);
            }
            _ => out.push_str(word),
        }
        rest = &tail[word_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-Pa55";

    fn url(s: &str) -> PostgresUrl {
        PostgresUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn a_full_url_keeps_every_part_and_shows_no_password() {
        let u = url(&format!(
            "postgres://linkdock:{SECRET}@db:6543/links?sslmode=disable"
        ));
        assert_eq!(
            u.expose_secret(),
            format!("postgres://linkdock:{SECRET}@db:6543/links?sslmode=disable")
        );
        assert_eq!(u.describe(), "db:6543/links");
        assert_eq!((u.host(), u.port(), u.database()), ("db", 6543, "links"));
        assert_eq!(u.to_string(), "postgres://linkdock:***@db:6543/links");
        assert_eq!(
            format!("{u:?}"),
            "PostgresUrl(postgres://linkdock:***@db:6543/links)"
        );
        assert!(!format!("{u:#?}").contains(SECRET));
    }

    #[test]
    fn the_port_defaults_and_both_schemes_and_ipv6_hosts_are_taken() {
        let u = url(" postgresql://db.internal/linkdock \n");
        assert_eq!(u.describe(), "db.internal:5432/linkdock");
        assert_eq!(u.to_string(), "postgresql://db.internal:5432/linkdock");
        assert_eq!(u.expose_secret(), "postgresql://db.internal/linkdock");
        assert_eq!(url("postgres://u@[::1]:5433/d").describe(), "[::1]:5433/d");
        assert_eq!(url("postgres://u@h/d").to_string(), "postgres://u@h:5432/d");
        assert_eq!(url("POSTGRES://h/d").to_string(), "postgres://h:5432/d");
        assert_eq!(url("postgres://h/my%20db").database(), "my db");
    }

    #[test]
    fn a_password_with_reserved_characters_stays_hidden() {
        // Percent-encoded, and an unencoded `@` (the last one ends the user part).
        for raw in [
            "postgres://u:p%40ss%2Fw%3Ard@h/d",
            "postgres://u:p@ss@h/d",
            &format!("postgres://u:{SECRET}@h/d"),
        ] {
            let u = url(raw);
            assert_eq!(u.describe(), "h:5432/d", "{raw}");
            for shown in [u.to_string(), format!("{u:?}"), u.describe()] {
                assert!(!shown.contains("ss") && !shown.contains(SECRET), "{shown}");
            }
        }
    }

    #[test]
    fn anything_else_is_refused_without_quoting_it() {
        for (bad, says) in [
            ("", "not a URL"),
            ("db:5432/linkdock", "postgres://"),
            (&format!("mysql://u:{SECRET}@h/d") as &str, "postgres://"),
            (&format!("https://u:{SECRET}@h/d"), "postgres://"),
            (&format!("postgres://u:{SECRET}@/d"), "empty host"),
            (&format!("postgres:///d?password={SECRET}"), "no host"),
            (&format!("postgres://u:{SECRET}@h"), "no database"),
            (&format!("postgres://u:{SECRET}@h/"), "no database"),
            (&format!("postgres://u:{SECRET}@h/a/b"), "one path segment"),
            (
                &format!("postgres://u:{SECRET}@h/{}", "x".repeat(64)),
                "63 bytes",
            ),
            (&format!("postgres://u:{SECRET}@h/d%0A"), "control"),
            (&format!("postgres://u:{SECRET}@h/d#x"), "fragment"),
            (&format!("postgres://u:{SECRET}@h:99999/d"), "not a URL"),
            (
                &format!("postgres://u:{SECRET}@h/{}", "x".repeat(3000)),
                "longer",
            ),
        ] {
            let e = PostgresUrl::parse(bad).expect_err(bad);
            let text = e.to_string();
            assert!(text.contains(says), "{bad}: {text}");
            assert!(text.starts_with("postgres_url: "), "{text}");
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains('\n'), "one line: {text}");
        }
    }

    #[test]
    fn redaction_masks_every_password_in_free_text() {
        let text = format!(
            "2 | postgres_url = \"postgres://u:{SECRET}@h/d\" and 'postgresql://x:a/b@c@h2/e' \
             http://plain.example/a@b postgres://nopass@h/d"
        );
        let r = redact_url_passwords(&text);
        assert!(!r.contains(SECRET) && !r.contains("a/b@c"), "{r}");
        assert!(r.contains("postgres://u:***@h/d\""), "{r}");
        assert!(r.contains("postgresql://x:***@h2/e'"), "{r}");
        assert!(
            r.contains("http://plain.example/a@b"),
            "no password there: {r}"
        );
        assert!(r.contains("postgres://nopass@h/d"), "{r}");
        assert_eq!(redact_url_passwords("no urls here"), "no urls here");
        assert_eq!(redact_url_passwords("ends with ://"), "ends with ://");
    }
}
