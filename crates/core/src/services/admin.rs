//! What an operator does from the command line (`api admin …`): look a user up, end
//! sessions, unlock a throttled account, delete an account. The same rules and events as the HTTP API: an
//! ended session's sockets hear it on every instance (through the database), and the
//! user's log says "by administrator".

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::{PendingApproval, SessionInfo};
use uuid::Uuid;

use crate::error::Error;
use crate::events::Event;
use crate::model::activity::ActivityKind;
use crate::model::input::Email;
use crate::model::session::EndReason;
use crate::model::throttle::account_key;
use crate::services::deletion::{self, DeletedBy};
use crate::services::sessions::{self, SignOut};
use crate::services::{approvals, throttle};
use crate::state::AppState;
use crate::storage::activity::NewEntry;
use crate::storage::sessions as stored_sessions;
use crate::storage::throttle as stored_throttle;
use crate::storage::users::{self, UserRow};
use crate::wire;

/// The detail of every log entry an administrator causes.
pub const BY_ADMINISTRATOR: &str = "by administrator";

/// A user as an operator sees it.
#[derive(Debug, Serialize)]
pub struct UserOverview {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub active_sessions: Vec<SessionInfo>,
    pub pending_approvals: Vec<PendingApproval>,
    /// Failed sign-ins counted against the account in the current window.
    pub recent_login_failures: i64,
    /// Whether those failures lock the account now (`LOGIN_MAX_FAILURES`).
    pub locked: bool,
}

/// The user with this email, or 404. An address the rule refuses is looked up as it would
/// have been stored (an older, looser rule may have let it in).
pub async fn find_user(state: &AppState, email: &str) -> Result<UserRow, Error> {
    let email = Email::parse(email).unwrap_or_else(|_| Email::stored(email));
    let mut conn = state.pool.get().await?;
    users::find_by_email(&mut conn, &email)
        .await?
        .ok_or(Error::NotFound("No user with this email"))
}

pub async fn user_overview(state: &AppState, email: &str) -> Result<UserOverview, Error> {
    let user = find_user(state, email).await?;
    let active_sessions = active_sessions(state, &user).await?;
    let pending_approvals = approvals::list_pending(state, user.id).await?;
    let since = state.now()
        - chrono::Duration::from_std(state.settings.throttle.login_failure_window)
            .unwrap_or_default();
    let key = account_key(&Email::stored(&user.email));
    let failures = stored_throttle::count(&mut *state.pool.get().await?, &key, since).await?;
    Ok(UserOverview {
        id: user.id,
        email: user.email,
        name: user.name,
        created_at: user.created_at,
        active_sessions,
        pending_approvals,
        recent_login_failures: failures,
        locked: failures
            >= i64::try_from(state.settings.throttle.login_max_failures).unwrap_or(i64::MAX),
    })
}

/// The user's active sessions, oldest first.
pub async fn sessions(state: &AppState, email: &str) -> Result<Vec<SessionInfo>, Error> {
    let user = find_user(state, email).await?;
    active_sessions(state, &user).await
}

async fn active_sessions(state: &AppState, user: &UserRow) -> Result<Vec<SessionInfo>, Error> {
    let lifetimes = state.lifetimes();
    let mut conn = state.pool.get().await?;
    let rows = stored_sessions::list_active(&mut conn, user.id, state.now(), lifetimes).await?;
    Ok(rows
        .iter()
        .map(|row| wire::session(row, None, lifetimes))
        .collect())
}

/// Ends one active session of the user; 404 when the user has no such active session.
#[tracing::instrument(skip_all, fields(%session_id))]
pub async fn revoke(state: &AppState, email: &str, session_id: Uuid) -> Result<SessionInfo, Error> {
    let user = find_user(state, email).await?;
    let lifetimes = state.lifetimes();
    state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            // The user's row first, as in every transaction on a user's sessions and requests.
            users::lock(tx.conn(), user.id).await?;
            let session = stored_sessions::find(tx.conn(), session_id)
                .await?
                .filter(|session| session.user_id == user.id && session.end_reason.is_none())
                .ok_or(Error::NotFound("No such active session"))?;
            let reason = EndReason::Revoked;
            let ended =
                stored_sessions::end(tx.conn(), session.user_id, session.id, reason, None, now)
                    .await?
                    .ok_or(Error::NotFound("No such active session"))?;
            tx.log(
                NewEntry::new(ended.user_id, ActivityKind::SessionRevoked, now)
                    .session(ended.id)
                    .from_device(&ended.ip, ended.device_label())
                    .detail(BY_ADMINISTRATOR),
            );
            tx.announce(Event::SessionEnded {
                user_id: ended.user_id,
                session_id: ended.id,
                reason,
                replaced_by: None,
            });
            tx.commit(wire::session(&ended, None, lifetimes)).await
        })
        .await
}

/// Ends every session of the user and cancels their sign-in requests in flight; how many
/// sessions ended.
/// What `revoke_all` ended: sessions, and sign-in requests in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokedAll {
    pub sessions: usize,
    pub requests: usize,
}

#[tracing::instrument(skip_all)]
pub async fn revoke_all(state: &AppState, email: &str) -> Result<RevokedAll, Error> {
    let user = find_user(state, email).await?;
    state
        .unit_of_work(async |mut tx| {
            let signed_out = sessions::sign_out_everywhere(
                &mut tx,
                user.id,
                SignOut {
                    except: None,
                    reason: EndReason::Revoked,
                    detail: BY_ADMINISTRATOR,
                    cancelled: BY_ADMINISTRATOR,
                },
            )
            .await?;
            tx.commit(RevokedAll {
                sessions: signed_out.sessions,
                requests: signed_out.requests,
            })
            .await
        })
        .await
}

/// Forgets the account's failed sign-ins, so that its owner can try again at once; how
/// many were forgotten.
pub async fn unlock(state: &AppState, email: &str) -> Result<usize, Error> {
    let user = find_user(state, email).await?;
    let email = Email::stored(&user.email);
    throttle::unlock(state, &email).await
}

/// What `api admin user delete` ended, and whose account it was.
#[derive(Debug, Clone)]
pub struct DeletedUser {
    pub user: UserRow,
    pub sessions_ended: usize,
    pub requests_cancelled: usize,
}

/// Deletes the account (its sessions end and their sockets close on every instance, its
/// requests in flight are cancelled, then every row of it goes); 404 for no such user.
pub async fn delete_user(state: &AppState, email: &str) -> Result<DeletedUser, Error> {
    let user = find_user(state, email).await?;
    let deleted = deletion::delete_account(state, user.id, &DeletedBy::Administrator).await?;
    Ok(DeletedUser {
        user,
        sessions_ended: deleted.sessions_ended,
        requests_cancelled: deleted.requests_cancelled,
    })
}
