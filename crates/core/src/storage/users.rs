//! Queries on `users`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::model::factors::Factors;
use crate::model::input::{DisplayName, Email};
use crate::storage::schema::users;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Device cookies of an older generation no longer recognise a browser.
    pub device_generation: i32,
    /// When the current generation began (`None`: the first).
    pub devices_forgotten_at: Option<DateTime<Utc>>,
    /// When the authenticator app was turned on (`None`: off).
    pub totp_enabled_at: Option<DateTime<Utc>>,
}

impl UserRow {
    /// What protects the account beyond its password, on a server that does (or does not)
    /// mail codes to new devices.
    pub fn factors(&self, email_check: bool) -> Factors {
        Factors {
            email_confirmed: self.email_verified_at.is_some(),
            email_check,
            totp: self.totp_enabled_at.is_some(),
        }
    }
}

/// Inserts a user; `Ok(None)` when the email is taken (by the unique address or the unique
/// index on its lower-case form).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    email: &Email,
    name: &DisplayName,
    password_hash: &str,
    device_generation: i32,
    now: DateTime<Utc>,
) -> QueryResult<Option<UserRow>> {
    diesel::insert_into(users::table)
        .values((
            users::id.eq(Uuid::new_v4()),
            users::device_generation.eq(device_generation),
            users::email.eq(email.as_str()),
            users::name.eq(name.as_str()),
            users::password_hash.eq(password_hash),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn find_by_email(
    conn: &mut AsyncPgConnection,
    email: &Email,
) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email.as_str()))
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The user with this address and its password hash, for a sign-in. (The hash is read only
/// where a password is checked: `UserRow` leaves it out, and so does the copy every session
/// carries.)
pub async fn find_with_password_hash(
    conn: &mut AsyncPgConnection,
    email: &Email,
) -> QueryResult<Option<(UserRow, String)>> {
    users::table
        .filter(users::email.eq(email.as_str()))
        .select((UserRow::as_select(), users::password_hash))
        .first(conn)
        .await
        .optional()
}

/// The user's password hash; `None` once the account is gone.
pub async fn password_hash(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Option<String>> {
    users::table
        .find(user_id)
        .select(users::password_hash)
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<UserRow> {
    users::table
        .find(user_id)
        .select(UserRow::as_select())
        .first(conn)
        .await
}

/// Locks the user's row for the rest of the transaction: every decision about how many
/// sessions a user has is taken under this lock, so concurrent logins queue up.
pub async fn lock(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<UserRow> {
    users::table
        .find(user_id)
        .select(UserRow::as_select())
        .for_update()
        .first(conn)
        .await
}

/// Locks the rows of these users for the rest of the transaction, in the order of their
/// ids (the one order for locking several).
pub async fn lock_all(conn: &mut AsyncPgConnection, user_ids: &[Uuid]) -> QueryResult<()> {
    users::table
        .filter(users::id.eq_any(user_ids))
        .order(users::id)
        .select(users::id)
        .for_update()
        .load::<Uuid>(conn)
        .await
        .map(|_| ())
}

pub async fn set_name(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    name: &DisplayName,
    now: DateTime<Utc>,
) -> QueryResult<UserRow> {
    diesel::update(users::table.find(user_id))
        .set((users::name.eq(name.as_str()), users::updated_at.eq(now)))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn set_password_hash(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    password_hash: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(password_hash),
            users::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Starts a new generation of device cookies: no browser is recognised on an older one.
pub async fn forget_devices(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::device_generation.eq(users::device_generation + 1),
            users::devices_forgotten_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Records that the user proved the address is theirs.
pub async fn set_email_verified(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<UserRow> {
    diesel::update(users::table.find(user_id))
        .set((users::email_verified_at.eq(now), users::updated_at.eq(now)))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

/// Deletes the user; every row that references it goes with it (`ON DELETE CASCADE`).
/// False when there was no such user.
pub async fn delete(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<bool> {
    diesel::delete(users::table.find(user_id))
        .execute(conn)
        .await
        .map(|deleted| deleted > 0)
}

/// Moves the account to a new address (confirmed: the link to it was used); `None` when
/// another account took the address meanwhile.
pub async fn set_email(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    email: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<UserRow>> {
    let taken = users::table
        .filter(users::email.eq(email))
        .filter(users::id.ne(user_id))
        .count()
        .get_result::<i64>(conn)
        .await?;
    if taken > 0 {
        return Ok(None);
    }
    let moved = diesel::update(users::table.find(user_id))
        .set((
            users::email.eq(email),
            users::email_verified_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await;
    match moved {
        Ok(user) => Ok(Some(user)),
        // A signup took it between the check and the update (the caller rolls back).
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Whether a session of the user is open or was used after `since` (a never-confirmed
/// account in use is not deleted).
pub async fn used_since(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<bool> {
    use crate::storage::schema::sessions;
    diesel::select(diesel::dsl::exists(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(
                sessions::last_seen_at
                    .gt(since)
                    .or(sessions::ended_at.is_null()),
            ),
    ))
    .get_result(conn)
    .await
}

/// Up to `limit` accounts, oldest first, whose address was never confirmed, made before
/// `unused_since`, with no session open or used since then.
pub async fn unconfirmed_unused(
    conn: &mut AsyncPgConnection,
    unused_since: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    use crate::storage::schema::sessions;
    users::table
        .filter(users::email_verified_at.is_null())
        .filter(users::created_at.lt(unused_since))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            sessions::table
                .filter(sessions::user_id.eq(users::id))
                .filter(
                    sessions::last_seen_at
                        .gt(unused_since)
                        .or(sessions::ended_at.is_null()),
                ),
        )))
        .order(users::created_at)
        .select(users::id)
        .limit(limit)
        .load(conn)
        .await
}
