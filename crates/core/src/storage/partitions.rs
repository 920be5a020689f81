//! Time partitions of the tables that grow with every request (migration
//! `2026-12-11-000001_partitioned_history`): created ahead of the rows that will need them,
//! dropped whole once past their retention. The work is done by two SQL functions of that
//! migration (since `2026-12-17-000001_partition_maintenance_locks_the_parent_first`, they lock
//! what the DDL needs in the application's order: the tables the foreign keys point to, then
//! the parent, before any partition); this module names the tables and calls them.

use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::{Integer, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A table partitioned by range on a timestamp.
#[derive(Debug, Clone, Copy)]
pub struct TimePartitioned {
    pub table: &'static str,
    /// The width of one partition, a `date_trunc` unit (in UTC).
    pub unit: &'static str,
    /// How far ahead of now partitions exist, so that inserts never wait for one.
    pub ahead: Duration,
}

/// The account's log: monthly, kept `HISTORY_RETENTION_DAYS`.
pub const ACTIVITY: TimePartitioned = TimePartitioned {
    table: "activity",
    unit: "month",
    ahead: Duration::days(62),
};

/// Login throttle slots: hourly, kept for the longest throttle window.
pub const LOGIN_ATTEMPTS: TimePartitioned = TimePartitioned {
    table: "login_attempts",
    unit: "hour",
    ahead: Duration::hours(3),
};

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = Integer)]
    count: i32,
}

fn count(row: Count) -> usize {
    usize::try_from(row.count).unwrap_or(0)
}

/// Creates the partitions from the one holding `now` to `now + ahead` that do not exist
/// yet; returns how many it created.
pub async fn create_ahead(
    conn: &mut AsyncPgConnection,
    table: TimePartitioned,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query("SELECT create_time_partitions($1::regclass, $2, $3, $4) AS count")
        .bind::<Text, _>(table.table)
        .bind::<Text, _>(table.unit)
        .bind::<Timestamptz, _>(now)
        .bind::<Timestamptz, _>(now + table.ahead)
        .get_result::<Count>(conn)
        .await
        .map(count)
}

/// Drops the partitions wholly before `cutoff`; returns how many it dropped.
pub async fn drop_before(
    conn: &mut AsyncPgConnection,
    table: TimePartitioned,
    cutoff: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query("SELECT drop_time_partitions_before($1::regclass, $2) AS count")
        .bind::<Text, _>(table.table)
        .bind::<Timestamptz, _>(cutoff)
        .get_result::<Count>(conn)
        .await
        .map(count)
}

/// Bounds how long partition DDL waits for a table lock (for this connection's session):
/// behind a waiting `DROP`, every insert into the table would queue. Maintenance that times
/// out is retried at the next pass.
pub async fn bound_lock_waits(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    diesel::sql_query("SET lock_timeout = '2s'")
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn unbound_lock_waits(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    diesel::sql_query("RESET lock_timeout")
        .execute(conn)
        .await
        .map(|_| ())
}
