//! Queries on `email_links`: one-time links sent by mail, stored as their tokens' hashes.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Bytea, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

pub async fn insert(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    purpose: &str,
    email: &str,
    token_hash: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO email_links (token_hash, user_id, purpose, email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind::<Bytea, _>(token_hash)
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .bind::<Text, _>(purpose)
    .bind::<Text, _>(email)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, diesel::QueryableByName)]
struct Used {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    user_id: Uuid,
}

/// Uses the link with this hash and purpose if it is unused, unexpired and was sent to the
/// account's current address: marks it used and returns its user. `None` for any other
/// link, so that every failure looks alike.
pub async fn redeem(
    conn: &mut AsyncPgConnection,
    purpose: &str,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> diesel::QueryResult<Option<Uuid>> {
    let used = diesel::sql_query(
        "UPDATE email_links l SET used_at = $3 \
         FROM users u \
         WHERE l.token_hash = $1 AND l.purpose = $2 AND l.used_at IS NULL \
           AND l.expires_at > $3 AND u.id = l.user_id AND u.email = l.email \
         RETURNING l.user_id",
    )
    .bind::<Bytea, _>(token_hash)
    .bind::<Text, _>(purpose)
    .bind::<Timestamptz, _>(now)
    .load::<Used>(conn)
    .await?
    .into_iter()
    .next();
    Ok(used.map(|used| used.user_id))
}

/// The user of a link that `redeem` would take now, without using it.
pub async fn peek(
    conn: &mut AsyncPgConnection,
    purpose: &str,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> diesel::QueryResult<Option<Uuid>> {
    let found: Vec<Used> = diesel::sql_query(
        "SELECT l.user_id FROM email_links l JOIN users u ON u.id = l.user_id \
         WHERE l.token_hash = $1 AND l.purpose = $2 AND l.used_at IS NULL \
           AND l.expires_at > $3 AND u.email = l.email",
    )
    .bind::<Bytea, _>(token_hash)
    .bind::<Text, _>(purpose)
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await?;
    Ok(found.into_iter().next().map(|used| used.user_id))
}

/// Voids the account's other unused links of these purposes, in one statement (a used reset
/// link voids the rest; a new verification mail does not void the earlier one).
pub async fn void_unused(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    purposes: &[&str],
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "UPDATE email_links SET used_at = $3 \
         WHERE user_id = $1 AND purpose = ANY($2) AND used_at IS NULL",
    )
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .bind::<diesel::sql_types::Array<Text>, _>(purposes)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
}

/// The earliest event reported by the user's links of this purpose that still work, and the
/// one just used (`token_hash`): a link's `created_at` is the time of what its mail reports.
pub async fn earliest_open_event(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    purpose: &str,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> diesel::QueryResult<Option<DateTime<Utc>>> {
    #[derive(diesel::QueryableByName)]
    struct Earliest {
        #[diesel(sql_type = diesel::sql_types::Nullable<Timestamptz>)]
        at: Option<DateTime<Utc>>,
    }
    let found: Earliest = diesel::sql_query(
        "SELECT min(created_at) AS at FROM email_links \
         WHERE user_id = $1 AND purpose = $2 AND expires_at > $4 \
           AND (used_at IS NULL OR token_hash = $3)",
    )
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .bind::<Text, _>(purpose)
    .bind::<Bytea, _>(token_hash)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await?;
    Ok(found.at)
}

/// Every unused link of the user, whatever its purpose.
pub async fn void_all_unused(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query("UPDATE email_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
        .bind::<diesel::sql_types::Uuid, _>(user_id)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await
}

/// Deletes links that expired before `cutoff`.
pub async fn purge_expired_before(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query("DELETE FROM email_links WHERE expires_at < $1")
        .bind::<Timestamptz, _>(cutoff)
        .execute(conn)
        .await
}

/// Stores a link that moves the account from `email` (its address now) to `new_email`.
#[allow(clippy::too_many_arguments)] // one row's columns
pub async fn insert_change(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    email: &str,
    new_email: &str,
    token_hash: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO email_links \
             (token_hash, user_id, purpose, email, new_email, created_at, expires_at) \
         VALUES ($1, $2, 'change_email', $3, $4, $5, $6)",
    )
    .bind::<Bytea, _>(token_hash)
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .bind::<Text, _>(email)
    .bind::<Text, _>(new_email)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, diesel::QueryableByName)]
pub struct Change {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = Text)]
    pub new_email: String,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
}

/// Uses a change-of-address link, as `redeem` does (unused, unexpired, and the account
/// still at the address it was asked from): the account and the address asked for.
pub async fn redeem_change(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> diesel::QueryResult<Option<Change>> {
    let used: Vec<Change> = diesel::sql_query(
        "UPDATE email_links l SET used_at = $2 \
         FROM users u \
         WHERE l.token_hash = $1 AND l.purpose = 'change_email' AND l.used_at IS NULL \
           AND l.expires_at > $2 AND u.id = l.user_id AND u.email = l.email \
         RETURNING l.user_id, l.new_email, l.expires_at",
    )
    .bind::<Bytea, _>(token_hash)
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await?;
    Ok(used.into_iter().next())
}

/// The change of address waiting for its link, if any (the latest asked for).
pub async fn pending_change(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Option<Change>> {
    let pending: Vec<Change> = diesel::sql_query(
        "SELECT l.user_id, l.new_email, l.expires_at FROM email_links l \
         JOIN users u ON u.id = l.user_id \
         WHERE l.user_id = $1 AND l.purpose = 'change_email' AND l.used_at IS NULL \
           AND l.expires_at > $2 AND u.email = l.email \
         ORDER BY l.created_at DESC LIMIT 1",
    )
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await?;
    Ok(pending.into_iter().next())
}
