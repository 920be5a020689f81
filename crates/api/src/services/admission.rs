//! Logging in: throttling, the password check, and the admission decision taken under
//! the user's row lock.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use shared::Secret;

use crate::error::Error;
use crate::events::{Changes, Event};
use crate::model::activity::ActivityKind;
use crate::model::admission::{Decision, Policy, Standing, decide};
use crate::model::device::ClientInfo;
use crate::model::input::{Email, LoginPassword};
use crate::services::sessions::Keep;
use crate::services::{alerts, approvals, sessions, throttle};
use crate::state::AppState;
use crate::storage::activity::{self, NewEntry};
use crate::storage::approvals::{self as stored_approvals, ApprovalRow};
use crate::storage::sessions::SessionRow;
use crate::storage::users::{self, UserRow};

/// What a correct password led to.
pub enum LoginOutcome {
    /// No other active session: logged in; `token` goes in the cookie.
    LoggedIn {
        user: UserRow,
        session: SessionRow,
        token: String,
    },
    /// A logged-in device must approve: show `code`, keep `pending_token`.
    NeedsApproval {
        approval: ApprovalRow,
        code: Secret,
        pending_token: Secret,
    },
}

/// A login as the client sent it.
pub struct LoginAttempt {
    pub email: String,
    pub password: Secret,
    /// "Keep me signed in on this device".
    pub keep: Keep,
    /// The device cookie's id, when the browser carries a valid one for this email: a
    /// device that signed in to the account before (its failures are counted apart).
    pub known_device: Option<String>,
}

pub async fn login(
    state: &AppState,
    attempt: LoginAttempt,
    client: &ClientInfo,
) -> Result<LoginOutcome, Error> {
    let result = check_and_admit(state, attempt, client).await;
    let outcome = match &result {
        Ok(LoginOutcome::LoggedIn { .. }) => "ok",
        Ok(LoginOutcome::NeedsApproval { .. }) => "approval_required",
        Err(Error::InvalidCredentials) => "bad_credentials",
        Err(Error::TooManyAttempts { .. }) => "throttled",
        Err(
            Error::SessionLimit(_)
            | Error::TooManyPendingApprovals
            | Error::TooManyApprovalRequests { .. },
        ) => "refused_limit",
        Err(_) => "error",
    };
    metrics::counter!(crate::telemetry::metrics::LOGINS, "outcome" => outcome).increment(1);
    result
}

async fn check_and_admit(
    state: &AppState,
    attempt: LoginAttempt,
    client: &ClientInfo,
) -> Result<LoginOutcome, Error> {
    let email = Email::parse(&attempt.email).map_err(|_| Error::InvalidCredentials)?;
    let password = LoginPassword::parse(attempt.password)?;
    let keep = attempt.keep;
    // Slots before hashing: parallel guesses cannot overrun the limits.
    let throttled =
        throttle::begin_login(state, &email, &client.ip, attempt.known_device.as_deref()).await?;
    // The connection goes back to the pool while the password hashes.
    let user = users::find_by_email(&mut *state.pool.get().await?, &email).await?;
    let valid = state
        .hasher
        .verify(
            password.into_secret(),
            user.as_ref().map(|user| user.password_hash.clone()),
        )
        .await?;
    match user {
        Some(user) if valid => {
            throttle::succeeded(state, throttled).await?;
            admit(state, user, client, keep).await
        }
        user => {
            throttle::failed(throttled);
            // Known account or not, the same one statement: the same time.
            activity::record_failed_login(
                &mut *state.pool.get().await?,
                user.map(|user| user.id),
                &client.ip,
                &client.label(),
                state.now(),
            )
            .await?;
            Err(Error::InvalidCredentials)
        }
    }
}

/// Decides, in one transaction holding the user's row lock, whether this device may log in.
pub async fn admit(
    state: &AppState,
    user: UserRow,
    client: &ClientInfo,
    keep: Keep,
) -> Result<LoginOutcome, Error> {
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, Error, _>(async |conn| {
        let mut changes = Changes::default();
        let outcome = decide_locked(conn, &mut changes, state, &user, client, keep).await?;
        // Expiries found on the way are real even when this login is refused.
        changes.save(conn).await?;
        Ok(outcome)
    })
    .await?
}

/// The decision and what follows from it, under the lock. A refusal is returned as the
/// inner error so that the transaction still commits what it found on the way.
async fn decide_locked(
    conn: &mut AsyncPgConnection,
    changes: &mut Changes,
    state: &AppState,
    user: &UserRow,
    client: &ClientInfo,
    keep: Keep,
) -> Result<Result<LoginOutcome, Error>, Error> {
    let now = state.now();
    let limits = state.limits();
    users::lock(conn, user.id).await?;
    let active_sessions = sessions::settle(conn, changes, user.id, now, state.lifetimes()).await?;
    // Requests past their time are not counted as pending; the sweeper (or the waiting
    // socket) marks them expired and tells the devices.
    let pending_requests = stored_approvals::count_pending(conn, user.id, now).await?;
    let stats = match limits.policy {
        Policy::Approve => Some(
            stored_approvals::request_stats(conn, user.id, now, now - limits.denial_cooldown)
                .await?,
        ),
        _ => None,
    };
    let standing = Standing {
        active_sessions,
        pending_requests,
        requests_last_hour: stats.map_or(0, |stats| stats.last_hour),
        oldest_request_last_hour: stats.and_then(|stats| stats.oldest_last_hour),
        last_denial: stats.and_then(|stats| stats.last_denial),
    };
    Ok(match decide(standing, limits, now) {
        Decision::RefuseAtLimit => {
            let error = Error::SessionLimit(limits.max_sessions());
            alerts::login_refused(changes, user.id, client, &error.to_string(), now);
            Err(error)
        }
        Decision::RefuseTooManyPending => {
            let error = Error::TooManyPendingApprovals;
            alerts::login_refused(changes, user.id, client, &error.to_string(), now);
            Err(error)
        }
        Decision::RefuseRequestsFor { retry_at } => {
            let error = Error::TooManyApprovalRequests {
                retry_in_seconds: (retry_at - now).num_seconds().max(1),
            };
            alerts::login_refused(changes, user.id, client, &error.to_string(), now);
            Err(error)
        }
        Decision::StartSession { evict } => {
            let (session, token) =
                sessions::start(conn, user.id, client, keep, now, state.lifetimes()).await?;
            if evict > 0 {
                sessions::replace_least_recently_used(
                    conn,
                    changes,
                    &session,
                    evict,
                    now,
                    state.lifetimes(),
                )
                .await?;
            }
            changes.log(
                NewEntry::new(user.id, ActivityKind::Login, now)
                    .session(session.id)
                    .from_device(&client.ip, client.label()),
            );
            changes.announce(Event::SessionStarted {
                user_id: user.id,
                session_id: session.id,
            });
            alerts::signed_in(conn, changes, &session, client, now, true).await?;
            Ok(LoginOutcome::LoggedIn {
                user: user.clone(),
                session,
                token,
            })
        }
        Decision::RequireApproval => {
            let (approval, code, pending_token) =
                approvals::request(conn, changes, state, user.id, client, keep, now).await?;
            Ok(LoginOutcome::NeedsApproval {
                approval,
                code,
                pending_token,
            })
        }
    })
}
