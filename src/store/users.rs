//! Users and sessions. A session lives only as long as its user's credentials: changing the
//! password or removing the user ends every session of that user in the same transaction.

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::records::{SessionRecord, Source, UserRecord};
use super::tables::{SESSIONS, USERS};
use super::{decode, encode, Store, StoreError};
use crate::domain::{PasswordHash, Timestamp};

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
    pub fn create_user(&self, rec: &UserRecord) -> Result<(), StoreError> {
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
                Ok(())
            },
            |()| {},
        )
    }

    /// Create the first user only if there is none yet (setup and bootstrap race safely).
    pub fn create_first_user(&self, rec: &UserRecord) -> Result<bool, StoreError> {
        self.write(
            |tx| {
                let mut users = tx.open_table(USERS)?;
                if !users.is_empty()? {
                    return Ok(false);
                }
                users.insert(rec.username.as_str(), encode(rec).as_slice())?;
                Ok(true)
            },
            |_| {},
        )
    }

    /// Set a new password and end every session of the user (the caller opens a fresh one).
    /// Users declared in the config file change their password there.
    pub fn set_password(&self, username: &str, hash: &PasswordHash) -> Result<u64, StoreError> {
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
    use super::*;
    use crate::domain::{now, Username};
    use crate::store::EventBatch;

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
