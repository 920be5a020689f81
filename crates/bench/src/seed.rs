//! Bulk data straight into PostgreSQL (the API would take hours to sign up 100 000 users).

use anyhow::{Context, Result};
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

pub const PASSWORD: &str = "bench password 1";
pub const USERS: i64 = 100_000;

pub fn user_email(i: i64) -> String {
    format!("user{i}@bench.test")
}

pub async fn connect(url: &str) -> Result<AsyncPgConnection> {
    AsyncPgConnection::establish(url)
        .await
        .with_context(|| format!("connecting to {url}"))
}

pub async fn recreate_database(admin_url: &str, name: &str) -> Result<()> {
    let mut conn = connect(admin_url).await?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// 100 000 users sharing one real argon2id hash of [`PASSWORD`]. Confirmed: the server's
/// sweeper deletes unconfirmed accounts without sessions, which would pull users from under
/// the growth phase once it clears the seeded sessions.
pub async fn users(conn: &mut AsyncPgConnection, password_hash: &str) -> Result<()> {
    diesel::sql_query(
        "INSERT INTO users (id, email, name, password_hash, created_at, updated_at, email_verified_at) \
         SELECT md5('user' || i)::uuid, 'user' || i || '@bench.test', 'User ' || i, $1, \
                now() - interval '30 days', now() - interval '30 days', now() - interval '30 days' \
         FROM generate_series(1, $2) i",
    )
    .bind::<Text, _>(password_hash)
    .bind::<BigInt, _>(USERS)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sessions `from..=to`, spread over the users; those numbered up to `active_up_to` stay
/// active, the rest ended. User `i` gets sessions `i`, `i + USERS`, `i + 2 * USERS`, ...
pub async fn sessions(
    conn: &mut AsyncPgConnection,
    from: i64,
    to: i64,
    active_up_to: i64,
) -> Result<()> {
    // In slices, so one statement never holds a huge transaction.
    let mut start = from;
    while start <= to {
        let end = (start + 99_999).min(to);
        diesel::sql_query(
            "INSERT INTO sessions (id, user_id, token_hash, device, os, browser, user_agent, ip, \
                                   created_at, last_seen_at, expires_at, ended_at, end_reason, \
                                   proved_at, proof_method) \
             SELECT md5('session' || i)::uuid, md5('user' || ((i - 1) % $3 + 1))::uuid, \
                    sha256(convert_to('seed-token-' || i, 'UTF8')), 'Desktop', 'Linux', 'Chrome 120', \
                    'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0', '10.0.0.1', \
                    now() - interval '3 days' + i * interval '1 millisecond', now(), now() + interval '7 days', \
                    CASE WHEN i <= $4 THEN NULL ELSE now() - interval '1 day' END, \
                    CASE WHEN i <= $4 THEN NULL ELSE 'logout' END, \
                    now() - interval '3 days' + i * interval '1 millisecond', 'password' \
             FROM generate_series($1, $2) i",
        )
        .bind::<BigInt, _>(start)
        .bind::<BigInt, _>(end)
        .bind::<BigInt, _>(USERS)
        .bind::<BigInt, _>(active_up_to)
        .execute(conn)
        .await?;
        start = end + 1;
    }
    diesel::sql_query("ANALYZE sessions").execute(conn).await?;
    Ok(())
}

/// A long session log for one user: `count` ended sessions, one per minute back in time.
pub async fn long_history(
    conn: &mut AsyncPgConnection,
    user_id: uuid::Uuid,
    count: i64,
) -> Result<()> {
    diesel::sql_query(
        "INSERT INTO sessions (id, user_id, token_hash, device, os, browser, user_agent, ip, \
                               created_at, last_seen_at, expires_at, ended_at, end_reason, \
                               proved_at, proof_method) \
         SELECT md5('history' || i)::uuid, $1, sha256(convert_to('history-token-' || i, 'UTF8')), \
                'Desktop', 'Linux', 'Chrome 120', 'Mozilla/5.0', '10.0.0.2', \
                now() - interval '1 hour' - i * interval '1 minute', now() - i * interval '1 minute', \
                now() + interval '1 day', now() - i * interval '1 minute', 'logout', \
                now() - interval '1 hour' - i * interval '1 minute', 'password' \
         FROM generate_series(1, $2) i",
    )
    .bind::<SqlUuid, _>(user_id)
    .bind::<BigInt, _>(count)
    .execute(conn)
    .await?;
    diesel::sql_query("ANALYZE sessions").execute(conn).await?;
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct CursorRow {
    #[diesel(sql_type = BigInt)]
    micros: i64,
    #[diesel(sql_type = Text)]
    id: String,
}

/// The API's history cursor pointing `depth` rows into the user's log.
pub async fn history_cursor(
    conn: &mut AsyncPgConnection,
    user_id: uuid::Uuid,
    depth: i64,
) -> Result<String> {
    let row: CursorRow = diesel::sql_query(
        "SELECT (extract(epoch FROM created_at) * 1000000)::bigint AS micros, id::text AS id FROM sessions \
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1",
    )
    .bind::<SqlUuid, _>(user_id)
    .bind::<BigInt, _>(depth)
    .get_result(conn)
    .await?;
    Ok(format!("{}_{}", row.micros, row.id))
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub async fn count(conn: &mut AsyncPgConnection, table: &str) -> Result<i64> {
    let row: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result(conn)
        .await?;
    Ok(row.n)
}

#[derive(diesel::QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

/// The id of seeded user `i`.
pub async fn user_id(conn: &mut AsyncPgConnection, i: i64) -> Result<uuid::Uuid> {
    let row: IdRow = diesel::sql_query("SELECT md5('user' || $1)::uuid::text AS id")
        .bind::<BigInt, _>(i)
        .get_result(conn)
        .await?;
    Ok(row.id.parse()?)
}
