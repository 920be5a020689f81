//! Queries on `activity`, the account's log.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::model::activity::ActivityKind;
use crate::storage::schema::activity;

/// One entry to write.
#[derive(Debug, Clone, Insertable)]
// `None` as NULL, not DEFAULT (the same here: these columns default to NULL): a DEFAULT makes
// diesel send the statement unprepared.
#[diesel(table_name = activity, treat_none_as_default_value = false)]
pub struct NewEntry {
    pub user_id: Uuid,
    pub kind: ActivityKind,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    pub device: Option<String>,
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl NewEntry {
    pub fn new(user_id: Uuid, kind: ActivityKind, now: DateTime<Utc>) -> Self {
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
pub struct EntryRow {
    pub id: i64,
    pub kind: String,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    pub device: Option<String>,
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, entries: &[NewEntry]) -> QueryResult<()> {
    // One to three rows (a login writes up to three) as fixed statements, which diesel keeps
    // prepared per connection; a slice's statement varies with its length and is sent
    // unprepared.
    let insert = diesel::insert_into(activity::table);
    if let [entry] = entries {
        insert.values(entry).execute(conn).await?;
    } else if let Ok(two) = <&[NewEntry; 2]>::try_from(entries) {
        insert.values(two).execute(conn).await?;
    } else if let Ok(three) = <&[NewEntry; 3]>::try_from(entries) {
        insert.values(three).execute(conn).await?;
    } else if !entries.is_empty() {
        insert.values(entries).execute(conn).await?;
    }
    Ok(())
}

/// Newest first, after the entry `before_id` (keyset paging).
pub async fn page(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<EntryRow>> {
    let mut query = activity::table
        .filter(activity::user_id.eq(user_id))
        .select(EntryRow::as_select())
        .order(activity::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before_id) = before_id {
        query = query.filter(activity::id.lt(before_id));
    }
    query.load(conn).await
}

/// A failed login: an entry for a known account, nothing for an unknown email — in the same
/// single statement either way, so both cost the same time.
pub async fn record_failed_login(
    conn: &mut AsyncPgConnection,
    user_id: Option<Uuid>,
    ip: &str,
    device: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    use diesel::sql_types::{Nullable, Text, Timestamptz};
    diesel::sql_query(
        "INSERT INTO activity (user_id, kind, ip, device, created_at) \
         SELECT $1, $2, $3, $4, $5 WHERE $1 IS NOT NULL",
    )
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(user_id)
    .bind::<Text, _>(ActivityKind::LoginFailed.as_str())
    .bind::<Text, _>(ip)
    .bind::<Text, _>(device)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Entries of these kinds, newest first, after the entry `before_id` (the data export's
/// alerts).
pub async fn page_of_kinds(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    kinds: &[&str],
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<EntryRow>> {
    let mut query = activity::table
        .filter(activity::user_id.eq(user_id))
        .filter(activity::kind.eq_any(kinds.to_vec()))
        .select(EntryRow::as_select())
        .order(activity::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before_id) = before_id {
        query = query.filter(activity::id.lt(before_id));
    }
    query.load(conn).await
}
