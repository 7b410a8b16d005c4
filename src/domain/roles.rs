//! What a signed-in user may do: one role per user, and one table from role to rights. The
//! session check, the UI (what is shown or greyed out, and why) and the docs all read
//! [`Role::may`], the way key permissions are read from `Permissions`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{DomainError, Permission, Permissions};

/// A user's role. The wire and config form is lower case (`admin`, `member`, `viewer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including the team, every key, backups and the whole activity log.
    #[default]
    Admin,
    /// Works with links, reads domains, uses the playground, and manages the keys they made.
    Member,
    /// Reads links and domains; uses the playground with a key someone gave them.
    Viewer,
}

/// One thing a session may do. The names are the wire form, named in a 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Right {
    LinksRead,
    LinksWrite,
    LinksImport,
    LinksExport,
    DomainsRead,
    DomainsWrite,
    /// The playground and its history.
    Playground,
    /// Create API keys and manage the ones the user created.
    KeysOwn,
    /// See and manage every key, whoever created it.
    KeysAll,
    /// Users and invites.
    Team,
    /// The whole activity log (everyone else sees their own actions).
    AuditAll,
    /// Backups.
    Backup,
}

impl Right {
    pub const ALL: [Self; 12] = [
        Self::LinksRead,
        Self::LinksWrite,
        Self::LinksImport,
        Self::LinksExport,
        Self::DomainsRead,
        Self::DomainsWrite,
        Self::Playground,
        Self::KeysOwn,
        Self::KeysAll,
        Self::Team,
        Self::AuditAll,
        Self::Backup,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LinksRead => "links:read",
            Self::LinksWrite => "links:write",
            Self::LinksImport => "links:import",
            Self::LinksExport => "links:export",
            Self::DomainsRead => "domains:read",
            Self::DomainsWrite => "domains:write",
            Self::Playground => "playground",
            Self::KeysOwn => "keys:own",
            Self::KeysAll => "keys:all",
            Self::Team => "team",
            Self::AuditAll => "audit:all",
            Self::Backup => "backup",
        }
    }

    /// What it allows, in words (the UI's reasons and the docs).
    pub const fn describe(self) -> &'static str {
        match self {
            Self::LinksRead => "list, search and read links",
            Self::LinksWrite => "create, change and delete links",
            Self::LinksImport => "import links from CSV",
            Self::LinksExport => "export links as CSV",
            Self::DomainsRead => "list and read domains",
            Self::DomainsWrite => "add, rename and delete domains",
            Self::Playground => "use the API playground and its history",
            Self::KeysOwn => "create API keys and manage the ones they created",
            Self::KeysAll => "see and manage every API key",
            Self::Team => "manage users and invites",
            Self::AuditAll => "read everyone's activity",
            Self::Backup => "make backups",
        }
    }

    /// The right a key permission corresponds to: a user can hand a key only what they hold.
    pub const fn of_permission(p: Permission) -> Self {
        match p {
            Permission::LinksRead => Self::LinksRead,
            Permission::LinksWrite => Self::LinksWrite,
            Permission::DomainsRead => Self::DomainsRead,
            Permission::DomainsWrite => Self::DomainsWrite,
            Permission::LinksImport => Self::LinksImport,
            Permission::LinksExport => Self::LinksExport,
        }
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The table: each role's rights, as a bitset.
const fn rights_of(role: Role) -> u16 {
    use Right::*;
    match role {
        Role::Admin => (1 << Right::ALL.len()) - 1,
        Role::Member => {
            LinksRead.bit()
                | LinksWrite.bit()
                | LinksImport.bit()
                | LinksExport.bit()
                | DomainsRead.bit()
                | Playground.bit()
                | KeysOwn.bit()
        }
        Role::Viewer => LinksRead.bit() | DomainsRead.bit() | Playground.bit(),
    }
}

impl Role {
    pub const ALL: [Self; 3] = [Self::Admin, Self::Member, Self::Viewer];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Viewer => "viewer",
        }
    }

    /// In words, for the team screen and the docs.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Admin => "everything: the team, every API key, domains, backups and all activity",
            Self::Member => "links (read, write, import, export), domains (read), the playground, and the API keys they create",
            Self::Viewer => "links and domains (read), and the playground with a key someone gave them",
        }
    }

    pub const fn may(self, right: Right) -> bool {
        rights_of(self) & right.bit() != 0
    }

    pub fn rights(self) -> impl Iterator<Item = Right> {
        Right::ALL.into_iter().filter(move |r| self.may(*r))
    }

    /// The key permissions this role may hand out (a key never gets more than its creator).
    pub fn grantable(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.may(Right::of_permission(*p)))
    }

    /// What a key made by this role gets when its permissions are not given.
    pub fn grantable_set(self) -> Permissions {
        self.grantable().collect()
    }

    /// The first permission in `wanted` this role may not hand out, if any.
    pub fn lacks_any(self, wanted: Permissions) -> Option<Permission> {
        wanted.iter().find(|p| !self.may(Right::of_permission(*p)))
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let raw = raw.trim();
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(raw))
            .ok_or_else(|| {
                DomainError::new(
                    field,
                    format!("“{raw}” is not a role; the roles are admin, member, viewer"),
                )
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_contract() {
        assert!(Right::ALL.iter().all(|r| Role::Admin.may(*r)));
        let member: Vec<_> = Role::Member.rights().map(Right::as_str).collect();
        assert_eq!(
            member,
            [
                "links:read",
                "links:write",
                "links:import",
                "links:export",
                "domains:read",
                "playground",
                "keys:own"
            ]
        );
        let viewer: Vec<_> = Role::Viewer.rights().map(Right::as_str).collect();
        assert_eq!(viewer, ["links:read", "domains:read", "playground"]);
    }

    #[test]
    fn a_member_cannot_hand_out_domain_changes() {
        assert_eq!(
            Role::Member.lacks_any(Permissions::ALL),
            Some(Permission::DomainsWrite)
        );
        assert_eq!(Role::Member.lacks_any(Permissions::READ_ONLY), None);
        assert_eq!(Role::Admin.lacks_any(Permissions::ALL), None);
    }

    #[test]
    fn roles_parse_by_name_and_name_the_choices_otherwise() {
        assert_eq!(Role::parse("role", " Member ").unwrap(), Role::Member);
        let e = Role::parse("role", "owner").unwrap_err();
        assert!(e.message.contains("admin, member, viewer"), "{e}");
    }
}
