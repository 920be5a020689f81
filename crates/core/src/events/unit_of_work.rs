//! One unit of work: a transaction, what it changed, and the time it runs at — the one way
//! services write.
//!
//! `state.unit_of_work(async |mut tx| { … tx.commit(value).await })`: the body reads and
//! writes through `tx.conn()`, records what changed (`tx.log`, `tx.announce`, `tx.mail`)
//! and decides at `tx.now()` (the clock read once, before the first run). It can end only by
//! consuming `tx`, and both ways save the changes in the transaction, so none is forgotten:
//! [`Tx::commit`] (the caller gets the value) or [`Tx::commit_refusal`] (what was found on
//! the way commits — a wrong code counted, an expiry — and the caller gets the error). An
//! error returned with `?` rolls everything back, changes included. The events go out with
//! `NOTIFY`, which PostgreSQL delivers when the transaction commits.
//!
//! The body runs again after a deadlock or a serialization failure
//! (`storage::transaction::run`), so it is a closure that can be called again, with a fresh
//! `Tx` each time.

use std::future::Future;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::{Changes, Event};
use crate::error::Error;
use crate::model::mail::Mail;
use crate::storage::activity::NewEntry;
use crate::storage::transaction;

/// A transaction in progress: its connection, the changes it collects, and its `now`.
#[must_use = "a unit of work ends with `commit` or `commit_refusal`"]
pub struct Tx<'c> {
    conn: &'c mut AsyncPgConnection,
    changes: Changes,
    now: DateTime<Utc>,
}

/// Proof that a unit of work's body ended through [`Tx::commit`] or [`Tx::commit_refusal`]:
/// the only way to make one, and the only thing a body may return.
#[must_use]
pub struct Committed<T> {
    result: Result<T, Error>,
    /// The accounts whose rows changed (see `storage::replica`).
    accounts: Vec<Uuid>,
}

impl<'c> Tx<'c> {
    pub fn conn(&mut self) -> &mut AsyncPgConnection {
        self.conn
    }

    /// The time this unit of work runs at (the same in every statement and every run).
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// An entry for the activity log.
    pub fn log(&mut self, entry: NewEntry) {
        self.changes.log.push(entry);
    }

    /// An event for the devices, published when the transaction commits.
    pub fn announce(&mut self, event: Event) {
        self.changes.events.push(event);
    }

    /// Mails this to the account's address (if its kind is mailed at all).
    pub fn mail(&mut self, user_id: Uuid, mail: Mail) {
        self.changes.mail.push((user_id, mail));
    }

    /// Mails this to `recipient` (a new address to confirm; the goodbye of an account that
    /// is deleted in this transaction, with no `user_id`).
    pub fn mail_to(&mut self, user_id: Option<Uuid>, recipient: &str, mail: Mail) {
        self.changes
            .mail_to
            .push((user_id, recipient.to_owned(), mail));
    }

    /// The account was deleted in this transaction: what was collected for its log and its
    /// mailbox goes with it, as its rows did (its events still go out).
    pub fn deleted_account(&mut self, user_id: Uuid) {
        self.changes.log.retain(|entry| entry.user_id != user_id);
        self.changes.mail.retain(|(to, _)| *to != user_id);
        self.changes
            .mail_to
            .retain(|(account, _, _)| *account != Some(user_id));
    }

    /// Saves the changes; the transaction commits and the caller gets `value`.
    pub async fn commit<T>(self, value: T) -> Result<Committed<T>, Error> {
        self.changes.save(self.conn, self.now).await?;
        Ok(Committed {
            result: Ok(value),
            accounts: self.changes.accounts(),
        })
    }

    /// Saves the changes; the transaction commits and the caller gets `Err(refusal)`.
    pub async fn commit_refusal<T>(self, refusal: Error) -> Result<Committed<T>, Error> {
        self.changes.save(self.conn, self.now).await?;
        Ok(Committed {
            result: Err(refusal),
            accounts: self.changes.accounts(),
        })
    }
}

/// What a unit of work runs: a closure (such as `async |mut tx| { … }`) that can be called
/// again, whose future is `Send` (the sweeper runs on a spawned task).
pub trait Work<'c, T>: Fn(Tx<'c>) -> <Self as Work<'c, T>>::Fut {
    type Fut: Future<Output = Result<Committed<T>, Error>> + Send;
}

impl<'c, T, F, Fut> Work<'c, T> for F
where
    F: Fn(Tx<'c>) -> Fut,
    Fut: Future<Output = Result<Committed<T>, Error>> + Send,
{
    type Fut = Fut;
}

/// Runs `work` as one unit of work on `conn`, at `now` (see the module's comment).
pub async fn run<T, F>(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    work: F,
) -> Result<T, Error>
where
    for<'c> F: AsyncFn(Tx<'c>) -> Result<Committed<T>, Error> + Work<'c, T>,
    F: Send + Sync,
    T: Send,
{
    run_telling_accounts(conn, now, work).await.0
}

/// Like [`run`], also telling which accounts' rows the committed transaction changed (none
/// when it rolled back).
#[tracing::instrument(name = "transaction", skip_all)]
pub async fn run_telling_accounts<T, F>(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    work: F,
) -> (Result<T, Error>, Vec<Uuid>)
where
    for<'c> F: AsyncFn(Tx<'c>) -> Result<Committed<T>, Error> + Work<'c, T>,
    F: Send + Sync,
    T: Send,
{
    let committed = transaction::run(conn, async |conn| {
        begin(
            &work,
            Tx {
                conn,
                changes: Changes::default(),
                now,
            },
        )
        .await
    })
    .await;
    match committed {
        Ok(Committed { result, accounts }) => (result, accounts),
        Err(error) => (Err(error), Vec::new()),
    }
}

/// Starts one run of the body (called through `Work`, whose future is known to be `Send`).
fn begin<'c, T, F: Work<'c, T>>(work: &F, tx: Tx<'c>) -> F::Fut {
    work(tx)
}
