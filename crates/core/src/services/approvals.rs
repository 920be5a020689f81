//! Second-device approval: a login that would add a session waits until the 6-digit code
//! shown on the new device is typed on a device already logged in.
//!
//! Which status may follow which is `model::approval::ApprovalStatus::next`. Approving
//! creates the new session in the transaction that re-counts the active sessions under the
//! user's row lock, so simultaneous approvals never exceed the limit. The session's cookie
//! token is minted only when the new device completes with its pending token, once.

use diesel_async::AsyncPgConnection;
use shared::{PendingApproval, Secret};
use uuid::Uuid;

use crate::error::Error;
use crate::events::Event;
use crate::events::unit_of_work::{Committed, Tx};
use crate::model::activity::ActivityKind;
use crate::model::admission::may_approve;
use crate::model::approval::{Action, ApprovalChannel, ApprovalStatus, Refusal};
use crate::model::device::ClientInfo;
use crate::model::input::ApprovalCode;
use crate::model::policy::{EMAIL_CODE_LIFETIME, EMAIL_CODE_MAX_ATTEMPTS};
use crate::model::second_factor::ProofMethod;
use crate::model::secrets::{self, MintedToken};
use crate::model::session::chrono_duration;
use crate::services::alerts;
use crate::services::in_flight::{self, Cancelling};
use crate::services::sessions::{self, Authenticated, Keep};
use crate::state::AppState;
use crate::storage::activity::NewEntry;
use crate::storage::approvals::{self as stored, ApprovalRow, NewApproval, Scope};
use crate::storage::sessions::SessionRow;
use crate::storage::users::{self, UserRow};
use crate::wire;

pub const NO_SUCH_REQUEST: Error = Error::NotFound("No such login request");

/// Stores a new pending request; returns it with its code and pending token (shown once,
/// never stored). A `Device` request prompts the signed-in devices; an `Email` one mails
/// its code to the account instead (the new device types it).
pub async fn request(
    tx: &mut Tx<'_>,
    state: &AppState,
    user_id: Uuid,
    client: &ClientInfo,
    keep: Keep,
    channel: ApprovalChannel,
    proof: ProofMethod,
) -> Result<(ApprovalRow, Secret, Secret), Error> {
    let now = tx.now();
    let id = Uuid::new_v4();
    let code = secrets::new_code();
    let pending = MintedToken::for_user(user_id);
    let lifetime = match channel {
        ApprovalChannel::Device => chrono_duration(state.settings.approval.ttl),
        ApprovalChannel::Email => EMAIL_CODE_LIFETIME,
    };
    let approval = stored::insert(
        tx.conn(),
        NewApproval {
            id,
            channel,
            keep_signed_in: keep.persistent,
            user_id,
            code_hash: &state.codes.hash(id, &code),
            pending_token_hash: &pending.hash,
            client,
            created_at: now,
            expires_at: now + lifetime,
            proof,
        },
    )
    .await?;
    let entry = |kind| NewEntry::new(user_id, kind, now).from_device(&client.ip, client.label());
    match channel {
        ApprovalChannel::Device => {
            tx.log(entry(ActivityKind::ApprovalRequested));
            tx.announce(Event::ApprovalRequested {
                user_id,
                approval_id: id,
            });
        }
        ApprovalChannel::Email => {
            tx.log(entry(ActivityKind::EmailCodeSent));
            alerts::sign_in_code(tx, user_id, client, Secret::new(code.clone()));
        }
    }
    Ok((approval, Secret::new(code), Secret::new(pending.token)))
}

/// The user's requests still waiting for a decision, as the prompt shows them.
pub async fn list_pending(state: &AppState, user_id: Uuid) -> Result<Vec<PendingApproval>, Error> {
    let mut conn = state.pool.get().await?;
    let rows = stored::list_pending(&mut conn, user_id, state.now()).await?;
    Ok(rows
        .iter()
        .map(|row| wire::pending_approval(row, state.settings.approval.max_attempts))
        .collect())
}

/// What a logged-in device answers to a request.
#[derive(Debug, Clone)]
pub enum Answer {
    Approve(ApprovalCode),
    /// `suspicious`: "this wasn't me" — the other pending requests are cancelled too and
    /// every device of the account is alerted.
    Deny {
        suspicious: bool,
    },
}

/// Approves (with the code) or denies a pending request of the user; the status it ended in.
#[tracing::instrument(skip_all, fields(user_id = %by.user.id, %approval_id))]
pub async fn answer(
    state: &AppState,
    by: &Authenticated,
    approval_id: Uuid,
    answer: Answer,
) -> Result<ApprovalStatus, Error> {
    state
        .unit_of_work(async |tx| answer_locked(tx, state, by, approval_id, &answer).await)
        .await
}

/// The answer under the user's lock. Outcomes that end in an error (a wrong code, a lock,
/// the limit) still commit: they are refusals.
async fn answer_locked(
    mut tx: Tx<'_>,
    state: &AppState,
    by: &Authenticated,
    approval_id: Uuid,
    answer: &Answer,
) -> Result<Committed<ApprovalStatus>, Error> {
    let now = tx.now();
    let user_id = by.user.id;
    // The user lock serialises this with logins and other approvals.
    users::lock(tx.conn(), user_id).await?;
    // A mailed code is the new device's to type, not another device's.
    let approval = stored::lock(tx.conn(), approval_id)
        .await?
        .filter(|approval| {
            approval.user_id == user_id && approval.channel == ApprovalChannel::Device
        })
        .ok_or(NO_SUCH_REQUEST)?;
    if !approval.status.is_pending() {
        return Err(refused(approval.status, Action::Deny));
    }
    let entry =
        |kind| NewEntry::new(user_id, kind, now).from_device(&approval.ip, approval.device_label());
    let resolved = |outcome| Event::ApprovalResolved {
        user_id,
        approval_id,
        outcome,
        channel: approval.channel,
    };
    if approval.expires_at <= now {
        let status = transition(approval.status, Action::Expire)?;
        stored::set_status(tx.conn(), approval_id, status, Some(by.session.id), now).await?;
        tx.log(entry(ActivityKind::ApprovalExpired));
        tx.announce(resolved(status));
        return tx.commit_refusal(Error::Approval(Refusal::Expired)).await;
    }
    let code = match answer {
        Answer::Deny { suspicious } => {
            let status = transition(approval.status, Action::Deny)?;
            stored::set_status(tx.conn(), approval_id, status, Some(by.session.id), now).await?;
            tx.log(entry(ActivityKind::ApprovalDenied).detail(by.by()));
            tx.announce(resolved(status));
            if *suspicious {
                alerts::suspicious_login_denied(&mut tx, user_id, &approval.client(), &by.by());
                in_flight::cancel_open(
                    &mut tx,
                    user_id,
                    Cancelling::PendingOnly,
                    "cancelled after a request was denied as suspicious",
                )
                .await?;
            }
            return tx.commit(status).await;
        }
        Answer::Approve(code) => code,
    };
    let wrong = check_code(
        &mut tx,
        state,
        &approval,
        code,
        Some(by.session.id),
        Some(by.by()),
    )
    .await?;
    if let Some(refusal) = wrong {
        return tx.commit_refusal(refusal).await;
    }
    // Right code: the limit is counted again, under the lock, before admitting.
    let active = sessions::settle(&mut tx, user_id, state.lifetimes())
        .await?
        .count();
    if !may_approve(active, state.limits()) {
        let status = transition(approval.status, Action::RefuseAtLimit)?;
        stored::set_status(tx.conn(), approval_id, status, Some(by.session.id), now).await?;
        tx.log(
            entry(ActivityKind::ApprovalDenied).detail(format!("Already {active} sessions active")),
        );
        tx.announce(resolved(status));
        return tx
            .commit_refusal(Error::SessionLimit(state.limits().max_sessions()))
            .await;
    }
    let status = transition(approval.status, Action::Approve)?;
    // The session exists from now on (it counts against the limit); its cookie token is
    // minted when the new device completes, so until then nobody holds one. Not completed
    // within the approval TTL, it ends and frees its slot.
    let (session, _unused_token) = sessions::start(
        tx.conn(),
        user_id,
        &approval.client(),
        Keep {
            persistent: approval.keep_signed_in,
        },
        approval.proof_method,
        now,
        state.lifetimes(),
    )
    .await?;
    let complete_by = now + chrono_duration(state.settings.approval.ttl);
    stored::set_approved(
        tx.conn(),
        approval_id,
        by.session.id,
        session.id,
        now,
        complete_by,
    )
    .await?;
    tx.log(
        entry(ActivityKind::ApprovalGranted)
            .session(session.id)
            .detail(by.by()),
    );
    tx.announce(resolved(status));
    tx.announce(Event::SessionStarted {
        user_id,
        session_id: session.id,
    });
    tx.commit(status).await
}

/// Checks the code typed for a pending request (by a signed-in device, `by`, or by the new
/// device itself for a mailed code). A wrong one is counted and its refusal returned, to be
/// committed: `wrong_code` with the tries left, or `approval_locked` at the last try.
pub async fn check_code(
    tx: &mut Tx<'_>,
    state: &AppState,
    approval: &ApprovalRow,
    code: &ApprovalCode,
    decided_by: Option<Uuid>,
    by: Option<String>,
) -> Result<Option<Error>, Error> {
    if state
        .codes
        .verify(approval.id, code.expose(), &approval.code_hash)
    {
        return Ok(None);
    }
    let now = tx.now();
    let (user_id, approval_id) = (approval.user_id, approval.id);
    let entry =
        |kind| NewEntry::new(user_id, kind, now).from_device(&approval.ip, approval.device_label());
    let attempts = approval.failed_attempts.saturating_add(1);
    let (max_attempts, rejected) = match approval.channel {
        ApprovalChannel::Device => (
            state.settings.approval.max_attempts,
            ActivityKind::ApprovalCodeRejected,
        ),
        ApprovalChannel::Email => (EMAIL_CODE_MAX_ATTEMPTS, ActivityKind::EmailCodeRejected),
    };
    let tries_left = (max_attempts - attempts).max(0);
    stored::set_failed_attempts(tx.conn(), approval_id, attempts).await?;
    let rejected = entry(rejected);
    tx.log(match by {
        Some(by) => rejected.detail(by),
        None => rejected,
    });
    if tries_left > 0 {
        transition(approval.status, Action::RejectCode)?;
        if approval.channel == ApprovalChannel::Device {
            tx.announce(Event::ApprovalCodeRejected {
                user_id,
                approval_id,
                tries_left,
            });
        }
        return Ok(Some(Error::WrongCode { tries_left }));
    }
    let status = transition(approval.status, Action::Lock)?;
    stored::set_status(tx.conn(), approval_id, status, decided_by, now).await?;
    tx.log(entry(ActivityKind::ApprovalLocked));
    tx.announce(Event::ApprovalResolved {
        user_id,
        approval_id,
        outcome: status,
        channel: approval.channel,
    });
    Ok(Some(Error::Approval(Refusal::Locked)))
}

/// The new status, or the refusal as an error.
pub fn transition(from: ApprovalStatus, action: Action) -> Result<ApprovalStatus, Error> {
    from.next(action).map_err(Error::Approval)
}

pub fn refused(status: ApprovalStatus, action: Action) -> Error {
    match status.next(action) {
        Err(refusal) => Error::Approval(refusal),
        Ok(_) => Error::Approval(Refusal::Expired),
    }
}

/// Whose request this is, if `pending_token` is its token: read before any lock, so that a
/// transaction on the request can lock the user's row first, as every transaction does
/// (a request's user never changes). The order matters: a transaction that held the
/// request and then needed the user's row (a foreign key check of the activity log takes
/// a share lock on it) would wait on an approval that holds the user's row and waits for
/// the request — a deadlock.
pub async fn user_of(
    conn: &mut AsyncPgConnection,
    approval_id: Uuid,
    pending_token: &Secret,
) -> Result<Uuid, Error> {
    Ok(find_with_token(conn, approval_id, pending_token)
        .await?
        .user_id)
}

/// The request with this id, locked for the transaction, if `pending_token` is its token.
pub async fn lock_with_token(
    conn: &mut AsyncPgConnection,
    approval_id: Uuid,
    pending_token: &Secret,
) -> Result<ApprovalRow, Error> {
    stored::lock(conn, approval_id)
        .await?
        .filter(|approval| token_matches(approval, pending_token))
        .ok_or(NO_SUCH_REQUEST)
}

/// Checks a pending token against a request in constant time.
fn token_matches(approval: &ApprovalRow, pending_token: &Secret) -> bool {
    secrets::hashes_equal(
        &secrets::hash_token(pending_token.expose()),
        &approval.pending_token_hash,
    )
}

/// The request as the waiting device may see it: only with its pending token.
pub async fn for_waiting_device(
    state: &AppState,
    approval_id: Uuid,
    pending_token: &Secret,
) -> Result<ApprovalRow, Error> {
    find_with_token(&mut *state.pool.get().await?, approval_id, pending_token).await
}

/// The request with this id, unlocked, if `pending_token` is its token.
pub async fn find_with_token(
    conn: &mut AsyncPgConnection,
    approval_id: Uuid,
    pending_token: &Secret,
) -> Result<ApprovalRow, Error> {
    stored::find(conn, approval_id)
        .await?
        .filter(|approval| token_matches(approval, pending_token))
        .ok_or(NO_SUCH_REQUEST)
}

/// The request as it stands now (the waiting socket re-reads it after missed events).
pub async fn current(state: &AppState, approval_id: Uuid) -> Result<ApprovalRow, Error> {
    let mut conn = state.pool.get().await?;
    stored::find(&mut conn, approval_id)
        .await?
        .ok_or(NO_SUCH_REQUEST)
}

/// The new device withdraws its request: the prompt disappears from the other devices.
#[tracing::instrument(skip_all, fields(%approval_id))]
pub async fn cancel(
    state: &AppState,
    approval_id: Uuid,
    pending_token: &Secret,
) -> Result<ApprovalStatus, Error> {
    let user_id = user_of(&mut *state.pool.get().await?, approval_id, pending_token).await?;
    state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            users::lock(tx.conn(), user_id).await?;
            let approval = lock_with_token(tx.conn(), approval_id, pending_token).await?;
            let status = transition(approval.status, Action::Cancel)?;
            stored::set_status(tx.conn(), approval_id, status, None, now).await?;
            // Withdrawn after approval: the session kept for it ends.
            if let (ApprovalStatus::Approved, Some(session_id)) =
                (approval.status, approval.session_id)
            {
                sessions::end_not_completed(&mut tx, approval.user_id, session_id).await?;
            }
            tx.log(
                NewEntry::new(approval.user_id, ActivityKind::ApprovalCancelled, now)
                    .from_device(&approval.ip, approval.device_label()),
            );
            tx.announce(Event::ApprovalResolved {
                user_id: approval.user_id,
                approval_id,
                outcome: status,
                channel: approval.channel,
            });
            tx.commit(status).await
        })
        .await
}

/// The new device trades its pending token for a session, once: the user, the session and
/// the cookie token. Only before the request's deadline: to be approved while pending, to
/// be completed once approved (`APPROVAL_TTL_SECS` from the approval). Past it, the
/// request expires then and there, as the sweeper would expire it — the session kept for
/// it ends (`not_completed`) and frees its slot, both sides hear `expired` — and the
/// device gets 410 `approval_expired`, as for any expired request.
#[tracing::instrument(skip_all, fields(%approval_id))]
pub async fn complete(
    state: &AppState,
    approval_id: Uuid,
    pending_token: &Secret,
) -> Result<(UserRow, SessionRow, String), Error> {
    let user_id = user_of(&mut *state.pool.get().await?, approval_id, pending_token).await?;
    state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            users::lock(tx.conn(), user_id).await?;
            let approval = lock_with_token(tx.conn(), approval_id, pending_token).await?;
            // A mailed code completes with the code (`admission::confirm_email_code`).
            if approval.channel != ApprovalChannel::Device {
                return Err(NO_SUCH_REQUEST);
            }
            // An expiry found here still commits.
            if !approval.status.is_final() && approval.expires_at <= now {
                expire(&mut tx, Scope::One(approval_id)).await?;
                return tx.commit_refusal(Error::Approval(Refusal::Expired)).await;
            }
            transition(approval.status, Action::Complete)?;
            let session_id = approval
                .session_id
                .ok_or_else(|| Error::internal("an approved login request has no session"))?;
            let token = sessions::rotate_token(tx.conn(), approval.user_id, session_id).await?;
            stored::set_completed(tx.conn(), approval_id).await?;
            let session = crate::storage::sessions::find(tx.conn(), session_id)
                .await?
                .filter(|session| session.end_reason.is_none())
                // Revoked between approval and completion.
                .ok_or(Error::InvalidSession)?;
            tx.log(
                NewEntry::new(approval.user_id, ActivityKind::Login, now)
                    .session(session_id)
                    .from_device(&approval.ip, approval.device_label())
                    .detail("approved by another device"),
            );
            // The owner approved it: recorded, no alert.
            alerts::signed_in(&mut tx, &session, &approval.client(), false).await?;
            tx.announce(Event::ApprovalCompleted {
                user_id: approval.user_id,
                approval_id,
            });
            let user = users::find(tx.conn(), approval.user_id).await?;
            tx.commit((user, session, token)).await
        })
        .await
}

/// Expires requests whose time is up (pending, or approved and never completed: their
/// reserved session ends) and records it.
pub async fn expire(tx: &mut Tx<'_>, scope: Scope) -> Result<usize, Error> {
    let now = tx.now();
    let expired = stored::expire_lapsed(tx.conn(), scope, now).await?;
    for approval in &expired {
        transition(approval.status, Action::Expire)?;
        if let (ApprovalStatus::Approved, Some(session_id)) = (approval.status, approval.session_id)
        {
            sessions::end_not_completed(tx, approval.user_id, session_id).await?;
        }
    }
    record_expired(tx, &expired);
    Ok(expired.len())
}

/// Records requests that expired: their log entries and the events both sides hear.
fn record_expired(tx: &mut Tx<'_>, expired: &[ApprovalRow]) {
    for approval in expired {
        tx.log(
            NewEntry::new(approval.user_id, ActivityKind::ApprovalExpired, tx.now())
                .from_device(&approval.ip, approval.device_label()),
        );
        tx.announce(Event::ApprovalResolved {
            user_id: approval.user_id,
            approval_id: approval.id,
            outcome: ApprovalStatus::Expired,
            channel: approval.channel,
        });
    }
}

/// Expires one request if its time is up (the waiting socket calls it at its deadline).
pub async fn expire_if_lapsed(state: &AppState, approval_id: Uuid) -> Result<(), Error> {
    // The user's row first, as everywhere.
    let Some(approval) = stored::find(&mut *state.pool.get().await?, approval_id).await? else {
        return Ok(());
    };
    state
        .unit_of_work(async |mut tx| {
            users::lock(tx.conn(), approval.user_id).await?;
            expire(&mut tx, Scope::One(approval_id)).await?;
            tx.commit(()).await
        })
        .await
}
