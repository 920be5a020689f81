//! Queries on `login_attempts`: the slots a login (or password check) takes before any
//! hashing. The rules (which keys, which limits) are in `model::throttle`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Interval, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::storage::schema::login_attempts;

#[diesel::declare_sql_function]
extern "SQL" {
    /// `migrations/2026-11-23-000002_login_attempts`: the slots' ids, or none and the seconds
    /// until one frees up.
    fn take_login_slots(
        keys: Array<Text>,
        limits: Array<Integer>,
        now: Timestamptz,
        window: Interval,
    ) -> Record<(Nullable<Array<BigInt>>, Double)>;

    /// `migrations/2026-12-14-000001_login_statements_prepared`: how many rows went.
    fn release_login_slots(slot_ids: Array<BigInt>, forget_key: Nullable<Text>) -> Integer;
}

/// What asking for slots came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Slots {
    /// One slot per key, in the order of the keys.
    Taken(Vec<i64>),
    /// A key is at its limit: seconds until its oldest slot leaves the window.
    Refused { retry_after_secs: f64 },
}

/// Takes one slot per `(key, limit)`, atomically across every instance (see the
/// `take_login_slots` function in the migrations). Keys must be sorted.
pub async fn take(
    conn: &mut AsyncPgConnection,
    keys: &[(String, i32)],
    now: DateTime<Utc>,
    window: Duration,
) -> QueryResult<Slots> {
    let names: Vec<&str> = keys.iter().map(|(key, _)| key.as_str()).collect();
    let limits: Vec<i32> = keys.iter().map(|(_, limit)| *limit).collect();
    let window = diesel::data_types::PgInterval::from_microseconds(
        i64::try_from(window.as_micros()).unwrap_or(i64::MAX),
    );
    // A function call, which diesel keeps prepared (as raw SQL it was planned at every login).
    let (slot_ids, retry_after_secs): (Option<Vec<i64>>, f64) =
        diesel::select(take_login_slots(&names, &limits, now, window))
            .get_result(conn)
            .await?;
    Ok(match slot_ids {
        Some(ids) => Slots::Taken(ids),
        None => Slots::Refused { retry_after_secs },
    })
}

/// Gives slots back (a right password) and clears `forget_key`'s failures (the account's).
pub async fn release(
    conn: &mut AsyncPgConnection,
    slot_ids: &[i64],
    forget_key: Option<&str>,
) -> QueryResult<()> {
    // A function, whose plan PostgreSQL keeps: as a statement of its own, it was planned anew
    // at every login.
    diesel::select(release_login_slots(slot_ids, forget_key))
        .get_result::<i32>(conn)
        .await
        .map(|_| ())
}

/// Forgets every slot of a key (an administrator unlocking an account).
pub async fn clear(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<usize> {
    diesel::delete(login_attempts::table.filter(login_attempts::key.eq(key)))
        .execute(conn)
        .await
}

/// Slots a key holds within the window (for operators and tests).
pub async fn count(
    conn: &mut AsyncPgConnection,
    key: &str,
    since: DateTime<Utc>,
) -> QueryResult<i64> {
    login_attempts::table
        .filter(login_attempts::key.eq(key))
        .filter(login_attempts::at.gt(since))
        .count()
        .get_result(conn)
        .await
}
