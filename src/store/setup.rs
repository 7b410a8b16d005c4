//! The one-time setup link, kept in the database as a digest (never the token), so that on
//! PostgreSQL every node accepts the link whichever node printed it, and the first
//! administrator's creation closes it everywhere in the same transaction.

use ring::digest::{digest, SHA256};

use super::kv::{ReadableTable, WriteTransaction};
use super::tables::{SETUP, USERS};
use super::{Store, StoreError};
use crate::domain::{now, same_secret, Timestamp};
use crate::encoding::hex;

const TOKEN: &str = "token";

/// A link another node printed is kept this long; past it, a starting node prints a new one
/// (the first node's log may be gone).
const KEEP_OTHERS_SECS: i64 = 15 * 60;

/// What a starting node should say about the setup link.
#[derive(Debug, PartialEq, Eq)]
pub enum SetupLink {
    /// This node stored the token: print its link.
    Issued,
    /// Another node's link, printed less than 15 minutes ago, is the one that works.
    IssuedElsewhere { at: Timestamp },
    /// Someone created the first user meanwhile.
    NotNeeded,
}

/// Stored: the issue time (unix seconds, big-endian) and the token's SHA-256.
fn stored(at: Timestamp, token: &str) -> Vec<u8> {
    let mut v = at.unix().to_be_bytes().to_vec();
    v.extend_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    v
}

pub(super) fn close_setup(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(SETUP)?.remove(TOKEN)?;
    Ok(())
}

impl Store {
    /// Store a new setup token while there is no user. On redb (one process) a new start
    /// replaces the last one's link; on PostgreSQL another node's recent link is kept.
    pub fn issue_setup(&self, token: &str) -> Result<SetupLink, StoreError> {
        let shared = self.is_shared();
        self.write(
            |tx| {
                if !tx.open_table(USERS)?.is_empty()? {
                    return Ok(SetupLink::NotNeeded);
                }
                let mut table = tx.open_table(SETUP)?;
                let at = now();
                if shared {
                    let earlier = table.get(TOKEN)?.and_then(|g| {
                        let b = g.value();
                        let secs = i64::from_be_bytes(b.get(..8)?.try_into().ok()?);
                        Some(Timestamp::from_unix(secs))
                    });
                    if let Some(at_then) = earlier {
                        if at.unix() - at_then.unix() < KEEP_OTHERS_SECS {
                            return Ok(SetupLink::IssuedElsewhere { at: at_then });
                        }
                    }
                }
                table.insert(TOKEN, stored(at, token).as_slice())?;
                Ok(SetupLink::Issued)
            },
            |_| {},
        )
    }

    /// Whether `token` is the open setup link's (compared in constant time).
    pub fn setup_accepts(&self, token: &str) -> bool {
        let found = self.read(|tx| {
            Ok(tx
                .open_table(SETUP)?
                .get(TOKEN)?
                .map(|g| g.value().get(8..).unwrap_or_default().to_vec()))
        });
        match found {
            Ok(Some(want)) => {
                let got = digest(&SHA256, token.as_bytes());
                !token.is_empty() && same_secret(&hex(&want), &hex(got.as_ref()))
            }
            Ok(None) => false,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the setup link");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::By;
    use crate::domain::{Password, PasswordHash, Role, Username};
    use crate::store::records::{Source, UserRecord};

    fn admin() -> UserRecord {
        let pw = Password::parse("a-long-password".into()).unwrap();
        UserRecord::new(
            Username::parse("first").unwrap(),
            PasswordHash::new(&pw, &ring::rand::SystemRandom::new()).unwrap(),
            Source::Api,
            Role::Admin,
        )
    }

    #[test]
    fn the_link_opens_once_and_closes_with_the_first_user() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(!store.setup_accepts("abc"), "nothing issued yet");
        assert_eq!(store.issue_setup("abc").unwrap(), SetupLink::Issued);
        assert!(store.setup_accepts("abc"));
        assert!(!store.setup_accepts("abd"));
        assert!(!store.setup_accepts(""));
        // One process: a new start's link replaces the last one's.
        assert_eq!(store.issue_setup("xyz").unwrap(), SetupLink::Issued);
        assert!(!store.setup_accepts("abc"));
        assert!(store
            .create_first_user(&admin(), &By::command_line())
            .unwrap());
        assert!(!store.setup_accepts("xyz"), "closed by the first user");
        assert_eq!(store.issue_setup("new").unwrap(), SetupLink::NotNeeded);
    }

    #[test]
    fn on_postgres_every_node_accepts_the_link_the_first_node_printed() {
        let Some(url) = crate::store::kv::fresh_database() else {
            return;
        };
        let a = Store::open_postgres(&url).unwrap();
        let b = Store::open_postgres(&url).unwrap();
        assert_eq!(a.issue_setup("from-a").unwrap(), SetupLink::Issued);
        assert!(matches!(
            b.issue_setup("from-b").unwrap(),
            SetupLink::IssuedElsewhere { .. }
        ));
        assert!(b.setup_accepts("from-a"), "node B takes node A's link");
        assert!(!b.setup_accepts("from-b"));
        assert!(b.create_first_user(&admin(), &By::command_line()).unwrap());
        assert!(!a.setup_accepts("from-a"), "closed on every node");
        assert!(!a.create_first_user(&admin(), &By::command_line()).unwrap());
    }
}
