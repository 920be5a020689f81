//! Requests in flight (pending, or approved and not yet completed) that end together with
//! something else: a password change, "sign out all other devices", a denied suspicious
//! request. Below both `approvals` and `sessions` so that each can end them.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::error::Error;
use crate::events::{Changes, Event};
use crate::model::activity::ActivityKind;
use crate::model::approval::{Action, ApprovalStatus};
use crate::storage::activity::NewEntry;
use crate::storage::approvals as stored;

/// Which requests in flight end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelling {
    /// Waiting for an answer.
    PendingOnly,
    /// Also approved but not completed (their reserved sessions end with the others).
    PendingAndApproved,
}

/// Cancels the user's requests in flight: each waiting device and prompt hears it.
pub async fn cancel_open(
    conn: &mut AsyncPgConnection,
    changes: &mut Changes,
    user_id: Uuid,
    which: Cancelling,
    why: &str,
    now: DateTime<Utc>,
) -> Result<usize, Error> {
    let open =
        stored::cancel_open(conn, user_id, which == Cancelling::PendingAndApproved, now).await?;
    for approval in &open {
        approval
            .status
            .next(Action::Cancel)
            .map_err(Error::Approval)?;
        changes.log(
            NewEntry::new(user_id, ActivityKind::ApprovalCancelled, now)
                .from_device(&approval.ip, approval.device_label())
                .detail(why),
        );
        changes.announce(Event::ApprovalResolved {
            user_id,
            approval_id: approval.id,
            outcome: ApprovalStatus::Cancelled,
            channel: approval.channel,
        });
    }
    Ok(open.len())
}
