//! Queries on `api_keys`: the admin API's keys, stored as their hashes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::model::api_key::Scope;
use crate::storage::schema::api_keys;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub name: String,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Inserts a key; `Ok(None)` when the name is taken.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    name: &str,
    scope: Scope,
    key_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<ApiKeyRow>> {
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(Uuid::new_v4()),
            api_keys::name.eq(name),
            api_keys::scope.eq(scope),
            api_keys::key_hash.eq(key_hash),
            api_keys::created_at.eq(now),
        ))
        .on_conflict(api_keys::name)
        .do_nothing()
        .returning(ApiKeyRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Every key, revoked ones included, oldest first.
pub async fn list(conn: &mut AsyncPgConnection) -> QueryResult<Vec<ApiKeyRow>> {
    api_keys::table
        .order((api_keys::created_at, api_keys::name))
        .select(ApiKeyRow::as_select())
        .load(conn)
        .await
}

/// The unrevoked key with this hash.
pub async fn find_live(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKeyRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(api_keys::table.find(id))
        .set(api_keys::last_used_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Revokes the key with this name; the key as revoked, `None` when there is no such key
/// or it was revoked before.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    name: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<ApiKeyRow>> {
    diesel::update(
        api_keys::table
            .filter(api_keys::name.eq(name))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now))
    .returning(ApiKeyRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}
