//! The account's activity log.

use shared::ActivityEntry;

use uuid::Uuid;

use crate::error::Error;
use crate::state::AppState;
use crate::storage::activity;
use crate::wire;

/// One page of the user's log, newest first, after the entry `before_id`; the id to
/// continue from when there are more.
pub async fn page(
    state: &AppState,
    user_id: Uuid,
    before_id: Option<i64>,
    limit: usize,
) -> Result<(Vec<ActivityEntry>, Option<i64>), Error> {
    let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let mut conn = state.reader(user_id).await?;
    let mut rows = activity::page(&mut conn, user_id, before_id, fetch).await?;
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let next = rows.last().filter(|_| has_more).map(|row| row.id);
    Ok((rows.into_iter().map(wire::activity_entry).collect(), next))
}
