//! Users and sessions. A session lives only as long as its user's credentials: changing the
//! password or removing the user ends every session of that user in the same transaction.

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::records::{SessionRecord, Source, UserRecord};
use super::tables::{SESSIONS, USERS};
use super::{decode, encode, Store, StoreError};
use crate::audit::{Action, By, Entry};
use crate::domain::{PasswordHash, Timestamp};

/// The `user.created` entry for `rec`.
fn user_created(rec: &UserRecord, by: &By) -> Entry {
    Entry::new(by, Action::UserCreated)
        .target(rec.username.as_str())
        .detail(format!("role {}", rec.role))
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

impl Store {
    pub fn user_count(&self) -> Result<u64, StoreError> {
        self.read(|tx| Ok(tx.open_table(USERS)?.len()?))
    }

    pub fn user(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        self.read(|tx| {
            tx.open_table(USERS)?
                .get(username)?
                .map(|g| decode(g.value()))
                .transpose()
        })
    }

    /// Create a user; 409 when the name is taken.
    pub fn create_user(&self, rec: &UserRecord, by: &By) -> Result<(), StoreError> {
        self.write(
            |tx| {
                let mut users = tx.open_table(USERS)?;
                if users.get(rec.username.as_str())?.is_some() {
                    return Err(StoreError::Conflict(format!(
                        "user `{}` already exists",
                        rec.username
                    )));
                }
                users.insert(rec.username.as_str(), encode(rec).as_slice())?;
                drop(users);
                super::audit::record(tx, &user_created(rec, by))
            },
            |()| {},
        )
    }

    /// Create the first user only if there is none yet (setup and bootstrap race safely).
    pub fn create_first_user(&self, rec: &UserRecord, by: &By) -> Result<bool, StoreError> {
        self.write(
            |tx| {
                let mut users = tx.open_table(USERS)?;
                if !users.is_empty()? {
                    return Ok(false);
                }
                users.insert(rec.username.as_str(), encode(rec).as_slice())?;
                drop(users);
                super::audit::record(tx, &user_created(rec, by))?;
                Ok(true)
            },
            |_| {},
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

    pub fn delete_session(&self, digest: &[u8; 32]) -> Result<(), StoreError> {
        self.write(
            |tx| {
                tx.open_table(SESSIONS)?.remove(digest.as_slice())?;
                Ok(())
            },
            |()| {},
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
