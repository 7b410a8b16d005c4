//! A key's rules: what an edit, a roll, a disable or enable and a revoke do to its record.
//! Pure functions, the time passed in: the store reads the record, calls one, writes the
//! result and its audit entry, whatever engine is under it.

use super::record::{KeyId, KeyRecord, KeyStatus};
use super::KeyDigest;
use crate::domain::{
    AllowList, DomainError, DomainId, KeyName, PerMinute, Permissions, Source, Timestamp,
};

/// A validated key update; `Some(None)` clears the expiry or the rate limit. The IP fields
/// are combined with the key's current policy by [`crate::domain::IpPolicy::patched`].
#[derive(Debug, Clone, Default)]
pub struct KeyPatch {
    pub name: Option<KeyName>,
    pub domains: Option<Vec<DomainId>>,
    pub allow_all_ips: Option<bool>,
    pub ip_whitelist: Option<AllowList>,
    pub expires_at: Option<Option<Timestamp>>,
    pub permissions: Option<Permissions>,
    pub rate_limit: Option<Option<PerMinute>>,
}

/// The new key of a roll, and the one it replaces.
#[derive(Debug, Clone)]
pub struct Rolled {
    pub old: KeyRecord,
    pub new: KeyRecord,
}

/// Switching a key off, or back on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Disable,
    Enable,
}

/// What a transition did: the key was already where it was asked to go, or it moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    Changed,
}

/// Why a rule refuses. The texts are the API's (409 `conflict`, 400 for `Invalid`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRuleError {
    #[error("this key is declared in the config file and is read-only here")]
    ReadOnly,
    #[error("this key was already rolled (its replacement is key {0}): roll that one")]
    AlreadyRolled(KeyId),
    #[error("only an active key can be rolled; this one is {}", .0.label())]
    NotRollable(KeyStatus),
    #[error("only {} key can be {}; this one is {}", .to.required(), .to.done(), .current.label())]
    NotSwitchable { to: Transition, current: KeyStatus },
    /// A field of the patch that does not fit the key (its IP rule).
    #[error("{0}")]
    Invalid(DomainError),
}

impl Transition {
    /// The status the key must have now, and the one it gets.
    fn statuses(self) -> (KeyStatus, KeyStatus) {
        match self {
            Self::Disable => (KeyStatus::Active, KeyStatus::Disabled),
            Self::Enable => (KeyStatus::Disabled, KeyStatus::Active),
        }
    }

    fn required(self) -> &'static str {
        match self {
            Self::Disable => "an active",
            Self::Enable => "a disabled",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Self::Disable => "disabled",
            Self::Enable => "enabled",
        }
    }
}

impl KeyRecord {
    /// Keys declared in the config file change only there.
    pub fn editable(&self) -> Result<(), KeyRuleError> {
        if self.source == Source::Config {
            return Err(KeyRuleError::ReadOnly);
        }
        Ok(())
    }

    /// Apply `patch`, all of it or (on an error) none; the key value never changes. An expiry
    /// moved into the future (or cleared) reactivates a key the sweeper had marked expired.
    pub fn apply(&mut self, patch: KeyPatch, at: Timestamp) -> Result<(), KeyRuleError> {
        self.editable()?;
        self.ip = self
            .ip
            .patched(patch.allow_all_ips, patch.ip_whitelist)
            .map_err(KeyRuleError::Invalid)?;
        if let Some(d) = patch.domains {
            self.domains = d;
        }
        if let Some(n) = patch.name {
            self.name = n;
        }
        if let Some(e) = patch.expires_at {
            self.expires_at = e;
            if self.status == KeyStatus::Expired && e.is_none_or(|t| t > at) {
                self.status = KeyStatus::Active;
            }
        }
        if let Some(p) = patch.permissions {
            self.permissions = p;
        }
        if let Some(r) = patch.rate_limit {
            self.rate_limit = r;
        }
        self.updated_at = at;
        Ok(())
    }

    /// Roll the key: a new one (already issued: `prefix`, `digest`, numbered `new_id`) with
    /// the same name, scope, IP rule, expiry, permissions, rate limit and creator, linked both
    /// ways to this one, which keeps working until `works_until` (`at`, when that is not in
    /// the future). Only an active key that was not rolled before can be rolled.
    pub fn roll(
        mut self,
        new_id: KeyId,
        prefix: String,
        digest: KeyDigest,
        works_until: Timestamp,
        at: Timestamp,
    ) -> Result<Rolled, KeyRuleError> {
        self.editable()?;
        if let Some(next) = self.rotated_to {
            return Err(KeyRuleError::AlreadyRolled(next));
        }
        match self.status_at(at) {
            KeyStatus::Active => {}
            other => return Err(KeyRuleError::NotRollable(other)),
        }
        let new = KeyRecord {
            id: new_id,
            name: self.name.clone(),
            prefix,
            digest,
            domains: self.domains.clone(),
            ip: self.ip.clone(),
            expires_at: self.expires_at,
            status: KeyStatus::Active,
            source: Source::Api,
            created_at: at,
            updated_at: at,
            permissions: self.permissions,
            rate_limit: self.rate_limit,
            rotated_to: None,
            rotated_at: None,
            rotated_from: Some(self.id),
            created_by: self.created_by.clone(),
        };
        self.rotated_to = Some(new.id);
        self.rotated_at = Some(works_until.max(at));
        self.updated_at = at;
        Ok(Rolled { old: self, new })
    }

    /// Disable a key that works, or enable a disabled one. Asking for the state the key is
    /// already in changes nothing. Enabling hands the key back to the clock: past its expiry
    /// or its roll's grace period it reads expired or rotated.
    pub fn transition(&mut self, to: Transition, at: Timestamp) -> Result<Outcome, KeyRuleError> {
        self.editable()?;
        let (from, target) = to.statuses();
        let current = self.status_at(at);
        if current == target {
            return Ok(Outcome::Unchanged);
        }
        if current != from {
            return Err(KeyRuleError::NotSwitchable { to, current });
        }
        self.status = target.at(self.ends(), at);
        self.updated_at = at;
        Ok(Outcome::Changed)
    }

    /// The sweeper's rule: an active key whose expiry has passed (before any roll's grace
    /// ended) is marked expired. Answers whether it was.
    pub fn expire(&mut self, at: Timestamp) -> bool {
        if self.status != KeyStatus::Active || self.status_at(at) != KeyStatus::Expired {
            return false;
        }
        self.status = KeyStatus::Expired;
        self.updated_at = at;
        true
    }

    /// Revoke the key, for good. No read-only check here: removing a user revokes their keys
    /// whatever asked for it; a caller acting for a person checks [`Self::editable`] first.
    pub fn revoke(&mut self, at: Timestamp) {
        self.status = KeyStatus::Revoked;
        self.updated_at = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{IpPolicy, Username};

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_unix(1_800_000_000 + secs)
    }

    fn key(source: Source) -> KeyRecord {
        KeyRecord {
            id: 7,
            name: KeyName::parse("ci").unwrap(),
            prefix: "ldk_abcdefgh".into(),
            digest: KeyDigest::of("ldk_old"),
            domains: vec![2],
            ip: IpPolicy::choose(None, AllowList::parse("ip", &["10.0.0.0/8"]).unwrap()).unwrap(),
            expires_at: Some(t(86_400)),
            status: KeyStatus::Active,
            source,
            created_at: t(-100),
            updated_at: t(-100),
            permissions: Permissions::parse("p", &["links:read"]).unwrap(),
            rate_limit: Some(PerMinute::parse("r", 60).unwrap()),
            rotated_to: None,
            rotated_at: None,
            rotated_from: None,
            created_by: Some(Username::parse("ann").unwrap()),
        }
    }

    #[test]
    fn a_config_key_is_refused_by_every_rule_but_revoke() {
        let k = key(Source::Config);
        assert_eq!(k.editable(), Err(KeyRuleError::ReadOnly));
        assert_eq!(
            k.clone().apply(KeyPatch::default(), t(0)),
            Err(KeyRuleError::ReadOnly)
        );
        for to in [Transition::Disable, Transition::Enable] {
            assert_eq!(k.clone().transition(to, t(0)), Err(KeyRuleError::ReadOnly));
        }
        let e = k
            .clone()
            .roll(8, "ldk_new".into(), KeyDigest::of("n"), t(60), t(0))
            .unwrap_err();
        assert_eq!(e, KeyRuleError::ReadOnly);
        assert_eq!(
            e.to_string(),
            "this key is declared in the config file and is read-only here"
        );
        assert_eq!(key(Source::Api).editable(), Ok(()));
    }

    #[test]
    fn a_patch_changes_what_it_names_and_stamps_the_time() {
        let mut k = key(Source::Api);
        let before = k.clone();
        k.apply(
            KeyPatch {
                name: Some(KeyName::parse("renamed").unwrap()),
                rate_limit: Some(None),
                ..KeyPatch::default()
            },
            t(5),
        )
        .unwrap();
        assert_eq!(k.name.as_str(), "renamed");
        assert_eq!(k.rate_limit, None);
        assert_eq!(k.updated_at, t(5));
        assert_eq!(
            (&k.domains, &k.ip, k.expires_at, k.permissions, k.status),
            (
                &before.domains,
                &before.ip,
                before.expires_at,
                before.permissions,
                before.status
            ),
            "what the patch leaves out stays"
        );
        k.apply(
            KeyPatch {
                domains: Some(vec![]),
                allow_all_ips: Some(true),
                expires_at: Some(None),
                permissions: Some(Permissions::ALL),
                ..KeyPatch::default()
            },
            t(6),
        )
        .unwrap();
        assert!(k.domains.is_empty() && k.ip.is_any() && k.permissions.is_all());
        assert_eq!(k.expires_at, None);
    }

    #[test]
    fn a_refused_ip_rule_leaves_the_record_as_it_was() {
        let mut k = key(Source::Api);
        k.ip = IpPolicy::Any;
        let before = format!("{k:?}");
        let e = k
            .apply(
                KeyPatch {
                    name: Some(KeyName::parse("renamed").unwrap()),
                    allow_all_ips: Some(false),
                    ..KeyPatch::default()
                },
                t(5),
            )
            .unwrap_err();
        assert!(
            matches!(&e, KeyRuleError::Invalid(d) if d.field == "ip_whitelist"),
            "{e:?}"
        );
        assert_eq!(format!("{k:?}"), before);
    }

    #[test]
    fn an_expired_key_is_reactivated_by_a_future_expiry_or_none_but_not_a_past_one() {
        let expired = || KeyRecord {
            status: KeyStatus::Expired,
            expires_at: Some(t(-10)),
            ..key(Source::Api)
        };
        let patched = |e: Option<Timestamp>| {
            let mut k = expired();
            let patch = KeyPatch {
                expires_at: Some(e),
                ..KeyPatch::default()
            };
            k.apply(patch, t(0)).unwrap();
            k.status
        };
        assert_eq!(patched(Some(t(60))), KeyStatus::Active);
        assert_eq!(patched(None), KeyStatus::Active);
        assert_eq!(patched(Some(t(0))), KeyStatus::Expired, "not in the future");
        // A patch without an expiry leaves an expired key expired.
        let mut k = expired();
        k.apply(KeyPatch::default(), t(0)).unwrap();
        assert_eq!(k.status, KeyStatus::Expired);
        // A new expiry does not bring back a revoked or disabled key.
        for status in [KeyStatus::Revoked, KeyStatus::Disabled] {
            let mut k = KeyRecord {
                status,
                ..expired()
            };
            let patch = KeyPatch {
                expires_at: Some(Some(t(60))),
                ..KeyPatch::default()
            };
            k.apply(patch, t(0)).unwrap();
            assert_eq!(k.status, status);
        }
    }

    #[test]
    fn a_roll_copies_the_rules_links_both_keys_and_ends_a_past_grace_now() {
        let old = key(Source::Api);
        let digest = KeyDigest::of("ldk_new");
        let r = old
            .clone()
            .roll(8, "ldk_newpref".into(), digest, t(3600), t(0))
            .unwrap();
        assert_eq!(
            (r.old.rotated_to, r.old.rotated_at),
            (Some(8), Some(t(3600)))
        );
        assert_eq!(r.old.updated_at, t(0));
        assert_eq!(r.old.status, KeyStatus::Active, "works in its grace period");
        assert_eq!(r.old.status_at(t(3600)), KeyStatus::Rotated);
        assert_eq!((r.new.id, r.new.rotated_from), (8, Some(old.id)));
        assert_eq!(
            (r.new.prefix.as_str(), r.new.digest),
            ("ldk_newpref", digest)
        );
        assert_eq!(
            (r.new.status, r.new.source, r.new.created_at),
            (KeyStatus::Active, Source::Api, t(0))
        );
        assert_eq!(
            (
                &r.new.name,
                &r.new.domains,
                &r.new.ip,
                r.new.expires_at,
                r.new.permissions,
                r.new.rate_limit,
                &r.new.created_by
            ),
            (
                &old.name,
                &old.domains,
                &old.ip,
                old.expires_at,
                old.permissions,
                old.rate_limit,
                &old.created_by
            )
        );
        let past = old
            .roll(9, "p".into(), KeyDigest::of("p"), t(-3600), t(0))
            .unwrap();
        assert_eq!(
            past.old.rotated_at,
            Some(t(0)),
            "a grace period in the past ends now"
        );
        assert_eq!(past.old.status_at(t(0)), KeyStatus::Rotated);
    }

    #[test]
    fn a_rolled_key_and_a_key_that_does_not_work_are_not_rolled() {
        let rolled = key(Source::Api)
            .roll(8, "n".into(), KeyDigest::of("n"), t(3600), t(0))
            .unwrap()
            .old;
        let e = rolled
            .roll(9, "m".into(), KeyDigest::of("m"), t(3600), t(1))
            .unwrap_err();
        assert_eq!(e, KeyRuleError::AlreadyRolled(8));
        assert_eq!(
            e.to_string(),
            "this key was already rolled (its replacement is key 8): roll that one"
        );
        for (status, at, label) in [
            (KeyStatus::Revoked, t(0), "revoked"),
            (KeyStatus::Disabled, t(0), "disabled"),
            // Stored active, but its expiry has passed: the clock judges.
            (KeyStatus::Active, t(86_400), "expired"),
        ] {
            let k = KeyRecord {
                status,
                ..key(Source::Api)
            };
            let e = k
                .roll(9, "m".into(), KeyDigest::of("m"), t(3600), at)
                .unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("only an active key can be rolled; this one is {label}")
            );
        }
    }

    #[test]
    fn the_sweeper_marks_only_an_active_key_past_its_expiry() {
        let mut k = key(Source::Api);
        assert!(!k.expire(t(86_399)), "not yet");
        assert!(k.expire(t(86_400)));
        assert_eq!((k.status, k.updated_at), (KeyStatus::Expired, t(86_400)));
        assert!(!k.expire(t(86_401)), "once");
        let mut rotated_first = KeyRecord {
            rotated_to: Some(8),
            rotated_at: Some(t(60)),
            ..key(Source::Api)
        };
        assert!(!rotated_first.expire(t(90_000)));
        for status in [KeyStatus::Disabled, KeyStatus::Revoked] {
            let mut k = KeyRecord {
                status,
                ..key(Source::Api)
            };
            assert!(!k.expire(t(90_000)), "{status:?} stays");
            assert_eq!(k.status, status);
        }
    }

    #[test]
    fn disabling_and_enabling_move_only_between_active_and_disabled() {
        let mut k = key(Source::Api);
        assert_eq!(
            k.transition(Transition::Disable, t(1)),
            Ok(Outcome::Changed)
        );
        assert_eq!((k.status, k.updated_at), (KeyStatus::Disabled, t(1)));
        assert_eq!(
            k.transition(Transition::Disable, t(2)),
            Ok(Outcome::Unchanged)
        );
        assert_eq!(k.updated_at, t(1), "nothing changed");
        // Past its expiry a disabled key still reads disabled until it is enabled.
        assert_eq!(k.status_at(t(90_000)), KeyStatus::Disabled);
        assert_eq!(k.transition(Transition::Enable, t(3)), Ok(Outcome::Changed));
        assert_eq!(k.status, KeyStatus::Active);
        assert_eq!(
            k.transition(Transition::Enable, t(4)),
            Ok(Outcome::Unchanged)
        );
        k.revoke(t(5));
        assert_eq!((k.status, k.updated_at), (KeyStatus::Revoked, t(5)));
        for (to, words) in [
            (
                Transition::Disable,
                "only an active key can be disabled; this one is revoked",
            ),
            (
                Transition::Enable,
                "only a disabled key can be enabled; this one is revoked",
            ),
        ] {
            let e = k.clone().transition(to, t(6)).unwrap_err();
            assert_eq!(e.to_string(), words);
        }
        let mut expired = key(Source::Api);
        let e = expired
            .transition(Transition::Disable, t(86_400))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "only an active key can be disabled; this one is expired"
        );
    }

    #[test]
    fn enabling_a_key_whose_expiry_or_grace_passed_hands_it_to_the_clock() {
        let mut k = KeyRecord {
            status: KeyStatus::Disabled,
            ..key(Source::Api)
        };
        k.transition(Transition::Enable, t(86_400)).unwrap();
        assert_eq!(k.status, KeyStatus::Expired);
        let mut rolled = KeyRecord {
            status: KeyStatus::Disabled,
            rotated_to: Some(8),
            rotated_at: Some(t(60)),
            ..key(Source::Api)
        };
        rolled.transition(Transition::Enable, t(61)).unwrap();
        assert_eq!(rolled.status, KeyStatus::Rotated);
    }
}
