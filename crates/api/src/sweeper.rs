//! Background housekeeping: ends lapsed sessions and approvals (telling their sockets), and
//! purges rows past retention.

use actix_web::web;
use diesel_async::AsyncConnection;

use crate::activity;
use crate::approvals;
use crate::error::ApiError;
use crate::sessions::{end_lapsed, lapsed_events, purge_ended_before};
use crate::startup::AppState;

pub async fn run(state: web::Data<AppState>) {
    let mut interval = tokio::time::interval(state.settings.sweep_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(error) = sweep(&state).await {
            tracing::warn!(%error, "sweep failed; retrying at the next tick");
        }
    }
}

/// One pass; public so tests and operators can trigger it.
pub async fn sweep(state: &AppState) -> Result<(), ApiError> {
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let (lapsed, expired) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let lapsed = end_lapsed(conn, None, now, state.settings.idle_timeout).await?;
            let expired = approvals::expire_lapsed(conn, None, now).await?;
            let mut events = lapsed_events(&lapsed, now);
            events.extend(approvals::expired_events(&expired, now));
            activity::record_many(conn, events).await?;
            Ok((lapsed, expired))
        })
        .await?;
    for session in &lapsed {
        state
            .hub
            .session_ended(session.user_id, session.id, &session.end_reason);
    }
    approvals::announce_expired(state, &expired);
    state.throttle.prune(now);

    // History older than the retention goes: ended sessions and activity (each an index
    // range, never a scan of the table).
    let cutoff = chrono::Duration::from_std(state.settings.history_retention)
        .ok()
        .and_then(|retention| now.checked_sub_signed(retention));
    let (mut purged_sessions, mut purged_events) = (0, 0);
    if let Some(cutoff) = cutoff {
        purged_sessions = purge_ended_before(&mut conn, cutoff).await?;
        purged_events = activity::purge_before(&mut conn, cutoff).await?;
    }
    let purged_approvals =
        approvals::purge_finished(&mut conn, now - chrono::Duration::days(1)).await?;
    if !lapsed.is_empty()
        || !expired.is_empty()
        || purged_sessions > 0
        || purged_approvals > 0
        || purged_events > 0
    {
        tracing::info!(
            ended = lapsed.len(),
            approvals_expired = expired.len(),
            purged_sessions,
            purged_approvals,
            purged_events,
            "sweep"
        );
    }
    Ok(())
}
