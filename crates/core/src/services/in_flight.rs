//! Requests in flight (pending, or approved and not yet completed) that end together with
//! something else: a password change, "sign out all other devices", a denied suspicious
//! request. Below both `approvals` and `sessions` so that each can end them.

use uuid::Uuid;

use crate::error::Error;
use crate::events::Event;
use crate::events::unit_of_work::Tx;
use crate::model::activity::ActivityKind;
use crate::model::approval::{Action, ApprovalStatus};
use crate::storage::activity::NewEntry;
use crate::storage::approvals::{self as stored, ApprovalRow};

/// Which requests in flight end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelling {
    /// Waiting for an answer.
    PendingOnly,
    /// Also approved but not completed (their reserved sessions end with the others).
    PendingAndApproved,
}

/// Cancels the user's requests in flight: each waiting device and prompt hears it. Returns
/// them as they were (an approved one's reserved session is the caller's to end).
pub async fn cancel_open(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    which: Cancelling,
    why: &str,
) -> Result<Vec<ApprovalRow>, Error> {
    let now = tx.now();
    let open = stored::cancel_open(
        tx.conn(),
        user_id,
        which == Cancelling::PendingAndApproved,
        now,
    )
    .await?;
    for approval in &open {
        approval
            .status
            .next(Action::Cancel)
            .map_err(Error::Approval)?;
        tx.log(
            NewEntry::new(user_id, ActivityKind::ApprovalCancelled, now)
                .from_device(&approval.ip, approval.device_label())
                .detail(why),
        );
        tx.announce(Event::ApprovalResolved {
            user_id,
            approval_id: approval.id,
            outcome: ApprovalStatus::Cancelled,
            channel: approval.channel,
        });
    }
    Ok(open)
}
