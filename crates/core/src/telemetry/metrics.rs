//! Prometheus metrics: every series' name and help text, and the one recorder of the
//! process (served on `METRICS_BIND`, see `http::metrics`). Counters and histograms are
//! recorded where things happen; gauges are read when Prometheus scrapes
//! (`services::operations::observe`).

use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "http_requests_total";
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
pub const LOGINS: &str = "sm_logins_total";
pub const APPROVALS: &str = "sm_approvals_total";
pub const SESSIONS_STARTED: &str = "sm_sessions_started_total";
pub const SESSIONS_ENDED: &str = "sm_sessions_ended_total";
pub const SESSIONS_ACTIVE: &str = "sm_sessions_active";
pub const SOCKETS_OPEN: &str = "sm_sockets_open";
pub const HASH_QUEUE_DEPTH: &str = "sm_password_hash_queue_depth";
pub const HASH_DURATION: &str = "sm_password_hash_duration_seconds";
pub const POOL_SIZE: &str = "sm_db_pool_size";
pub const POOL_IN_USE: &str = "sm_db_pool_in_use";
pub const POOL_WAITERS: &str = "sm_db_pool_waiters";
pub const SWEEPER_RUNS: &str = "sm_sweeper_runs_total";
pub const SWEEPER_ROWS: &str = "sm_sweeper_rows_total";
pub const SWEEPER_FAILED_STEPS: &str = "sm_sweeper_failed_steps_total";
pub const EVENTS_LISTENING: &str = "sm_events_listener_connected";
pub const MAIL: &str = "sm_mail_total";
pub const MAIL_WAITING: &str = "sm_mail_waiting";
pub const WEBHOOK_DELIVERIES: &str = "sm_webhook_deliveries_total";
pub const REPLICA_READS: &str = "sm_db_replica_reads_total";

/// Latency buckets (seconds): session checks take a millisecond, logins a hash (~50 ms).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histogram samples are folded into buckets (the exporter's own default).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once (several applications in one test process
/// share it) and returns what renders it.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = match builder
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
        {
            Ok(builder) => builder,
            Err(error) => {
                tracing::warn!(%error, "latency buckets refused; histograms render as summaries");
                PrometheusBuilder::new()
            }
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if let Err(error) = metrics::set_global_recorder(recorder) {
            tracing::warn!(%error, "another metrics recorder is installed; /metrics stays empty");
        }
        describe();
        // Histograms keep every sample until an upkeep drains them into their buckets; a
        // scrape runs one, but a process nobody scrapes would grow by each request's sample.
        let drained = handle.clone();
        let upkeep = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    drained.run_upkeep();
                }
            });
        if let Err(error) = upkeep {
            tracing::warn!(%error, "metrics upkeep thread not started; histograms drain on scrape only");
        }
        handle
    })
}

/// Sets the gauges (`set`) and renders every series, one scrape at a time: the recorder is
/// the process's, and in the tests several applications share it, each setting its own
/// gauges before rendering.
pub fn render(set: impl FnOnce()) -> String {
    static RENDERING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = RENDERING.lock().unwrap_or_else(PoisonError::into_inner);
    set();
    let handle = install();
    handle.run_upkeep();
    handle.render()
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method (standard ones, else other), route template (else unmatched) and status class (2xx, 4xx, ...)"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request, by method (standard ones, else other), route template (else unmatched) and status class"
    );
    describe_counter!(
        LOGINS,
        "Sign-ins (password and passkey) and mailed or second-factor codes typed, by outcome: ok, approval_required, email_code_required, second_factor_required, refused_limit, bad_credentials, bad_code, throttled, error"
    );
    describe_counter!(
        APPROVALS,
        "Second-device requests that reached an outcome: approved, completed, denied, expired, locked, session_limit, cancelled"
    );
    describe_counter!(
        SESSIONS_STARTED,
        "Sessions started (direct logins and completed approvals)"
    );
    describe_counter!(
        SESSIONS_ENDED,
        "Sessions ended, by reason: logout, revoked, idle_timeout, lifetime_exceeded, password_changed, replaced, not_completed, account_secured, replaced_by_same_browser, key_changed, email_changed, account_deleted"
    );
    describe_gauge!(
        SESSIONS_ACTIVE,
        "Active sessions of all users (read from the database at scrape time)"
    );
    describe_gauge!(
        SOCKETS_OPEN,
        "WebSockets open on this instance, by kind: session (a signed-in device), waiting (a device waiting for approval)"
    );
    describe_gauge!(
        HASH_QUEUE_DEPTH,
        "Password hashes waiting for an argon2 thread"
    );
    describe_histogram!(
        HASH_DURATION,
        Unit::Seconds,
        "Time of one argon2id hash or verification"
    );
    describe_gauge!(POOL_SIZE, "PostgreSQL connections the pool holds");
    describe_gauge!(
        POOL_IN_USE,
        "PostgreSQL connections lent out to requests and tasks"
    );
    describe_gauge!(POOL_WAITERS, "Requests waiting for a PostgreSQL connection");
    describe_counter!(
        SWEEPER_RUNS,
        "Sweeper passes this instance ran (it skips when another instance holds the lock)"
    );
    describe_counter!(
        SWEEPER_ROWS,
        "Rows the sweeper changed, by kind: sessions_ended, approvals_expired, rows_purged, \
         accounts_deleted; and time partitions: partitions_created, partitions_dropped"
    );
    describe_counter!(
        SWEEPER_FAILED_STEPS,
        "Sweeper steps that failed, by step (the pass went on without them; the next retries)"
    );
    describe_counter!(
        REPLICA_READS,
        "Reads that tolerate lag (DATABASE_REPLICA_URL), by served_by: replica, or primary with \
         the reason the replica was skipped (down, resting after a failure, behind the \
         account's last change)"
    );
    describe_gauge!(
        EVENTS_LISTENING,
        "1 while this instance's event listener is connected to PostgreSQL"
    );
    describe_counter!(
        MAIL,
        "Mail send attempts by this instance, by outcome: sent, retry (the server did not take it), failed (refused for good)"
    );
    describe_gauge!(
        MAIL_WAITING,
        "Mail queued and not yet sent (read from the database at scrape time)"
    );
    describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook delivery attempts by this instance, by outcome: delivered (a 2xx answer), retry, failed (given up on)"
    );
}

/// A count as a gauge value (counts beyond u32 do not occur here; they would saturate).
pub fn gauge_value(count: usize) -> f64 {
    f64::from(u32::try_from(count).unwrap_or(u32::MAX))
}

pub fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

#[cfg(test)]
mod tests {
    /// Operators look a series up in README.md's Metrics table: every one named here is there.
    #[test]
    fn the_readme_lists_every_series() {
        let readme = include_str!("../../../../README.md");
        let table = readme
            .split("\n### Metrics (Prometheus)\n")
            .nth(1)
            .and_then(|rest| rest.split("\n### ").next())
            .unwrap_or_default();
        let names: Vec<&str> = include_str!("metrics.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("pub const "))
            .filter_map(|line| line.split('"').nth(1))
            .collect();
        assert!(
            names.len() > 20,
            "the series' names are read from this file"
        );
        let missing: Vec<&&str> = names
            .iter()
            .filter(|name| !table.contains(&format!("`{name}`")))
            .collect();
        assert!(
            missing.is_empty(),
            "README.md's Metrics table does not list {missing:?}"
        );
    }
}
