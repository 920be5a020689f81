//! The read every authenticated request makes — its session row and user — batched.
//!
//! Each worker thread keeps its own connection and a queue. A request queues its token hash;
//! one flush task per worker sends everything queued as one query
//! (`token_hash = ANY($1)`), answers each waiter, and repeats while more arrived meanwhile.
//! Under load one query serves many requests (PostgreSQL and this process pay one round trip
//! for all); when idle a batch holds one lookup and costs one yield. Every request is still
//! answered from a read made after it arrived, so a revocation is seen on the very next
//! request. Everything else (writes, transactions) uses the pool.
//!
//! The connection is tokio-postgres' own, with the query prepared once: through diesel the
//! query's SQL text (about thirty quoted column names) was built anew for every batch, the
//! largest single cost of a session check. The text still comes from diesel
//! (`sessions::sessions_with_users_by_tokens_sql`), and its rows are decoded by position in
//! the order of `SessionRow` and `UserCopy`'s fields, checked against the column names and
//! types the server reports when the statement is prepared. The user comes from the copy of
//! its fields that the session's row carries (kept by triggers): one row read per token.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
// The maps here live for one batch (or hold a few workers) and are keyed by SHA-256 outputs:
// foldhash, seeded per process, in place of std's SipHash (four hashes of a token per request).
use foldhash::{HashMap, HashMapExt};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{NoTls, Row, Statement};

use crate::config::Settings;
use crate::error::Error;
use crate::model::second_factor::ProofMethod;
use crate::model::session::EndReason;
use crate::storage::sessions::{self, SessionRow, SessionWithUser};
use crate::storage::users::UserRow;

/// Boxed: the row (about 450 bytes) passes through the batch's map, a channel, several
/// futures and, checked, the handler's arguments; each of those moves copies a pointer.
pub type Found = Option<Box<SessionWithUser>>;
type Waiter = (Vec<u8>, oneshot::Sender<Result<Found, Error>>);

/// Why a batch failed; shared by every request of the batch.
#[derive(Debug, thiserror::Error)]
enum LookupError {
    #[error("session lookup: connecting timed out")]
    ConnectTimeout,
    #[error("session lookup: cannot connect")]
    Connect(#[source] tokio_postgres::Error),
    #[error("session lookup: cannot build its SQL")]
    Sql(#[source] diesel::result::Error),
    #[error(
        "session lookup: the query returns other columns (or types) than the rows have fields: {0}"
    )]
    Columns(String),
    #[error("session lookup")]
    Query(#[source] tokio_postgres::Error),
    #[error("session lookup: column {column} holds {value:?}, not one of its values")]
    Value { column: &'static str, value: String },
}

/// The columns of the lookup, in the order they are decoded, with their types.
const COLUMNS: [(&str, Type); 27] = [
    ("token_hash", Type::BYTEA),
    // SessionRow
    ("id", Type::UUID),
    ("user_id", Type::UUID),
    ("device", Type::TEXT),
    ("os", Type::TEXT),
    ("browser", Type::TEXT),
    ("user_agent", Type::TEXT),
    ("ip", Type::TEXT),
    ("created_at", Type::TIMESTAMPTZ),
    ("last_seen_at", Type::TIMESTAMPTZ),
    ("expires_at", Type::TIMESTAMPTZ),
    ("ended_at", Type::TIMESTAMPTZ),
    ("end_reason", Type::TEXT),
    ("ended_by", Type::UUID),
    ("country", Type::TEXT),
    ("persistent", Type::BOOL),
    ("device_id", Type::TEXT),
    ("proved_at", Type::TIMESTAMPTZ),
    ("proof_method", Type::TEXT),
    // UserCopy, the session's copy of its user (whose id is the session's user_id)
    ("user_email", Type::TEXT),
    ("user_name", Type::TEXT),
    ("user_created_at", Type::TIMESTAMPTZ),
    ("user_updated_at", Type::TIMESTAMPTZ),
    ("user_email_verified_at", Type::TIMESTAMPTZ),
    ("user_device_generation", Type::INT4),
    ("user_devices_forgotten_at", Type::TIMESTAMPTZ),
    ("user_totp_enabled_at", Type::TIMESTAMPTZ),
];

/// A worker's connection and its prepared lookup.
struct LookupConnection {
    client: tokio_postgres::Client,
    statement: Statement,
}

/// The flush task went away before answering (the worker is stopping).
#[derive(Debug, thiserror::Error)]
#[error("the session lookup was dropped")]
struct LookupDropped;

/// Per application (tests run many in one process): where its workers connect.
#[derive(Clone)]
pub struct SessionLookups {
    id: u64,
    url: Arc<str>,
    timeout: Duration,
    /// A worker's connection unused this long is closed (a quiet instance holds none).
    idle: Duration,
}

#[derive(Default)]
struct Worker {
    conn: Option<Rc<LookupConnection>>,
    waiting: Vec<Waiter>,
    flushing: bool,
    last_used: Option<Instant>,
}

thread_local! {
    static WORKERS: RefCell<HashMap<u64, Rc<RefCell<Worker>>>> = RefCell::new(HashMap::new());
}

impl SessionLookups {
    pub fn new(settings: &Settings) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            url: settings.database.url.expose().into(),
            timeout: settings.database.timeout,
            idle: settings.database.idle_timeout,
        }
    }

    fn worker(&self) -> Rc<RefCell<Worker>> {
        WORKERS.with(|workers| workers.borrow_mut().entry(self.id).or_default().clone())
    }

    /// The session with this token hash and its user. Must run on an actix worker thread
    /// (handlers and socket tasks do): it spawns local tasks.
    pub async fn find(&self, token_hash: Vec<u8>) -> Result<Found, Error> {
        let (reply, answer) = oneshot::channel();
        let worker = self.worker();
        let start_flush = {
            let mut worker = worker.borrow_mut();
            worker.waiting.push((token_hash, reply));
            !std::mem::replace(&mut worker.flushing, true)
        };
        if start_flush {
            tokio::task::spawn_local(self.clone().flush(worker));
        }
        answer
            .await
            .map_err(|_| Error::unavailable(LookupDropped))?
    }

    async fn flush(self, worker: Rc<RefCell<Worker>>) {
        loop {
            // Requests that are already runnable join this batch.
            tokio::task::yield_now().await;
            let batch = std::mem::take(&mut worker.borrow_mut().waiting);
            if batch.is_empty() {
                worker.borrow_mut().flushing = false;
                return;
            }
            let last_asks = last_asks(&batch);
            // One cookie used by several requests at once is looked up once.
            let hashes: Vec<&[u8]> = last_asks.keys().copied().collect();
            match self.query(&worker, &hashes).await {
                Ok(mut found) => {
                    // Each row moves to the last request that asked for it; earlier ones
                    // for the same token (one browser's parallel requests) get a copy.
                    let takes_row: Vec<bool> = batch
                        .iter()
                        .enumerate()
                        .map(|(index, (hash, _))| last_asks.get(hash.as_slice()) == Some(&index))
                        .collect();
                    for ((hash, reply), last) in batch.into_iter().zip(takes_row) {
                        let row = if last {
                            found.remove(&hash)
                        } else {
                            found.get(&hash).cloned()
                        };
                        let _ = reply.send(Ok(row));
                    }
                    found.clear();
                }
                Err(error) => {
                    // The connection may be dead: the next batch connects afresh.
                    worker.borrow_mut().conn = None;
                    let error = Arc::new(error);
                    for (_, reply) in batch {
                        let _ = reply.send(Err(Error::unavailable(error.clone())));
                    }
                }
            }
        }
    }

    /// Closes the worker's connection once it has been unused for `idle`.
    async fn close_when_idle(self, worker: Rc<RefCell<Worker>>) {
        loop {
            tokio::time::sleep(self.idle / 2).await;
            let mut worker = worker.borrow_mut();
            if worker.conn.is_none() {
                return;
            }
            if worker
                .last_used
                .is_none_or(|used| used.elapsed() >= self.idle)
                && !worker.flushing
            {
                worker.conn = None;
                return;
            }
        }
    }

    async fn query(
        &self,
        worker: &Rc<RefCell<Worker>>,
        hashes: &[&[u8]],
    ) -> Result<HashMap<Vec<u8>, Box<SessionWithUser>>, LookupError> {
        let existing = worker.borrow().conn.clone();
        let conn = match existing {
            Some(conn) => conn,
            None => {
                let conn = Rc::new(
                    tokio::time::timeout(self.timeout, self.connect())
                        .await
                        .map_err(|_| LookupError::ConnectTimeout)??,
                );
                worker.borrow_mut().conn = Some(conn.clone());
                tokio::task::spawn_local(self.clone().close_when_idle(worker.clone()));
                conn
            }
        };
        worker.borrow_mut().last_used = Some(Instant::now());
        let rows = conn
            .client
            .query(&conn.statement, &[&hashes])
            .await
            .map_err(LookupError::Query)?;
        rows.iter().map(decode).collect()
    }

    /// A connection of this worker's own (its driver task on this worker's runtime) with
    /// the lookup prepared.
    async fn connect(&self) -> Result<LookupConnection, LookupError> {
        let (client, driver) = tokio_postgres::connect(&self.url, NoTls)
            .await
            .map_err(LookupError::Connect)?;
        tokio::task::spawn_local(async move {
            // It ends with the connection; the next batch's query then fails and connects
            // afresh.
            if let Err(error) = driver.await {
                tracing::debug!(%error, "session lookup connection closed");
            }
        });
        // The lookup's plan never depends on its tokens (an index lookup either way), yet with
        // an array parameter PostgreSQL keeps planning it anew for each batch: a fifth of
        // its CPU under load (BENCHMARKS.md). The one generic plan is the plan it would pick.
        client
            .batch_execute("SET plan_cache_mode = force_generic_plan")
            .await
            .map_err(LookupError::Connect)?;
        let sql = sessions::sessions_with_users_by_tokens_sql().map_err(LookupError::Sql)?;
        let statement = client
            .prepare_typed(&sql, &[Type::BYTEA_ARRAY])
            .await
            .map_err(LookupError::Connect)?;
        let columns: Vec<(&str, &Type)> = statement
            .columns()
            .iter()
            .map(|column| (column.name(), column.type_()))
            .collect();
        let expected = COLUMNS.iter().map(|(name, kind)| (*name, kind));
        if !columns.iter().copied().eq(expected) {
            let found: Vec<String> = columns
                .iter()
                .map(|(name, kind)| format!("{name} {kind}"))
                .collect();
            return Err(LookupError::Columns(found.join(", ")));
        }
        Ok(LookupConnection { client, statement })
    }
}

/// One row of the lookup: its token hash, session and user (columns as in `COLUMNS`).
fn decode(row: &Row) -> Result<(Vec<u8>, Box<SessionWithUser>), LookupError> {
    let mut at = 0..;
    let mut next = || at.next().unwrap_or_default();
    let hash = get(row, next())?;
    let session = SessionRow {
        id: get(row, next())?,
        user_id: get(row, next())?,
        device: get(row, next())?,
        os: get(row, next())?,
        browser: get(row, next())?,
        user_agent: get(row, next())?,
        ip: get(row, next())?,
        created_at: get(row, next())?,
        last_seen_at: get(row, next())?,
        expires_at: get(row, next())?,
        ended_at: get::<Option<DateTime<Utc>>>(row, next())?,
        end_reason: get::<Option<String>>(row, next())?
            .map(|text| text_enum(&text, "end_reason", EndReason::parse))
            .transpose()?,
        ended_by: get(row, next())?,
        country: get(row, next())?,
        persistent: get(row, next())?,
        device_id: get(row, next())?,
        proved_at: get(row, next())?,
        proof_method: text_enum(
            &get::<String>(row, next())?,
            "proof_method",
            ProofMethod::parse,
        )?,
    };
    let user = UserRow {
        id: session.user_id,
        email: get(row, next())?,
        name: get(row, next())?,
        created_at: get(row, next())?,
        updated_at: get(row, next())?,
        email_verified_at: get(row, next())?,
        device_generation: get(row, next())?,
        devices_forgotten_at: get(row, next())?,
        totp_enabled_at: get(row, next())?,
    };
    Ok((hash, Box::new(SessionWithUser { session, user })))
}

fn get<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> Result<T, LookupError> {
    row.try_get(index).map_err(LookupError::Query)
}

fn text_enum<T>(
    text: &str,
    column: &'static str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, LookupError> {
    parse(text).ok_or_else(|| LookupError::Value {
        column,
        value: text.to_owned(),
    })
}

/// The batch's distinct token hashes (what the query asks for), each with the position of
/// the last request asking for it (the one its row moves to). Linear: a batch holds every
/// request waiting on the worker, hundreds under load.
fn last_asks(batch: &[Waiter]) -> HashMap<&[u8], usize> {
    let mut last_index: HashMap<&[u8], usize> = HashMap::with_capacity(batch.len());
    for (index, (hash, _)) in batch.iter().enumerate() {
        last_index.insert(hash.as_slice(), index);
    }
    last_index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lookup_binds_all_its_hashes_as_one_array() {
        let sql = sessions::sessions_with_users_by_tokens_sql().unwrap();
        assert!(
            sql.contains(r#""sessions"."token_hash" = ANY($1)"#),
            "{sql}"
        );
        assert!(!sql.contains("$2"), "{sql}");
    }

    #[test]
    fn only_the_last_ask_for_a_token_takes_its_row() {
        let batch: Vec<Waiter> = [b"a", b"b", b"a", b"c"]
            .into_iter()
            .map(|hash| (hash.to_vec(), oneshot::channel().0))
            .collect();
        let expected: HashMap<&[u8], usize> = [(&b"a"[..], 2), (&b"b"[..], 1), (&b"c"[..], 3)]
            .into_iter()
            .collect();
        assert_eq!(last_asks(&batch), expected);
    }
}
