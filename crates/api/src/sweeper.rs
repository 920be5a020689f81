//! Background housekeeping: ends lapsed sessions and approvals (telling their sockets), and
//! purges rows past retention.

use actix_web::web;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::activity;
use crate::approvals;
use crate::error::ApiError;
use crate::schema::sessions;
use crate::sessions::{end_lapsed, lapsed_events};
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

    let retention = chrono::Duration::from_std(state.settings.history_retention)
        .unwrap_or(chrono::Duration::MAX);
    let purged_sessions =
        diesel::delete(sessions::table.filter(sessions::ended_at.lt(now - retention)))
            .execute(&mut conn)
            .await?;
    let purged_approvals =
        approvals::purge_finished(&mut conn, now - chrono::Duration::days(1)).await?;
    if !lapsed.is_empty() || !expired.is_empty() || purged_sessions > 0 || purged_approvals > 0 {
        tracing::info!(
            ended = lapsed.len(),
            approvals_expired = expired.len(),
            purged_sessions,
            purged_approvals,
            "sweep"
        );
    }
    Ok(())
}
