//! What operators watch: the gauges of `/metrics`, read when Prometheus scrapes (counters
//! and histograms are recorded where things happen).

use crate::error::Error;
use crate::events::hub::SocketCounts;
use crate::state::AppState;
use crate::storage::{outbox, sessions};
use crate::telemetry::metrics::{
    EVENTS_LISTENING, HASH_QUEUE_DEPTH, MAIL_WAITING, POOL_IN_USE, POOL_SIZE, POOL_WAITERS,
    SESSIONS_ACTIVE, SOCKETS_OPEN, gauge_value,
};

/// Every gauge's current value, read before any is set: the recorder is the process's, so
/// they are set and rendered in one step (`telemetry::metrics::render`), with no wait between
/// in which another application of the process (as in the tests) could set its own.
pub struct Gauges {
    sockets: SocketCounts,
    hash_queue: usize,
    pool: deadpool::Status,
    listening: bool,
    /// `None` when PostgreSQL did not answer: those gauges keep their last value.
    stored: Option<Stored>,
}

struct Stored {
    sessions_active: usize,
    mail_waiting: usize,
}

/// Reads every gauge. The in-process ones are always read; the database counts are left out
/// (and the error returned beside) when PostgreSQL does not answer.
pub async fn observe(state: &AppState) -> (Gauges, Option<Error>) {
    let (stored, error) = match read_stored(state).await {
        Ok(stored) => (Some(stored), None),
        Err(error) => (None, Some(error)),
    };
    let gauges = Gauges {
        sockets: state.events.hub().counts(),
        hash_queue: state.hasher.queue_depth(),
        pool: state.pool.status(),
        listening: state.events.is_listening(),
        stored,
    };
    (gauges, error)
}

async fn read_stored(state: &AppState) -> Result<Stored, Error> {
    let mut conn = state.pool.get().await?;
    let active = sessions::count_all_active(&mut conn, state.now(), state.lifetimes()).await?;
    let waiting = outbox::count_waiting(&mut conn).await?;
    Ok(Stored {
        sessions_active: usize::try_from(active).unwrap_or(0),
        mail_waiting: usize::try_from(waiting).unwrap_or(0),
    })
}

impl Gauges {
    /// Sets every gauge read (call inside `telemetry::metrics::render`).
    pub fn record(&self) {
        metrics::gauge!(SOCKETS_OPEN, "kind" => "session").set(gauge_value(self.sockets.session));
        metrics::gauge!(SOCKETS_OPEN, "kind" => "waiting").set(gauge_value(self.sockets.waiting));
        metrics::gauge!(HASH_QUEUE_DEPTH).set(gauge_value(self.hash_queue));
        metrics::gauge!(POOL_SIZE).set(gauge_value(self.pool.size));
        metrics::gauge!(POOL_IN_USE).set(gauge_value(
            self.pool.size.saturating_sub(self.pool.available),
        ));
        metrics::gauge!(POOL_WAITERS).set(gauge_value(self.pool.waiting));
        metrics::gauge!(EVENTS_LISTENING).set(if self.listening { 1.0 } else { 0.0 });
        if let Some(stored) = &self.stored {
            metrics::gauge!(SESSIONS_ACTIVE).set(gauge_value(stored.sessions_active));
            metrics::gauge!(MAIL_WAITING).set(gauge_value(stored.mail_waiting));
        }
    }
}
