//! Invites: one-time links that let someone choose their own username and password and join
//! with the role the invite names. Only the SHA-256 of a token is stored. Accepting is one
//! write transaction (check pending, create the user, mark used), so of two people racing to
//! use one link exactly one gets a user, and a taken name leaves the invite usable.

use super::kv::{ReadableTable, WriteTransaction};

use super::records::{InviteId, InviteRecord, InviteStatus, Source, UserRecord};
use super::tables::{INVITES, INVITE_BY_DIGEST};
use super::users::insert_user;
use super::{decode_row, encode, next_id, Store, StoreError};
use crate::domain::{PasswordHash, Role, Timestamp, Username};
use crate::encoding::hex;

/// A new invite's fields, chosen by the admin who makes it.
pub struct NewInvite {
    pub digest: [u8; 32],
    pub role: Role,
    pub created_by: Username,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What accepting an invite came to.
#[derive(Debug)]
pub enum Acceptance {
    /// The user exists, with the invite's role; the invite is used.
    Joined(UserRecord),
    /// No invite has this token.
    Unknown,
    /// The invite exists but can no longer be used (used, expired or withdrawn).
    Closed(InviteStatus),
}

fn read_invite(
    table: &impl ReadableTable<u64, &'static [u8]>,
    id: InviteId,
) -> Result<Option<InviteRecord>, StoreError> {
    table
        .get(id)?
        .map(|g| decode_row("invites_v1", id, g.value()))
        .transpose()
}

fn invite_by_digest(
    tx: &WriteTransaction,
    digest: &[u8; 32],
) -> Result<Option<InviteRecord>, StoreError> {
    let Some(id) = tx
        .open_table(INVITE_BY_DIGEST)?
        .get(digest.as_slice())?
        .map(|g| g.value())
    else {
        return Ok(None);
    };
    read_invite(&tx.open_table(INVITES)?, id)
}

/// Withdraw the pending invites `username` made: an invite is only as good as its maker's
/// right to invite, so a removed or demoted admin's links stop working with them. Answers
/// how many there were.
pub(super) fn withdraw_invites_of(
    tx: &WriteTransaction,
    username: &Username,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let mut table = tx.open_table(INVITES)?;
    let mut theirs = Vec::new();
    for row in table.iter()? {
        let (id, v) = row?;
        let rec: InviteRecord = decode_row("invites_v1", id.value(), v.value())?;
        if &rec.created_by == username && rec.status_at(now) == InviteStatus::Pending {
            theirs.push(rec);
        }
    }
    for mut rec in theirs.iter().cloned() {
        rec.withdrawn_at = Some(now);
        table.insert(rec.id, encode(&rec).as_slice())?;
    }
    Ok(theirs.len())
}

impl Store {
    pub fn create_invite(&self, new: NewInvite) -> Result<InviteRecord, StoreError> {
        self.write(
            |tx| {
                let id = next_id(tx, "invites")?;
                let rec = InviteRecord {
                    id,
                    digest: hex(&new.digest),
                    role: new.role,
                    created_by: new.created_by,
                    created_at: new.created_at,
                    expires_at: new.expires_at,
                    used_at: None,
                    used_by: None,
                    withdrawn_at: None,
                };
                tx.open_table(INVITES)?
                    .insert(id, encode(&rec).as_slice())?;
                tx.open_table(INVITE_BY_DIGEST)?
                    .insert(new.digest.as_slice(), id)?;
                Ok(rec)
            },
            |_| {},
        )
    }

    /// The invites still pending at `now`, newest first.
    pub fn pending_invites(&self, now: Timestamp) -> Result<Vec<InviteRecord>, StoreError> {
        self.read(|tx| {
            let table = tx.open_table(INVITES)?;
            let mut out = Vec::new();
            for row in table.iter()?.rev() {
                let (id, v) = row?;
                let rec: InviteRecord = decode_row("invites_v1", id.value(), v.value())?;
                if rec.status_at(now) == InviteStatus::Pending {
                    out.push(rec);
                }
            }
            Ok(out)
        })
    }

    /// The invite a token's digest names, whatever its status.
    pub fn invite_by_digest(&self, digest: &[u8; 32]) -> Result<Option<InviteRecord>, StoreError> {
        self.read(|tx| {
            let Some(id) = tx
                .open_table(INVITE_BY_DIGEST)?
                .get(digest.as_slice())?
                .map(|g| g.value())
            else {
                return Ok(None);
            };
            read_invite(&tx.open_table(INVITES)?, id)
        })
    }

    /// Withdraw a pending (or expired) invite: its link stops working at once. Unknown or
    /// already withdrawn → 404; already used → 409 (the user exists; remove them instead).
    pub fn withdraw_invite(
        &self,
        id: InviteId,
        now: Timestamp,
    ) -> Result<InviteRecord, StoreError> {
        self.write(
            |tx| {
                let mut table = tx.open_table(INVITES)?;
                let mut rec = read_invite(&table, id)?
                    .filter(|r| r.withdrawn_at.is_none())
                    .ok_or(StoreError::NotFound("invite"))?;
                if let Some(by) = &rec.used_by {
                    return Err(StoreError::Conflict(format!(
                        "this invite was already used by {by}; it cannot be withdrawn"
                    )));
                }
                rec.withdrawn_at = Some(now);
                table.insert(id, encode(&rec).as_slice())?;
                Ok(rec)
            },
            |_| {},
        )
    }

    /// Accept the invite whose token hashes to `digest`: in one transaction, check that it is
    /// pending at `now`, create the user with the invite's role (409 when the name is taken,
    /// and then nothing changes), and mark the invite used.
    pub fn accept_invite(
        &self,
        digest: &[u8; 32],
        username: Username,
        password_hash: PasswordHash,
        now: Timestamp,
    ) -> Result<Acceptance, StoreError> {
        self.write(
            |tx| {
                let Some(mut invite) = invite_by_digest(tx, digest)? else {
                    return Ok(Acceptance::Unknown);
                };
                match invite.status_at(now) {
                    InviteStatus::Pending => {}
                    closed => return Ok(Acceptance::Closed(closed)),
                }
                let user = insert_user(
                    tx,
                    &UserRecord {
                        created_at: now,
                        ..UserRecord::new(username.clone(), password_hash, Source::Api, invite.role)
                    },
                )?;
                invite.used_at = Some(now);
                invite.used_by = Some(username);
                tx.open_table(INVITES)?
                    .insert(invite.id, encode(&invite).as_slice())?;
                Ok(Acceptance::Joined(user))
            },
            |_| {},
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::now;

    fn new_invite(digest: u8, expires_in: i64) -> NewInvite {
        let at = now();
        NewInvite {
            digest: [digest; 32],
            role: Role::Member,
            created_by: Username::parse("admin").unwrap(),
            created_at: at,
            expires_at: at.plus_secs(expires_in),
        }
    }

    fn hash() -> PasswordHash {
        PasswordHash::from_stored("pbkdf2-sha256$1$00$00".into())
    }

    fn name(n: &str) -> Username {
        Username::parse(n).unwrap()
    }

    #[test]
    fn an_invite_is_used_once_and_a_taken_name_leaves_it_usable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_invite(new_invite(7, 3600)).unwrap();
        store
            .create_user(
                &UserRecord::new(name("taken"), hash(), Source::Api, Role::Admin),
                &crate::audit::By::command_line(),
            )
            .unwrap();
        let taken = store.accept_invite(&[7; 32], name("taken"), hash(), now());
        assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
        let joined = store
            .accept_invite(&[7; 32], name("ann"), hash(), now())
            .unwrap();
        assert!(matches!(joined, Acceptance::Joined(ref u) if u.role == Role::Member));
        let again = store
            .accept_invite(&[7; 32], name("bob"), hash(), now())
            .unwrap();
        assert!(matches!(again, Acceptance::Closed(InviteStatus::Used)));
        assert!(store.user("bob").unwrap().is_none());
        let unknown = store
            .accept_invite(&[8; 32], name("bob"), hash(), now())
            .unwrap();
        assert!(matches!(unknown, Acceptance::Unknown));
        assert!(store.pending_invites(now()).unwrap().is_empty());
    }

    #[test]
    fn racing_acceptances_make_exactly_one_user() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_invite(new_invite(1, 3600)).unwrap();
        let joined: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let store = &store;
                    s.spawn(move || {
                        store.accept_invite(&[1; 32], name(&format!("u{i}")), hash(), now())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| usize::from(matches!(h.join().unwrap(), Ok(Acceptance::Joined(_)))))
                .sum()
        });
        assert_eq!(joined, 1);
        assert_eq!(store.user_count().unwrap(), 1);
    }

    #[test]
    fn expired_and_withdrawn_invites_are_closed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let old = store.create_invite(new_invite(2, 60)).unwrap();
        let later = now().plus_secs(61);
        assert!(matches!(
            store
                .accept_invite(&[2; 32], name("a"), hash(), later)
                .unwrap(),
            Acceptance::Closed(InviteStatus::Expired)
        ));
        let w = store.create_invite(new_invite(3, 3600)).unwrap();
        store.withdraw_invite(w.id, now()).unwrap();
        assert!(matches!(
            store.withdraw_invite(w.id, now()),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store
                .accept_invite(&[3; 32], name("a"), hash(), now())
                .unwrap(),
            Acceptance::Closed(InviteStatus::Withdrawn)
        ));
        let pending: Vec<_> = store.pending_invites(now()).unwrap();
        assert_eq!(pending.iter().map(|i| i.id).collect::<Vec<_>>(), [old.id]);
        assert_eq!(store.user_count().unwrap(), 0);
    }
}
