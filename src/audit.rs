//! The activity log's vocabulary: who did something (`Actor`, with the address in `By`), what
//! (`Action`, stable dotted names) and one entry as it is recorded (`Entry`).
//!
//! Recording an entry, from wherever the change happens:
//! - inside a store write transaction (the entry commits or aborts with the change):
//!   `store::audit::record(tx, &entry)`;
//! - from a handler, for what has no write of its own (a sign-in, an export):
//!   `AppState::audit(entry)`, through the batched writer.
//!
//! An entry never holds a secret: callers pass names, ids, key prefixes and counts, never a
//! password, a key or a token, and `detail` and `target` go through `keys::redact_keys` on
//! the way in anyway.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::domain::{now, parse_rfc3339, DomainError, Timestamp};

/// Who did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    /// A signed-in user (the API with a session, or the UI).
    User,
    /// An API key.
    Key,
    /// The config file (declared resources, reloads).
    Config,
    /// linkdock itself: the sweeper, the command line, the control socket.
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Key => "key",
            Self::Config => "config",
            Self::System => "system",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    /// A username; `key <id> (<prefix>)` for a key; the config file's path; `sweeper`,
    /// `command line`, …
    pub name: String,
}

impl Actor {
    pub fn user(name: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::User,
            name: name.into(),
        }
    }

    /// A key by its id and display prefix (never more of the key than the UI shows).
    pub fn key(id: u64, prefix: &str) -> Self {
        Self {
            kind: ActorKind::Key,
            name: format!("key {id} ({prefix})"),
        }
    }

    pub fn config(path: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Config,
            name: path.into(),
        }
    }

    pub fn system(what: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::System,
            name: what.into(),
        }
    }

    /// Whether `username` is this actor (a member sees only their own entries).
    pub fn is_user(&self, username: &str) -> bool {
        self.kind == ActorKind::User && self.name == username
    }
}

/// Entries recorded before the activity log knew who acted (key events of schema 3).
impl Default for Actor {
    fn default() -> Self {
        Self::system("unknown (recorded by an older linkdock)")
    }
}

/// Who, and from which address (none for the sweeper, the config file, the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct By {
    pub actor: Actor,
    pub client_ip: Option<IpAddr>,
}

impl By {
    pub fn new(actor: Actor, client_ip: Option<IpAddr>) -> Self {
        Self { actor, client_ip }
    }

    /// The key sweeper and the retention sweep.
    pub fn sweeper() -> Self {
        Self::new(Actor::system("sweeper"), None)
    }

    /// `linkdock …` on the command line, working on the database directly.
    pub fn command_line() -> Self {
        Self::new(Actor::system("command line"), None)
    }
}

macro_rules! actions {
    ($($variant:ident = $name:literal, $words:literal;)*) => {
        /// What happened: stable dotted names (`key.created`). The group before the dot is
        /// what the `action` filter's prefixes select.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Action { $($variant,)* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }

            /// The action in words, for the activity page.
            pub fn words(self) -> &'static str {
                match self { $(Self::$variant => $words,)* }
            }
        }
    };
}

actions! {
    SignIn = "session.sign_in", "signed in";
    SignInFailed = "session.sign_in_failed", "failed to sign in";
    SignOut = "session.sign_out", "signed out";
    PasswordChanged = "password.changed", "changed their password";
    KeyCreated = "key.created", "created an API key";
    KeyUpdated = "key.updated", "changed an API key";
    KeyRolled = "key.rolled", "rolled an API key";
    KeyRevoked = "key.revoked", "revoked an API key";
    KeyDeleted = "key.deleted", "deleted an API key";
    KeyExpired = "key.expired", "marked an API key expired";
    KeyDisabled = "key.disabled", "disabled an API key";
    KeyEnabled = "key.enabled", "enabled an API key";
    UserCreated = "user.created", "added a user";
    UserRoleChanged = "user.role_changed", "changed a user's role";
    UserPasswordReset = "user.password_reset", "reset a user's password";
    UserRemoved = "user.removed", "removed a user";
    InviteCreated = "invite.created", "created an invite";
    InviteWithdrawn = "invite.withdrawn", "withdrew an invite";
    InviteAccepted = "invite.accepted", "accepted an invite";
    DomainCreated = "domain.created", "added a domain";
    DomainRenamed = "domain.renamed", "renamed a domain";
    DomainDeleted = "domain.deleted", "deleted a domain";
    LinkDeleted = "link.deleted", "deleted a link";
    LinksImported = "links.imported", "imported links";
    LinksExported = "links.exported", "exported links";
    BackupCreated = "backup.created", "backed up the database";
    ConfigReloaded = "config.reloaded", "reloaded the configuration";
    ConfigRefused = "config.refused", "refused a configuration change";
}

impl Action {
    /// The action a stored name stands for; `None` for a name this build does not know.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.as_str() == name)
    }
}

/// The groups the activity page filters by: `action` prefixes, with their words.
pub const GROUPS: &[(&str, &str)] = &[
    ("session.", "Sign-ins and sign-outs"),
    ("password.", "Password changes"),
    ("key.", "API keys"),
    ("user.", "Users"),
    ("invite.", "Invites"),
    ("domain.", "Domains"),
    ("link", "Links, imports and exports"),
    ("backup.", "Backups"),
    ("config.", "Configuration"),
];

/// One entry, as a caller hands it in; the store gives it its id.
#[derive(Debug, Clone)]
pub struct Entry {
    pub at: Timestamp,
    pub by: By,
    pub action: Action,
    /// What it was done to (`key 3 (ldk_AbCd)`, `go.example.com`, a username); may be empty.
    pub target: String,
    /// Anything else worth knowing, in words (counts, a new name).
    pub detail: String,
}

impl Entry {
    /// An entry at the server's now.
    pub fn new(by: &By, action: Action) -> Self {
        Self {
            at: now(),
            by: by.clone(),
            action,
            target: String::new(),
            detail: String::new(),
        }
    }

    #[must_use]
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = target.into();
        self
    }

    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    #[must_use]
    pub fn at(mut self, at: Timestamp) -> Self {
        self.at = at;
        self
    }
}

/// Which entries a listing holds: the `actor`, `action` and `since` filters, and whose
/// entries the reader may see at all.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries whose actor is this user (set for whoever may not read everyone's).
    pub only_user: Option<String>,
    /// Only entries whose actor's name is exactly this.
    pub actor: Option<String>,
    /// Only actions starting with this (`key.`).
    pub action: Option<String>,
    /// Only entries at or after this.
    pub since: Option<Timestamp>,
}

impl AuditFilter {
    /// The filters as given in a query string (empty means absent); a bad one is an error
    /// naming its field.
    pub fn parse(
        actor: Option<&str>,
        action: Option<&str>,
        since: Option<&str>,
    ) -> Result<Self, DomainError> {
        fn given(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        let actor = given(actor)
            .map(|a| {
                if a.chars().count() > 200 || a.chars().any(char::is_control) {
                    Err(DomainError::new(
                        "actor",
                        "must be a name of at most 200 printable characters",
                    ))
                } else {
                    Ok(a.to_owned())
                }
            })
            .transpose()?;
        let action = given(action)
            .map(|a| {
                if Action::ALL.iter().any(|x| x.as_str().starts_with(a)) {
                    Ok(a.to_owned())
                } else {
                    Err(DomainError::new(
                        "action",
                        "matches no action; give an action (key.created) or the start of one (key.)",
                    ))
                }
            })
            .transpose()?;
        let since = given(since)
            .map(|s| parse_rfc3339(s, "since"))
            .transpose()?;
        Ok(Self {
            only_user: None,
            actor,
            action,
            since,
        })
    }

    /// Whether it keeps every entry.
    pub fn is_empty(&self) -> bool {
        self.only_user.is_none()
            && self.actor.is_none()
            && self.action.is_none()
            && self.since.is_none()
    }

    pub fn keeps(&self, actor: &Actor, action: &str, at: Timestamp) -> bool {
        self.only_user.as_deref().is_none_or(|u| actor.is_user(u))
            && self.actor.as_deref().is_none_or(|a| actor.name == a)
            && self.action.as_deref().is_none_or(|p| action.starts_with(p))
            && self.since.is_none_or(|s| at >= s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_unique_dotted_and_in_a_group() {
        let mut seen = std::collections::HashSet::new();
        for a in Action::ALL {
            let name = a.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(name.contains('.'), "{name}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'),
                "{name}"
            );
            assert!(
                GROUPS.iter().any(|(g, _)| name.starts_with(g)),
                "{name} is in no group"
            );
            assert_eq!(Action::named(name), Some(*a));
        }
    }

    #[test]
    fn filters_name_the_field_they_refuse() {
        let f =
            AuditFilter::parse(Some(" ann "), Some("key."), Some("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(f.actor.as_deref(), Some("ann"));
        assert!(f.keeps(
            &Actor::user("ann"),
            "key.created",
            Timestamp::from_unix(1_800_000_000)
        ));
        assert!(!f.keeps(
            &Actor::user("ann"),
            "session.sign_in",
            Timestamp::from_unix(1_800_000_000)
        ));
        let field = |a: Option<&str>, b: Option<&str>, c: Option<&str>| {
            AuditFilter::parse(a, b, c).unwrap_err().field
        };
        assert_eq!(field(None, None, Some("yesterday")), "since");
        assert_eq!(field(None, Some("nope."), None), "action");
        assert_eq!(field(Some("a\u{7}"), None, None), "actor");
        assert!(AuditFilter::parse(Some(""), Some(""), Some("")).is_ok());
    }
}
