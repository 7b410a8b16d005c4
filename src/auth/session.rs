//! Sessions: 32 random bytes in an `HttpOnly; SameSite=Strict` cookie, stored only as their
//! SHA-256. The CSRF token is derived from the session token, so it needs no storage and
//! cannot be known without the cookie. Opening a session (checking a password) and building
//! its cookie live here, for the API's `POST /session` and the UI's sign-in form alike, and so
//! do a user's own sessions: listed by a public id (`SessionId`), ended one by one or all but
//! the current one.

use std::fmt;
use std::net::IpAddr;

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use ring::digest::{digest, SHA256};
use ring::rand::SecureRandom;

use crate::audit::{Action, Actor, By, Entry};
use crate::domain::{now, same_secret, Device, Password, Timestamp, Username};
use crate::encoding::{hex, unhex};
use crate::error::{blocking, ApiError, AuthFailure};
use crate::limiter::{RetryAfter, Source};
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::records::SessionRecord;

pub const COOKIE: &str = "linkdock_session";
/// Sessions end this long after sign-in.
pub const TTL_SECS: i64 = 7 * 24 * 3600;
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session's last-seen time moves at most this often (`auth::session_of`): it says "in use
/// this minute", which is all a person reviewing their sessions needs, at one write per
/// session per minute instead of one per request.
pub const LAST_SEEN_EVERY_SECS: i64 = 60;

/// What the activity log names for a failed sign-in whose username is no account.
pub const UNKNOWN_USER: &str = "unknown user";

pub struct SessionToken([u8; 32]);

impl SessionToken {
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, ApiError> {
        let mut b = [0u8; 32];
        rng.fill(&mut b)
            .map_err(|_| ApiError::internal("no random source for a session token"))?;
        Ok(Self(b))
    }

    pub fn from_cookie(value: &str) -> Option<Self> {
        let bytes: [u8; 32] = unhex(value)?.try_into().ok()?;
        Some(Self(bytes))
    }

    pub fn cookie_value(&self) -> String {
        hex(&self.0)
    }

    pub fn digest(&self) -> [u8; 32] {
        digest_of(&self.0)
    }

    pub fn csrf_token(&self) -> String {
        let mut input = b"linkdock-csrf:".to_vec();
        input.extend_from_slice(&self.0);
        hex(digest(&SHA256, &input).as_ref())
    }
}

/// A session's CSRF token, derived from the session token only when something asks for it:
/// an API `GET` with a session never does, and deriving it (SHA-256, hex) was about 15% of
/// such a read (callgrind). Reads as a `&str` (`Deref`) and renders in pages like one.
#[derive(Clone)]
pub struct CsrfToken {
    session: [u8; 32],
    derived: std::cell::OnceCell<String>,
}

impl CsrfToken {
    pub fn of(token: &SessionToken) -> Self {
        Self {
            session: token.0,
            derived: std::cell::OnceCell::new(),
        }
    }

    pub fn as_str(&self) -> &str {
        self.derived
            .get_or_init(|| SessionToken(self.session).csrf_token())
    }
}

impl std::ops::Deref for CsrfToken {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfToken(..)")
    }
}

impl maud::Render for CsrfToken {
    fn render_to(&self, buf: &mut String) {
        self.as_str().render_to(buf);
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

/// A session's public name: the first 8 bytes of a SHA-256 over its digest, in hex. It names a
/// session in the API and on the page without revealing the token or the digest it is stored
/// under (neither can be computed back from it), and needs no storage of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    pub fn of(digest: &[u8; 32]) -> Self {
        let mut input = b"linkdock-session-id:".to_vec();
        input.extend_from_slice(digest);
        Self(hex(&digest_of(&input)[..8]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn digest_of(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// One of a user's open sessions, as they may see it.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    pub id: SessionId,
    pub device: Device,
    pub client_ip: Option<String>,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    /// The session this request was made with.
    pub current: bool,
}

/// The signed-in user's open sessions: the current one first, then the most recently seen.
pub async fn sessions_of(
    st: &actix_web::web::Data<AppState>,
    user: &super::SessionUser,
) -> Result<Vec<SessionSummary>, ApiError> {
    let st2 = st.clone();
    let name = user.username.clone();
    let rows = blocking(move || Ok(st2.store.sessions_of(name.as_str(), now())?)).await?;
    let mut out: Vec<SessionSummary> = rows
        .into_iter()
        .map(|(digest, rec)| SessionSummary {
            id: SessionId::of(&digest),
            device: Device::from_stored(&rec.device),
            client_ip: rec.client_ip.clone(),
            created_at: rec.created_at,
            last_seen_at: rec.last_seen(),
            expires_at: rec.expires_at,
            current: digest == user.session_digest,
        })
        .collect();
    out.sort_by(|a, b| {
        b.current
            .cmp(&a.current)
            .then(b.last_seen_at.cmp(&a.last_seen_at))
            .then(b.created_at.cmp(&a.created_at))
    });
    Ok(out)
}

/// What ending one session did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Another session of the user.
    Other,
    /// The session of this very request: its cookie should be cleared.
    Current,
}

/// End the user's session named `id`; 404 when no open session of theirs has it (whoever
/// else's it may be).
pub async fn end_session_by_id(
    st: &actix_web::web::Data<AppState>,
    user: &super::SessionUser,
    id: &str,
) -> Result<Ended, ApiError> {
    let st2 = st.clone();
    let name = user.username.clone();
    let id = id.to_owned();
    let ended = blocking(move || {
        let found = st2
            .store
            .sessions_of(name.as_str(), now())?
            .into_iter()
            .map(|(digest, _)| digest)
            .find(|d| SessionId::of(d).as_str() == id);
        match found {
            Some(d) if st2.store.end_session_of(name.as_str(), &d)? => Ok(d),
            _ => Err(ApiError::NotFound("session")),
        }
    })
    .await?;
    tracing::info!(user = %user.username, session = SessionId::of(&ended).as_str(), "session ended by its user");
    Ok(if ended == user.session_digest {
        Ended::Current
    } else {
        Ended::Other
    })
}

/// End every session of the user but this one; how many ended.
pub async fn end_other_sessions(
    st: &actix_web::web::Data<AppState>,
    user: &super::SessionUser,
) -> Result<u64, ApiError> {
    let st2 = st.clone();
    let name = user.username.clone();
    let keep = user.session_digest;
    let ended = blocking(move || Ok(st2.store.end_other_sessions(name.as_str(), &keep)?)).await?;
    tracing::info!(user = %user.username, sessions_ended = ended, "signed out everywhere else");
    Ok(ended)
}

/// Where a sign-in comes from: kept with its session for the user's list of sessions.
#[derive(Debug, Clone)]
pub struct SignInFrom {
    pub ip: IpAddr,
    pub device: Device,
}

/// The one CSRF check: `presented` (from the header or a form field) against the session's.
pub fn check_csrf(presented: &str, expected: &str) -> Result<(), ApiError> {
    if same_secret(presented, expected) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "missing or invalid CSRF token (required with a session cookie)".into(),
        ))
    }
}

/// What a successful sign-in hands back: the cookie to set and the CSRF token to use.
pub struct OpenedSession {
    pub token: SessionToken,
    pub username: Username,
    pub csrf_token: String,
}

/// One password check, counted before it runs in both sign-in limits: per address and
/// username (`keys.max_failed_auth_per_minute`: a colleague's typos behind the same address
/// do not lock anyone else out) and per address over all usernames
/// (`keys.max_failed_sign_ins_per_ip_per_minute`: password spraying). Counting first means a
/// refused attempt, or concurrent ones past a limit, never reach the hash. Dropped without
/// `failed`, the attempt is taken back: it succeeded, or was never judged.
struct Attempt<'a> {
    st: &'a AppState,
    ip: IpAddr,
    source: Source,
    /// As typed (trimmed): the per-username count. Never logged unless it names a user.
    name: String,
    counts: (u32, u32),
    limits: (u32, u32),
    failed: bool,
}

impl<'a> Attempt<'a> {
    fn begin(st: &'a AppState, ip: IpAddr, username: &str) -> Result<Self, ApiError> {
        let config = st.config.current();
        let keys = &config.keys;
        let source = keys.failure_source(ip);
        let name = username.trim().to_owned();
        let limits = (
            keys.max_failed_auth_per_minute,
            keys.max_failed_sign_ins_per_ip_per_minute,
        );
        let refused = |retry: RetryAfter| {
            st.metrics.auth_failure("rate_limited");
            ApiError::TooManyRequests {
                retry_after_secs: retry.0,
            }
        };
        let by_ip = st
            .sign_in_failures_by_ip
            .attempt(source, limits.1)
            .map_err(refused)?;
        let by_name = match st
            .sign_in_failures
            .attempt((source, name.as_str()), limits.0)
        {
            Ok(n) => n,
            Err(retry) => {
                st.sign_in_failures_by_ip.forgive(source);
                return Err(refused(retry));
            }
        };
        Ok(Self {
            st,
            ip,
            source,
            name,
            counts: (by_name, by_ip),
            limits,
            failed: false,
        })
    }

    /// The password was wrong (or the user unknown): the attempt stays counted, and logged.
    /// `user` is the account it named, if one exists: a name that is no account is not
    /// logged, since people type their password into the username field.
    fn failed(mut self, user: Option<&Username>, what: &'static str) {
        self.failed = true;
        self.st
            .metrics
            .auth_failure(AuthFailure::BadCredentials.label());
        let client = self.ip;
        let user = user.map_or("(no such user)", Username::as_str);
        tracing::warn!(%client, user, "{what}");
        if self.counts.0 == self.limits.0 {
            tracing::warn!(%client, counted_as = %self.source, user, limit = self.limits.0,
                "failed sign-ins for this username reached the limit; further ones get 429");
        }
        if self.counts.1 == self.limits.1 {
            tracing::warn!(%client, counted_as = %self.source, limit = self.limits.1,
                "failed sign-ins from this address reached the limit over all usernames; further ones get 429");
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.failed {
            self.st
                .sign_in_failures
                .forgive((self.source, self.name.as_str()));
            self.st.sign_in_failures_by_ip.forgive(self.source);
        }
    }
}

/// Check credentials and open a session; failures count as `Attempt` says.
pub async fn open_session(
    st: &actix_web::web::Data<AppState>,
    from: SignInFrom,
    username: String,
    password: String,
) -> Result<OpenedSession, ApiError> {
    let attempt = Attempt::begin(st, from.ip, &username)?;
    let st2 = st.clone();
    let record = blocking(move || {
        Ok(Username::parse(&username)
            .ok()
            .map(|u| st2.store.user(u.as_str()))
            .transpose()?
            .flatten())
    })
    .await?;
    let (hash, name) = match record {
        Some(r) => (Some(r.password_hash), Some(r.username)),
        None => (None, None),
    };
    let verified =
        st.passwords
            .check(hash, password)
            .await
            .map_err(|busy| ApiError::TooManyRequests {
                retry_after_secs: busy.0,
            })?;
    Metrics::inc(&st.metrics.password_checks);
    let Some(username) = name.clone().filter(|_| verified) else {
        attempt.failed(name.as_ref(), "sign-in failed: wrong username or password");
        // As typed only when it names an account: people type passwords into that field.
        let who = name.as_ref().map_or(UNKNOWN_USER, Username::as_str);
        st.audit(
            Entry::new(
                &By::new(Actor::user(who), Some(from.ip)),
                Action::SignInFailed,
            )
            .target(who),
        );
        return Err(ApiError::Unauthenticated(AuthFailure::BadCredentials));
    };
    drop(attempt);
    let ip = from.ip;
    let opened = start_session(st, username, from).await?;
    // The team's "last sign-in": a sign-in that opened its session is not undone if this fails.
    let (st2, name) = (st.clone(), opened.username.clone());
    if let Err(e) = blocking(move || Ok(st2.store.record_sign_in(name.as_str(), now())?)).await {
        tracing::warn!(user = %opened.username, error = %e.detail(), "could not record the sign-in time");
    }
    tracing::info!(user = %opened.username, "signed in");
    st.audit(Entry::new(
        &By::new(Actor::user(opened.username.as_str()), Some(ip)),
        Action::SignIn,
    ));
    Ok(opened)
}

/// A new session for `username`, whose credentials were just checked.
pub(super) async fn start_session(
    st: &actix_web::web::Data<AppState>,
    username: Username,
    from: SignInFrom,
) -> Result<OpenedSession, ApiError> {
    let token = SessionToken::generate(&st.rng)?;
    let at = now();
    let rec = SessionRecord {
        username: username.clone(),
        created_at: at,
        expires_at: at.plus_secs(TTL_SECS),
        client_ip: Some(from.ip.to_canonical().to_string()),
        device: from.device.into_string(),
        last_seen_at: Some(at),
    };
    let digest = token.digest();
    let st2 = st.clone();
    blocking(move || Ok(st2.store.create_session(&digest, &rec)?)).await?;
    let csrf_token = token.csrf_token();
    Ok(OpenedSession {
        token,
        username,
        csrf_token,
    })
}

/// Change the signed-in user's password: the current one is checked (failures count like
/// failed sign-ins), every session of the user ends, and the caller gets a fresh session.
pub async fn change_password(
    st: &actix_web::web::Data<AppState>,
    from: SignInFrom,
    user: &super::SessionUser,
    current: String,
    new: String,
) -> Result<OpenedSession, ApiError> {
    let attempt = Attempt::begin(st, from.ip, user.username.as_str())?;
    let new = Password::parse(new).map_err(|e| e.at("new_password"))?;
    let name = user.username.clone();
    let st2 = st.clone();
    let record = blocking(move || {
        st2.store
            .user(name.as_str())?
            .ok_or(ApiError::Unauthenticated(AuthFailure::SessionInvalid))
    })
    .await?;
    let busy = |b: crate::state::Busy| ApiError::TooManyRequests {
        retry_after_secs: b.0,
    };
    let verified = st
        .passwords
        .check(Some(record.password_hash), current)
        .await
        .map_err(busy)?;
    Metrics::inc(&st.metrics.password_checks);
    if !verified {
        attempt.failed(
            Some(&user.username),
            "password change refused: wrong current password",
        );
        return Err(ApiError::invalid(
            "current_password",
            "this is not your current password",
        ));
    }
    drop(attempt);
    let hash = st
        .passwords
        .hash(new)
        .await
        .map_err(busy)?
        .ok_or_else(|| ApiError::internal("no random source for a password salt"))?;
    let name = user.username.clone();
    let st2 = st.clone();
    let entry = Entry::new(&user.by(), Action::PasswordChanged).target(user.username.as_str());
    let ended = blocking(move || Ok(st2.store.set_password(name.as_str(), &hash, &entry)?)).await?;
    tracing::info!(user = %user.username, sessions_ended = ended, "password changed");
    start_session(st, user.username.clone(), from).await
}

/// End the caller's session on the server.
pub async fn close_session(
    st: &actix_web::web::Data<AppState>,
    user: &super::SessionUser,
) -> Result<(), ApiError> {
    let st2 = st.clone();
    let digest = user.session_digest;
    blocking(move || Ok(st2.store.delete_session(&digest)?)).await?;
    st.audit(Entry::new(&user.by(), Action::SignOut));
    Ok(())
}

pub fn session_cookie(st: &AppState, token: &SessionToken) -> Cookie<'static> {
    Cookie::build(COOKIE, token.cookie_value())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(st.config.current().server.is_https())
        .max_age(CookieDuration::seconds(TTL_SECS))
        .finish()
}

pub fn cleared_cookie() -> Cookie<'static> {
    let mut c = Cookie::build(COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    c.make_removal();
    c
}
