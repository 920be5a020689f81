//! What an operator does, from the command line (`api admin …`) or through the admin API
//! with a key: look a user up, read their logs, end sessions, unlock a throttled account,
//! delete an account. The same rules and events as the user's own API: an ended session's
//! sockets hear it on every instance (through the database), and the user's log says
//! "by administrator" (with the key's name when a key did it).

use shared::admin::UserOverview;
use shared::{ActivityEntry, SessionHistoryEntry, SessionInfo};
use uuid::Uuid;

use crate::error::Error;
use crate::events::Event;
use crate::model::activity::ActivityKind;
use crate::model::input::Email;
use crate::model::session::EndReason;
use crate::model::throttle::account_key;
use crate::services::deletion::{self, DeletedBy};
use crate::services::sessions::{self, HistoryKey, SignOut};
use crate::services::{activity, approvals};
use crate::state::AppState;
use crate::storage::activity::NewEntry;
use crate::storage::sessions as stored_sessions;
use crate::storage::throttle as stored_throttle;
use crate::storage::users::{self, UserRow};
use crate::wire;

/// Who acts: the operator at the command line, or a holder of an admin API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Administrator {
    CommandLine,
    Key { name: String },
}

impl Administrator {
    /// What the user's activity log says of what an administrator did.
    pub fn detail(&self) -> String {
        match self {
            Self::CommandLine => "by administrator".to_owned(),
            Self::Key { name } => format!("by administrator (key {name})"),
        }
    }
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
        email_verified_at: user.email_verified_at,
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
    let mut conn = state.reader(user.id).await?;
    let rows = stored_sessions::list_active(&mut conn, user.id, state.now(), lifetimes).await?;
    Ok(rows
        .iter()
        .map(|row| wire::session(row, None, lifetimes))
        .collect())
}

/// A page of the user's session log, as the user reads their own (none of it is current).
pub async fn history(
    state: &AppState,
    email: &str,
    after: Option<HistoryKey>,
    limit: usize,
) -> Result<(Vec<SessionHistoryEntry>, Option<HistoryKey>), Error> {
    let user = find_user(state, email).await?;
    sessions::history(state, user.id, None, after, limit).await
}

/// A page of the user's activity log, as the user reads their own.
pub async fn activity(
    state: &AppState,
    email: &str,
    before_id: Option<i64>,
    limit: usize,
) -> Result<(Vec<ActivityEntry>, Option<i64>), Error> {
    let user = find_user(state, email).await?;
    activity::page(state, user.id, before_id, limit).await
}

/// Ends one active session of the user with this email; 404 when the user has no such
/// active session.
pub async fn revoke(
    state: &AppState,
    email: &str,
    session_id: Uuid,
    by: &Administrator,
) -> Result<SessionInfo, Error> {
    let user = find_user(state, email).await?;
    end_session(state, session_id, Some(user.id), by).await
}

/// Ends the active session with this id, whoever's it is; 404 when no session with this id
/// is active.
pub async fn revoke_session(
    state: &AppState,
    session_id: Uuid,
    by: &Administrator,
) -> Result<SessionInfo, Error> {
    end_session(state, session_id, None, by).await
}

#[tracing::instrument(skip_all, fields(%session_id))]
async fn end_session(
    state: &AppState,
    session_id: Uuid,
    owner: Option<Uuid>,
    by: &Administrator,
) -> Result<SessionInfo, Error> {
    let lifetimes = state.lifetimes();
    let detail = by.detail();
    let user_id = {
        let mut conn = state.pool.get().await?;
        stored_sessions::find(&mut conn, session_id)
            .await?
            .map(|session| session.user_id)
            .filter(|user_id| owner.is_none_or(|owner| owner == *user_id))
            .ok_or(Error::NotFound("No such active session"))?
    };
    state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            // The user's row first, as in every transaction on a user's sessions and requests.
            users::lock(tx.conn(), user_id).await?;
            let reason = EndReason::Revoked;
            // `None` when it ended meanwhile (or had ended before).
            let ended = stored_sessions::end(tx.conn(), user_id, session_id, reason, None, now)
                .await?
                .ok_or(Error::NotFound("No such active session"))?;
            tx.log(
                NewEntry::new(ended.user_id, ActivityKind::SessionRevoked, now)
                    .session(ended.id)
                    .from_device(&ended.ip, ended.device_label())
                    .detail(detail.as_str()),
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

/// What `revoke_all` ended: sessions, and sign-in requests in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokedAll {
    pub sessions: usize,
    pub requests: usize,
}

/// Ends every session of the user and cancels their sign-in requests in flight.
#[tracing::instrument(skip_all)]
pub async fn revoke_all(
    state: &AppState,
    email: &str,
    by: &Administrator,
) -> Result<RevokedAll, Error> {
    let user = find_user(state, email).await?;
    let detail = by.detail();
    state
        .unit_of_work(async |mut tx| {
            let signed_out = sessions::sign_out_everywhere(
                &mut tx,
                user.id,
                SignOut {
                    except: None,
                    reason: EndReason::Revoked,
                    detail: &detail,
                    cancelled: &detail,
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
/// The user's activity log says who did it, as for a revocation.
pub async fn unlock(state: &AppState, email: &str, by: &Administrator) -> Result<usize, Error> {
    let user = find_user(state, email).await?;
    let key = account_key(&Email::stored(&user.email));
    let detail = by.detail();
    state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            let forgotten = stored_throttle::clear(tx.conn(), &key).await?;
            tx.log(
                NewEntry::new(user.id, ActivityKind::AccountUnlocked, now).detail(detail.as_str()),
            );
            tx.commit(forgotten).await
        })
        .await
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
