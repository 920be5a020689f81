//! Queries on `sign_in_history`: what an account has signed in from before.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Bool, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(diesel::QueryableByName)]
struct Seen {
    #[diesel(sql_type = Bool)]
    had_history: bool,
    #[diesel(sql_type = Bool)]
    inserted: bool,
}

/// Records `value` as seen on the account; true when it is new to an account that had
/// already seen something of this kind (the first sign-in ever is not "new").
pub async fn record(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    kind: &str,
    value: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<bool> {
    let seen: Seen = diesel::sql_query(
        "WITH before AS (SELECT EXISTS (SELECT 1 FROM sign_in_history \
                                         WHERE user_id = $1 AND kind = $2) AS had_history), \
              added AS (INSERT INTO sign_in_history (user_id, kind, value, first_seen_at) \
                        VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1) \
         SELECT (SELECT had_history FROM before) AS had_history, \
                EXISTS (SELECT 1 FROM added) AS inserted",
    )
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .bind::<Text, _>(kind)
    .bind::<Text, _>(value)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await?;
    Ok(seen.had_history && seen.inserted)
}

/// What the account signed in from before (devices, networks, countries), oldest first.
#[derive(Debug, diesel::QueryableByName, serde::Serialize)]
pub struct SeenBefore {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub value: String,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub first_seen_at: DateTime<Utc>,
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> diesel::QueryResult<Vec<SeenBefore>> {
    diesel::sql_query(
        "SELECT kind, value, first_seen_at FROM sign_in_history \
         WHERE user_id = $1 ORDER BY first_seen_at, kind, value",
    )
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .load(conn)
    .await
}
