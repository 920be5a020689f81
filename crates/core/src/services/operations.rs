//! What operators watch: the gauges of `/metrics`, read when Prometheus scrapes (counters
//! and histograms are recorded where things happen).

use crate::error::Error;
use crate::state::AppState;
use crate::storage::{outbox, sessions};
use crate::telemetry::metrics::{
    EVENTS_LISTENING, HASH_QUEUE_DEPTH, MAIL_WAITING, POOL_IN_USE, POOL_SIZE, POOL_WAITERS,
    SESSIONS_ACTIVE, SOCKETS_OPEN, gauge_value,
};

/// Sets every gauge to its current value. The in-process ones are always set; the
/// database count is skipped (and the error returned) when PostgreSQL does not answer.
pub async fn observe(state: &AppState) -> Result<(), Error> {
    let sockets = state.events.hub().counts();
    metrics::gauge!(SOCKETS_OPEN, "kind" => "session").set(gauge_value(sockets.session));
    metrics::gauge!(SOCKETS_OPEN, "kind" => "waiting").set(gauge_value(sockets.waiting));
    metrics::gauge!(HASH_QUEUE_DEPTH).set(gauge_value(state.hasher.queue_depth()));
    let pool = state.pool.status();
    metrics::gauge!(POOL_SIZE).set(gauge_value(pool.size));
    metrics::gauge!(POOL_IN_USE).set(gauge_value(pool.size.saturating_sub(pool.available)));
    metrics::gauge!(POOL_WAITERS).set(gauge_value(pool.waiting));
    metrics::gauge!(EVENTS_LISTENING).set(if state.events.is_listening() {
        1.0
    } else {
        0.0
    });
    let mut conn = state.pool.get().await?;
    let active = sessions::count_all_active(&mut conn, state.now(), state.lifetimes()).await?;
    metrics::gauge!(SESSIONS_ACTIVE).set(gauge_value(usize::try_from(active).unwrap_or(0)));
    let waiting = outbox::count_waiting(&mut conn).await?;
    metrics::gauge!(MAIL_WAITING).set(gauge_value(usize::try_from(waiting).unwrap_or(0)));
    Ok(())
}
