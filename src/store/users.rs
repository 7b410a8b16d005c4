//! Users and sessions. A session lives only as long as its user's credentials: changing the
//! password or removing the user ends every session of that user in the same transaction.
//!
//! The team's rules live here, once, for the API, the UI and the command line alike: users
//! declared in the config file are read-only, the last admin can be neither removed nor
//! demoted, and removing a user ends their sessions and revokes (or hands on) the API keys
//! they created, all in one transaction. Users are few: looking one up by id scans the table.

use super::kv::{ReadableTable, TableHandle, WriteTransaction};

use super::invites::withdraw_invites_of;
use super::keys::{key_target, keys_in, put_key};
use super::records::{KeyRecord, KeyStatus, SessionRecord, Source, UserId, UserRecord};
use super::tables::{API_KEYS, HISTORY, SESSIONS, USERS};
use super::{decode, decode_row, encode, next_id, Store, StoreError};
use crate::audit::{Action, By, Entry};
use crate::domain::{
    now, DomainError, PasswordHash, Permissions, Right, Role, Timestamp, Username,
};

/// A change to a user (`PATCH /users/{id}`, the Team page, `linkdock user role`).
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub role: Option<Role>,
    /// A new password (already hashed): every session of the user ends with it.
    pub password_hash: Option<PasswordHash>,
}

/// What happens to the API keys a removed user created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeysOfRemoved {
    /// Revoke them: they stop working on the next request (the default).
    #[default]
    Revoke,
    /// Hand them to another user, who becomes their `created_by`; they keep working.
    Transfer(UserId),
}

impl KeysOfRemoved {
    /// From the wire (`?keys=&to=`, the Team page's form): a bad choice names its field.
    pub fn parse(keys: Option<&str>, to: Option<UserId>) -> Result<Self, DomainError> {
        match (keys.map(str::trim), to) {
            (None | Some("revoke"), None) => Ok(Self::Revoke),
            (None | Some("revoke"), Some(_)) => Err(DomainError::new(
                "to",
                "is only for keys=transfer; revoking needs no other user",
            )),
            (Some("transfer"), Some(to)) => Ok(Self::Transfer(to)),
            (Some("transfer"), None) => Err(DomainError::new(
                "to",
                "is required with keys=transfer: the id of the user who receives the keys",
            )),
            (Some(other), _) => Err(DomainError::new(
                "keys",
                format!("“{other}” is not a choice; the choices are revoke, transfer"),
            )),
        }
    }
}

/// What a removal did.
#[derive(Debug, Clone)]
pub struct RemovedUser {
    pub user: UserRecord,
    pub sessions_ended: u64,
    /// The keys revoked or handed on, as they are now.
    pub keys: Vec<KeyRecord>,
    /// Who the keys went to, for a transfer.
    pub heir: Option<Username>,
}

/// Every user, whatever their order in the table.
fn users_in(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<Vec<UserRecord>, StoreError> {
    let mut out = Vec::new();
    for r in table.iter()? {
        let (name, v) = r?;
        out.push(decode_row(USERS.name(), name.value(), v.value())?);
    }
    Ok(out)
}

/// Users declared in the config file change only there.
fn editable(rec: &UserRecord) -> Result<(), StoreError> {
    if rec.source == Source::Config {
        return Err(StoreError::Conflict(format!(
            "`{}` is declared in the config file ([[users]]), so it is read-only here; change or remove it in the file",
            rec.username
        )));
    }
    Ok(())
}

/// Refuse to take away the last admin: nobody could manage the team afterwards.
fn keeps_an_admin(all: &[UserRecord], rec: &UserRecord, what: &str) -> Result<(), StoreError> {
    let admins = all.iter().filter(|u| u.role == Role::Admin).count();
    if rec.role == Role::Admin && admins <= 1 {
        return Err(StoreError::Conflict(format!(
            "`{}` is the last admin and cannot be {what}: nobody would be left to manage the team; make another user admin first",
            rec.username
        )));
    }
    Ok(())
}

fn by_id(all: &[UserRecord], id: UserId) -> Result<&UserRecord, StoreError> {
    all.iter()
        .find(|u| u.id == id)
        .ok_or(StoreError::NotFound("user"))
}

/// Schema 3 → 4: number the users already there, oldest first.
pub(super) fn users_gain_ids(tx: &WriteTransaction) -> Result<(), StoreError> {
    let mut all = users_in(&tx.open_table(USERS)?)?;
    all.sort_by(|a, b| {
        (a.created_at, a.username.as_str()).cmp(&(b.created_at, b.username.as_str()))
    });
    for mut rec in all.into_iter().filter(|u| u.id == 0) {
        rec.id = next_id(tx, "users")?;
        tx.open_table(USERS)?
            .insert(rec.username.as_str(), encode(&rec).as_slice())?;
    }
    Ok(())
}

/// The largest user id in use (a restore raises the `users` counter to it).
pub(super) fn last_user_id(tx: &WriteTransaction) -> Result<u64, StoreError> {
    Ok(users_in(&tx.open_table(USERS)?)?
        .iter()
        .map(|u| u.id)
        .max()
        .unwrap_or(0))
}

/// The `user.created` entry for `rec`.
fn user_created(rec: &UserRecord, by: &By) -> Entry {
    Entry::new(by, Action::UserCreated)
        .target(rec.username.as_str())
        .detail(format!("role {}", rec.role))
}

/// Every key `owner` made (whatever its status): the one reading of key ownership in a
/// team change.
fn keys_made_by(tx: &WriteTransaction, owner: &Username) -> Result<Vec<KeyRecord>, StoreError> {
    Ok(keys_in(&tx.open_table(API_KEYS)?)?
        .into_iter()
        .filter(|k| k.created_by.as_ref() == Some(owner))
        .collect())
}

/// Keys follow their owner's role: a key never holds a permission its owner's role may not
/// grant. A demotion, a hand-over to a user of a lesser role, or a role changed in the config
/// file narrows the owner's keys in the same transaction (each recorded as `key.updated`).
/// Answers the keys changed, for the key index.
pub(super) fn cap_keys_of(
    tx: &WriteTransaction,
    owner: &Username,
    role: Role,
    by: &By,
) -> Result<Vec<KeyRecord>, StoreError> {
    let grantable = role.grantable_set();
    let theirs: Vec<KeyRecord> = keys_made_by(tx, owner)?
        .into_iter()
        .filter(|k| k.status != KeyStatus::Revoked)
        .collect();
    let mut changed = Vec::new();
    for mut k in theirs {
        let kept: Permissions = k
            .permissions
            .iter()
            .filter(|p| grantable.contains(*p))
            .collect();
        if kept == k.permissions {
            continue;
        }
        let entry = Entry::new(by, Action::KeyUpdated)
            .target(key_target(&k))
            .detail(format!(
                "permissions narrowed to what a {role} may grant ({}), following its owner {owner}",
                kept.names().join(", ")
            ));
        k.permissions = kept;
        k.updated_at = now();
        put_key(tx, &k)?;
        super::audit::record(tx, &entry)?;
        changed.push(k);
    }
    Ok(changed)
}

/// Revoke every key `owner` created that still works, recording why. Answers them.
pub(super) fn revoke_keys_of(
    tx: &WriteTransaction,
    owner: &Username,
    by: &By,
) -> Result<Vec<KeyRecord>, StoreError> {
    let theirs: Vec<KeyRecord> = keys_made_by(tx, owner)?
        .into_iter()
        .filter(|k| k.status != KeyStatus::Revoked)
        .collect();
    let mut changed = Vec::new();
    for mut k in theirs {
        k.revoke(now());
        put_key(tx, &k)?;
        let revoked = Entry::new(by, Action::KeyRevoked)
            .target(key_target(&k))
            .detail(format!("its creator {owner} was removed"));
        super::audit::record(tx, &revoked)?;
        changed.push(k);
    }
    Ok(changed)
}

/// Delete every session of `username`; returns how many there were.
pub(super) fn end_sessions_of(tx: &WriteTransaction, username: &str) -> Result<u64, StoreError> {
    let mut sessions = tx.open_table(SESSIONS)?;
    let mut ended = 0;
    sessions.retain(|_, v| {
        let theirs = decode::<SessionRecord>(v).is_ok_and(|s| s.username.as_str() == username);
        ended += u64::from(theirs);
        !theirs
    })?;
    Ok(ended)
}

/// Add a user inside a write transaction; 409 when the name is taken. `create_user` and
/// accepting an invite both go through it, so a user is made by the same rule either way.
/// The user gets its id here, so every way in numbers users alike.
pub(super) fn insert_user(
    tx: &WriteTransaction,
    rec: &UserRecord,
) -> Result<UserRecord, StoreError> {
    if tx.open_table(USERS)?.get(rec.username.as_str())?.is_some() {
        return Err(StoreError::Conflict(format!(
            "user `{}` already exists",
            rec.username
        )));
    }
    // Keys are owned by name: a newcomer must not inherit a removed user's keys (or read their
    // request logs) by picking the same name.
    if !keys_made_by(tx, &rec.username)?.is_empty() {
        return Err(StoreError::Conflict(format!(
            "the name `{}` belonged to a removed user whose API keys are still on record; choose another name",
            rec.username
        )));
    }
    let rec = UserRecord {
        id: next_id(tx, "users")?,
        ..rec.clone()
    };
    tx.open_table(USERS)?
        .insert(rec.username.as_str(), encode(&rec).as_slice())?;
    Ok(rec)
}

impl Store {
    pub fn user_count(&self) -> Result<u64, StoreError> {
        self.read(|tx| tx.open_table(USERS)?.len())
    }

    pub fn user(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        self.read(|tx| {
            tx.open_table(USERS)?
                .get(username)?
                .map(|g| decode(g.value()))
                .transpose()
        })
    }

    /// Create a user; 409 when the name is taken. The store gives it its id.
    pub fn create_user(&self, rec: &UserRecord, by: &By) -> Result<(), StoreError> {
        self.add_user(rec, by).map(drop)
    }

    /// [`Store::create_user`], answering the user as stored (with its id).
    pub fn add_user(&self, rec: &UserRecord, by: &By) -> Result<UserRecord, StoreError> {
        self.write(
            |tx| {
                let rec = insert_user(tx, rec)?;
                super::audit::record(tx, &user_created(&rec, by))?;
                Ok(rec)
            },
            |_| {},
        )
    }

    /// Create the first user only if there is none yet (setup and bootstrap race safely).
    pub fn create_first_user(&self, rec: &UserRecord, by: &By) -> Result<bool, StoreError> {
        self.write(
            |tx| {
                if !tx.open_table(USERS)?.is_empty()? {
                    return Ok(false);
                }
                let rec = UserRecord {
                    id: next_id(tx, "users")?,
                    ..rec.clone()
                };
                tx.open_table(USERS)?
                    .insert(rec.username.as_str(), encode(&rec).as_slice())?;
                super::audit::record(tx, &user_created(&rec, by))?;
                // The setup link closes with the user it made, on every node.
                super::setup::close_setup(tx)?;
                Ok(true)
            },
            |_| {},
        )
    }

    /// Every user, newest first.
    pub fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let mut all = self.read(|tx| users_in(&tx.open_table(USERS)?))?;
        all.sort_by_key(|u| std::cmp::Reverse(u.id));
        Ok(all)
    }

    pub fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.users()?.into_iter().find(|u| u.id == id))
    }

    /// How many usable (active) API keys each user created, by username.
    pub fn active_keys_by_creator(
        &self,
    ) -> Result<std::collections::HashMap<String, usize>, StoreError> {
        let at = now();
        let keys = self.read(|tx| keys_in(&tx.open_table(API_KEYS)?))?;
        let mut out = std::collections::HashMap::new();
        for k in keys {
            if let (Some(by), KeyStatus::Active) = (&k.created_by, k.status_at(at)) {
                *out.entry(by.as_str().to_owned()).or_insert(0) += 1;
            }
        }
        Ok(out)
    }

    /// A successful sign-in, for the team's "last sign-in". A user removed meanwhile stays removed.
    pub fn record_sign_in(&self, username: &str, at: Timestamp) -> Result<(), StoreError> {
        self.write(
            |tx| {
                let mut users = tx.open_table(USERS)?;
                let Some(mut rec) = users
                    .get(username)?
                    .map(|g| decode::<UserRecord>(g.value()))
                    .transpose()?
                else {
                    return Ok(());
                };
                rec.last_sign_in_at = Some(at);
                users.insert(username, encode(&rec).as_slice())?;
                Ok(())
            },
            |()| {},
        )
    }

    /// Change a user's role and/or password, in one transaction. Declared users are read-only
    /// (409); the last admin keeps the role (409); a new password ends every session of the
    /// user. Answers the user as stored and how many sessions ended.
    pub fn update_user(
        &self,
        id: UserId,
        patch: &UserPatch,
        by: &By,
    ) -> Result<(UserRecord, u64), StoreError> {
        let updated = self.write(
            |tx| {
                let all = users_in(&tx.open_table(USERS)?)?;
                let mut rec = by_id(&all, id)?.clone();
                editable(&rec)?;
                let name = rec.username.clone();
                let mut capped = Vec::new();
                if let Some(role) = patch.role {
                    if role != Role::Admin {
                        keeps_an_admin(&all, &rec, "demoted")?;
                    }
                    if role != rec.role {
                        let change = Entry::new(by, Action::UserRoleChanged)
                            .target(name.as_str())
                            .detail(format!("{} → {role}", rec.role));
                        super::audit::record(tx, &change)?;
                    }
                    rec.role = role;
                    capped = cap_keys_of(tx, &name, role, by)?;
                    if !role.may(Right::Team) {
                        withdraw_invites_of(tx, &name, now())?;
                    }
                }
                let mut ended = 0;
                if let Some(hash) = &patch.password_hash {
                    rec.password_hash = hash.clone();
                    ended = end_sessions_of(tx, name.as_str())?;
                    let reset = Entry::new(by, Action::UserPasswordReset)
                        .target(name.as_str())
                        .detail(format!("{ended} session(s) ended"));
                    super::audit::record(tx, &reset)?;
                }
                tx.open_table(USERS)?
                    .insert(rec.username.as_str(), encode(&rec).as_slice())?;
                Ok((rec, ended, capped))
            },
            |(_, _, capped)| {
                for k in capped {
                    self.keys.upsert(k);
                }
            },
        )?;
        Ok((updated.0, updated.1))
    }

    /// Remove a user, in one transaction: their sessions and playground history go, and the
    /// API keys they created are revoked or handed to `keys`' heir (who must exist and be
    /// someone else: 400 naming `to`). Declared users and the last admin stay (409). The key
    /// index follows after the commit, so a revoked key is refused on its very next request.
    pub fn remove_user(
        &self,
        id: UserId,
        keys: KeysOfRemoved,
        by: &By,
    ) -> Result<RemovedUser, StoreError> {
        self.write(
            |tx| {
                let all = users_in(&tx.open_table(USERS)?)?;
                let rec = by_id(&all, id)?.clone();
                editable(&rec)?;
                keeps_an_admin(&all, &rec, "removed")?;
                let heir = match keys {
                    KeysOfRemoved::Revoke => None,
                    KeysOfRemoved::Transfer(to) if to == id => {
                        return Err(StoreError::Invalid(DomainError::new(
                            "to",
                            "is the user being removed; choose another user to hand the keys to",
                        )))
                    }
                    KeysOfRemoved::Transfer(to) => Some(
                        all.iter()
                            .find(|u| u.id == to)
                            .map(|u| (u.username.clone(), u.role))
                            .ok_or_else(|| {
                                StoreError::Invalid(DomainError::new(
                                    "to",
                                    format!("names no user (there is no user {to})"),
                                ))
                            })?,
                    ),
                };
                let name = rec.username.as_str();
                tx.open_table(USERS)?.remove(name)?;
                let sessions_ended = end_sessions_of(tx, name)?;
                tx.open_table(HISTORY)?
                    .retain_in((name, 0)..=(name, u64::MAX), |_, _| false)?;
                withdraw_invites_of(tx, &rec.username, now())?;
                let changed = match &heir {
                    None => revoke_keys_of(tx, &rec.username, by)?,
                    Some((heir, heir_role)) => {
                        let mut theirs = keys_made_by(tx, &rec.username)?;
                        for k in &mut theirs {
                            k.created_by = Some(heir.clone());
                            k.updated_at = now();
                            put_key(tx, k)?;
                        }
                        // The heir's role bounds what the keys may do from now on.
                        let capped = cap_keys_of(tx, heir, *heir_role, by)?;
                        for c in capped {
                            if let Some(k) = theirs.iter_mut().find(|k| k.id == c.id) {
                                *k = c;
                            }
                        }
                        theirs
                    }
                };
                let keys_went = match &heir {
                    Some((h, _)) => format!("{} API key(s) handed to {h}", changed.len()),
                    None => format!("{} API key(s) revoked", changed.len()),
                };
                let removed = Entry::new(by, Action::UserRemoved)
                    .target(name)
                    .detail(format!("{sessions_ended} session(s) ended; {keys_went}"));
                super::audit::record(tx, &removed)?;
                Ok(RemovedUser {
                    user: rec,
                    sessions_ended,
                    keys: changed,
                    heir: heir.map(|(h, _)| h),
                })
            },
            |r| {
                for k in &r.keys {
                    self.keys.upsert(k);
                }
            },
        )
    }

    /// Set a new password and end every session of the user (the caller opens a fresh one).
    /// Users declared in the config file change their password there.
    /// `entry` is recorded in the same transaction (`password.changed`, `user.password_reset`).
    pub fn set_password(
        &self,
        username: &str,
        hash: &PasswordHash,
        entry: &Entry,
    ) -> Result<u64, StoreError> {
        self.write(
            |tx| {
                let mut users = tx.open_table(USERS)?;
                let mut rec: UserRecord = users
                    .get(username)?
                    .map(|g| decode(g.value()))
                    .transpose()?
                    .ok_or(StoreError::NotFound("user"))?;
                if rec.source == Source::Config {
                    return Err(StoreError::Conflict(
                        "this user is declared in the config file; change the password hash there"
                            .into(),
                    ));
                }
                rec.password_hash = hash.clone();
                users.insert(username, encode(&rec).as_slice())?;
                drop(users);
                super::audit::record(tx, entry)?;
                end_sessions_of(tx, username)
            },
            |_| {},
        )
    }

    pub fn create_session(&self, digest: &[u8; 32], rec: &SessionRecord) -> Result<(), StoreError> {
        self.write(
            |tx| {
                tx.open_table(SESSIONS)?
                    .insert(digest.as_slice(), encode(rec).as_slice())?;
                Ok(())
            },
            |()| {},
        )
    }

    pub fn session(&self, digest: &[u8; 32]) -> Result<Option<SessionRecord>, StoreError> {
        self.read(|tx| {
            tx.open_table(SESSIONS)?
                .get(digest.as_slice())?
                .map(|g| decode(g.value()))
                .transpose()
        })
    }

    /// A session that is live at `at`, with its user (`None` once the user is removed), in
    /// one read transaction: a signed-in request's whole read of the store.
    pub fn live_session(
        &self,
        digest: &[u8; 32],
        at: Timestamp,
    ) -> Result<Option<(SessionRecord, Option<UserRecord>)>, StoreError> {
        self.read(|tx| {
            let Some(session) = tx
                .open_table(SESSIONS)?
                .get(digest.as_slice())?
                .map(|g| decode::<SessionRecord>(g.value()))
                .transpose()?
                .filter(|s| s.expires_at > at)
            else {
                return Ok(None);
            };
            let user = tx
                .open_table(USERS)?
                .get(session.username.as_str())?
                .map(|g| decode(g.value()))
                .transpose()?;
            Ok(Some((session, user)))
        })
    }

    pub fn delete_session(&self, digest: &[u8; 32]) -> Result<(), StoreError> {
        self.write(
            |tx| {
                tx.open_table(SESSIONS)?.remove(digest.as_slice())?;
                Ok(())
            },
            |()| {},
        )
    }

    /// Every session of `username` still open at `now`, with the digest it is stored under
    /// (the caller names them by `auth::session::SessionId`, never by the digest).
    pub fn sessions_of(
        &self,
        username: &str,
        now: Timestamp,
    ) -> Result<Vec<([u8; 32], SessionRecord)>, StoreError> {
        self.read(|tx| {
            let mut out = Vec::new();
            for row in tx.open_table(SESSIONS)?.iter()? {
                let (k, v) = row?;
                let Ok(digest) = <[u8; 32]>::try_from(k.value()) else {
                    continue;
                };
                // A record that does not decode is no session anyone can use: leave it out.
                let Ok(rec) = decode::<SessionRecord>(v.value()) else {
                    continue;
                };
                if rec.username.as_str() == username && rec.expires_at > now {
                    out.push((digest, rec));
                }
            }
            Ok(out)
        })
    }

    /// End the session stored under `digest` if it belongs to `username`; whether it did.
    pub fn end_session_of(&self, username: &str, digest: &[u8; 32]) -> Result<bool, StoreError> {
        self.write(
            |tx| {
                let mut sessions = tx.open_table(SESSIONS)?;
                let theirs = sessions
                    .get(digest.as_slice())?
                    .map(|g| decode::<SessionRecord>(g.value()))
                    .transpose()?
                    .is_some_and(|s| s.username.as_str() == username);
                if theirs {
                    sessions.remove(digest.as_slice())?;
                }
                Ok(theirs)
            },
            |_| {},
        )
    }

    /// End every session of `username` but the one stored under `keep`; how many ended.
    pub fn end_other_sessions(&self, username: &str, keep: &[u8; 32]) -> Result<u64, StoreError> {
        self.write(
            |tx| {
                let mut sessions = tx.open_table(SESSIONS)?;
                let mut ended = 0;
                sessions.retain(|k, v| {
                    let other = k != keep.as_slice()
                        && decode::<SessionRecord>(v)
                            .is_ok_and(|s| s.username.as_str() == username);
                    ended += u64::from(other);
                    !other
                })?;
                Ok(ended)
            },
            |_| {},
        )
    }

    /// Drop expired sessions and the sessions of users that no longer exist.
    pub fn prune_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.write(
            |tx| {
                let users = tx.open_table(USERS)?;
                let mut sessions = tx.open_table(SESSIONS)?;
                let mut removed = 0;
                sessions.retain(|_, v| {
                    let keep = decode::<SessionRecord>(v).is_ok_and(|s| {
                        s.expires_at > now
                            && users.get(s.username.as_str()).ok().flatten().is_some()
                    });
                    removed += u64::from(!keep);
                    keep
                })?;
                Ok(removed)
            },
            |_| {},
        )
    }
}

#[cfg(test)]
mod tests {
    use redb::Database;

    use super::super::tables::META;
    use super::*;
    use crate::domain::{now, Username};
    use crate::store::EventBatch;

    fn hash() -> PasswordHash {
        let pw = crate::domain::Password::parse("a-long-password".into()).unwrap();
        PasswordHash::new(&pw, &ring::rand::SystemRandom::new()).unwrap()
    }

    #[test]
    fn users_of_schema_3_are_numbered_oldest_first_and_new_ones_follow() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Database::create(Store::file_in(dir.path())).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(META)
                .unwrap()
                .insert("schema_version", 3)
                .unwrap();
            let mut users = tx.open_table(USERS).unwrap();
            for (name, at) in [
                ("zoe", "2026-01-01T00:00:00Z"),
                ("adam", "2026-02-01T00:00:00Z"),
            ] {
                let rec = format!(
                    r#"{{"username":"{name}","password_hash":"{}","source":"api","created_at":"{at}","role":"member"}}"#,
                    hash().as_str()
                );
                users.insert(name, rec.as_bytes()).unwrap();
            }
            drop(users);
            tx.commit().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let ids: Vec<(String, u64)> = store
            .users()
            .unwrap()
            .into_iter()
            .map(|u| (u.username.into_string(), u.id))
            .collect();
        assert_eq!(ids, [("adam".to_owned(), 2), ("zoe".to_owned(), 1)]);
        let name = Username::parse("new").unwrap();
        let added = store
            .add_user(
                &UserRecord::new(name, hash(), Source::Api, Role::Viewer),
                &crate::audit::By::command_line(),
            )
            .unwrap();
        assert_eq!(added.id, 3);
        let tx = store.db.begin_read().unwrap();
        let v = tx
            .open_table(META)
            .unwrap()
            .get("schema_version")
            .unwrap()
            .unwrap()
            .value();
        assert_eq!(v, super::super::tables::SCHEMA_VERSION);
    }

    #[test]
    fn a_refused_removal_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let add = |name: &str, role| {
            store
                .add_user(
                    &UserRecord::new(Username::parse(name).unwrap(), hash(), Source::Api, role),
                    &crate::audit::By::command_line(),
                )
                .unwrap()
        };
        let admin = add("root", Role::Admin);
        let bob = add("bob", Role::Member);
        let e = store
            .remove_user(
                admin.id,
                KeysOfRemoved::Revoke,
                &crate::audit::By::command_line(),
            )
            .unwrap_err();
        assert!(e.to_string().contains("last admin"), "{e}");
        let e = store
            .remove_user(
                bob.id,
                KeysOfRemoved::Transfer(bob.id),
                &crate::audit::By::command_line(),
            )
            .unwrap_err();
        assert!(
            matches!(e, StoreError::Invalid(ref d) if d.field == "to"),
            "{e}"
        );
        let e = store
            .update_user(
                admin.id,
                &UserPatch {
                    role: Some(Role::Viewer),
                    password_hash: None,
                },
                &crate::audit::By::command_line(),
            )
            .unwrap_err();
        assert!(e.to_string().contains("last admin"), "{e}");
        assert_eq!(store.users().unwrap().len(), 2);
        store
            .remove_user(
                bob.id,
                KeysOfRemoved::Transfer(admin.id),
                &crate::audit::By::command_line(),
            )
            .unwrap();
        assert_eq!(store.users().unwrap().len(), 1);
    }

    fn session(user: &str, at: Timestamp) -> SessionRecord {
        SessionRecord {
            username: Username::from_stored(user.to_owned()),
            created_at: at,
            expires_at: at.plus_secs(3600),
            client_ip: Some("127.0.0.1".into()),
            device: "curl".into(),
            last_seen_at: Some(at),
        }
    }

    #[test]
    fn a_user_ends_their_own_sessions_only_and_last_seen_only_moves_forward() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let t = now();
        for (d, user) in [(1u8, "ada"), (2, "ada"), (3, "ada"), (4, "bob")] {
            store.create_session(&[d; 32], &session(user, t)).unwrap();
        }
        assert_eq!(store.sessions_of("ada", t).unwrap().len(), 3);
        assert!(
            store
                .sessions_of("ada", t.plus_secs(3600))
                .unwrap()
                .is_empty(),
            "expired"
        );
        assert!(!store.end_session_of("ada", &[4; 32]).unwrap(), "bob's");
        assert!(store.end_session_of("ada", &[3; 32]).unwrap());
        assert_eq!(store.end_other_sessions("ada", &[1; 32]).unwrap(), 1);
        let left: Vec<[u8; 32]> = store
            .sessions_of("ada", t)
            .unwrap()
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        assert_eq!(left, [[1; 32]]);
        assert!(store.session(&[4; 32]).unwrap().is_some(), "bob's stays");

        let mut batch = EventBatch::default();
        batch.sessions_seen.insert([1; 32], t.plus_secs(120));
        batch.sessions_seen.insert([2; 32], t.plus_secs(120)); // ended: stays ended
        store.apply_events(&batch).unwrap();
        let seen = store.session(&[1; 32]).unwrap().unwrap().last_seen_at;
        assert_eq!(seen, Some(t.plus_secs(120)));
        assert!(store.session(&[2; 32]).unwrap().is_none());
        batch.sessions_seen.insert([1; 32], t.plus_secs(60));
        store.apply_events(&batch).unwrap();
        assert_eq!(
            store.session(&[1; 32]).unwrap().unwrap().last_seen_at,
            Some(t.plus_secs(120)),
            "never back"
        );
    }
}
