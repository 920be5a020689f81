//! The read replica (`DATABASE_REPLICA_URL`): the reads that tolerate lag — the session list,
//! the session log, the activity log and the admin reads — go to a streaming replica, unless
//! it is down or has not replayed the reader's own last change yet (read-your-writes); then
//! they go to the primary. A replica is never the reason a read fails.
//!
//! Read-your-writes: after a unit of work that changed accounts commits, [`record_writes`]
//! stores, per account, the primary's WAL insert position at that moment (which lies past
//! the commit record) in `last_writes`. A read for an account uses the replica only once
//! the replica's `pg_last_wal_replay_lsn()` has reached that position.

use std::sync::Mutex;
use std::time::Duration;

use diesel::sql_types::{Array, BigInt, Nullable};
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio::time::Instant;
use uuid::Uuid;

use crate::config::database::DatabaseSettings;
use crate::error::Error;
use crate::storage::db::{DbConn, DbPool};
use crate::telemetry::metrics::REPLICA_READS;

/// The longest wait for a replica connection: past it the primary answers instead.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

pub struct Replica {
    pool: DbPool,
    /// How long reads leave the replica alone after it failed.
    retry: Duration,
    /// Until when (after a failure) reads skip it without trying.
    resting_until: Mutex<Option<Instant>>,
}

/// Why a read went to the primary although a replica is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skipped {
    /// It failed a moment ago (`DB_REPLICA_RETRY_SECS`).
    Resting,
    /// It could not be reached or queried now.
    Down,
    /// It has not replayed the account's last change yet.
    Behind,
}

impl Skipped {
    fn as_str(self) -> &'static str {
        match self {
            Self::Resting => "resting",
            Self::Down => "down",
            Self::Behind => "behind",
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Position {
    #[diesel(sql_type = Nullable<BigInt>)]
    lsn: Option<i64>,
}

impl Replica {
    /// The pool of `DATABASE_REPLICA_URL`, if set (connections open when first used).
    pub fn from_settings(settings: &DatabaseSettings) -> Result<Option<Self>, String> {
        let Some(url) = &settings.replica_url else {
            return Ok(None);
        };
        let mut config = ManagerConfig::default();
        config.recycling_method = RecyclingMethod::Fast;
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
            url.expose(),
            config,
        );
        let timeout = settings.timeout.min(CONNECT_TIMEOUT);
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|error| error.to_string())?;
        Ok(Some(Self {
            pool,
            retry: settings.replica_retry,
            resting_until: Mutex::new(None),
        }))
    }

    fn resting(&self) -> bool {
        self.resting_until
            .lock()
            .map(|until| until.is_some_and(|until| Instant::now() < until))
            .unwrap_or(false)
    }

    fn rest(&self) {
        if let Ok(mut until) = self.resting_until.lock() {
            *until = Some(Instant::now() + self.retry);
        }
    }

    /// A replica connection that has replayed `fence` (the account's last change), or why not.
    async fn caught_up(&self, fence: Option<i64>) -> Result<DbConn, (Skipped, String)> {
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|error| (Skipped::Down, error.to_string()))?;
        // NULL on a server that is not in recovery: it is the primary itself, never behind.
        let replayed =
            diesel::sql_query("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS lsn")
                .get_result::<Position>(&mut *conn)
                .await
                .map_err(|error| (Skipped::Down, error.to_string()))?;
        match (replayed.lsn, fence) {
            (Some(replayed), Some(fence)) if replayed < fence => Err((
                Skipped::Behind,
                format!("replayed {replayed}, the account's last change is at {fence}"),
            )),
            _ => Ok(conn),
        }
    }
}

/// A connection for a read of `user_id`'s rows that tolerates replication lag but must see
/// the account's own changes: the replica's when it can, else the primary's.
pub async fn reader(
    primary: &DbPool,
    replica: Option<&Replica>,
    user_id: Uuid,
) -> Result<DbConn, Error> {
    let Some(replica) = replica else {
        return Ok(primary.get().await?);
    };
    let skipped = if replica.resting() {
        Skipped::Resting
    } else {
        let fence = last_write(&mut *primary.get().await?, user_id).await?;
        match replica.caught_up(fence).await {
            Ok(conn) => {
                metrics::counter!(REPLICA_READS, "served_by" => "replica").increment(1);
                return Ok(conn);
            }
            Err((Skipped::Behind, detail)) => {
                tracing::debug!(%detail, "replica behind the account's last change; reading from the primary");
                Skipped::Behind
            }
            Err((reason, detail)) => {
                tracing::warn!(
                    error = %detail,
                    retry_in_secs = replica.retry.as_secs(),
                    "read replica unavailable; reading from the primary"
                );
                replica.rest();
                reason
            }
        }
    };
    metrics::counter!(REPLICA_READS, "served_by" => "primary", "reason" => skipped.as_str())
        .increment(1);
    Ok(primary.get().await?)
}

/// The WAL position of the account's last recorded change, if any.
async fn last_write(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> diesel::QueryResult<Option<i64>> {
    diesel::sql_query("SELECT lsn FROM last_writes WHERE user_id = $1")
        .bind::<diesel::sql_types::Uuid, _>(user_id)
        .get_results::<Position>(conn)
        .await
        .map(|rows| rows.into_iter().find_map(|row| row.lsn))
}

/// Records that these accounts changed, at the primary's current WAL insert position: run
/// after the change committed, on the same connection. Failing to record only makes the
/// accounts' next reads possibly stale, so it is logged, not returned.
pub async fn record_writes(conn: &mut AsyncPgConnection, accounts: &[Uuid]) {
    if accounts.is_empty() {
        return;
    }
    // Only accounts that still exist (a deleted one has nothing left to read).
    let recorded = diesel::sql_query(
        "INSERT INTO last_writes (user_id, lsn) \
         SELECT id, (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint \
         FROM users WHERE id = ANY($1) \
         ON CONFLICT (user_id) DO UPDATE SET lsn = GREATEST(last_writes.lsn, EXCLUDED.lsn)",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(accounts)
    .execute(conn)
    .await;
    if let Err(error) = recorded {
        tracing::warn!(%error, "cannot record the accounts' last change for read-your-writes");
    }
}
