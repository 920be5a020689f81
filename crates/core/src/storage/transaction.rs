//! How every written transaction runs (services reach it through
//! `events::unit_of_work`): committed when its body succeeds, rolled back otherwise, and run
//! again when PostgreSQL aborted it to break a deadlock or a serialization conflict.
//!
//! Locks are taken in one order everywhere — the user's row first, then the user's
//! requests and sessions — so deadlocks should not happen; this is the safety net for an
//! order not kept (or a conflict PostgreSQL finds elsewhere, such as a foreign key check),
//! so that such a race costs a retry instead of a 500.

use std::future::Future;
use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, TransactionManager};

use crate::error::Error;

/// Runs of a transaction before a conflict is given up on (then the client gets a 503 with
/// `Retry-After`: the race is over by then, trying again succeeds).
pub const TRIES: u32 = 3;

/// What a transaction runs: a closure (such as `async |conn| { … }`) that can be called
/// again, whose future is `Send` (the sweeper runs on a spawned task).
pub trait Body<'c, T>: Fn(&'c mut AsyncPgConnection) -> <Self as Body<'c, T>>::Fut {
    type Fut: Future<Output = Result<T, Error>> + Send;
}

impl<'c, T, F, Fut> Body<'c, T> for F
where
    F: Fn(&'c mut AsyncPgConnection) -> Fut,
    Fut: Future<Output = Result<T, Error>> + Send,
{
    type Fut = Fut;
}

/// Runs `body` in a transaction: committed if it returns `Ok`, rolled back if it returns
/// `Err`. When the database aborts it as a deadlock's victim (SQLSTATE 40P01) or for a
/// serialization failure (40001), `body` runs again, in a new transaction, after a short
/// random pause — up to [`TRIES`] times. A transaction nested in another (a savepoint) is
/// not run again here: the whole outer transaction was aborted, so the outer one is.
pub async fn run<T, F>(conn: &mut AsyncPgConnection, body: F) -> Result<T, Error>
where
    for<'c> F: AsyncFn(&'c mut AsyncPgConnection) -> Result<T, Error> + Body<'c, T>,
    F: Send + Sync,
    T: Send,
{
    let nested = AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_err(Error::from)?
        .is_some();
    let mut tries = 1;
    loop {
        let error = match once(conn, &body).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if nested || !is_conflict(&error) {
            return Err(error);
        }
        if tries >= TRIES {
            tracing::warn!(
                tries,
                error = %error.chain(),
                "transaction aborted by conflicts every time; giving up"
            );
            return Err(match error {
                Error::Internal(source) => Error::Unavailable(source),
                other => other,
            });
        }
        tracing::info!(
            tries,
            error = %error.chain(),
            "transaction aborted by a conflict; running it again"
        );
        tokio::time::sleep(pause(tries)).await;
        tries += 1;
    }
}

/// One run: what `AsyncConnection::transaction` does, with `body` borrowed so that it can
/// run again.
async fn once<T, F>(conn: &mut AsyncPgConnection, body: &F) -> Result<T, Error>
where
    for<'c> F: AsyncFn(&'c mut AsyncPgConnection) -> Result<T, Error> + Body<'c, T>,
{
    AnsiTransactionManager::begin_transaction(conn).await?;
    match body(conn).await {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(conn).await?;
            Ok(value)
        }
        Err(error) => match AnsiTransactionManager::rollback_transaction(conn).await {
            // A broken transaction manager: the original error says more.
            Ok(()) | Err(DieselError::BrokenTransactionManager) => Err(error),
            Err(rollback_error) => Err(rollback_error.into()),
        },
    }
}

/// True when PostgreSQL aborted the transaction to let another one through: a deadlock
/// or a serialization failure. diesel-async maps 40001 to `SerializationFailure` but
/// reports 40P01 as `Unknown`, keeping only the server's message (English unless the server's
/// `lc_messages` says otherwise).
pub fn is_conflict(error: &Error) -> bool {
    let Error::Internal(source) = error else {
        return false;
    };
    match source.downcast_ref::<DieselError>() {
        Some(DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _)) => true,
        Some(DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)) => {
            info.message().starts_with("deadlock detected")
        }
        _ => false,
    }
}

/// 10–50 ms after the first conflict, twice that after the second: random, so that the
/// transactions that met do not meet again in step.
fn pause(tries: u32) -> Duration {
    Duration::from_millis(rand::random_range(10..=50) * u64::from(tries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::from(DieselError::DatabaseError(
            kind,
            Box::new(message.to_owned()),
        ))
    }

    #[test]
    fn deadlocks_and_serialization_failures_are_conflicts_and_nothing_else_is() {
        assert!(is_conflict(&database_error(
            DatabaseErrorKind::Unknown,
            "deadlock detected"
        )));
        assert!(is_conflict(&database_error(
            DatabaseErrorKind::SerializationFailure,
            "could not serialize access due to concurrent update"
        )));
        assert!(!is_conflict(&database_error(
            DatabaseErrorKind::UniqueViolation,
            "duplicate key value violates unique constraint"
        )));
        assert!(!is_conflict(&database_error(
            DatabaseErrorKind::Unknown,
            "division by zero"
        )));
        assert!(!is_conflict(&Error::from(DieselError::NotFound)));
        assert!(!is_conflict(&Error::InvalidSession));
    }

    #[test]
    fn pauses_are_short_and_grow() {
        for _ in 0..100 {
            let first = pause(1);
            assert!((Duration::from_millis(10)..=Duration::from_millis(50)).contains(&first));
            let second = pause(2);
            assert!((Duration::from_millis(20)..=Duration::from_millis(100)).contains(&second));
        }
    }
}
