//! The origin a request was sent to (`http://host:port`), for documentation that names its own
//! base URL when `public_url` is unset.
//!
//! The `Host` header is the client's to write, and the documentation puts the base URL into
//! shell commands (`curl '…'`) that people copy and run. So only a plain authority is
//! accepted — a DNS name of letters, digits, dots and dashes, an IPv4 address or a bracketed
//! IPv6 address, and an optional port — and anything else falls back to the address the server
//! is bound to. The scheme is `https` only when a trusted proxy says so.

use std::net::Ipv6Addr;

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::config::Config;

/// `scheme://host[:port]` of the request, or of the bound address when `Host` is missing or
/// not a plain authority.
pub fn of_request(req: &HttpRequest, config: &Config) -> String {
    let scheme = if forwarded_https(req, config) {
        "https"
    } else {
        "http"
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    match host.and_then(authority) {
        Some(host) => format!("{scheme}://{host}"),
        None => format!(
            "http://{}",
            crate::healthcheck::probe_addr(req.app_config().local_addr())
        ),
    }
}

/// A trusted proxy's `X-Forwarded-Proto: https` (or `Forwarded: proto=https`). From anyone
/// else the headers are ignored.
fn forwarded_https(req: &HttpRequest, config: &Config) -> bool {
    let Some(peer) = req.peer_addr().map(|a| a.ip().to_canonical()) else {
        return false;
    };
    if !config.trusted_proxies().iter().any(|r| r.contains(peer)) {
        return false;
    }
    let said = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if let Some(v) = said("x-forwarded-proto") {
        return v
            .split(',')
            .next()
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    }
    said("forwarded").is_some_and(|v| {
        v.split(',').next().is_some_and(|first| {
            first.split(';').any(|pair| {
                pair.trim().split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("proto")
                        && v.trim().trim_matches('"').eq_ignore_ascii_case("https")
                })
            })
        })
    })
}

/// `host`, `host:port`, `1.2.3.4:80` or `[::1]:80`, lower-cased; `None` for anything else.
fn authority(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 260 {
        return None;
    }
    let (host, port) = if let Some(rest) = raw.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        inside.parse::<Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{}]", inside.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match raw.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (raw, None),
        };
        // An IPv4 address is a name of digit labels; one trailing dot (the DNS root) is allowed.
        let name = host.strip_suffix('.').unwrap_or(host);
        if name.is_empty() || name.len() > 253 || !name.split('.').all(dns_label) {
            return None;
        }
        (name.to_ascii_lowercase(), port)
    };
    match port {
        None => Some(host),
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            let p: u16 = p.parse().ok()?;
            (p > 0).then(|| format!("{host}:{p}"))
        }
        Some(_) => None,
    }
}

fn dns_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::authority;

    #[test]
    fn plain_authorities_pass_lower_cased() {
        for (raw, want) in [
            ("localhost", "localhost"),
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("Go.Example.com", "go.example.com"),
            ("go.example.com.:443", "go.example.com:443"),
            ("[::1]:9000", "[::1]:9000"),
            ("[2001:DB8::1]", "[2001:db8::1]"),
            ("link-dock.internal:08080", "link-dock.internal:8080"),
        ] {
            assert_eq!(authority(raw).as_deref(), Some(want), "{raw}");
        }
    }

    #[test]
    fn anything_that_could_escape_a_quoted_url_is_refused() {
        for raw in [
            "",
            "evil.com'; rm -rf ~; echo '",
            "evil.com/path",
            "user@evil.com",
            "evil.com:80:80",
            "evil.com:",
            "evil.com:99999",
            "evil.com:0",
            "-evil.com",
            "evil..com",
            ".evil.com",
            "evil com",
            "[::1",
            "[not-v6]:80",
            "[::1]80",
            "ev\"il.com",
            "evil.com?x=1",
            "evil.com#x",
            "$(id).com",
            "a`id`.com",
        ] {
            assert_eq!(authority(raw), None, "{raw:?}");
        }
    }
}
