//! Changes to the team made by a signed-in admin (the API and the Team page): parsed and
//! hashed here, judged by the store's rules (`store::users`), and logged with who made them.
//! The command line's changes go to the store directly (`control::user_command`).

use crate::audit::By;
use crate::domain::{Password, Role};
use crate::error::ApiError;
use crate::store::records::{UserId, UserRecord};
use crate::store::{KeysOfRemoved, RemovedUser, StoreError, UserPatch};

use super::AppState;

impl AppState {
    /// A change from the wire: the role and password parsed (400 naming the field), a new
    /// password hashed on the password pool.
    pub async fn user_patch(
        &self,
        role: Option<&str>,
        password: Option<String>,
    ) -> Result<UserPatch, ApiError> {
        let role = role.map(|r| Role::parse("role", r)).transpose()?;
        let password = password
            .map(|p| Password::parse(p).map_err(|e| e.at("password")))
            .transpose()?;
        if role.is_none() && password.is_none() {
            return Err(ApiError::invalid(
                "body",
                "must change something: give a role or a password",
            ));
        }
        let password_hash = match password {
            None => None,
            Some(p) => Some(
                self.passwords
                    .hash(p)
                    .await
                    .map_err(|b| ApiError::TooManyRequests {
                        retry_after_secs: b.0,
                    })?
                    .ok_or_else(|| ApiError::internal("no random source for a password salt"))?,
            ),
        };
        Ok(UserPatch {
            role,
            password_hash,
        })
    }

    /// Apply a change, logged with the admin who made it (never the password). Blocking.
    pub fn update_user(
        &self,
        by: &By,
        id: UserId,
        patch: &UserPatch,
    ) -> Result<UserRecord, StoreError> {
        let (user, ended) = self.store.update_user(id, patch, by)?;
        let by = &by.actor.name;
        if let Some(role) = patch.role {
            tracing::info!(by = %by, user = %user.username, %role, "user role set");
        }
        if patch.password_hash.is_some() {
            tracing::info!(by = %by, user = %user.username, sessions_ended = ended, "user password reset");
        }
        Ok(user)
    }

    /// Remove a user, logged with the admin who did it. Blocking.
    pub fn remove_user(
        &self,
        by: &By,
        id: UserId,
        keys: KeysOfRemoved,
    ) -> Result<RemovedUser, StoreError> {
        let r = self.store.remove_user(id, keys, by)?;
        let by = &by.actor.name;
        match &r.heir {
            Some(heir) => tracing::info!(by = %by, user = %r.user.username,
                sessions_ended = r.sessions_ended, keys_transferred = r.keys.len(), to = %heir, "user removed"),
            None => tracing::info!(by = %by, user = %r.user.username,
                sessions_ended = r.sessions_ended, keys_revoked = r.keys.len(), "user removed"),
        }
        Ok(r)
    }
}
