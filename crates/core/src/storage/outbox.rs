//! Queries on `mail_outbox`: mail written with the change that causes it, claimed by one
//! worker at a time for a while (`claimed_until`), marked sent, retried or given up on.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Queues a mail to the account's current address; with `quiet_since`, not if a mail of
/// the same kind was queued for the account since then. True when it was queued.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    kind: &str,
    payload: &str,
    now: DateTime<Utc>,
    quiet_since: Option<DateTime<Utc>>,
) -> diesel::QueryResult<bool> {
    let queued = diesel::sql_query(
        "INSERT INTO mail_outbox (user_id, recipient, kind, payload, created_at, next_attempt_at) \
         SELECT id, email, $2, $3::jsonb, $4, $4 FROM users \
         WHERE id = $1 AND ($5::timestamptz IS NULL OR NOT EXISTS ( \
             SELECT 1 FROM mail_outbox \
             WHERE user_id = $1 AND kind = $2 AND created_at > $5))",
    )
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .bind::<Text, _>(kind)
    .bind::<Text, _>(payload)
    .bind::<Timestamptz, _>(now)
    .bind::<Nullable<Timestamptz>, _>(quiet_since)
    .execute(conn)
    .await?;
    Ok(queued > 0)
}

/// Queues a mail to `recipient` rather than the account's address (a new address to
/// confirm; the goodbye of a deleted account, whose row has no user).
pub async fn enqueue_to(
    conn: &mut AsyncPgConnection,
    user_id: Option<Uuid>,
    recipient: &str,
    kind: &str,
    payload: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO mail_outbox (user_id, recipient, kind, payload, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4::jsonb, $5, $5)",
    )
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(user_id)
    .bind::<Text, _>(recipient)
    .bind::<Text, _>(kind)
    .bind::<Text, _>(payload)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Drops every mail of the account, sent or not (a deleted account: mail not yet sent is
/// not sent, and sent mail's recipient is personal data).
pub async fn delete_for_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> diesel::QueryResult<usize> {
    diesel::sql_query("DELETE FROM mail_outbox WHERE user_id = $1")
        .bind::<diesel::sql_types::Uuid, _>(user_id)
        .execute(conn)
        .await
}

/// Mail the account was sent (or is about to be), newest first: what the data export shows
/// of it (never the payload, which holds a link's token until sent).
#[derive(Debug, diesel::QueryableByName)]
pub struct SentMail {
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub recipient: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub sent_at: Option<DateTime<Utc>>,
}

pub async fn list_for_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> diesel::QueryResult<Vec<SentMail>> {
    diesel::sql_query(
        "SELECT kind, recipient, created_at, sent_at FROM mail_outbox \
         WHERE user_id = $1 ORDER BY id DESC",
    )
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .load(conn)
    .await
}

#[derive(Debug, diesel::QueryableByName)]
pub struct OutboxRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// `None` for the goodbye of a deleted account.
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub user_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub recipient: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// JSON, as text.
    #[diesel(sql_type = Text)]
    pub payload: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// When what the mail reports happened (the transaction that queued it).
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// Claims the oldest mail due by `now` that no worker holds, until `until`: no other worker
/// takes it before then, though no row stays locked (the claim commits at once, and the
/// outcome is recorded by `mark_sent`, `mark_retry` or `mark_failed`). A claim whose worker
/// died runs out and the mail is claimed again.
pub async fn claim_next(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> diesel::QueryResult<Option<OutboxRow>> {
    use diesel::OptionalExtension;
    diesel::sql_query(
        // `SKIP LOCKED`: a worker claiming the same row right now has it; take the next.
        "UPDATE mail_outbox SET claimed_until = $2 WHERE id = ( \
             SELECT id FROM mail_outbox \
             WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
               AND (claimed_until IS NULL OR claimed_until <= $1) \
             ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, user_id, recipient, kind, payload::text AS payload, attempts, created_at",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(until)
    .get_result(conn)
    .await
    .optional()
}

pub async fn mark_sent(
    conn: &mut AsyncPgConnection,
    id: i64,
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        // A link's token is needed only until the mail is sent; so is the address of an
        // account that no longer exists.
        "UPDATE mail_outbox SET sent_at = $2, attempts = attempts + 1, last_error = NULL, \
                claimed_until = NULL, \
                payload = CASE WHEN payload ? 'token' THEN '{}'::jsonb ELSE payload END, \
                recipient = CASE WHEN user_id IS NULL THEN '' ELSE recipient END \
         WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed try; the mail is tried again at `next_attempt_at`.
pub async fn mark_retry(
    conn: &mut AsyncPgConnection,
    id: i64,
    error: &str,
    next_attempt_at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, \
                claimed_until = NULL \
         WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(error)
    .bind::<Timestamptz, _>(next_attempt_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives up on a mail the server refused for good (a bad address).
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    id: i64,
    error: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2, failed_at = $3, \
                claimed_until = NULL, \
                recipient = CASE WHEN user_id IS NULL THEN '' ELSE recipient END \
         WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(error)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Mail waiting to be sent (for the metrics).
pub async fn count_waiting(conn: &mut AsyncPgConnection) -> diesel::QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        waiting: i64,
    }
    let count: Count = diesel::sql_query(
        "SELECT count(*) AS waiting FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL",
    )
    .get_result(conn)
    .await?;
    Ok(count.waiting)
}

/// Deletes mail sent (or given up on) before `cutoff`.
pub async fn purge_done_before(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM mail_outbox \
         WHERE (sent_at IS NOT NULL OR failed_at IS NOT NULL) \
           AND COALESCE(sent_at, failed_at) < $1",
    )
    .bind::<Timestamptz, _>(cutoff)
    .execute(conn)
    .await
}
