//! Section 6: the session history of one user with a very long log, paged through an
//! instance that reads it from a streaming replica (`DATABASE_REPLICA_URL`) and through one
//! that reads the primary — the same database, the same pages, the same cookie.

use std::path::Path;

use anyhow::{Context, Result, bail};
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use pg_harness::{ReplicatedPostgres, free_port};

use crate::load::{Probe, percentile};
use crate::server::ApiProcess;
use crate::{Row, login_cookies, row, seed};

/// Pages timed at each depth, per instance.
const PAGES: usize = 300;

pub async fn history_from_replica(
    api_binary: &Path,
    password_hash: &str,
    rows: i64,
) -> Result<Vec<Row>> {
    let cluster =
        tokio::task::spawn_blocking(|| ReplicatedPostgres::start("-c shared_buffers=256MB"))
            .await??;
    seed::recreate_database(&cluster.primary_url("postgres"), "bench_replica").await?;
    let primary_url = cluster.primary_url("bench_replica");
    let metrics_port = free_port()?;
    // One sweep at start-up only: the log reaches further back than the retention.
    let quiet = ("SWEEP_INTERVAL_SECS", "86400".to_owned());
    let with_replica = ApiProcess::start(
        api_binary,
        &primary_url,
        &[
            ("DATABASE_REPLICA_URL", cluster.replica_url("bench_replica")),
            ("METRICS_BIND", format!("127.0.0.1:{metrics_port}")),
            quiet.clone(),
        ],
    )
    .await?;
    let primary_only = ApiProcess::start(api_binary, &primary_url, &[quiet]).await?;

    let mut conn = seed::connect(&primary_url).await?;
    seed::users(&mut conn, password_hash).await?;
    let user = seed::user_id(&mut conn, 1).await?;
    seed::long_history(&mut conn, user, rows).await?;
    let cookie = login_cookies(with_replica.port, 1..=1)
        .await?
        .pop()
        .context("a cookie")?;
    wait_for_replay(&mut conn, &cluster).await?;

    let probe = Probe::new(String::new(), cookie)?;
    let mut table = Vec::new();
    for depth in [0, 1_000, rows / 2, rows - 100] {
        let query = if depth == 0 {
            "limit=20".to_owned()
        } else {
            let cursor = seed::history_cursor(&mut conn, user, depth).await?;
            format!("limit=20&cursor={cursor}")
        };
        let page = |port: u16| format!("http://127.0.0.1:{port}/api/sessions/history?{query}");
        let from_replica = probe.burst(&page(with_replica.port), PAGES).await?;
        let from_primary = probe.burst(&page(primary_only.port), PAGES).await?;
        table.push(row(
            format!("history page of 20 at depth {depth} of {rows}"),
            format!(
                "replica p50 {:.2} ms, p99 {:.2} ms",
                percentile(&from_replica, 50.0),
                percentile(&from_replica, 99.0)
            ),
            format!(
                "primary p50 {:.2} ms, p99 {:.2} ms",
                percentile(&from_primary, 50.0),
                percentile(&from_primary, 99.0)
            ),
        ));
    }
    let (replica, primary) = served(metrics_port).await?;
    table.push(row(
        "reads of the replica instance",
        format!("{replica} from the replica, {primary} from the primary"),
        "the primary serves a read whose user wrote after the replica's position (read-your-writes)",
    ));
    drop((with_replica, primary_only));
    Ok(table)
}

#[derive(diesel::QueryableByName)]
struct Position {
    #[diesel(sql_type = Text)]
    lsn: String,
}

#[derive(diesel::QueryableByName)]
struct Replayed {
    #[diesel(sql_type = Bool)]
    caught_up: bool,
}

/// Waits until the replica replayed everything the primary wrote so far (the seeding).
async fn wait_for_replay(
    primary: &mut AsyncPgConnection,
    cluster: &ReplicatedPostgres,
) -> Result<()> {
    let position: Position = diesel::sql_query("SELECT pg_current_wal_lsn()::text AS lsn")
        .get_result(primary)
        .await?;
    let mut replica = seed::connect(&cluster.replica_url("bench_replica")).await?;
    for _ in 0..1200 {
        let replayed: Replayed = diesel::sql_query(
            "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS caught_up",
        )
        .bind::<Text, _>(&position.lsn)
        .get_result(&mut replica)
        .await?;
        if replayed.caught_up {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    bail!("the replica did not catch up within 2 minutes")
}

/// `sm_db_replica_reads_total` of the instance with the replica: (by the replica, by the
/// primary).
async fn served(metrics_port: u16) -> Result<(u64, u64)> {
    let text = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await?
        .text()
        .await?;
    let mut counts = (0, 0);
    for line in text
        .lines()
        .filter(|line| line.starts_with("sm_db_replica_reads_total{"))
    {
        let value: u64 = line
            .rsplit(' ')
            .next()
            .and_then(|value| value.parse().ok())
            .unwrap_or(0);
        if line.contains("served_by=\"replica\"") {
            counts.0 += value;
        } else {
            counts.1 += value;
        }
    }
    Ok(counts)
}
