//! Second-device approval: a login that would be a user's second session waits until the
//! 6-digit code shown on the new device is typed on a device already logged in.
//!
//! Statuses: `pending` → `approved` → `completed`, or `pending` → `denied` | `expired` |
//! `locked` (too many wrong codes) | `session_limit` (the limit was reached meanwhile).
//! Approving creates the new session in the same transaction that re-counts the active
//! sessions under the user's row lock, so simultaneous approvals never exceed the limit.
//! The session's cookie token is minted only when the new device completes the login with
//! its pending token, which works once.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use shared::ws::{PendingMessage, ServerMessage};
use shared::{
    ApprovalDecision, ApproveRequest, AuthResponse, CompleteApprovalRequest, PendingApproval,
    PendingApprovalList,
};
use uuid::Uuid;

use crate::activity::{self, NewEvent, kind};
use crate::auth::{Authenticated, start_cookie_session};
use crate::device::ClientInfo;
use crate::domain::approval_code;
use crate::error::ApiError;
use crate::schema::login_approvals;
use crate::security;
use crate::sessions;
use crate::startup::AppState;
use crate::users;

pub mod status {
    pub const PENDING: &str = "pending";
    pub const APPROVED: &str = "approved";
    pub const COMPLETED: &str = "completed";
    pub const DENIED: &str = "denied";
    pub const EXPIRED: &str = "expired";
    pub const LOCKED: &str = "locked";
    pub const SESSION_LIMIT: &str = "session_limit";
    /// The new device gave up waiting.
    pub const CANCELLED: &str = "cancelled";
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = login_approvals, check_for_backend(diesel::pg::Pg))]
pub struct ApprovalRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub code_hash: Vec<u8>,
    pub pending_token_hash: Vec<u8>,
    pub device: String,
    pub os: String,
    pub browser: String,
    pub user_agent: String,
    pub ip: String,
    pub status: String,
    pub failed_attempts: i32,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by_session_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
}

impl ApprovalRow {
    pub fn device_label(&self) -> String {
        crate::device::label(&self.browser, &self.os, &self.device)
    }

    pub fn to_wire(&self, max_attempts: i32) -> PendingApproval {
        PendingApproval {
            id: self.id,
            device: self.device.clone(),
            os: self.os.clone(),
            browser: self.browser.clone(),
            ip: self.ip.clone(),
            requested_at: self.created_at,
            expires_at: self.expires_at,
            tries_left: (max_attempts - self.failed_attempts).max(0),
        }
    }

    /// What the waiting device is told about this approval right now.
    pub fn pending_message(&self) -> PendingMessage {
        match self.status.as_str() {
            status::APPROVED => PendingMessage::Approved,
            status::COMPLETED => PendingMessage::Completed,
            status::DENIED => PendingMessage::Denied,
            status::LOCKED => PendingMessage::Locked,
            status::SESSION_LIMIT => PendingMessage::SessionLimit,
            status::CANCELLED => PendingMessage::Cancelled,
            status::EXPIRED => PendingMessage::Expired,
            _ => PendingMessage::Pending {
                expires_at: self.expires_at,
            },
        }
    }
}

/// Stores a new pending approval; returns it with its code and pending token (shown once,
/// never stored).
pub async fn create(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    user_id: Uuid,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> QueryResult<(ApprovalRow, String, String)> {
    let id = Uuid::new_v4();
    let code = security::new_code();
    let pending_token = security::new_token();
    let ttl = chrono::Duration::from_std(state.settings.approval_ttl)
        .unwrap_or(chrono::Duration::minutes(2));
    let row = diesel::insert_into(login_approvals::table)
        .values((
            login_approvals::id.eq(id),
            login_approvals::user_id.eq(user_id),
            login_approvals::code_hash.eq(state.codes.hash(id, &code)),
            login_approvals::pending_token_hash.eq(security::hash_token(&pending_token)),
            login_approvals::device.eq(&client.device),
            login_approvals::os.eq(&client.os),
            login_approvals::browser.eq(&client.browser),
            login_approvals::user_agent.eq(&client.user_agent),
            login_approvals::ip.eq(&client.ip),
            login_approvals::status.eq(status::PENDING),
            login_approvals::created_at.eq(now),
            login_approvals::expires_at.eq(now + ttl),
        ))
        .returning(ApprovalRow::as_returning())
        .get_result(conn)
        .await?;
    Ok((row, code, pending_token))
}

pub async fn count_pending(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    login_approvals::table
        .filter(login_approvals::user_id.eq(user_id))
        .filter(login_approvals::status.eq(status::PENDING))
        .filter(login_approvals::expires_at.gt(now))
        .count()
        .get_result(conn)
        .await
}

pub async fn list_pending(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Vec<ApprovalRow>> {
    login_approvals::table
        .filter(login_approvals::user_id.eq(user_id))
        .filter(login_approvals::status.eq(status::PENDING))
        .filter(login_approvals::expires_at.gt(now))
        .order(login_approvals::created_at.asc())
        .select(ApprovalRow::as_select())
        .load(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ApprovalRow>> {
    login_approvals::table
        .find(id)
        .select(ApprovalRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Marks pending approvals whose time is up as expired (of one user, or all) and returns them.
pub async fn expire_lapsed(
    conn: &mut AsyncPgConnection,
    user_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<Vec<ApprovalRow>> {
    let lapsed = login_approvals::status
        .eq(status::PENDING)
        .and(login_approvals::expires_at.le(now));
    let expire = (
        login_approvals::status.eq(status::EXPIRED),
        login_approvals::decided_at.eq(now),
    );
    // Two fixed statements (not one boxed query): fixed ones are prepared once per
    // connection, and every login runs the per-user one.
    match user_id {
        Some(user_id) => {
            diesel::update(
                login_approvals::table.filter(lapsed.and(login_approvals::user_id.eq(user_id))),
            )
            .set(expire)
            .returning(ApprovalRow::as_returning())
            .get_results(conn)
            .await
        }
        None => {
            diesel::update(login_approvals::table.filter(lapsed))
                .set(expire)
                .returning(ApprovalRow::as_returning())
                .get_results(conn)
                .await
        }
    }
}

/// Deletes finished approvals older than `before` (they are only kept for a while for the
/// waiting device to read its outcome; the activity log keeps the history).
pub async fn purge_finished(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        login_approvals::table
            .filter(login_approvals::status.ne(status::PENDING))
            .filter(login_approvals::expires_at.lt(before)),
    )
    .execute(conn)
    .await
}

/// Tells both sides that these approvals expired.
pub fn announce_expired(state: &AppState, expired: &[ApprovalRow]) {
    for approval in expired {
        announce_outcome(
            state,
            approval.user_id,
            approval.id,
            status::EXPIRED,
            PendingMessage::Expired,
        );
    }
}

/// Tells the waiting device how its request ended, and the user's devices to hide the prompt.
fn announce_outcome(
    state: &AppState,
    user_id: Uuid,
    approval_id: Uuid,
    outcome: &str,
    to_waiting: PendingMessage,
) {
    state.hub.notify_pending(approval_id, &to_waiting);
    state.hub.send_to_user(
        user_id,
        &ServerMessage::ApprovalResolved {
            approval_id,
            outcome: outcome.to_owned(),
        },
    );
}

/// The approval with this id, locked for the transaction, if `pending_token` is its token.
async fn lock_with_token(
    conn: &mut AsyncPgConnection,
    approval_id: Uuid,
    pending_token: &str,
) -> Result<ApprovalRow, ApiError> {
    login_approvals::table
        .find(approval_id)
        .select(ApprovalRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .filter(|approval| token_matches(approval, pending_token))
        .ok_or(ApiError::NotFound("No such login request"))
}

pub fn expired_events(expired: &[ApprovalRow], now: DateTime<Utc>) -> Vec<NewEvent> {
    expired
        .iter()
        .map(|approval| {
            NewEvent::new(approval.user_id, kind::APPROVAL_EXPIRED, now)
                .from_device(&approval.ip, approval.device_label())
        })
        .collect()
}

/// Expires one approval if its time is up (called by the waiting socket at its deadline).
pub async fn expire_if_lapsed(state: &AppState, approval_id: Uuid) -> Result<(), ApiError> {
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let expired = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let expired: Vec<ApprovalRow> = diesel::update(
                login_approvals::table
                    .find(approval_id)
                    .filter(login_approvals::status.eq(status::PENDING))
                    .filter(login_approvals::expires_at.le(now)),
            )
            .set((
                login_approvals::status.eq(status::EXPIRED),
                login_approvals::decided_at.eq(now),
            ))
            .returning(ApprovalRow::as_returning())
            .get_results(conn)
            .await?;
            activity::record_many(conn, expired_events(&expired, now)).await?;
            Ok(expired)
        })
        .await?;
    announce_expired(state, &expired);
    Ok(())
}

/// What a decision on a pending approval came to; decided inside the transaction, acted on
/// (errors returned, sockets told) after it commits.
enum Decided {
    Approved,
    Denied,
    WrongCode { tries_left: i32 },
    Locked,
    Expired,
    SessionLimit,
}

/// Approves (with the code) or denies (`code = None`) a pending approval of the user.
pub async fn decide(
    state: &AppState,
    by: &Authenticated,
    approval_id: Uuid,
    code: Option<&str>,
) -> Result<ApprovalDecision, ApiError> {
    let now = state.clock.now();
    let settings = &state.settings;
    let user_id = by.user.id;
    let by_session = &by.session;
    let mut conn = state.pool.get().await?;
    let (decided, approval, lapsed) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            // The user lock serialises this with logins and other approvals.
            users::lock(conn, user_id).await?;
            let approval = login_approvals::table
                .find(approval_id)
                .filter(login_approvals::user_id.eq(user_id))
                .select(ApprovalRow::as_select())
                .for_update()
                .first(conn)
                .await
                .optional()?
                .ok_or(ApiError::NotFound("No such login request"))?;
            if approval.status != status::PENDING {
                return Err(closed_error(&approval.status));
            }
            let device = approval.device_label();
            let event =
                |kind| NewEvent::new(user_id, kind, now).from_device(&approval.ip, device.clone());
            let set_status = |new_status: &'static str| {
                diesel::update(login_approvals::table.find(approval_id)).set((
                    login_approvals::status.eq(new_status),
                    login_approvals::decided_at.eq(now),
                    login_approvals::decided_by_session_id.eq(by_session.id),
                ))
            };
            if approval.expires_at <= now {
                set_status(status::EXPIRED).execute(conn).await?;
                activity::record(conn, event(kind::APPROVAL_EXPIRED)).await?;
                return Ok((Decided::Expired, approval, Vec::new()));
            }
            let Some(code) = code else {
                set_status(status::DENIED).execute(conn).await?;
                activity::record(
                    conn,
                    event(kind::APPROVAL_DENIED).detail(decided_by(by_session)),
                )
                .await?;
                return Ok((Decided::Denied, approval, Vec::new()));
            };
            if !state.codes.verify(approval_id, code, &approval.code_hash) {
                let attempts = approval.failed_attempts + 1;
                let tries_left = (settings.approval_max_attempts - attempts).max(0);
                let locked = tries_left == 0;
                diesel::update(login_approvals::table.find(approval_id))
                    .set(login_approvals::failed_attempts.eq(attempts))
                    .execute(conn)
                    .await?;
                let mut events =
                    vec![event(kind::APPROVAL_CODE_REJECTED).detail(decided_by(by_session))];
                if locked {
                    set_status(status::LOCKED).execute(conn).await?;
                    events.push(event(kind::APPROVAL_LOCKED));
                }
                activity::record_many(conn, events).await?;
                let decided = if locked {
                    Decided::Locked
                } else {
                    Decided::WrongCode { tries_left }
                };
                return Ok((decided, approval, Vec::new()));
            }
            // Right code: the limit is counted again, under the lock, before admitting.
            let (active, lapsed) =
                sessions::settle(conn, user_id, now, settings.idle_timeout).await?;
            let mut events = sessions::lapsed_events(&lapsed, now);
            let decided = if active >= settings.max_sessions {
                set_status(status::SESSION_LIMIT).execute(conn).await?;
                events.push(
                    event(kind::APPROVAL_DENIED)
                        .detail(format!("Already {active} sessions active")),
                );
                Decided::SessionLimit
            } else {
                // Its token is replaced when the new device completes; until then nobody holds it.
                let client = ClientInfo {
                    device: approval.device.clone(),
                    os: approval.os.clone(),
                    browser: approval.browser.clone(),
                    user_agent: approval.user_agent.clone(),
                    ip: approval.ip.clone(),
                };
                let placeholder = security::hash_token(&security::new_token());
                let session = sessions::create(
                    conn,
                    user_id,
                    &placeholder,
                    &client,
                    now,
                    settings.absolute_lifetime,
                )
                .await?;
                set_status(status::APPROVED).execute(conn).await?;
                diesel::update(login_approvals::table.find(approval_id))
                    .set(login_approvals::session_id.eq(session.id))
                    .execute(conn)
                    .await?;
                events.push(
                    event(kind::APPROVAL_GRANTED)
                        .session(session.id)
                        .detail(decided_by(by_session)),
                );
                Decided::Approved
            };
            activity::record_many(conn, events).await?;
            Ok((decided, approval, lapsed))
        })
        .await?;

    for session in &lapsed {
        state
            .hub
            .session_ended(session.user_id, session.id, &session.end_reason);
    }
    let announce = |outcome, to_waiting| {
        announce_outcome(state, user_id, approval_id, outcome, to_waiting);
    };
    let decision = |outcome: &str| ApprovalDecision {
        approval_id,
        outcome: outcome.to_owned(),
    };
    match decided {
        Decided::Approved => {
            announce(status::APPROVED, PendingMessage::Approved);
            state.hub.sessions_changed(user_id);
            Ok(decision(status::APPROVED))
        }
        Decided::Denied => {
            announce(status::DENIED, PendingMessage::Denied);
            Ok(decision(status::DENIED))
        }
        Decided::WrongCode { tries_left } => {
            state.hub.send_to_user(
                user_id,
                &ServerMessage::ApprovalCodeRejected {
                    approval_id,
                    tries_left,
                },
            );
            Err(ApiError::WrongCode { tries_left })
        }
        Decided::Locked => {
            announce(status::LOCKED, PendingMessage::Locked);
            Err(closed_error(status::LOCKED))
        }
        Decided::Expired => {
            announce_expired(state, std::slice::from_ref(&approval));
            Err(closed_error(status::EXPIRED))
        }
        Decided::SessionLimit => {
            announce(status::SESSION_LIMIT, PendingMessage::SessionLimit);
            Err(ApiError::SessionLimit(settings.max_sessions))
        }
    }
}

fn decided_by(session: &sessions::SessionRow) -> String {
    format!("by {} ({})", session.device_label(), session.ip)
}

/// The error for acting on an approval that is no longer pending.
pub fn closed_error(current_status: &str) -> ApiError {
    let (message, code) = match current_status {
        status::APPROVED | status::COMPLETED => (
            "This login request was already approved",
            "approval_already_approved",
        ),
        status::DENIED => ("This login request was denied", "approval_denied"),
        status::LOCKED => (
            "Too many wrong codes: this login request was refused",
            "approval_locked",
        ),
        status::SESSION_LIMIT => (
            "This login request was refused: too many sessions",
            "approval_session_limit",
        ),
        status::CANCELLED => ("This login request was cancelled", "approval_cancelled"),
        _ => ("This login request has expired", "approval_expired"),
    };
    ApiError::ApprovalClosed { message, code }
}

/// Checks a pending token against an approval in constant time.
pub fn token_matches(approval: &ApprovalRow, pending_token: &str) -> bool {
    security::hashes_equal(
        &security::hash_token(pending_token),
        &approval.pending_token_hash,
    )
}

#[get("/api/approvals")]
pub async fn list_approvals(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await?;
    let rows = list_pending(&mut conn, auth.user.id, state.clock.now()).await?;
    let approvals = rows
        .iter()
        .map(|row| row.to_wire(state.settings.approval_max_attempts))
        .collect();
    Ok(HttpResponse::Ok().json(PendingApprovalList { approvals }))
}

#[post("/api/approvals/{id}/approve")]
pub async fn approve(
    auth: Authenticated,
    path: web::Path<Uuid>,
    body: web::Json<ApproveRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let code = approval_code(&body.code)?;
    let decision = decide(&state, &auth, path.into_inner(), Some(&code)).await?;
    Ok(HttpResponse::Ok().json(decision))
}

#[post("/api/approvals/{id}/deny")]
pub async fn deny(
    auth: Authenticated,
    path: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let decision = decide(&state, &auth, path.into_inner(), None).await?;
    Ok(HttpResponse::Ok().json(decision))
}

/// The new device stops waiting: the prompt disappears from the other devices.
#[post("/api/login/approvals/{id}/cancel")]
pub async fn cancel(
    path: web::Path<Uuid>,
    body: web::Json<CompleteApprovalRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let approval_id = path.into_inner();
    let pending_token = body.into_inner().pending_token;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let approval = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let approval = lock_with_token(conn, approval_id, &pending_token).await?;
            if approval.status != status::PENDING {
                return Err(closed_error(&approval.status));
            }
            diesel::update(login_approvals::table.find(approval_id))
                .set((
                    login_approvals::status.eq(status::CANCELLED),
                    login_approvals::decided_at.eq(now),
                ))
                .execute(conn)
                .await?;
            activity::record(
                conn,
                NewEvent::new(approval.user_id, kind::APPROVAL_CANCELLED, now)
                    .from_device(&approval.ip, approval.device_label()),
            )
            .await?;
            Ok(approval)
        })
        .await?;
    announce_outcome(
        &state,
        approval.user_id,
        approval_id,
        status::CANCELLED,
        PendingMessage::Cancelled,
    );
    Ok(HttpResponse::Ok().json(ApprovalDecision {
        approval_id,
        outcome: status::CANCELLED.to_owned(),
    }))
}

/// The new device trades its pending token for a session cookie, once.
#[post("/api/login/approvals/{id}/complete")]
pub async fn complete(
    path: web::Path<Uuid>,
    body: web::Json<CompleteApprovalRequest>,
    state: web::Data<AppState>,
    cookie: actix_session::Session,
) -> Result<HttpResponse, ApiError> {
    let approval_id = path.into_inner();
    let pending_token = body.into_inner().pending_token;
    let now = state.clock.now();
    let token = security::new_token();
    let token_hash = security::hash_token(&token);
    let mut conn = state.pool.get().await?;
    let (session, user) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let approval = lock_with_token(conn, approval_id, &pending_token).await?;
            match (approval.status.as_str(), approval.session_id) {
                (status::APPROVED, Some(session_id)) => {
                    sessions::replace_token(conn, session_id, &token_hash).await?;
                    diesel::update(login_approvals::table.find(approval_id))
                        .set(login_approvals::status.eq(status::COMPLETED))
                        .execute(conn)
                        .await?;
                    let session = sessions::find(conn, session_id).await?;
                    if session.ended_at.is_some() {
                        // Revoked between approval and completion.
                        return Err(ApiError::InvalidSession);
                    }
                    activity::record(
                        conn,
                        NewEvent::new(approval.user_id, kind::LOGIN, now)
                            .session(session_id)
                            .from_device(&approval.ip, approval.device_label())
                            .detail("approved by another device"),
                    )
                    .await?;
                    let user = users::find(conn, approval.user_id).await?;
                    Ok((session, user))
                }
                (status::PENDING, _) if approval.expires_at > now => {
                    Err(ApiError::ApprovalNotReady)
                }
                (status::COMPLETED, _) => Err(ApiError::ApprovalClosed {
                    message: "This login request was already used",
                    code: "approval_used",
                }),
                (other, _) => Err(closed_error(other)),
            }
        })
        .await?;
    start_cookie_session(&cookie, &token)?;
    state
        .hub
        .notify_pending(approval_id, &PendingMessage::Completed);
    state.hub.sessions_changed(user.id);
    Ok(HttpResponse::Ok().json(AuthResponse {
        user: user.to_wire(),
        session: session.to_wire(Some(session.id), state.settings.idle_timeout),
    }))
}
