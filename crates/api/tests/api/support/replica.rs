//! A PostgreSQL primary and a streaming replica of it (`pg_harness`, shared with the bench),
//! with what the tests do to it: pause its replay, wait until it has caught up.

use std::ops::Deref;

pub struct ReplicatedPostgres(pg_harness::ReplicatedPostgres);

impl Deref for ReplicatedPostgres {
    type Target = pg_harness::ReplicatedPostgres;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl ReplicatedPostgres {
    /// Blocking (about 15 s): call it in `spawn_blocking`.
    pub fn start() -> Self {
        Self(pg_harness::ReplicatedPostgres::start("").expect("a primary and its replica start"))
    }

    /// Stops the replica at once (as a crash would).
    pub fn stop_replica(&self) {
        self.0.stop_replica().expect("the replica stops");
    }

    /// Pauses (or resumes) the replica's replay of the primary's changes.
    pub async fn pause_replay(&self, paused: bool) {
        let call = if paused {
            "SELECT pg_wal_replay_pause()"
        } else {
            "SELECT pg_wal_replay_resume()"
        };
        execute(&self.replica_url("postgres"), call).await;
    }

    /// Waits until the replica has replayed everything the primary wrote so far.
    pub async fn wait_until_replayed(&self) {
        let target = number(
            &self.primary_url("postgres"),
            "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint AS n",
        )
        .await;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let replayed = number(
                &self.replica_url("postgres"),
                "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS n",
            )
            .await;
            if replayed >= target {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the replica did not catch up"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// A query's one bigint `n`.
async fn number(url: &str, query: &str) -> i64 {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .expect("the test's PostgreSQL answers");
    diesel::sql_query(query)
        .get_result::<Row>(&mut conn)
        .await
        .expect("query runs")
        .n
}

async fn execute(url: &str, statement: &str) {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .expect("the test's PostgreSQL answers");
    diesel::sql_query(statement)
        .execute(&mut conn)
        .await
        .expect("statement runs");
}
