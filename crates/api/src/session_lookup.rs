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

use crate::error::ApiError;
use crate::sessions::{self, SessionRow};
use crate::settings::Settings;
use crate::users::UserRow;

pub type Found = Option<(SessionRow, UserRow)>;
type Waiter = (Vec<u8>, oneshot::Sender<Result<Found, ApiError>>);

/// Per application (tests run many in one process): where its workers connect.
#[derive(Clone)]
pub struct SessionLookups {
    id: u64,
    url: Arc<str>,
    timeout: Duration,
}

#[derive(Default)]
struct Worker {
    conn: Option<Rc<AsyncPgConnection>>,
    waiting: Vec<Waiter>,
    flushing: bool,
}

thread_local! {
    static WORKERS: RefCell<HashMap<u64, Rc<RefCell<Worker>>>> = RefCell::new(HashMap::new());
}

impl SessionLookups {
    pub fn new(settings: &Settings) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            url: settings.database_url.as_str().into(),
            timeout: settings.db_timeout,
        }
    }

    fn worker(&self) -> Rc<RefCell<Worker>> {
        WORKERS.with(|workers| workers.borrow_mut().entry(self.id).or_default().clone())
    }

    /// The session with this token hash and its user. Must run on an actix worker thread
    /// (handlers and socket tasks do).
    pub async fn find(&self, token_hash: Vec<u8>) -> Result<Found, ApiError> {
        let (reply, answer) = oneshot::channel();
        let worker = self.worker();
        let start_flush = {
            let mut worker = worker.borrow_mut();
            worker.waiting.push((token_hash, reply));
            !std::mem::replace(&mut worker.flushing, true)
        };
        if start_flush {
            actix_web::rt::spawn(self.clone().flush(worker));
        }
        answer
            .await
            .map_err(|_| ApiError::Internal("session lookup dropped".into()))?
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
                    let detail = error.to_string();
                    for (_, reply) in batch {
                        let _ = reply.send(Err(ApiError::Unavailable(format!(
                            "session lookup: {detail}"
                        ))));
                    }
                }
            }
        }
    }

    async fn query(
        &self,
        worker: &Rc<RefCell<Worker>>,
        batch: &[Waiter],
    ) -> Result<HashMap<Vec<u8>, (SessionRow, UserRow)>, String> {
        let existing = worker.borrow().conn.clone();
        let conn = match existing {
            Some(conn) => conn,
            None => {
                // Its driver task is spawned on this worker's runtime.
                let conn =
                    tokio::time::timeout(self.timeout, AsyncPgConnection::establish(&self.url))
                        .await
                        .map_err(|_| "connect timed out".to_owned())?
                        .map_err(|error| error.to_string())?;
                let conn = Rc::new(conn);
                worker.borrow_mut().conn = Some(conn.clone());
                conn
            }
        };
        // One cookie used by several requests at once is looked up once.
        let mut hashes: Vec<&[u8]> = batch.iter().map(|(hash, _)| hash.as_slice()).collect();
        hashes.sort_unstable();
        hashes.dedup();
        let rows = sessions::find_with_users_by_tokens(&conn, &hashes)
            .await
            .map_err(|error| error.to_string())?;
        Ok(rows
            .into_iter()
            .map(|(hash, session, user)| (hash, (session, user)))
            .collect())
    }
}
