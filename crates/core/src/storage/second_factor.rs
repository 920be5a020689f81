//! Queries on `totp_factors`, `recovery_codes` and `second_factor_challenges`, and the
//! user's `totp_enabled_at`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::model::device::ClientInfo;
use crate::storage::schema::{recovery_codes, second_factor_challenges, totp_factors, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = totp_factors, check_for_backend(diesel::pg::Pg))]
pub struct TotpRow {
    pub user_id: Uuid,
    pub secret: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub last_used_step: Option<i64>,
}

/// Stores a new secret for the account (replacing one set up and never confirmed).
pub async fn put_totp(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    secret: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(totp_factors::table)
        .values((
            totp_factors::user_id.eq(user_id),
            totp_factors::secret.eq(secret),
            totp_factors::created_at.eq(now),
        ))
        .on_conflict(totp_factors::user_id)
        .do_update()
        .set((
            totp_factors::secret.eq(secret),
            totp_factors::created_at.eq(now),
            totp_factors::last_used_step.eq(None::<i64>),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn find_totp(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Option<TotpRow>> {
    totp_factors::table
        .find(user_id)
        .select(TotpRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Remembers the step of a code just accepted, if it is newer than the last one (a
/// concurrent check of the same code finds no row to update: `false`).
pub async fn use_totp_step(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    step: i64,
) -> QueryResult<bool> {
    let updated = diesel::update(
        totp_factors::table.find(user_id).filter(
            totp_factors::last_used_step
                .is_null()
                .or(totp_factors::last_used_step.lt(step)),
        ),
    )
    .set(totp_factors::last_used_step.eq(step))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// Turns the authenticator app on (`Some(now)`) or off (`None`).
pub async fn set_totp_enabled(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    enabled_at: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::totp_enabled_at.eq(enabled_at))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_totp(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<()> {
    diesel::delete(totp_factors::table.find(user_id))
        .execute(conn)
        .await?;
    Ok(())
}

/// Replaces the account's recovery codes with these hashes (none: removes them).
pub async fn replace_recovery_codes(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    hashes: &[Vec<u8>],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = hashes
        .iter()
        .map(|hash| {
            (
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(hash),
                recovery_codes::created_at.eq(now),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(recovery_codes::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Uses up the unused recovery code with this hash: `true` if there was one.
pub async fn use_recovery_code(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let updated = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)
    .await?;
    Ok(updated > 0)
}

pub async fn recovery_codes_left(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
        .await
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = second_factor_challenges, check_for_backend(diesel::pg::Pg))]
pub struct ChallengeRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub device: String,
    pub os: String,
    pub browser: String,
    pub user_agent: String,
    pub ip: String,
    pub country: Option<String>,
    pub device_id: Option<String>,
    pub keep_signed_in: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

stored_device!(ChallengeRow);

pub async fn insert_challenge(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    client: &ClientInfo,
    keep_signed_in: bool,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> QueryResult<ChallengeRow> {
    diesel::insert_into(second_factor_challenges::table)
        .values((
            second_factor_challenges::id.eq(Uuid::new_v4()),
            second_factor_challenges::user_id.eq(user_id),
            second_factor_challenges::device.eq(&client.device),
            second_factor_challenges::os.eq(&client.os),
            second_factor_challenges::browser.eq(&client.browser),
            second_factor_challenges::user_agent.eq(&client.user_agent),
            second_factor_challenges::ip.eq(&client.ip),
            second_factor_challenges::country.eq(&client.country),
            second_factor_challenges::device_id.eq(&client.device_id),
            second_factor_challenges::keep_signed_in.eq(keep_signed_in),
            second_factor_challenges::created_at.eq(now),
            second_factor_challenges::expires_at.eq(expires_at),
        ))
        .returning(ChallengeRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find_challenge(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<ChallengeRow>> {
    second_factor_challenges::table
        .filter(second_factor_challenges::id.eq(id))
        .select(ChallengeRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The challenge, locked for the rest of the transaction (one finisher at a time).
pub async fn lock_challenge(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<ChallengeRow>> {
    second_factor_challenges::table
        .filter(second_factor_challenges::id.eq(id))
        .select(ChallengeRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn use_challenge(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(second_factor_challenges::table.filter(second_factor_challenges::id.eq(id)))
        .set(second_factor_challenges::used_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// When the user's recovery codes were made (`None`: there are none).
pub async fn recovery_codes_made_at(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Option<DateTime<Utc>>> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .select(diesel::dsl::max(recovery_codes::created_at))
        .get_result(conn)
        .await
}

/// Every open challenge of the user: sign-ins that proved the password and wait for a code.
pub async fn delete_challenges_of(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<usize> {
    diesel::delete(
        second_factor_challenges::table.filter(second_factor_challenges::user_id.eq(user_id)),
    )
    .execute(conn)
    .await
}

/// The sweeper: challenges past their time are of no use to anyone.
pub async fn delete_expired_challenges(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        second_factor_challenges::table.filter(second_factor_challenges::expires_at.le(now)),
    )
    .execute(conn)
    .await
}
