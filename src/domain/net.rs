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
                    format!("“{s}” is not an IP address (IPv4 or IPv6) or a CIDR range"),
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

impl super::FromStored for IpRule {
    type Raw = String;
    fn from_stored(raw: String) -> Result<Self, String> {
        // Only the address syntax is checked: it is what the bytes mean, not a rule.
        Self::parse(&raw).map_err(|e| e.message)
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

/// A set of IP rules. What an empty list means is decided by its owner: see [`IpPolicy`] for
/// keys; an empty list of trusted proxies trusts nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// Which client addresses may use an API key: every address, or only those a non-empty list
/// of rules contains. The one place that decides the key's IP rule, for keys made through the
/// API, the command line and the config file alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IpPolicy {
    Any,
    Only(AllowList),
}

/// The rule every key's IP choice follows.
pub const NEED_ONE_RULE: &str =
    "must hold at least one address or range unless all IP addresses are allowed";

/// Why an empty whitelist alone does not open a restricted key.
pub const OPEN_EXPLICITLY: &str =
    "cannot be emptied on its own: send allow_all_ips: true to allow every IP address";

impl IpPolicy {
    /// A new key's policy from the two wire fields. `allow_all_ips` defaults to "the
    /// whitelist is empty": a key given a whitelist is restricted to it.
    pub fn choose(allow_all_ips: Option<bool>, whitelist: AllowList) -> Result<Self, DomainError> {
        Self::Any.patched(allow_all_ips, Some(whitelist))
    }

    /// This policy changed by a partial update: a field left out keeps its current value, and
    /// a whitelist sent without `allow_all_ips` restricts the key to it. An empty one never
    /// opens a restricted key: that takes `allow_all_ips: true`, said explicitly.
    pub fn patched(
        &self,
        allow_all_ips: Option<bool>,
        whitelist: Option<AllowList>,
    ) -> Result<Self, DomainError> {
        let allow_all = match (allow_all_ips, &whitelist) {
            (Some(all), _) => all,
            (None, Some(w)) if w.is_empty() && !self.is_any() => {
                return Err(DomainError::new("ip_whitelist", OPEN_EXPLICITLY));
            }
            (None, Some(w)) => w.is_empty(),
            (None, None) => self.is_any(),
        };
        if allow_all {
            return Ok(Self::Any);
        }
        let rules = whitelist.unwrap_or_else(|| match self {
            Self::Any => AllowList::default(),
            Self::Only(list) => list.clone(),
        });
        if rules.is_empty() {
            return Err(DomainError::new("ip_whitelist", NEED_ONE_RULE));
        }
        Ok(Self::Only(rules))
    }

    /// A policy read back from the database, as it was written (an empty list lets no one in).
    pub fn from_stored(allow_all_ips: bool, whitelist: AllowList) -> Self {
        if allow_all_ips {
            Self::Any
        } else {
            Self::Only(whitelist)
        }
    }

    pub fn is_any(&self) -> bool {
        matches!(self, Self::Any)
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        match self {
            Self::Any => true,
            Self::Only(list) => list.contains(ip),
        }
    }

    /// The whitelist as the API shows it: empty for `Any`.
    pub fn rules(&self) -> &[IpRule] {
        match self {
            Self::Any => &[],
            Self::Only(list) => list.rules(),
        }
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
    fn one_rule_decides_the_ip_policy_of_every_key() {
        let list = |v: &[&str]| AllowList::parse("ip_whitelist", v).unwrap();
        assert_eq!(IpPolicy::choose(None, list(&[])), Ok(IpPolicy::Any));
        assert_eq!(
            IpPolicy::choose(None, list(&["10.0.0.1"])),
            Ok(IpPolicy::Only(list(&["10.0.0.1"])))
        );
        assert_eq!(
            IpPolicy::choose(Some(true), list(&["10.0.0.1"])),
            Ok(IpPolicy::Any)
        );
        assert_eq!(
            IpPolicy::choose(Some(false), list(&[])).unwrap_err().field,
            "ip_whitelist"
        );
        let only = IpPolicy::Only(list(&["10.0.0.1"]));
        assert_eq!(only.patched(None, None), Ok(only.clone()));
        assert_eq!(only.patched(Some(true), None), Ok(IpPolicy::Any));
        assert!(IpPolicy::Any.patched(Some(false), None).is_err());
        // Emptying a restricted key's whitelist does not open it: that must be said.
        let e = only.patched(None, Some(list(&[]))).unwrap_err();
        assert_eq!(e.field, "ip_whitelist");
        assert_eq!(only.patched(Some(true), Some(list(&[]))), Ok(IpPolicy::Any));
        assert_eq!(
            IpPolicy::Any.patched(None, Some(list(&[]))),
            Ok(IpPolicy::Any)
        );
        assert!(
            !IpPolicy::from_stored(false, AllowList::default()).permits("1.2.3.4".parse().unwrap())
        );
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
