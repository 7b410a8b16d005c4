//! What a session was opened from, in a few words ("Firefox on Windows", "Safari on iPhone",
//! "curl"), from its `User-Agent`. A tiny hand classifier of the family only: the header
//! itself is never kept, so a session record holds at most [`MAX_LEN`] characters of it, and
//! only characters we chose. (A user-agent crate may replace this once link analytics needs
//! versions and bots as well.)

use std::fmt;

/// The longest description: the longest "browser on system" is well under it, and a command-
/// line client's name is cut to it.
pub const MAX_LEN: usize = 40;

/// Shown when the request sent no `User-Agent`, or nothing we recognise.
pub const UNKNOWN: &str = "Unknown device";

/// A short description of a client, derived from its `User-Agent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device(String);

impl Device {
    pub fn unknown() -> Self {
        Self(UNKNOWN.to_owned())
    }

    /// Describe the client that sent `user_agent` (absent: unknown).
    pub fn from_user_agent(user_agent: Option<&str>) -> Self {
        let ua = user_agent.map(str::trim).unwrap_or("");
        if ua.is_empty() {
            return Self::unknown();
        }
        let browser = browser(ua);
        let system = system(ua);
        let described = match (browser, system) {
            (Some(b), Some(s)) => format!("{b} on {s}"),
            (Some(b), None) => b.to_owned(),
            (None, Some(s)) => format!("Browser on {s}"),
            (None, None) => return Self::of_tool(ua),
        };
        Self(described)
    }

    /// A command-line client or library: the name of its first product token (`curl/8.5.0` →
    /// `curl`, `python-requests/2.31` → `python-requests`), only letters, digits and `._-`.
    fn of_tool(ua: &str) -> Self {
        let name: String = ua
            .split(['/', ' ', '('])
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .take(MAX_LEN)
            .collect();
        if name.is_empty() || name.eq_ignore_ascii_case("mozilla") {
            Self::unknown()
        } else {
            Self(name)
        }
    }

    /// A description read back from a session record: kept as stored, but never longer than
    /// the bound (a record is never trusted to be short).
    pub fn from_stored(s: &str) -> Self {
        if s.is_empty() {
            return Self::unknown();
        }
        Self(s.chars().take(MAX_LEN).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The browser family. Order matters: Edge and Opera also say "Chrome", Chrome also says
/// "Safari", and Chrome and Firefox on iOS have their own tokens.
fn browser(ua: &str) -> Option<&'static str> {
    let has = |t: &str| ua.contains(t);
    if has("Edg/") || has("EdgA/") || has("EdgiOS/") || has("Edge/") {
        Some("Edge")
    } else if has("OPR/") || has("Opera") {
        Some("Opera")
    } else if has("Firefox/") || has("FxiOS/") {
        Some("Firefox")
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        Some("Chrome")
    } else if has("Safari/") && has("Version/") {
        Some("Safari")
    } else {
        None
    }
}

/// The operating system, or the kind of Apple device.
fn system(ua: &str) -> Option<&'static str> {
    let has = |t: &str| ua.contains(t);
    if has("iPhone") {
        Some("iPhone")
    } else if has("iPad") {
        Some("iPad")
    } else if has("Android") {
        Some("Android")
    } else if has("Windows") {
        Some("Windows")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Macintosh") || has("Mac OS X") {
        Some("macOS")
    } else if has("Linux") || has("X11") {
        Some("Linux")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(ua: &str) -> String {
        Device::from_user_agent(Some(ua)).into_string()
    }

    #[test]
    fn browsers_are_named_with_their_system() {
        assert_eq!(of("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"), "Chrome on Linux");
        assert_eq!(of("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"), "Chrome on Linux");
        assert_eq!(
            of("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"),
            "Firefox on Windows"
        );
        assert_eq!(of("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"), "Safari on iPhone");
        assert_eq!(of("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"), "Safari on macOS");
        assert_eq!(of("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0"), "Edge on Windows");
        assert_eq!(of("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"), "Chrome on Android");
        assert_eq!(of("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0 Mobile/15E148 Safari/604.1"), "Chrome on iPhone");
    }

    #[test]
    fn tools_are_named_by_their_product_and_nothing_else_is_kept() {
        assert_eq!(of("curl/8.5.0"), "curl");
        assert_eq!(of("python-requests/2.31.0"), "python-requests");
        assert_eq!(of("Go-http-client/1.1"), "Go-http-client");
        assert_eq!(of("<script>alert(1)</script>"), "scriptalert");
        assert_eq!(of(&"x".repeat(5000)).len(), MAX_LEN);
        assert_eq!(of("Mozilla/5.0"), UNKNOWN);
        assert_eq!(of("   "), UNKNOWN);
        assert_eq!(Device::from_user_agent(None).as_str(), UNKNOWN);
        assert_eq!(Device::from_stored("").as_str(), UNKNOWN);
        assert_eq!(Device::from_stored(&"y".repeat(99)).as_str().len(), MAX_LEN);
    }
}
