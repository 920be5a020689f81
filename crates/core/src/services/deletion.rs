//! Deleting an account, the one way an account goes: by its owner (`DELETE /api/me`), an
//! operator (`api admin user delete`) or the sweeper (an account never confirmed nor used),
//! with the same effects, in one transaction: every session ends
//! (its sockets hear `account_deleted` on every instance, then close), every request in
//! flight is cancelled (the waiting devices hear it), mail not yet sent is dropped, and every
//! row of the account goes (`ON DELETE CASCADE`: sessions, requests, links, the activity
//! log, what it signed in from, its mail). Device cookies die with it: they name the address
//! and a device generation, and a new account starts in a random generation. A goodbye
//! mail (none from the sweeper: the address never proved to be the signup's), the one row left, carries no account and loses its address once sent.
//!
//! Nothing is kept "detached" for `HISTORY_RETENTION_DAYS`: an entry stripped of the
//! account, its address, IP and device says nothing anyone could act on, and what could
//! (the IP, the device) is personal data. The server's log keeps one line with the
//! account's id, a random UUID that no longer leads anywhere.

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use shared::{Secret, SecurityAlert};
use uuid::Uuid;

use crate::error::Error;
use crate::model::device::ClientInfo;
use crate::model::input::LoginPassword;
use crate::model::mail::Mail;
use crate::model::session::EndReason;
use crate::services::sessions::{self, SignOut};
use crate::services::{Authenticated, current_password};
use crate::state::AppState;
use crate::storage::{outbox, users};

/// Who deletes the account.
#[derive(Debug, Clone)]
pub enum DeletedBy {
    /// The owner, from this device.
    Owner(ClientInfo),
    Administrator,
    /// The sweeper: the address was never confirmed and no session was open or used since
    /// `unused_since` (checked again under the account's lock: a confirmation or a sign-in
    /// meanwhile keeps the account). No goodbye mail: the address never proved to be the
    /// signup's.
    Unconfirmed {
        unused_since: DateTime<Utc>,
    },
}

impl DeletedBy {
    fn describe(&self) -> &'static str {
        match self {
            Self::Owner(_) => "the account was deleted by its owner",
            Self::Administrator => "the account was deleted by an administrator",
            Self::Unconfirmed { .. } => "the account was deleted: never confirmed nor used",
        }
    }

    /// The goodbye mail, naming who and where; none for an address never proven to be the
    /// signup's.
    fn goodbye(&self, now: DateTime<Utc>) -> Option<SecurityAlert> {
        let (device, ip, country) = match self {
            Self::Owner(client) => (client.label(), client.ip.clone(), client.country.clone()),
            Self::Administrator => ("an administrator".to_owned(), "-".to_owned(), None),
            Self::Unconfirmed { .. } => return None,
        };
        Some(SecurityAlert {
            kind: shared::AlertKind::AccountDeleted,
            session_id: None,
            device,
            ip,
            country,
            at: now,
        })
    }
}

/// What the deletion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub sessions_ended: usize,
    pub requests_cancelled: usize,
}

/// The owner deletes their account: the current password first (counted against the
/// account like a sign-in, as the password change does), and a session too young to act
/// against an older one may not (`FRESH_SESSION_SECS`).
#[tracing::instrument(skip_all, fields(user_id = %auth.user.id))]
pub async fn delete_own(
    state: &AppState,
    auth: &Authenticated,
    current: Secret,
    client: &ClientInfo,
) -> Result<Deleted, Error> {
    let current = LoginPassword::parse(current)?;
    sessions::ensure_oldest_or_trusted(&mut *state.pool.get().await?, state, auth).await?;
    current_password::prove(state, auth, current).await?;
    delete_account(state, auth.user.id, &DeletedBy::Owner(client.clone())).await
}

/// Deletes the account and everything of it (see the module's comment); 404 when there is
/// no such account (any more).
pub async fn delete_account(
    state: &AppState,
    user_id: Uuid,
    by: &DeletedBy,
) -> Result<Deleted, Error> {
    delete_unless_kept(state, user_id, by)
        .await?
        .ok_or(Error::NotFound("No such account"))
}

/// Accounts deleted per sweep at most (the rest wait for the next one).
const UNCONFIRMED_PER_SWEEP: i64 = 100;

/// Deletes accounts whose address was never confirmed and that no session used since
/// `unused_since` (squatted or abandoned signups: the address becomes free again); how
/// many.
pub async fn delete_unconfirmed_unused(
    state: &AppState,
    unused_since: DateTime<Utc>,
) -> Result<usize, Error> {
    let candidates = users::unconfirmed_unused(
        &mut *state.pool.get().await?,
        unused_since,
        UNCONFIRMED_PER_SWEEP,
    )
    .await?;
    let by = DeletedBy::Unconfirmed { unused_since };
    let mut deleted = 0;
    for user_id in candidates {
        if delete_unless_kept(state, user_id, &by).await?.is_some() {
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// The deletion; `None` when there is no such account, or (`Unconfirmed`) when it is no
/// longer one to delete.
async fn delete_unless_kept(
    state: &AppState,
    user_id: Uuid,
    by: &DeletedBy,
) -> Result<Option<Deleted>, Error> {
    let deleted = state
        .unit_of_work(async |mut tx| {
            // The row lock orders this against a login deciding on the limit: no session
            // starts for the account while it goes.
            let Some(user) = users::lock(tx.conn(), user_id).await.optional()? else {
                return tx.commit(None).await;
            };
            if let DeletedBy::Unconfirmed { unused_since } = by
                && (user.email_verified_at.is_some()
                    || users::used_since(tx.conn(), user.id, *unused_since).await?)
            {
                return tx.commit(None).await;
            }
            let signed_out = sessions::sign_out_everywhere(
                &mut tx,
                user.id,
                SignOut {
                    except: None,
                    reason: EndReason::AccountDeleted,
                    detail: by.describe(),
                    cancelled: by.describe(),
                },
            )
            .await?;
            // Mail not yet sent is not sent (a worker claiming one now holds its row: this
            // waits for it; if that claim is minting the mail's "this wasn't me" link, whose
            // foreign key waits for this user's row, PostgreSQL ends one of the two as a
            // deadlock: this runs again, or the mail stays queued for the worker's next pass).
            outbox::delete_for_user(tx.conn(), user.id).await?;
            if !users::delete(tx.conn(), user.id).await? {
                return tx.commit(None).await;
            }
            // Its log entries would go with it; the events go out when this commits.
            tx.deleted_account(user.id);
            if let Some(goodbye) = by.goodbye(tx.now()) {
                tx.mail_to(None, &user.email, Mail::Alert(goodbye));
            }
            tx.commit(Some(Deleted {
                sessions_ended: signed_out.sessions,
                requests_cancelled: signed_out.requests,
            }))
            .await
        })
        .await?;
    if let Some(deleted) = &deleted {
        tracing::info!(
            %user_id,
            by = by.describe(),
            sessions_ended = deleted.sessions_ended,
            requests_cancelled = deleted.requests_cancelled,
            "account deleted"
        );
    }
    Ok(deleted)
}
