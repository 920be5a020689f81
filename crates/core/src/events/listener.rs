//! Each instance's ear on the event bus: one dedicated connection that `LISTEN`s and hands
//! every notification to `Events::deliver`. If the connection drops it reconnects with
//! backoff, and tells every local socket to resync (events published meanwhile are lost).

use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use tokio::sync::watch;

use super::{CHANNEL, Events};

/// How often an idle listener checks that its connection is alive: a half-open TCP
/// connection would otherwise wait forever.
const HEARTBEAT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
enum Lost {
    #[error("cannot connect")]
    Connect(#[source] diesel::ConnectionError),
    #[error("connecting timed out")]
    ConnectTimeout,
    #[error("the listening connection failed")]
    Query(#[source] diesel::result::Error),
    #[error("the listening connection closed")]
    Closed,
    #[error("the heartbeat timed out")]
    HeartbeatTimeout,
}

/// Listens until `stop` turns true.
pub async fn run(events: Arc<Events>, database_url: String, mut stop: watch::Receiver<bool>) {
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            return;
        }
        let outcome = listen(&events, &database_url, &mut stop, &mut failures).await;
        events.set_listening(false);
        match outcome {
            Ok(()) => return,
            Err(lost) => {
                failures = failures.saturating_add(1);
                tracing::warn!(error = %error_chain(&lost), failures, "event listener lost; reconnecting");
            }
        }
        let delay = backoff(failures);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn listen(
    events: &Events,
    database_url: &str,
    stop: &mut watch::Receiver<bool>,
    failures: &mut u32,
) -> Result<(), Lost> {
    let url = with_application_name(database_url);
    let mut conn = tokio::time::timeout(Duration::from_secs(5), AsyncPgConnection::establish(&url))
        .await
        .map_err(|_| Lost::ConnectTimeout)?
        .map_err(Lost::Connect)?;
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .await
        .map_err(Lost::Query)?;
    events.set_listening(true);
    if *failures > 0 {
        tracing::info!("event listener reconnected; local sockets resync");
    }
    *failures = 0;
    // Whatever was published while nobody listened is gone: every socket reads afresh.
    events.hub().resync_all();
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    loop {
        let next = {
            let mut notifications = std::pin::pin!(conn.notifications_stream());
            tokio::select! {
                notification = notifications.next() => Next::Notification(notification),
                _ = heartbeat.tick() => Next::Heartbeat,
                _ = stop.changed() => Next::Stop,
            }
        };
        match next {
            Next::Notification(Some(Ok(notification))) => {
                events.deliver_payload(&notification.payload).await;
            }
            Next::Notification(Some(Err(error))) => return Err(Lost::Query(error)),
            Next::Notification(None) => return Err(Lost::Closed),
            Next::Heartbeat => {
                tokio::time::timeout(
                    Duration::from_secs(5),
                    diesel::sql_query("SELECT 1").execute(&mut conn),
                )
                .await
                .map_err(|_| Lost::HeartbeatTimeout)?
                .map_err(Lost::Query)?;
            }
            Next::Stop => return Ok(()),
        }
    }
}

enum Next {
    Notification(Option<diesel::QueryResult<diesel::pg::PgNotification>>),
    Heartbeat,
    Stop,
}

/// The name the listening connection shows in `pg_stat_activity` (operators and tests find
/// it by this name).
pub const APPLICATION_NAME: &str = "session-events-listener";

fn with_application_name(database_url: &str) -> String {
    let separator = if database_url.contains('?') { '&' } else { '?' };
    format!("{database_url}{separator}application_name={APPLICATION_NAME}")
}

/// 100 ms, doubling up to 5 s, with jitter so that instances do not reconnect in step.
fn backoff(failures: u32) -> Duration {
    let ceiling = 100u64
        .saturating_mul(2u64.saturating_pow(failures.min(10)))
        .min(5_000);
    let jitter = rand::random_range(0..=ceiling / 2);
    Duration::from_millis(ceiling / 2 + jitter)
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
