//! Queries on `passkeys` (the account's WebAuthn credentials) and `passkey_challenges`
//! (ceremonies begun, single-use).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::storage::schema::{passkey_challenges, passkeys};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = passkeys, check_for_backend(diesel::pg::Pg))]
pub struct PasskeyRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub credential_id: Vec<u8>,
    /// webauthn-rs' `Passkey`, serialized.
    pub passkey: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What a ceremony is for; stored as its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    SignIn,
    /// Sudo mode: a signed-in session proves its user again with one of the account's.
    Reauthenticate,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::SignIn => "sign_in",
            Self::Reauthenticate => "reauthenticate",
        }
    }
}

pub async fn insert_challenge(
    conn: &mut AsyncPgConnection,
    purpose: Purpose,
    user_id: Option<Uuid>,
    state: serde_json::Value,
    expires_at: DateTime<Utc>,
) -> QueryResult<Uuid> {
    let id = Uuid::new_v4();
    diesel::insert_into(passkey_challenges::table)
        .values((
            passkey_challenges::id.eq(id),
            passkey_challenges::purpose.eq(purpose.as_str()),
            passkey_challenges::user_id.eq(user_id),
            passkey_challenges::state.eq(state),
            passkey_challenges::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// Takes (deletes) the challenge for `purpose` and, but for a sign-in, its user: the
/// state when it was still valid at `now`. An expired one goes all the same.
pub async fn take_challenge(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    purpose: Purpose,
    user_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<Option<serde_json::Value>> {
    let taken: Option<(serde_json::Value, DateTime<Utc>)> = diesel::delete(
        passkey_challenges::table
            .filter(passkey_challenges::id.eq(id))
            .filter(passkey_challenges::purpose.eq(purpose.as_str()))
            .filter(passkey_challenges::user_id.is_not_distinct_from(user_id)),
    )
    .returning((passkey_challenges::state, passkey_challenges::expires_at))
    .get_result(conn)
    .await
    .optional()?;
    Ok(taken
        .filter(|(_, expires_at)| *expires_at > now)
        .map(|(state, _)| state))
}

/// Removes ceremonies never finished that expired before `before` (the sweeper).
pub async fn purge_expired_challenges(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(passkey_challenges::table.filter(passkey_challenges::expires_at.lt(before)))
        .execute(conn)
        .await
}

/// The account's passkeys, oldest first.
pub async fn list(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .order((passkeys::created_at, passkeys::id))
        .select(PasskeyRow::as_select())
        .load(conn)
        .await
}

/// Inserts a passkey; `Ok(None)` when its credential is registered already (to any account).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    name: &str,
    credential_id: &[u8],
    passkey: serde_json::Value,
    now: DateTime<Utc>,
) -> QueryResult<Option<PasskeyRow>> {
    diesel::insert_into(passkeys::table)
        .values((
            passkeys::id.eq(Uuid::new_v4()),
            passkeys::user_id.eq(user_id),
            passkeys::name.eq(name),
            passkeys::credential_id.eq(credential_id),
            passkeys::passkey.eq(passkey),
            passkeys::created_at.eq(now),
        ))
        .on_conflict(passkeys::credential_id)
        .do_nothing()
        .returning(PasskeyRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// The passkey with this credential id, locked until the transaction ends (its counter is
/// checked and moved under the lock: two sign-ins with one assertion cannot both pass).
pub async fn lock_by_credential(
    conn: &mut AsyncPgConnection,
    credential_id: &[u8],
) -> QueryResult<Option<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::credential_id.eq(credential_id))
        .select(PasskeyRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// After a sign-in: the credential's new state (counter, backup flags) and when.
pub async fn record_use(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    passkey: serde_json::Value,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(passkeys::table.filter(passkeys::id.eq(id)))
        .set((
            passkeys::passkey.eq(passkey),
            passkeys::last_used_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Renames one of the user's passkeys; `None` when it is not theirs (or gone).
pub async fn rename(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    id: Uuid,
    name: &str,
) -> QueryResult<Option<PasskeyRow>> {
    diesel::update(
        passkeys::table
            .filter(passkeys::id.eq(id))
            .filter(passkeys::user_id.eq(user_id)),
    )
    .set(passkeys::name.eq(name))
    .returning(PasskeyRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Removes one of the user's passkeys; the one removed, `None` when it was not theirs.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<PasskeyRow>> {
    diesel::delete(
        passkeys::table
            .filter(passkeys::id.eq(id))
            .filter(passkeys::user_id.eq(user_id)),
    )
    .returning(PasskeyRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Removes every passkey of the user; their names.
pub async fn delete_all(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<String>> {
    diesel::delete(passkeys::table.filter(passkeys::user_id.eq(user_id)))
        .returning(passkeys::name)
        .get_results(conn)
        .await
}

/// Deletes the user's passkeys added at or after `since`: their names.
pub async fn delete_added_since(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<Vec<String>> {
    diesel::delete(
        passkeys::table
            .filter(passkeys::user_id.eq(user_id))
            .filter(passkeys::created_at.ge(since)),
    )
    .returning(passkeys::name)
    .get_results(conn)
    .await
}

/// How many passkeys the account has.
pub async fn count(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<i64> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .count()
        .get_result(conn)
        .await
}
