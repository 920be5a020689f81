//! The account's activity log: what happened, when, from where.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use shared::{ActivityEntry, Page};
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::pagination::PageQuery;
use crate::schema::activity;
use crate::startup::AppState;

/// Kinds of events, as stored and sent.
pub mod kind {
    pub const SIGNUP: &str = "signup";
    pub const LOGIN: &str = "login";
    pub const LOGIN_FAILED: &str = "login_failed";
    pub const LOGOUT: &str = "logout";
    pub const SESSION_REVOKED: &str = "session_revoked";
    pub const SESSION_EXPIRED: &str = "session_expired";
    pub const APPROVAL_REQUESTED: &str = "approval_requested";
    pub const APPROVAL_GRANTED: &str = "approval_granted";
    pub const APPROVAL_DENIED: &str = "approval_denied";
    pub const APPROVAL_CANCELLED: &str = "approval_cancelled";
    pub const APPROVAL_CODE_REJECTED: &str = "approval_code_rejected";
    pub const APPROVAL_LOCKED: &str = "approval_locked";
    pub const APPROVAL_EXPIRED: &str = "approval_expired";
    pub const PASSWORD_CHANGED: &str = "password_changed";
    pub const PROFILE_UPDATED: &str = "profile_updated";
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = activity)]
pub struct NewEvent {
    pub user_id: Uuid,
    pub kind: &'static str,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    pub device: Option<String>,
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl NewEvent {
    pub fn new(user_id: Uuid, kind: &'static str, now: DateTime<Utc>) -> Self {
        Self {
            user_id,
            kind,
            session_id: None,
            ip: None,
            device: None,
            detail: None,
            created_at: now,
        }
    }

    pub fn session(mut self, session_id: Uuid) -> Self {
        self.session_id = Some(session_id);
        self
    }

    pub fn from_device(mut self, ip: &str, device: String) -> Self {
        self.ip = Some(ip.to_owned());
        self.device = Some(device);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = activity, check_for_backend(diesel::pg::Pg))]
pub struct EventRow {
    pub id: i64,
    pub kind: String,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    pub device: Option<String>,
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub async fn record(conn: &mut AsyncPgConnection, event: NewEvent) -> QueryResult<()> {
    record_many(conn, vec![event]).await
}

pub async fn record_many(conn: &mut AsyncPgConnection, events: Vec<NewEvent>) -> QueryResult<()> {
    match events.as_slice() {
        [] => Ok(()),
        // One row (the usual case) is a fixed statement, prepared once per connection.
        [event] => diesel::insert_into(activity::table)
            .values(event)
            .execute(conn)
            .await
            .map(|_| ()),
        _ => diesel::insert_into(activity::table)
            .values(&events)
            .execute(conn)
            .await
            .map(|_| ()),
    }
}

/// Deletes events older than `cutoff` (history retention).
pub async fn purge_before(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(activity::table.filter(activity::created_at.lt(cutoff)))
        .execute(conn)
        .await
}

/// Newest first, after the event `before_id` (keyset paging).
pub async fn page(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let mut query = activity::table
        .filter(activity::user_id.eq(user_id))
        .select(EventRow::as_select())
        .order(activity::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before_id) = before_id {
        query = query.filter(activity::id.lt(before_id));
    }
    query.load(conn).await
}

#[get("/api/activity")]
pub async fn list_activity(
    auth: Authenticated,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit()?;
    let before_id = query
        .cursor
        .as_deref()
        .map(|cursor| {
            cursor
                .parse::<i64>()
                .map_err(|_| ApiError::BadRequest("Invalid cursor".into()))
        })
        .transpose()?;
    let mut conn = state.pool.get().await?;
    let rows = page(&mut conn, auth.user.id, before_id, limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    let items: Vec<ActivityEntry> = rows
        .into_iter()
        .take(limit as usize)
        .map(|row| ActivityEntry {
            id: row.id,
            kind: row.kind,
            session_id: row.session_id,
            ip: row.ip,
            device: row.device,
            detail: row.detail,
            created_at: row.created_at,
        })
        .collect();
    let next_cursor = if has_more {
        items.last().map(|item| item.id.to_string())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}
