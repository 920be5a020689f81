//! Background housekeeping: ends lapsed sessions and requests (their sockets hear it through
//! the event bus), purges rows past retention, and deletes accounts never confirmed nor
//! used for `UNCONFIRMED_ACCOUNT_DAYS`. Every instance runs the loop; whichever
//! holds the PostgreSQL advisory lock does the pass, the others skip it.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::config::Settings;
use crate::error::Error;
use crate::events::unit_of_work;
use crate::model::policy::{
    EXPIRED_LINK_RETENTION, FINISHED_APPROVAL_RETENTION, FINISHED_WEBHOOK_RETENTION,
    MAIL_REQUEST_WINDOW, SENT_MAIL_RETENTION,
};
use crate::services::{approvals, deletion, sessions};
use crate::state::AppState;
use crate::storage::approvals::Scope;
use crate::storage::{
    approvals as stored_approvals, email_links, locks, outbox, partitions, passkeys,
    sessions as stored_sessions, users, webhooks,
};
use crate::telemetry::metrics::{SWEEPER_FAILED_STEPS, SWEEPER_ROWS, SWEEPER_RUNS};

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// False when another instance held the lock (this one did nothing).
    pub ran: bool,
    pub sessions_ended: usize,
    pub approvals_expired: usize,
    pub rows_purged: usize,
    /// Time partitions made ahead, and dropped past their retention (`storage::partitions`).
    pub partitions_created: usize,
    pub partitions_dropped: usize,
    /// Accounts never confirmed nor used (`UNCONFIRMED_ACCOUNT_DAYS`).
    pub accounts_deleted: usize,
    /// Steps that failed (each logged, counted in `sm_sweeper_failed_steps_total`); the
    /// others still ran, and the next pass tries every step again.
    pub failed_steps: usize,
}

/// A pass's steps, each on its own: one that fails (a deadlock lost to a user's transaction,
/// a table locked past the bound) neither stops nor undoes the others, so a purge failing
/// pass after pass cannot keep the partitions from being made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    EndLapsed,
    PurgeSessions,
    Partitions,
    PurgeApprovals,
    PurgeMail,
    PurgeWebhooks,
    PurgeChallenges,
    DeleteUnconfirmed,
}

impl Step {
    /// Its label in the logs and metrics.
    fn as_str(self) -> &'static str {
        match self {
            Self::EndLapsed => "end_lapsed",
            Self::PurgeSessions => "purge_sessions",
            Self::Partitions => "partitions",
            Self::PurgeApprovals => "purge_approvals",
            Self::PurgeMail => "purge_mail",
            Self::PurgeWebhooks => "purge_webhooks",
            Self::PurgeChallenges => "purge_challenges",
            Self::DeleteUnconfirmed => "delete_unconfirmed",
        }
    }
}

/// The steps' failures: each is logged where it is handled, here, and the pass goes on.
#[derive(Default)]
struct Failures(usize);

impl Failures {
    /// What the step did, or nothing (its default) when it failed.
    fn of<T: Default, E: Into<Error>>(&mut self, step: Step, result: Result<T, E>) -> T {
        result.unwrap_or_else(|error| {
            let error: Error = error.into();
            self.0 += 1;
            metrics::counter!(SWEEPER_FAILED_STEPS, "step" => step.as_str()).increment(1);
            tracing::warn!(
                step = step.as_str(),
                error = %error.chain(),
                "a sweeper step failed; the pass goes on, and the next one tries it again"
            );
            T::default()
        })
    }
}

pub async fn run(state: &AppState) {
    // The first pass comes one interval after the start: the start made the partitions
    // (`prepare_partitions`), and what else a pass does can wait that long.
    let period = state.settings.retention.sweep_interval;
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(error) = sweep(state).await {
            tracing::warn!(error = %error.chain(), "sweep failed; retrying at the next tick");
        }
    }
}

/// Makes the partitions of the hours and months ahead (and drops those past retention)
/// before the instance serves: after a pause of every instance longer than the partitions
/// made ahead, requests would otherwise land in the DEFAULT partitions until a pass moved them
/// out, beside those requests. Not fatal: logged, and every pass tries again.
pub async fn prepare_partitions(state: &AppState) {
    let now = state.now();
    let prepared = async {
        let mut conn = state.pool.get().await?;
        maintain_partitions(&mut conn, now, &partition_plan(&state.settings, now)).await
    };
    match prepared.await {
        Ok((0, 0)) => {}
        Ok((created, dropped)) => tracing::info!(created, dropped, "time partitions prepared"),
        Err(error) => tracing::warn!(
            error = %error.chain(),
            "cannot prepare the time partitions at start-up; the sweeper's passes retry"
        ),
    }
}

/// One pass, if no other instance is doing one; public so tests and operators can trigger it.
pub async fn sweep(state: &AppState) -> Result<Swept, Error> {
    let mut conn = state.pool.get().await?;
    if !locks::try_lock(&mut conn, locks::SWEEPER).await? {
        return Ok(Swept::default());
    }
    let swept = sweep_locked(state, &mut conn).await;
    metrics::counter!(SWEEPER_RUNS).increment(1);
    for (kind, rows) in [
        ("sessions_ended", swept.sessions_ended),
        ("approvals_expired", swept.approvals_expired),
        ("rows_purged", swept.rows_purged),
        ("partitions_created", swept.partitions_created),
        ("partitions_dropped", swept.partitions_dropped),
        ("accounts_deleted", swept.accounts_deleted),
    ] {
        metrics::counter!(SWEEPER_ROWS, "kind" => kind)
            .increment(u64::try_from(rows).unwrap_or(u64::MAX));
    }
    // A connection that cannot unlock is broken, and closing it releases the lock.
    if let Err(error) = locks::unlock(&mut conn, locks::SWEEPER).await {
        tracing::warn!(%error, "cannot release the sweeper's lock");
    }
    Ok(swept)
}

async fn sweep_locked(state: &AppState, conn: &mut AsyncPgConnection) -> Swept {
    let now = state.now();
    let mut failures = Failures::default();
    // On the connection that holds the sweeper's lock.
    let ended = unit_of_work::run(conn, now, async |mut tx| {
        // The users' rows first, as in every transaction on a user's sessions and
        // requests (here in the order of their ids): those whose sessions or requests
        // lapsed, from unlocked reads. At a fixed `now` what has lapsed only becomes
        // less, so the updates below touch no other user's rows.
        let mut lapsed_users =
            stored_sessions::users_with_lapsed(tx.conn(), now, state.lifetimes()).await?;
        lapsed_users.extend(stored_approvals::users_with_lapsed(tx.conn(), now).await?);
        if lapsed_users.is_empty() {
            return tx.commit((0, 0)).await;
        }
        users::lock_all(tx.conn(), &lapsed_users).await?;
        let lapsed = stored_sessions::end_lapsed(tx.conn(), None, now, state.lifetimes()).await?;
        sessions::record_lapsed(&mut tx, &lapsed);
        let expired = approvals::expire(&mut tx, Scope::All).await?;
        tx.commit((lapsed.len(), expired)).await
    })
    .await;
    let (sessions_ended, approvals_expired) = failures.of(Step::EndLapsed, ended);

    // History older than the retention goes: ended sessions (an index range, never a scan
    // of the table), and whole partitions of activity and of login slots.
    let tables = partition_plan(&state.settings, now);
    let [(_, history_cutoff), _] = tables;
    let purged_sessions = match history_cutoff {
        Some(cutoff) => failures.of(
            Step::PurgeSessions,
            stored_sessions::purge_ended_before(conn, cutoff).await,
        ),
        None => 0,
    };
    // Meanwhile rows land in the DEFAULT partition, and the next pass moves them.
    let (partitions_created, partitions_dropped) = failures.of(
        Step::Partitions,
        maintain_partitions(conn, now, &tables).await,
    );
    let purged_approvals = failures.of(
        Step::PurgeApprovals,
        stored_approvals::purge_finished(conn, now - FINISHED_APPROVAL_RETENTION).await,
    );
    let purged_mail = failures.of(
        Step::PurgeMail,
        outbox::purge_done_before(conn, now - SENT_MAIL_RETENTION).await,
    ) + failures.of(
        Step::PurgeMail,
        email_links::purge_expired_before(conn, now - EXPIRED_LINK_RETENTION).await,
    );
    let purged_webhooks = failures.of(
        Step::PurgeWebhooks,
        webhooks::purge_done_before(conn, now - FINISHED_WEBHOOK_RETENTION).await,
    );
    // Second-factor challenges past their 5 minutes answer nothing any more, and passkey
    // ceremonies begun and never finished.
    let purged_challenges = failures.of(
        Step::PurgeChallenges,
        crate::storage::second_factor::delete_expired_challenges(conn, now).await,
    ) + failures.of(
        Step::PurgeChallenges,
        passkeys::purge_expired_challenges(conn, now).await,
    );
    let rows_purged =
        purged_sessions + purged_challenges + purged_approvals + purged_mail + purged_webhooks;
    // A squatted or abandoned signup frees its address (each deletion is its own transaction,
    // under the account's lock, and checks again that it is still unconfirmed and unused).
    let accounts_deleted = match state
        .settings
        .retention
        .unconfirmed_accounts
        .and_then(|kept| chrono::Duration::from_std(kept).ok())
        .and_then(|kept| now.checked_sub_signed(kept))
    {
        Some(unused_since) => failures.of(
            Step::DeleteUnconfirmed,
            deletion::delete_unconfirmed_unused(state, unused_since).await,
        ),
        None => 0,
    };
    if sessions_ended > 0
        || approvals_expired > 0
        || rows_purged > 0
        || accounts_deleted > 0
        || partitions_created > 0
        || partitions_dropped > 0
    {
        tracing::info!(
            sessions_ended,
            approvals_expired,
            purged_sessions,
            purged_approvals,
            partitions_created,
            partitions_dropped,
            purged_mail,
            purged_webhooks,
            accounts_deleted,
            "sweep"
        );
    }
    Swept {
        ran: true,
        sessions_ended,
        approvals_expired,
        rows_purged,
        partitions_created,
        partitions_dropped,
        accounts_deleted,
        failed_steps: failures.0,
    }
}

/// The time-partitioned tables with the cutoff before which their partitions go (`None`:
/// kept), in this order: the account's log after the history's retention, login slots once
/// they left the longest window any throttle counts them in.
pub fn partition_plan(
    settings: &Settings,
    now: DateTime<Utc>,
) -> [(partitions::TimePartitioned, Option<DateTime<Utc>>); 2] {
    let history_cutoff = chrono::Duration::from_std(settings.retention.history)
        .ok()
        .and_then(|retention| now.checked_sub_signed(retention));
    let longest = settings
        .throttle
        .login_failure_window
        .max(settings.throttle.signup_window)
        .max(MAIL_REQUEST_WINDOW);
    let attempts_cutoff = chrono::Duration::from_std(longest)
        .ok()
        .and_then(|window| now.checked_sub_signed(window));
    [
        (partitions::ACTIVITY, history_cutoff),
        (partitions::LOGIN_ATTEMPTS, attempts_cutoff),
    ]
}

/// Creates each table's partitions ahead of `now` and drops those wholly before its cutoff
/// (`None`: kept), with bounded lock waits. Returns (created, dropped).
pub async fn maintain_partitions(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    tables: &[(partitions::TimePartitioned, Option<DateTime<Utc>>)],
) -> Result<(usize, usize), Error> {
    partitions::bound_lock_waits(conn).await?;
    let result = create_and_drop(conn, now, tables).await;
    partitions::unbound_lock_waits(conn).await?;
    result
}

async fn create_and_drop(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    tables: &[(partitions::TimePartitioned, Option<DateTime<Utc>>)],
) -> Result<(usize, usize), Error> {
    let (mut created, mut dropped) = (0, 0);
    for &(table, cutoff) in tables {
        created += partitions::create_ahead(conn, table, now).await?;
        if let Some(cutoff) = cutoff {
            dropped += partitions::drop_before(conn, table, cutoff).await?;
        }
    }
    Ok((created, dropped))
}
