//! Queries on `sign_in_history`: what an account has signed in from before.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Bool, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(diesel::QueryableByName)]
struct Seen {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Bool)]
    had_history: bool,
    #[diesel(sql_type = Bool)]
    inserted: bool,
}

/// Records each `(kind, value)` as seen on the account, in one statement (a sign-in records
/// its device, network and country); for each, in order, true when it is new to an account
/// that had already seen something of its kind (the first sign-in ever is not "new").
/// One value per kind.
pub async fn record(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    seen: &[(&str, &str)],
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<bool>> {
    let (kinds, values): (Vec<&str>, Vec<&str>) = seen.iter().copied().unzip();
    // The CTEs see the table as it was before the insert: "before" is the history as it was.
    let rows: Vec<Seen> = diesel::sql_query(
        "WITH input AS (SELECT * FROM unnest($2::text[], $3::text[]) AS input (kind, value)), \
              before AS (SELECT DISTINCT kind FROM sign_in_history \
                         WHERE user_id = $1 AND kind = ANY ($2)), \
              added AS (INSERT INTO sign_in_history (user_id, kind, value, first_seen_at) \
                        SELECT $1, kind, value, $4 FROM input \
                        ON CONFLICT DO NOTHING RETURNING kind) \
         SELECT input.kind, \
                EXISTS (SELECT 1 FROM before WHERE before.kind = input.kind) AS had_history, \
                EXISTS (SELECT 1 FROM added WHERE added.kind = input.kind) AS inserted \
         FROM input",
    )
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .bind::<Array<Text>, _>(&kinds)
    .bind::<Array<Text>, _>(&values)
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await?;
    Ok(kinds
        .iter()
        .map(|kind| {
            rows.iter()
                .any(|row| row.kind == *kind && row.had_history && row.inserted)
        })
        .collect())
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
