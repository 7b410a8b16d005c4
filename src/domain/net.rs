use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::DomainError;

/// One whitelist entry: a single IPv4/IPv6 address or a CIDR range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpRule(IpNet);

impl IpRule {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        let net = s
            .parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| {
                DomainError::new(
                    "ip",
                    format!("`{s}` is not an IPv4/IPv6 address or CIDR range"),
                )
            })?;
        // `10.1.2.3/8` means the network: keep what the user meant, canonically.
        Ok(Self(canonical_net(net).trunc()))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).unwrap_or(net),
            None => net,
        },
        other => other,
    }
}

impl fmt::Display for IpRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A single address prints without its /32 or /128.
        if self.0.prefix_len() == self.0.max_prefix_len() {
            write!(f, "{}", self.0.addr())
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl TryFrom<String> for IpRule {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::parse(&s)
    }
}

impl From<IpRule> for String {
    fn from(r: IpRule) -> String {
        r.to_string()
    }
}

/// A set of IP rules. What an empty list means is decided by its owner (a key with
/// `allow_all_ips: false` must have at least one rule; trusted proxies may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowList(Vec<IpRule>);

impl AllowList {
    /// Parse every entry; each bad one is reported with its index under `field`.
    pub fn parse<S: AsRef<str>>(field: &str, items: &[S]) -> Result<Self, Vec<DomainError>> {
        let mut rules = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item = item.as_ref();
            if item.trim().is_empty() {
                continue;
            }
            match IpRule::parse(item) {
                Ok(r) if !rules.contains(&r) => rules.push(r),
                Ok(_) => {}
                Err(e) => errors.push(e.at(format!("{field}[{i}]"))),
            }
        }
        if errors.is_empty() {
            Ok(Self(rules))
        } else {
            Err(errors)
        }
    }

    pub fn from_rules(rules: Vec<IpRule>) -> Self {
        Self(rules)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|r| r.contains(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn rules(&self) -> &[IpRule] {
        &self.0
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_accept_addresses_and_ranges_of_both_families() {
        let list = AllowList::parse(
            "ip_whitelist",
            &["10.0.0.0/8", "192.168.1.1", "2001:db8::/32", "::1"],
        )
        .unwrap();
        assert!(list.contains("10.9.8.7".parse().unwrap()));
        assert!(
            list.contains("::ffff:10.1.2.3".parse().unwrap()),
            "mapped v4 is canonicalised"
        );
        assert!(list.contains("2001:db8::5".parse().unwrap()));
        assert!(!list.contains("192.168.1.2".parse().unwrap()));
        assert_eq!(list.to_strings()[1], "192.168.1.1");
    }

    #[test]
    fn bad_entries_are_named_by_index() {
        let errs =
            AllowList::parse("ip_whitelist", &["10.0.0.1", "nope", "1.2.3.4/99"]).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].field, "ip_whitelist[1]");
        assert!(errs[0].message.contains("nope"));
    }
}
