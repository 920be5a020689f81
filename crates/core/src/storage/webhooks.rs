//! Queries on `webhook_endpoints` and `webhook_deliveries`: endpoints added and removed,
//! deliveries written with the change that causes them, claimed by one worker at a time for
//! a while (`claimed_until`), marked delivered, retried or given up on.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Integer, Nullable, Text, Timestamptz};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::storage::schema::webhook_endpoints;

type SqlUuid = diesel::sql_types::Uuid;

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct EndpointRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Array<Text>)]
    pub events: Vec<String>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub disabled_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub failing_since: Option<DateTime<Utc>>,
    #[diesel(sql_type = Integer)]
    pub consecutive_failures: i32,
}

const ENDPOINT_COLUMNS: &str =
    "id, url, events, created_at, disabled_at, failing_since, consecutive_failures";

pub async fn insert_endpoint(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    url: &str,
    events: &[&str],
    secret: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO webhook_endpoints (id, url, events, secret, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(url)
    .bind::<Array<Text>, _>(events)
    .bind::<Text, _>(secret)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every endpoint, oldest first.
pub async fn list_endpoints(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<EndpointRow>> {
    diesel::sql_query(format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at, id"
    ))
    .load(conn)
    .await
}

pub async fn find_endpoint(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> diesel::QueryResult<Option<EndpointRow>> {
    diesel::sql_query(format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"
    ))
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await
    .optional()
}

/// Removes an endpoint and its deliveries; true when it existed.
pub async fn delete_endpoint(conn: &mut AsyncPgConnection, id: Uuid) -> diesel::QueryResult<bool> {
    let deleted = diesel::sql_query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}

/// Clears the endpoint's failures and sends to it again; the deliveries given up on when it
/// was disabled (at its `disabled_at`) wait for a try now. `None` when there is no such
/// endpoint; else the endpoint and how many deliveries were put back.
pub async fn enable_endpoint(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Option<(EndpointRow, usize)>> {
    // One statement: every part sees the endpoint as it was (its `disabled_at`).
    let enabled: Option<EnabledRow> = diesel::sql_query(format!(
        "WITH before AS (SELECT disabled_at FROM webhook_endpoints WHERE id = $1), \
              requeued AS ( \
                UPDATE webhook_deliveries d \
                   SET failed_at = NULL, next_attempt_at = $2, claimed_until = NULL \
                  FROM before \
                 WHERE d.endpoint_id = $1 AND d.delivered_at IS NULL \
                   AND d.failed_at = before.disabled_at \
                RETURNING 1), \
              after AS ( \
                UPDATE webhook_endpoints \
                   SET disabled_at = NULL, failing_since = NULL, consecutive_failures = 0 \
                 WHERE id = $1 \
                RETURNING {ENDPOINT_COLUMNS}) \
         SELECT after.*, (SELECT count(*) FROM requeued) AS requeued FROM after"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await
    .optional()?;
    Ok(enabled.map(|row| {
        let requeued = usize::try_from(row.requeued).unwrap_or(usize::MAX);
        (row.endpoint, requeued)
    }))
}

#[derive(QueryableByName)]
struct EnabledRow {
    #[diesel(embed)]
    endpoint: EndpointRow,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    requeued: i64,
}

/// One event to deliver, before it is matched with the endpoints that subscribed to it.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub event_type: &'static str,
    /// The body (`{"type","timestamp","data"}`), as JSON text; `data` is completed from the
    /// account, the session and the request named below (what it holds itself wins).
    pub payload: String,
    pub user_id: Uuid,
    pub session_id: Option<Uuid>,
    pub approval_id: Option<Uuid>,
}

/// Queues each event for every enabled endpoint that subscribed to its type, in one
/// statement; the number of deliveries queued. `data` gains the account's address and the
/// device, address and country of the session or the request the event is about.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    deliveries: &[NewDelivery],
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    if deliveries.is_empty() {
        return Ok(0);
    }
    // PostgreSQL plans the insert below anew each time (diesel prepares no raw SQL): about
    // 0.3 ms, a sixth of a login's database time (BENCHMARKS.md). Where no endpoint is
    // enabled, a check whose plan stays cached answers instead. Like the insert, it sees
    // the endpoints committed before it runs.
    let any_enabled: bool = diesel::select(diesel::dsl::exists(
        webhook_endpoints::table.filter(webhook_endpoints::disabled_at.is_null()),
    ))
    .get_result(conn)
    .await?;
    if !any_enabled {
        return Ok(0);
    }
    let types: Vec<&str> = deliveries.iter().map(|d| d.event_type).collect();
    let payloads: Vec<&str> = deliveries.iter().map(|d| d.payload.as_str()).collect();
    let users: Vec<Uuid> = deliveries.iter().map(|d| d.user_id).collect();
    let sessions: Vec<Option<Uuid>> = deliveries.iter().map(|d| d.session_id).collect();
    let approvals: Vec<Option<Uuid>> = deliveries.iter().map(|d| d.approval_id).collect();
    diesel::sql_query(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_type, payload, created_at, next_attempt_at) \
         SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), e.id, ev.event_type, \
                jsonb_set(ev.payload::jsonb, '{data}', jsonb_strip_nulls(jsonb_build_object( \
                    'email', u.email, \
                    'device', COALESCE(s.browser || ' on ' || s.os || ' (' || s.device || ')', \
                                       a.browser || ' on ' || a.os || ' (' || a.device || ')'), \
                    'ip', COALESCE(s.ip, a.ip), \
                    'country', COALESCE(s.country, a.country))) || (ev.payload::jsonb -> 'data')), \
                $6, $6 \
         FROM unnest($1::text[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[]) \
              AS ev(event_type, payload, user_id, session_id, approval_id) \
         JOIN webhook_endpoints e ON e.disabled_at IS NULL AND ev.event_type = ANY (e.events) \
         LEFT JOIN users u ON u.id = ev.user_id \
         LEFT JOIN sessions s ON s.id = ev.session_id \
         LEFT JOIN login_approvals a ON a.id = ev.approval_id",
    )
    .bind::<Array<Text>, _>(types)
    .bind::<Array<Text>, _>(payloads)
    .bind::<Array<SqlUuid>, _>(users)
    .bind::<Array<Nullable<SqlUuid>>, _>(sessions)
    .bind::<Array<Nullable<SqlUuid>>, _>(approvals)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
}

#[derive(Debug, diesel::QueryableByName)]
pub struct DeliveryRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    pub next_attempt_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub delivered_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub failed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub last_status: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
}

/// An endpoint's deliveries, newest first, `limit` at most.
pub async fn deliveries(
    conn: &mut AsyncPgConnection,
    endpoint_id: Uuid,
    limit: i64,
) -> diesel::QueryResult<Vec<DeliveryRow>> {
    diesel::sql_query(
        "SELECT id, event_type, created_at, attempts, next_attempt_at, delivered_at, failed_at, \
                last_status, last_error \
         FROM webhook_deliveries WHERE endpoint_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind::<SqlUuid, _>(endpoint_id)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await
}

/// A delivery a worker holds, with where it goes and what signs it.
#[derive(Debug, diesel::QueryableByName)]
pub struct ClaimedRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = SqlUuid)]
    pub endpoint_id: Uuid,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    /// The body, as sent.
    #[diesel(sql_type = Text)]
    pub payload: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Text)]
    pub secret: String,
}

/// Claims the oldest delivery due by `now`, to an enabled endpoint, that no worker holds,
/// until `until` (the claim commits at once; see `outbox::claim_next`).
pub async fn claim_next(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> diesel::QueryResult<Option<ClaimedRow>> {
    diesel::sql_query(
        "UPDATE webhook_deliveries d SET claimed_until = $2 \
         FROM webhook_endpoints e \
         WHERE e.id = d.endpoint_id AND d.id = ( \
             SELECT due.id FROM webhook_deliveries due \
             JOIN webhook_endpoints endpoint ON endpoint.id = due.endpoint_id \
             WHERE due.delivered_at IS NULL AND due.failed_at IS NULL \
               AND due.next_attempt_at <= $1 \
               AND (due.claimed_until IS NULL OR due.claimed_until <= $1) \
               AND endpoint.disabled_at IS NULL \
             ORDER BY due.next_attempt_at, due.created_at LIMIT 1 \
             FOR UPDATE OF due SKIP LOCKED) \
         RETURNING d.id, d.endpoint_id, d.event_type, d.payload::text AS payload, d.attempts, \
                   d.created_at, e.url, e.secret",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(until)
    .get_result(conn)
    .await
    .optional()
}

pub async fn mark_delivered(
    conn: &mut AsyncPgConnection,
    id: &str,
    status: i32,
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE webhook_deliveries SET delivered_at = $3, attempts = attempts + 1, \
                last_status = $2, last_error = NULL, claimed_until = NULL \
         WHERE id = $1",
    )
    .bind::<Text, _>(id)
    .bind::<Integer, _>(status)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed try: tried again at `next_attempt_at`, or (`None`) given up on at `now`.
pub async fn mark_failed_try(
    conn: &mut AsyncPgConnection,
    id: &str,
    status: Option<i32>,
    error: &str,
    now: DateTime<Utc>,
    next_attempt_at: Option<DateTime<Utc>>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $2, \
                last_error = $3, claimed_until = NULL, \
                next_attempt_at = COALESCE($5, next_attempt_at), \
                failed_at = CASE WHEN $5::timestamptz IS NULL THEN $4 END \
         WHERE id = $1",
    )
    .bind::<Text, _>(id)
    .bind::<Nullable<Integer>, _>(status)
    .bind::<Text, _>(error)
    .bind::<Timestamptz, _>(now)
    .bind::<Nullable<Timestamptz>, _>(next_attempt_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The endpoint answered: its failure streak is over.
pub async fn endpoint_succeeded(conn: &mut AsyncPgConnection, id: Uuid) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since = NULL \
         WHERE id = $1 AND (consecutive_failures > 0 OR failing_since IS NOT NULL)",
    )
    .bind::<SqlUuid, _>(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The endpoint failed a try: its streak grows, and an endpoint that has failed since
/// `disable_if_failing_since` (or earlier) at least `min_failures` times in a row is
/// disabled, its waiting deliveries given up on. True when this disabled it.
pub async fn endpoint_failed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
    disable_if_failing_since: DateTime<Utc>,
    min_failures: i32,
) -> diesel::QueryResult<bool> {
    let disabled = diesel::sql_query(
        "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, \
                failing_since = COALESCE(failing_since, $2), \
                disabled_at = $2 \
         WHERE id = $1 AND disabled_at IS NULL \
           AND COALESCE(failing_since, $2) <= $3 AND consecutive_failures + 1 >= $4",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(disable_if_failing_since)
    .bind::<Integer, _>(min_failures)
    .execute(conn)
    .await?;
    if disabled > 0 {
        diesel::sql_query(
            "UPDATE webhook_deliveries SET failed_at = $2, claimed_until = NULL, \
                    last_error = COALESCE(last_error, 'endpoint disabled') \
             WHERE endpoint_id = $1 AND delivered_at IS NULL AND failed_at IS NULL",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await?;
        return Ok(true);
    }
    diesel::sql_query(
        "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, \
                failing_since = COALESCE(failing_since, $2) \
         WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    Ok(false)
}

/// Deletes deliveries delivered (or given up on) before `cutoff`.
pub async fn purge_done_before(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM webhook_deliveries \
         WHERE (delivered_at IS NOT NULL OR failed_at IS NOT NULL) \
           AND COALESCE(delivered_at, failed_at) < $1",
    )
    .bind::<Timestamptz, _>(cutoff)
    .execute(conn)
    .await
}
