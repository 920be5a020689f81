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
