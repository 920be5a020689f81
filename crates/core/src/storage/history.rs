//! Queries on `sign_in_history`: what an account has signed in from before.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[diesel::declare_sql_function]
extern "SQL" {
    /// `migrations/2026-12-14-000001_login_statements_prepared`.
    fn record_sign_in(
        user_id: diesel::sql_types::Uuid,
        kinds: Array<Text>,
        values: Array<Text>,
        now: Timestamptz,
    ) -> Array<Bool>;
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
    // A function call, which diesel keeps prepared (the data-modifying CTE inside it could
    // only be sent as raw SQL, planned anew at every sign-in).
    diesel::select(record_sign_in(user_id, &kinds, &values, now))
        .get_result(conn)
        .await
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
