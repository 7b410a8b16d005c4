//! Invite links: the token (32 random bytes, shown once in the link, stored only as its
//! SHA-256) and the invitee's side, looking an invite up and accepting it. A token that is no
//! invite of this server counts as a failed sign-in of the client's address (the sign-in
//! limiter over all usernames), so tokens cannot be guessed at speed; a real token, even of a
//! used invite, is not a guess and is not counted.

use std::fmt;
use std::net::IpAddr;

use ring::digest::{digest, SHA256};
use ring::rand::SecureRandom;

use super::session::{start_session, OpenedSession, SignInFrom};
use crate::audit::{Action, Actor, By, Entry};
use crate::domain::{now, Password, Username};
use crate::encoding::{hex, unhex};
use crate::error::{blocking, ApiError};
use crate::limiter::Source;
use crate::state::AppState;
use crate::store::records::{InviteRecord, InviteStatus};
use crate::store::{Acceptance, StoreError};

/// The secret of an invite link. `Debug` never prints it.
pub struct InviteToken([u8; 32]);

impl InviteToken {
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, ApiError> {
        let mut b = [0u8; 32];
        rng.fill(&mut b)
            .map_err(|_| ApiError::internal("no random source for an invite token"))?;
        Ok(Self(b))
    }

    /// The token as the link's `?token=` carries it (64 hex digits).
    pub fn from_param(value: &str) -> Option<Self> {
        let bytes: [u8; 32] = unhex(value.trim())?.try_into().ok()?;
        Some(Self(bytes))
    }

    pub fn param(&self) -> String {
        hex(&self.0)
    }

    /// What the database keeps instead of the token.
    pub fn digest(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest(&SHA256, &self.0).as_ref());
        out
    }
}

impl fmt::Debug for InviteToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteToken(..)")
    }
}

/// What an invite link leads to.
#[derive(Debug)]
pub enum Lookup {
    Pending(InviteRecord),
    /// Used, expired or withdrawn.
    Closed(InviteStatus),
    /// No invite of this server (a mistyped or made-up link).
    NotValid,
}

/// Why accepting did not make a user.
#[derive(Debug)]
pub enum Refusal {
    NotValid,
    Closed(InviteStatus),
    /// A field to correct (`username`, `password`, `confirm`) and what it must be; the invite
    /// is still usable.
    Field {
        field: &'static str,
        message: String,
    },
    /// The username is taken (409); the invite is still usable.
    NameTaken(String),
    /// Too many wrong tokens (429), the server busy or failing.
    Error(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Self::Error(e)
    }
}

/// One look at a token, counted first against the address's failed sign-ins (so concurrent
/// guesses cannot pass the limit together) and taken back unless the token was no invite.
struct Attempt<'a> {
    st: &'a AppState,
    ip: IpAddr,
    source: Source,
    failed: bool,
}

impl<'a> Attempt<'a> {
    fn begin(st: &'a AppState, ip: IpAddr) -> Result<Self, ApiError> {
        let config = st.config.current();
        let source = config.keys.failure_source(ip);
        st.sign_in_failures_by_ip
            .attempt(source, config.keys.max_failed_sign_ins_per_ip_per_minute)
            .map_err(|retry| {
                st.metrics.auth_failure("rate_limited");
                ApiError::TooManyRequests {
                    retry_after_secs: retry.0,
                }
            })?;
        Ok(Self {
            st,
            ip,
            source,
            failed: false,
        })
    }

    /// The token is no invite: it stays counted, and is logged without the token.
    fn failed(mut self) {
        self.failed = true;
        self.st.metrics.auth_failure("invite");
        tracing::warn!(client = %self.ip, "invite link refused: not an invite of this server");
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.failed {
            self.st.sign_in_failures_by_ip.forgive(self.source);
        }
    }
}

async fn find(
    st: &actix_web::web::Data<AppState>,
    ip: IpAddr,
    raw: &str,
) -> Result<(Lookup, [u8; 32]), ApiError> {
    let attempt = Attempt::begin(st, ip)?;
    let Some(token) = InviteToken::from_param(raw) else {
        attempt.failed();
        return Ok((Lookup::NotValid, [0; 32]));
    };
    let digest = token.digest();
    let st2 = st.clone();
    let found = blocking(move || Ok(st2.store.invite_by_digest(&digest)?)).await?;
    let Some(invite) = found else {
        attempt.failed();
        return Ok((Lookup::NotValid, digest));
    };
    Ok(match invite.status_at(now()) {
        InviteStatus::Pending => (Lookup::Pending(invite), digest),
        closed => (Lookup::Closed(closed), digest),
    })
}

/// What the link `?token=raw` leads to (429 when this address has guessed too often).
pub async fn look_up(
    st: &actix_web::web::Data<AppState>,
    ip: IpAddr,
    raw: &str,
) -> Result<Lookup, ApiError> {
    Ok(find(st, ip, raw).await?.0)
}

/// Accept the invite of `raw`: check the fields, create the user with the invite's role and
/// mark the invite used (one transaction, `Store::accept_invite`), then open their session.
pub async fn accept(
    st: &actix_web::web::Data<AppState>,
    from: SignInFrom,
    raw: &str,
    username: &str,
    password: String,
    confirm: &str,
) -> Result<OpenedSession, Refusal> {
    let invite = match find(st, from.ip, raw).await? {
        (Lookup::Pending(invite), digest) => (invite, digest),
        (Lookup::Closed(s), _) => return Err(Refusal::Closed(s)),
        (Lookup::NotValid, _) => return Err(Refusal::NotValid),
    };
    let field = |field, message: String| Refusal::Field { field, message };
    let name = Username::parse(username).map_err(|e| field("username", e.message))?;
    let password = Password::parse(password).map_err(|e| field("password", e.message))?;
    if password.expose() != confirm {
        return Err(field("confirm", "differs from the password".into()));
    }
    let hash = st
        .passwords
        .hash(password)
        .await
        .map_err(|busy| ApiError::TooManyRequests {
            retry_after_secs: busy.0,
        })?
        .ok_or_else(|| ApiError::internal("no random source for a password salt"))?;
    let (record, digest) = invite;
    let st2 = st.clone();
    let name2 = name.clone();
    let accepted =
        blocking(move || Ok(st2.store.accept_invite(&digest, name2, hash, now()))).await?;
    let user = match accepted {
        Ok(Acceptance::Joined(user)) => user,
        Ok(Acceptance::Closed(s)) => return Err(Refusal::Closed(s)),
        Ok(Acceptance::Unknown) => return Err(Refusal::NotValid),
        Err(StoreError::Conflict(_)) => {
            return Err(Refusal::NameTaken(format!(
                "the username “{name}” is taken; choose another"
            )))
        }
        Err(e) => return Err(ApiError::from(e).into()),
    };
    tracing::info!(user = %user.username, role = %user.role, invite = record.id,
        invited_by = %record.created_by, "user joined through an invite");
    st.audit(
        Entry::new(
            &By::new(Actor::user(user.username.as_str()), Some(from.ip)),
            Action::InviteAccepted,
        )
        .target(format!("invite {}", record.id))
        .detail(format!(
            "joined as {} with role {}; invited by {}",
            user.username, user.role, record.created_by
        )),
    );
    Ok(start_session(st, user.username, from).await?)
}
