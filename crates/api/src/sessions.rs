//! Server-side sessions: storage, expiry, listing, revocation and the session log.
//!
//! A session is *active* while `ended_at IS NULL`, it was used within the idle timeout and
//! its absolute lifetime has not passed. Sessions that lapse are ended lazily (by the next
//! request that presents them, or by a login of the same user) and in bulk by the sweeper.

use std::time::Duration;

use actix_web::{HttpResponse, delete, get, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Double, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use shared::{Page, RevokedCount, SessionHistoryEntry, SessionInfo, SessionList};
use uuid::Uuid;

use crate::activity::{self, NewEvent, kind};
use crate::auth::Authenticated;
use crate::device::ClientInfo;
use crate::error::ApiError;
use crate::pagination::PageQuery;
use crate::schema::{sessions, users};
use crate::startup::AppState;
use crate::users::UserRow;

/// Why a session ended, as stored in `end_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Logout,
    Revoked,
    IdleTimeout,
    LifetimeExceeded,
    PasswordChanged,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::Revoked => "revoked",
            Self::IdleTimeout => "idle_timeout",
            Self::LifetimeExceeded => "lifetime_exceeded",
            Self::PasswordChanged => "password_changed",
        }
    }

    /// True for the reasons that mean "expired" rather than "ended by someone".
    pub fn is_expiry_str(reason: &str) -> bool {
        reason == Self::IdleTimeout.as_str() || reason == Self::LifetimeExceeded.as_str()
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub device: String,
    pub os: String,
    pub browser: String,
    pub user_agent: String,
    pub ip: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
}

fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

impl SessionRow {
    pub fn idle_expires_at(&self, idle_timeout: Duration) -> DateTime<Utc> {
        self.last_seen_at + chrono_duration(idle_timeout)
    }

    /// Why this still-open session must end now, if it must.
    pub fn lapsed(
        &self,
        now: DateTime<Utc>,
        idle_timeout: Duration,
    ) -> Option<(EndReason, DateTime<Utc>)> {
        // Whichever deadline came first is why it ended.
        let idle_end = self.idle_expires_at(idle_timeout);
        let (reason, at) = if self.expires_at <= idle_end {
            (EndReason::LifetimeExceeded, self.expires_at)
        } else {
            (EndReason::IdleTimeout, idle_end)
        };
        (at <= now).then_some((reason, at))
    }

    /// "Chrome 120 on Linux (Desktop)", for logs and prompts.
    pub fn device_label(&self) -> String {
        crate::device::label(&self.browser, &self.os, &self.device)
    }

    pub fn to_wire(&self, current: Option<Uuid>, idle_timeout: Duration) -> SessionInfo {
        SessionInfo {
            id: self.id,
            device: self.device.clone(),
            os: self.os.clone(),
            browser: self.browser.clone(),
            ip: self.ip.clone(),
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            idle_expires_at: self.idle_expires_at(idle_timeout).min(self.expires_at),
            expires_at: self.expires_at,
            current: current == Some(self.id),
        }
    }

    fn to_history(
        &self,
        current: Uuid,
        now: DateTime<Utc>,
        idle_timeout: Duration,
    ) -> SessionHistoryEntry {
        SessionHistoryEntry {
            id: self.id,
            device: self.device.clone(),
            os: self.os.clone(),
            browser: self.browser.clone(),
            user_agent: self.user_agent.clone(),
            ip: self.ip.clone(),
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            ended_at: self.ended_at,
            end_reason: self.end_reason.clone(),
            active: self.ended_at.is_none() && self.lapsed(now, idle_timeout).is_none(),
            current: self.id == current,
        }
    }
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    token_hash: &[u8],
    client: &ClientInfo,
    now: DateTime<Utc>,
    lifetime: Duration,
) -> QueryResult<SessionRow> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(Uuid::new_v4()),
            sessions::user_id.eq(user_id),
            sessions::token_hash.eq(token_hash),
            sessions::device.eq(&client.device),
            sessions::os.eq(&client.os),
            sessions::browser.eq(&client.browser),
            sessions::user_agent.eq(&client.user_agent),
            sessions::ip.eq(&client.ip),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(now + chrono_duration(lifetime)),
        ))
        .returning(SessionRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<SessionRow> {
    sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)
        .await
}

/// The hot path of every authenticated request: sessions by token hash, with their users,
/// many at once (see `session_lookup`). Takes a shared connection: concurrent queries are
/// pipelined on it.
pub async fn find_with_users_by_tokens(
    conn: &AsyncPgConnection,
    token_hashes: &[&[u8]],
) -> QueryResult<Vec<(Vec<u8>, SessionRow, UserRow)>> {
    let mut shared = conn;
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq_any(token_hashes))
        .select((
            sessions::token_hash,
            SessionRow::as_select(),
            UserRow::as_select(),
        ))
        .load(&mut shared)
        .await
}

pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::last_seen_at.eq(now))
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn replace_token(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    token_hash: &[u8],
) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::token_hash.eq(token_hash))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Ends one open session; false when it had already ended.
pub async fn end(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    reason: EndReason,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::ended_at.is_null()),
    )
    .set((
        sessions::ended_at.eq(at),
        sessions::end_reason.eq(reason.as_str()),
    ))
    .execute(conn)
    .await
    .map(|changed| changed == 1)
}

/// Ends every open session of the user but one; returns the ids ended.
pub async fn end_others(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    keep: Uuid,
    reason: EndReason,
    now: DateTime<Utc>,
) -> QueryResult<Vec<Uuid>> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.ne(keep))
            .filter(sessions::ended_at.is_null()),
    )
    .set((
        sessions::ended_at.eq(now),
        sessions::end_reason.eq(reason.as_str()),
    ))
    .returning(sessions::id)
    .get_results(conn)
    .await
}

#[derive(Debug, QueryableByName)]
pub struct Lapsed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = Text)]
    pub end_reason: String,
    #[diesel(sql_type = Text)]
    pub ip: String,
    #[diesel(sql_type = Text)]
    pub label: String,
}

/// Ends open sessions whose time is up, of one user or of everyone, with the moment they
/// really lapsed as `ended_at`.
pub async fn end_lapsed(
    conn: &mut AsyncPgConnection,
    user_id: Option<Uuid>,
    now: DateTime<Utc>,
    idle_timeout: Duration,
) -> QueryResult<Vec<Lapsed>> {
    // Two statements rather than `($3 OR user_id = $4)`: that form hides the user from the
    // planner, and a login would scan every open session instead of the user's few.
    const END_LAPSED: &str = "UPDATE sessions SET \
            ended_at = LEAST(expires_at, last_seen_at + make_interval(secs => $2)), \
            end_reason = CASE WHEN expires_at <= last_seen_at + make_interval(secs => $2) \
                              THEN 'lifetime_exceeded' ELSE 'idle_timeout' END \
         WHERE ended_at IS NULL \
           AND (expires_at <= $1 OR last_seen_at <= $1 - make_interval(secs => $2))";
    const RETURNING: &str = " RETURNING id, user_id, end_reason, ip, browser || ' on ' || os || ' (' || device || ')' AS label";
    let idle = idle_timeout.as_secs_f64();
    match user_id {
        Some(user_id) => {
            diesel::sql_query(format!("{END_LAPSED} AND user_id = $3{RETURNING}"))
                .bind::<Timestamptz, _>(now)
                .bind::<Double, _>(idle)
                .bind::<diesel::sql_types::Uuid, _>(user_id)
                .load(conn)
                .await
        }
        None => {
            diesel::sql_query(format!("{END_LAPSED}{RETURNING}"))
                .bind::<Timestamptz, _>(now)
                .bind::<Double, _>(idle)
                .load(conn)
                .await
        }
    }
}

/// Ends the user's lapsed sessions and counts the active ones, for a decision about the
/// session limit (call under the user's row lock). The common case — nothing lapsed — is one
/// prepared query over the user's open sessions.
pub async fn settle(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
    idle_timeout: Duration,
) -> QueryResult<(i64, Vec<Lapsed>)> {
    let open: Vec<(DateTime<Utc>, DateTime<Utc>)> = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .select((sessions::last_seen_at, sessions::expires_at))
        .load(conn)
        .await?;
    let idle = chrono_duration(idle_timeout);
    let lapsed_count = open
        .iter()
        .filter(|(last_seen, expires)| *expires <= now || *last_seen + idle <= now)
        .count();
    let lapsed = if lapsed_count > 0 {
        end_lapsed(conn, Some(user_id), now, idle_timeout).await?
    } else {
        Vec::new()
    };
    Ok(((open.len() - lapsed_count) as i64, lapsed))
}

/// Deletes sessions that ended before `cutoff` (history retention).
pub async fn purge_ended_before(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::ended_at.lt(cutoff)))
        .execute(conn)
        .await
}

/// Activity events for sessions that lapsed.
pub fn lapsed_events(lapsed: &[Lapsed], now: DateTime<Utc>) -> Vec<NewEvent> {
    lapsed
        .iter()
        .map(|session| {
            NewEvent::new(session.user_id, kind::SESSION_EXPIRED, now)
                .session(session.id)
                .from_device(&session.ip, session.label.clone())
                .detail(session.end_reason.clone())
        })
        .collect()
}

/// Open sessions still within their time, oldest first.
pub async fn list_active(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
    idle_timeout: Duration,
) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::last_seen_at.gt(now - chrono_duration(idle_timeout)))
        .select(SessionRow::as_select())
        .order(sessions::created_at.asc())
        .load(conn)
        .await
}

/// The session log, newest first, strictly after `(created_at, id)` of the cursor.
pub async fn history_page(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<SessionRow>> {
    let mut query = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .select(SessionRow::as_select())
        .order((sessions::created_at.desc(), sessions::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((created_at, id)) = after {
        // A row comparison lets PostgreSQL walk the (user_id, created_at, id) index directly.
        query = query.filter(
            diesel::dsl::sql::<Bool>("(sessions.created_at, sessions.id) < (")
                .bind::<Timestamptz, _>(created_at)
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .sql(")"),
        );
    }
    query.load(conn).await
}

fn encode_cursor(row: &SessionRow) -> String {
    format!("{}_{}", row.created_at.timestamp_micros(), row.id)
}

fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let invalid = || ApiError::BadRequest("Invalid cursor".into());
    let (micros, id) = cursor.split_once('_').ok_or_else(invalid)?;
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
    Ok((at, id.parse().map_err(|_| invalid())?))
}

#[get("/api/sessions")]
pub async fn list_sessions(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let idle = state.settings.idle_timeout;
    let mut conn = state.pool.get().await?;
    let rows = list_active(&mut conn, auth.user.id, state.clock.now(), idle).await?;
    let sessions = rows
        .iter()
        .map(|row| row.to_wire(Some(auth.session.id), idle))
        .collect();
    Ok(HttpResponse::Ok().json(SessionList { sessions }))
}

#[get("/api/sessions/history")]
pub async fn session_history(
    auth: Authenticated,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit()?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut conn = state.pool.get().await?;
    let rows = history_page(&mut conn, auth.user.id, after, limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let now = state.clock.now();
    let items = rows
        .iter()
        .map(|row| row.to_history(auth.session.id, now, state.settings.idle_timeout))
        .collect();
    let next_cursor = if has_more {
        rows.last().map(encode_cursor)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// Ends one of the user's own sessions (the current one included: that is a logout).
#[delete("/api/sessions/{id}")]
pub async fn revoke_session(
    auth: Authenticated,
    path: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let target = path.into_inner();
    let now = state.clock.now();
    let user_id = auth.user.id;
    let by = auth.session.clone();
    let mut conn = state.pool.get().await?;
    let revoked = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let ended = diesel::update(
                sessions::table
                    .find(target)
                    .filter(sessions::user_id.eq(user_id))
                    .filter(sessions::ended_at.is_null()),
            )
            .set((
                sessions::ended_at.eq(now),
                sessions::end_reason.eq(EndReason::Revoked.as_str()),
            ))
            .returning(SessionRow::as_returning())
            .get_result(conn)
            .await
            .optional()?;
            let Some(ended) = ended else { return Ok(false) };
            activity::record(
                conn,
                NewEvent::new(user_id, kind::SESSION_REVOKED, now)
                    .session(ended.id)
                    .from_device(&ended.ip, ended.device_label())
                    .detail(format!("by {} ({})", by.device_label(), by.ip)),
            )
            .await?;
            Ok(true)
        })
        .await?;
    if !revoked {
        return Err(ApiError::NotFound("No such active session"));
    }
    state
        .hub
        .session_ended(user_id, target, EndReason::Revoked.as_str());
    Ok(HttpResponse::NoContent().finish())
}

#[delete("/api/sessions/others")]
pub async fn revoke_other_sessions(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let user_id = auth.user.id;
    let by = auth.session.clone();
    let mut conn = state.pool.get().await?;
    let ended = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let ended = end_others(conn, user_id, by.id, EndReason::Revoked, now).await?;
            let detail = format!("by {} ({})", by.device_label(), by.ip);
            let events = ended
                .iter()
                .map(|id| {
                    NewEvent::new(user_id, kind::SESSION_REVOKED, now)
                        .session(*id)
                        .detail(detail.clone())
                })
                .collect();
            activity::record_many(conn, events).await?;
            Ok(ended)
        })
        .await?;
    for session_id in &ended {
        state
            .hub
            .session_ended(user_id, *session_id, EndReason::Revoked.as_str());
    }
    Ok(HttpResponse::Ok().json(RevokedCount {
        revoked: ended.len(),
    }))
}
