//! The read every authenticated request makes — its session row and user — batched.
//!
//! Each worker thread keeps its own connection and a queue. A request queues its token hash;
//! one flush task per worker sends everything queued as one query
//! (`token_hash = ANY($1)`), answers each waiter, and repeats while more arrived meanwhile.
//! Under load one query serves many requests (PostgreSQL and this process pay one round trip
//! for all); when idle a batch holds one lookup and costs one yield. Every request is still
//! answered from a read made after it arrived, so a revocation is seen on the very next
//! request. Everything else (writes, transactions) uses the pool.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::config::Settings;
use crate::error::Error;
use crate::storage::sessions::{self, SessionRow};
use crate::storage::users::UserRow;

pub type Found = Option<(SessionRow, UserRow)>;
type Waiter = (Vec<u8>, oneshot::Sender<Result<Found, Error>>);

/// Why a batch failed; shared by every request of the batch.
#[derive(Debug, thiserror::Error)]
enum LookupError {
    #[error("session lookup: connecting timed out")]
    ConnectTimeout,
    #[error("session lookup: cannot connect")]
    Connect(#[source] diesel::ConnectionError),
    #[error("session lookup")]
    Query(#[source] diesel::result::Error),
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
    conn: Option<Rc<AsyncPgConnection>>,
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
            match self.query(&worker, &batch).await {
                Ok(mut found) => {
                    for (hash, reply) in batch {
                        let row = found.get(&hash).cloned();
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
        batch: &[Waiter],
    ) -> Result<HashMap<Vec<u8>, (SessionRow, UserRow)>, LookupError> {
        let existing = worker.borrow().conn.clone();
        let conn = match existing {
            Some(conn) => conn,
            None => {
                // Its driver task is spawned on this worker's runtime.
                let conn =
                    tokio::time::timeout(self.timeout, AsyncPgConnection::establish(&self.url))
                        .await
                        .map_err(|_| LookupError::ConnectTimeout)?
                        .map_err(LookupError::Connect)?;
                let conn = Rc::new(conn);
                worker.borrow_mut().conn = Some(conn.clone());
                tokio::task::spawn_local(self.clone().close_when_idle(worker.clone()));
                conn
            }
        };
        worker.borrow_mut().last_used = Some(Instant::now());
        // One cookie used by several requests at once is looked up once.
        let mut hashes: Vec<&[u8]> = batch.iter().map(|(hash, _)| hash.as_slice()).collect();
        hashes.sort_unstable();
        hashes.dedup();
        let rows = sessions::find_with_users_by_tokens(&conn, &hashes)
            .await
            .map_err(LookupError::Query)?;
        Ok(rows
            .into_iter()
            .map(|(hash, session, user)| (hash, (session, user)))
            .collect())
    }
}
