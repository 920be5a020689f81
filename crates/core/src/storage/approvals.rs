//! Queries on `login_approvals`. Which status may follow which is decided by
//! `model::approval::ApprovalStatus::next`; these only store the result.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::model::approval::{ApprovalChannel, ApprovalStatus};
use crate::model::device::ClientInfo;
use crate::model::second_factor::ProofMethod;
use crate::storage::schema::login_approvals;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = login_approvals, check_for_backend(diesel::pg::Pg))]
pub struct ApprovalRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub code_hash: Vec<u8>,
    pub pending_token_hash: Vec<u8>,
    pub device: String,
    pub os: String,
    pub browser: String,
    pub user_agent: String,
    pub ip: String,
    pub status: ApprovalStatus,
    pub failed_attempts: i32,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by_session_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub country: Option<String>,
    pub keep_signed_in: bool,
    pub channel: ApprovalChannel,
    pub device_id: Option<String>,
    /// How the device proved the user before asking (its session says so once approved).
    pub proof_method: ProofMethod,
}

stored_device!(ApprovalRow);

pub struct NewApproval<'a> {
    pub id: Uuid,
    pub channel: ApprovalChannel,
    pub keep_signed_in: bool,
    pub user_id: Uuid,
    pub code_hash: &'a [u8],
    pub pending_token_hash: &'a [u8],
    pub client: &'a ClientInfo,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub proof: ProofMethod,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: NewApproval<'_>,
) -> QueryResult<ApprovalRow> {
    diesel::insert_into(login_approvals::table)
        .values((
            login_approvals::id.eq(new.id),
            login_approvals::user_id.eq(new.user_id),
            login_approvals::code_hash.eq(new.code_hash),
            login_approvals::pending_token_hash.eq(new.pending_token_hash),
            login_approvals::device.eq(&new.client.device),
            login_approvals::os.eq(&new.client.os),
            login_approvals::browser.eq(&new.client.browser),
            login_approvals::user_agent.eq(&new.client.user_agent),
            login_approvals::ip.eq(&new.client.ip),
            login_approvals::country.eq(&new.client.country),
            login_approvals::device_id.eq(&new.client.device_id),
            login_approvals::keep_signed_in.eq(new.keep_signed_in),
            login_approvals::channel.eq(new.channel),
            login_approvals::status.eq(ApprovalStatus::Pending),
            login_approvals::created_at.eq(new.created_at),
            login_approvals::expires_at.eq(new.expires_at),
            login_approvals::proof_method.eq(new.proof),
        ))
        .returning(ApprovalRow::as_returning())
        .get_result(conn)
        .await
}

/// Requests still waiting for a signed-in device and within their time.
pub async fn count_pending(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    login_approvals::table
        .filter(login_approvals::user_id.eq(user_id))
        .filter(login_approvals::channel.eq(ApprovalChannel::Device))
        .filter(login_approvals::status.eq(ApprovalStatus::Pending))
        .filter(login_approvals::expires_at.gt(now))
        .count()
        .get_result(conn)
        .await
}

/// Requests a signed-in device may answer (a mailed code is typed by the new device).
pub async fn list_pending(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Vec<ApprovalRow>> {
    login_approvals::table
        .filter(login_approvals::user_id.eq(user_id))
        .filter(login_approvals::channel.eq(ApprovalChannel::Device))
        .filter(login_approvals::status.eq(ApprovalStatus::Pending))
        .filter(login_approvals::expires_at.gt(now))
        .order(login_approvals::created_at.asc())
        .select(ApprovalRow::as_select())
        .load(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ApprovalRow>> {
    login_approvals::table
        .filter(login_approvals::id.eq(id))
        .select(ApprovalRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The request, locked for the rest of the transaction.
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ApprovalRow>> {
    login_approvals::table
        .filter(login_approvals::id.eq(id))
        .select(ApprovalRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// A new status, who decided (if a session did) and when.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: ApprovalStatus,
    decided_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(login_approvals::table.filter(login_approvals::id.eq(id)))
        .set((
            login_approvals::status.eq(status),
            login_approvals::decided_at.eq(now),
            login_approvals::decided_by_session_id.eq(decided_by),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Approved: the session waiting for the new device to complete before `complete_by`.
pub async fn set_approved(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    decided_by: Uuid,
    session_id: Uuid,
    now: DateTime<Utc>,
    complete_by: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(login_approvals::table.filter(login_approvals::id.eq(id)))
        .set((
            login_approvals::status.eq(ApprovalStatus::Approved),
            login_approvals::decided_at.eq(now),
            login_approvals::decided_by_session_id.eq(decided_by),
            login_approvals::session_id.eq(session_id),
            login_approvals::expires_at.eq(complete_by),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Completed: only the status changes (the decision stays recorded as it was).
pub async fn set_completed(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(login_approvals::table.filter(login_approvals::id.eq(id)))
        .set(login_approvals::status.eq(ApprovalStatus::Completed))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn set_failed_attempts(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    failed_attempts: i32,
) -> QueryResult<()> {
    diesel::update(login_approvals::table.filter(login_approvals::id.eq(id)))
        .set(login_approvals::failed_attempts.eq(failed_attempts))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Marks requests whose time is up — pending ones not answered, approved ones not
/// completed — as expired, of one user, one request, or all, and returns them as they were
/// (with their old status).
pub async fn expire_lapsed(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    now: DateTime<Utc>,
) -> QueryResult<Vec<ApprovalRow>> {
    let mut expired = Vec::new();
    for status in [ApprovalStatus::Pending, ApprovalStatus::Approved] {
        let mut rows = expire_lapsed_in(conn, scope, status, now).await?;
        for row in &mut rows {
            row.status = status;
        }
        expired.extend(rows);
    }
    Ok(expired)
}

async fn expire_lapsed_in(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    status: ApprovalStatus,
    now: DateTime<Utc>,
) -> QueryResult<Vec<ApprovalRow>> {
    let lapsed = login_approvals::status
        .eq(status)
        .and(login_approvals::expires_at.le(now));
    let expire = (
        login_approvals::status.eq(ApprovalStatus::Expired),
        login_approvals::decided_at.eq(now),
    );
    // Fixed statements (not one boxed query): fixed ones are prepared once per connection.
    match scope {
        Scope::User(user_id) => {
            diesel::update(
                login_approvals::table.filter(lapsed.and(login_approvals::user_id.eq(user_id))),
            )
            .set(expire)
            .returning(ApprovalRow::as_returning())
            .get_results(conn)
            .await
        }
        Scope::One(id) => {
            diesel::update(login_approvals::table.filter(lapsed.and(login_approvals::id.eq(id))))
                .set(expire)
                .returning(ApprovalRow::as_returning())
                .get_results(conn)
                .await
        }
        Scope::All => {
            diesel::update(login_approvals::table.filter(lapsed))
                .set(expire)
                .returning(ApprovalRow::as_returning())
                .get_results(conn)
                .await
        }
    }
}

/// The users with a request in flight (pending, or approved and not completed) whose time
/// is up (what `expire_lapsed` would expire).
pub async fn users_with_lapsed(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<Vec<Uuid>> {
    login_approvals::table
        .filter(
            login_approvals::status
                .eq(ApprovalStatus::Pending)
                .or(login_approvals::status.eq(ApprovalStatus::Approved)),
        )
        .filter(login_approvals::expires_at.le(now))
        .select(login_approvals::user_id)
        .distinct()
        .load(conn)
        .await
}

/// Cancels the user's requests still in flight (pending, or approved but not completed);
/// returns them as they were.
pub async fn cancel_open(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    include_approved: bool,
    now: DateTime<Utc>,
) -> QueryResult<Vec<ApprovalRow>> {
    let approved_too = if include_approved {
        ApprovalStatus::Approved
    } else {
        ApprovalStatus::Pending
    };
    let open: Vec<ApprovalRow> = login_approvals::table
        .filter(login_approvals::user_id.eq(user_id))
        .filter(
            login_approvals::status
                .eq(ApprovalStatus::Pending)
                .or(login_approvals::status.eq(approved_too)),
        )
        .select(ApprovalRow::as_select())
        .for_update()
        .load(conn)
        .await?;
    let ids: Vec<Uuid> = open.iter().map(|row| row.id).collect();
    diesel::update(login_approvals::table.filter(login_approvals::id.eq_any(&ids)))
        .set((
            login_approvals::status.eq(ApprovalStatus::Cancelled),
            login_approvals::decided_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(open)
}

/// How many requests to its devices the account made within the last hour and when the
/// oldest of them was made, and when one was last denied.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct RequestStats {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub last_hour: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub oldest_last_hour: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub last_denial: Option<DateTime<Utc>>,
}

pub async fn request_stats(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
    denials_since: DateTime<Utc>,
) -> QueryResult<RequestStats> {
    use diesel::sql_types::Timestamptz;
    let hour_ago = now - crate::model::policy::APPROVAL_REQUEST_WINDOW;
    diesel::sql_query(
        "SELECT count(*) FILTER (WHERE created_at > $2) AS last_hour, \
                min(created_at) FILTER (WHERE created_at > $2) AS oldest_last_hour, \
                max(decided_at) FILTER (WHERE status = 'denied' AND decided_at > $3) AS last_denial \
           FROM login_approvals \
          WHERE user_id = $1 AND channel = 'device' AND (created_at > $2 OR decided_at > $3)",
    )
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .bind::<Timestamptz, _>(hour_ago)
    .bind::<Timestamptz, _>(denials_since)
    .get_result(conn)
    .await
}

/// How many codes were mailed to the account since `since`, and when the oldest of them was.
pub async fn email_codes_since(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<(i64, Option<DateTime<Utc>>)> {
    use diesel::dsl::{count_star, min};
    login_approvals::table
        .filter(login_approvals::user_id.eq(user_id))
        .filter(login_approvals::channel.eq(ApprovalChannel::Email))
        .filter(login_approvals::created_at.gt(since))
        .select((count_star(), min(login_approvals::created_at)))
        .get_result(conn)
        .await
}

/// Which requests a bulk change applies to.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    All,
    User(Uuid),
    One(Uuid),
}

/// Deletes finished requests older than `before` (they are only kept for a while for the
/// waiting device to read its outcome; the activity log keeps the history).
pub async fn purge_finished(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        login_approvals::table
            .filter(login_approvals::status.ne(ApprovalStatus::Pending))
            .filter(login_approvals::expires_at.lt(before)),
    )
    .execute(conn)
    .await
}

/// The account's requests, newest first, after `(created_at, id)` (keyset paging, for the
/// data export).
pub async fn page(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<ApprovalRow>> {
    use diesel::sql_types::{Bool, Timestamptz};
    let mut query = login_approvals::table
        .filter(login_approvals::user_id.eq(user_id))
        .select(ApprovalRow::as_select())
        .order((
            login_approvals::created_at.desc(),
            login_approvals::id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some((created_at, id)) = after {
        query = query.filter(
            diesel::dsl::sql::<Bool>("(login_approvals.created_at, login_approvals.id) < (")
                .bind::<Timestamptz, _>(created_at)
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .sql(")"),
        );
    }
    query.load(conn).await
}
