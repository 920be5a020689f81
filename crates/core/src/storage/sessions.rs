//! Queries on `sessions`. The activity rule itself is `model::session::Lifetimes`; the SQL
//! forms of it for queries over many rows are `active` and `END_LAPSED`, both here.

use chrono::{DateTime, Utc};
use diesel::dsl::{And, Gt, IsNull};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Double, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::model::device::ClientInfo;
use crate::model::second_factor::ProofMethod;
use crate::model::session::{EndReason, Lifetimes, chrono_duration};
use crate::storage::schema::sessions;
use crate::storage::users::UserRow;

/// A session's row with its user's, as a session check reads them (`lookup`,
/// `find_with_user`); once checked, what a request acts with
/// (`services::sessions::Authenticated`).
#[derive(Debug, Clone)]
pub struct SessionWithUser {
    pub session: SessionRow,
    pub user: UserRow,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub device: String,
    pub os: String,
    pub browser: String,
    pub user_agent: String,
    pub ip: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<EndReason>,
    /// The session that ended this one (a revocation from another device, or the login
    /// that replaced it).
    pub ended_by: Option<Uuid>,
    pub country: Option<String>,
    /// "Keep me signed in": the cookie outlives the browser, up to `expires_at`.
    pub persistent: bool,
    /// The browser's device-cookie id (`None` for sessions from before it was kept).
    pub device_id: Option<String>,
    /// When and how the session last proved its user (sudo mode).
    pub proved_at: DateTime<Utc>,
    pub proof_method: ProofMethod,
}

stored_device!(SessionRow);

/// The copy of its user's fields that every session carries, kept by triggers (migration
/// `sessions_carry_their_user`): the session check reads a session and its user from one row.
/// (The user's id is the session's own `user_id`.)
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct UserCopy {
    #[diesel(column_name = user_email)]
    email: String,
    #[diesel(column_name = user_name)]
    name: String,
    #[diesel(column_name = user_created_at)]
    created_at: DateTime<Utc>,
    #[diesel(column_name = user_updated_at)]
    updated_at: DateTime<Utc>,
    #[diesel(column_name = user_email_verified_at)]
    email_verified_at: Option<DateTime<Utc>>,
    #[diesel(column_name = user_device_generation)]
    device_generation: i32,
    #[diesel(column_name = user_devices_forgotten_at)]
    devices_forgotten_at: Option<DateTime<Utc>>,
    #[diesel(column_name = user_totp_enabled_at)]
    totp_enabled_at: Option<DateTime<Utc>>,
}

impl UserCopy {
    /// The user whose copy this is: `id` is its session's `user_id`.
    fn into_user(self, id: Uuid) -> UserRow {
        UserRow {
            id,
            email: self.email,
            name: self.name,
            created_at: self.created_at,
            updated_at: self.updated_at,
            email_verified_at: self.email_verified_at,
            device_generation: self.device_generation,
            devices_forgotten_at: self.devices_forgotten_at,
            totp_enabled_at: self.totp_enabled_at,
        }
    }
}

type Active = And<
    And<IsNull<sessions::ended_at>, Gt<sessions::expires_at, DateTime<Utc>>>,
    Gt<sessions::last_seen_at, DateTime<Utc>>,
>;

/// Open and within both deadlines: `Lifetimes::is_active` in SQL.
fn active(now: DateTime<Utc>, lifetimes: Lifetimes) -> Active {
    sessions::ended_at
        .is_null()
        .and(sessions::expires_at.gt(now))
        .and(sessions::last_seen_at.gt(now - chrono_duration(lifetimes.idle)))
}

pub struct NewSession<'a> {
    pub user_id: Uuid,
    pub persistent: bool,
    pub token_hash: &'a [u8],
    pub client: &'a ClientInfo,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// How the sign-in proved the user (the session's first proof, at `created_at`).
    pub proof: ProofMethod,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewSession<'_>) -> QueryResult<SessionRow> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(Uuid::new_v4()),
            sessions::user_id.eq(new.user_id),
            sessions::token_hash.eq(new.token_hash),
            sessions::device.eq(&new.client.device),
            sessions::os.eq(&new.client.os),
            sessions::browser.eq(&new.client.browser),
            sessions::user_agent.eq(&new.client.user_agent),
            sessions::ip.eq(&new.client.ip),
            sessions::country.eq(&new.client.country),
            sessions::device_id.eq(&new.client.device_id),
            sessions::persistent.eq(new.persistent),
            sessions::created_at.eq(new.created_at),
            sessions::last_seen_at.eq(new.created_at),
            sessions::expires_at.eq(new.expires_at),
            sessions::proved_at.eq(new.created_at),
            sessions::proof_method.eq(new.proof),
        ))
        .returning(SessionRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .filter(sessions::id.eq(id))
        .select(SessionRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Many sessions by id in one query (the sockets' heartbeat re-check); missing ids are absent.
pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::id.eq_any(ids))
        .select(SessionRow::as_select())
        .load(conn)
        .await
}

/// A session and its user (the copy it carries), by the session's id (sockets check theirs
/// this way: the cookie token may have been rotated since they opened).
pub async fn find_with_user(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<Box<SessionWithUser>>> {
    let found: Option<(SessionRow, UserCopy)> = sessions::table
        .filter(sessions::id.eq(id))
        .select((SessionRow::as_select(), UserCopy::as_select()))
        .first(conn)
        .await
        .optional()?;
    Ok(found.map(|(session, copy)| {
        let user = copy.into_user(session.user_id);
        Box::new(SessionWithUser { session, user })
    }))
}

/// The SQL text of the batched session check (`storage::lookup`): the sessions whose token
/// hash is in `$1` (a `bytea[]`) with their users (the copy each carries), columns in the
/// order of `token_hash`, `SessionRow` and `UserCopy`'s fields. Built by diesel once, from
/// the same expression and structs as every other query here; the lookup prepares it once
/// per connection and decodes its rows by position (`lookup` checks the column names when it
/// prepares).
pub fn sessions_with_users_by_tokens_sql() -> QueryResult<String> {
    use diesel::pg::{Pg, PgQueryBuilder};
    use diesel::query_builder::{QueryBuilder, QueryFragment};
    let no_hashes: &[&[u8]] = &[];
    let query = sessions::table
        .filter(sessions::token_hash.eq_any(no_hashes))
        .select((
            sessions::token_hash,
            SessionRow::as_select(),
            UserCopy::as_select(),
        ));
    let mut builder = PgQueryBuilder::default();
    <_ as QueryFragment<Pg>>::to_sql(&query, &mut builder, &Pg)?;
    Ok(builder.finish())
}

pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::last_seen_at.eq(now))
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn replace_token(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    token_hash: &[u8],
) -> QueryResult<()> {
    diesel::update(sessions::table.filter(sessions::id.eq(id)))
        .set(sessions::token_hash.eq(token_hash))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Ends one open session of the user (`by`: the session that ends it, if one does); the
/// row as ended, or `None` when there was no such open session.
pub async fn end(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    id: Uuid,
    reason: EndReason,
    by: Option<Uuid>,
    at: DateTime<Utc>,
) -> QueryResult<Option<SessionRow>> {
    diesel::update(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::ended_at.is_null()),
    )
    .set((
        sessions::ended_at.eq(at),
        sessions::end_reason.eq(reason),
        sessions::ended_by.eq(by),
    ))
    .returning(SessionRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Ends the `count` least recently used active sessions of the user but `keep` (a newer
/// login, `by`, takes their place).
pub async fn end_least_recently_used(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    keep: Uuid,
    count: i64,
    now: DateTime<Utc>,
    lifetimes: Lifetimes,
) -> QueryResult<Vec<SessionRow>> {
    let oldest: Vec<Uuid> = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::id.ne(keep))
        .filter(active(now, lifetimes))
        .order((sessions::last_seen_at.asc(), sessions::created_at.asc()))
        .limit(count)
        .select(sessions::id)
        .load(conn)
        .await?;
    diesel::update(sessions::table.filter(sessions::id.eq_any(&oldest)))
        .set((
            sessions::ended_at.eq(now),
            sessions::end_reason.eq(EndReason::Replaced),
            sessions::ended_by.eq(keep),
        ))
        .returning(SessionRow::as_returning())
        .get_results(conn)
        .await
}

/// When the oldest active session of the user other than `except` started, if any.
pub async fn oldest_active_other(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    except: Uuid,
    now: DateTime<Utc>,
    lifetimes: Lifetimes,
) -> QueryResult<Option<DateTime<Utc>>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::id.ne(except))
        .filter(active(now, lifetimes))
        .select(diesel::dsl::min(sessions::created_at))
        .get_result(conn)
        .await
}

/// Ends every open session of the user but `keep` (none if `keep` is `None`), ended by
/// `keep`; returns the sessions ended.
pub async fn end_others(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: EndReason,
    now: DateTime<Utc>,
) -> QueryResult<Vec<SessionRow>> {
    let keep_id = keep.unwrap_or_else(Uuid::nil);
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.ne(keep_id))
            .filter(sessions::ended_at.is_null()),
    )
    .set((
        sessions::ended_at.eq(now),
        sessions::end_reason.eq(reason),
        sessions::ended_by.eq(keep),
    ))
    .returning(SessionRow::as_returning())
    .get_results(conn)
    .await
}

/// Ends the user's active sessions in the browser with this device-cookie id but `keep`
/// (the session that takes their place, `ended_by`).
pub async fn end_in_browser(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    device_id: &str,
    keep: Uuid,
    now: DateTime<Utc>,
    lifetimes: Lifetimes,
) -> QueryResult<Vec<SessionRow>> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::device_id.eq(device_id))
            .filter(sessions::id.ne(keep))
            .filter(active(now, lifetimes)),
    )
    .set((
        sessions::ended_at.eq(now),
        sessions::end_reason.eq(EndReason::ReplacedBySameBrowser),
        sessions::ended_by.eq(keep),
    ))
    .returning(SessionRow::as_returning())
    .get_results(conn)
    .await
}

/// Ends every open session of every user (`reason`); the rows as ended.
pub async fn end_all_open(
    conn: &mut AsyncPgConnection,
    reason: EndReason,
    now: DateTime<Utc>,
) -> QueryResult<Vec<SessionRow>> {
    diesel::update(sessions::table.filter(sessions::ended_at.is_null()))
        .set((sessions::ended_at.eq(now), sessions::end_reason.eq(reason)))
        .returning(SessionRow::as_returning())
        .get_results(conn)
        .await
}

/// A session that lapsed and was just ended.
#[derive(Debug, Clone, QueryableByName)]
pub struct Lapsed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub end_reason: EndReason,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub ip: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub label: String,
}

/// `Lifetimes::lapse` in SQL: ends open sessions whose time is up, with the moment they
/// really lapsed as `ended_at` and whichever deadline came first as the reason.
const END_LAPSED: &str = "UPDATE sessions SET \
        ended_at = LEAST(expires_at, last_seen_at + make_interval(secs => $2)), \
        end_reason = CASE WHEN expires_at <= last_seen_at + make_interval(secs => $2) \
                          THEN 'lifetime_exceeded' ELSE 'idle_timeout' END \
     WHERE ended_at IS NULL \
       AND (expires_at <= $1 OR last_seen_at <= $1 - make_interval(secs => $2))";
const RETURNING_LAPSED: &str = " RETURNING id, user_id, end_reason, ip, browser || ' on ' || os || ' (' || device || ')' AS label";

/// Ends the lapsed sessions of one user, or of everyone.
pub async fn end_lapsed(
    conn: &mut AsyncPgConnection,
    user_id: Option<Uuid>,
    now: DateTime<Utc>,
    lifetimes: Lifetimes,
) -> QueryResult<Vec<Lapsed>> {
    // Two statements rather than `($3 OR user_id = $4)`: that form hides the user from the
    // planner, and a login would scan every open session instead of the user's few.
    let idle = lifetimes.idle.as_secs_f64();
    match user_id {
        Some(user_id) => {
            diesel::sql_query(format!("{END_LAPSED} AND user_id = $3{RETURNING_LAPSED}"))
                .bind::<Timestamptz, _>(now)
                .bind::<Double, _>(idle)
                .bind::<diesel::sql_types::Uuid, _>(user_id)
                .load(conn)
                .await
        }
        None => {
            diesel::sql_query(format!("{END_LAPSED}{RETURNING_LAPSED}"))
                .bind::<Timestamptz, _>(now)
                .bind::<Double, _>(idle)
                .load(conn)
                .await
        }
    }
}

/// The users with an open session whose time is up (what `end_lapsed` would end).
pub async fn users_with_lapsed(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    lifetimes: Lifetimes,
) -> QueryResult<Vec<Uuid>> {
    let idle_since = now
        .checked_sub_signed(chrono_duration(lifetimes.idle))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    sessions::table
        .filter(sessions::ended_at.is_null())
        .filter(
            sessions::expires_at
                .le(now)
                .or(sessions::last_seen_at.le(idle_since)),
        )
        .select(sessions::user_id)
        .distinct()
        .load(conn)
        .await
}

/// An open session as a decision about the limit sees it.
#[derive(Queryable)]
pub struct OpenSession {
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The browser it was started in (its device cookie's id).
    pub device_id: Option<String>,
}

/// The user's open sessions: what a decision about the limit is taken on (one prepared
/// query over the user's few rows).
pub async fn open_sessions(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Vec<OpenSession>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .select((
            sessions::last_seen_at,
            sessions::expires_at,
            sessions::device_id,
        ))
        .load(conn)
        .await
}

/// Deletes sessions that ended before `cutoff` (history retention).
pub async fn purge_ended_before(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::ended_at.lt(cutoff)))
        .execute(conn)
        .await
}

/// Active sessions, oldest first.
pub async fn list_active(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
    lifetimes: Lifetimes,
) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(active(now, lifetimes))
        .select(SessionRow::as_select())
        .order(sessions::created_at.asc())
        .load(conn)
        .await
}

/// Active sessions of all users (the partial index on open sessions keeps it cheap).
pub async fn count_all_active(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    lifetimes: Lifetimes,
) -> QueryResult<i64> {
    sessions::table
        .filter(active(now, lifetimes))
        .count()
        .get_result(conn)
        .await
}

/// The session log, newest first, strictly after `(created_at, id)` of the cursor.
pub async fn history_page(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<SessionRow>> {
    let mut query = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .select(SessionRow::as_select())
        .order((sessions::created_at.desc(), sessions::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((created_at, id)) = after {
        // A row comparison lets PostgreSQL walk the (user_id, created_at, id) index directly.
        query = query.filter(
            diesel::dsl::sql::<Bool>("(sessions.created_at, sessions.id) < (")
                .bind::<Timestamptz, _>(created_at)
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .sql(")"),
        );
    }
    query.load(conn).await
}

/// Sudo mode: the session proved its user again, now, by `method`.
pub async fn record_proof(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    method: ProofMethod,
    now: DateTime<Utc>,
) -> QueryResult<SessionRow> {
    diesel::update(sessions::table.filter(sessions::id.eq(id)))
        .set((
            sessions::proved_at.eq(now),
            sessions::proof_method.eq(method),
        ))
        .returning(SessionRow::as_returning())
        .get_result(conn)
        .await
}
