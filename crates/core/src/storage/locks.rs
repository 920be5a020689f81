//! PostgreSQL advisory locks that make one instance do a job the others then skip.

use diesel::sql_types::{BigInt, Bool};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// The housekeeping pass (see `services::sweeper`).
pub const SWEEPER: i64 = 7_215_002;

/// Running the embedded migrations (see `storage::db::run_migrations`).
pub const MIGRATIONS: i64 = 7_215_003;

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Takes the lock for this connection's session if nobody holds it; false otherwise.
pub async fn try_lock(conn: &mut AsyncPgConnection, key: i64) -> diesel::QueryResult<bool> {
    diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<BigInt, _>(key)
        .get_result::<Locked>(conn)
        .await
        .map(|row| row.locked)
}

pub async fn unlock(conn: &mut AsyncPgConnection, key: i64) -> diesel::QueryResult<bool> {
    diesel::sql_query("SELECT pg_advisory_unlock($1) AS locked")
        .bind::<BigInt, _>(key)
        .get_result::<Locked>(conn)
        .await
        .map(|row| row.locked)
}
