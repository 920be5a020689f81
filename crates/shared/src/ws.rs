//! Messages of the two WebSocket channels, JSON with a `type` tag.
//!
//! * `GET /api/ws` (session cookie): [`ServerMessage`] from the server, [`ClientMessage`] to it.
//! * `GET /api/login/approvals/{id}/ws?token=…` (pending token): [`PendingMessage`] from the server.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::PendingApproval;

/// Pushed to a logged-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// A new device asks to log in; show the prompt.
    ApprovalRequested { approval: PendingApproval },
    /// The approval is over (`approved`, `denied`, `expired`, `locked` or `session_limit`); hide the prompt.
    ApprovalResolved { approval_id: Uuid, outcome: String },
    /// The code typed was wrong.
    ApprovalCodeRejected { approval_id: Uuid, tries_left: i32 },
    /// This session has ended; the socket closes after this message.
    SessionRevoked { reason: String },
    /// A session of this user started or ended: refresh lists.
    SessionsChanged,
    /// A client message could not be handled.
    Error { error: String, code: String },
}

/// Sent by a logged-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Approve { approval_id: Uuid, code: String },
    Deny { approval_id: Uuid },
}

/// Pushed to the device that waits for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PendingMessage {
    /// Sent on connect while nothing is decided yet.
    Pending {
        expires_at: chrono::DateTime<chrono::Utc>,
    },
    /// Call `POST /api/login/approvals/{id}/complete` now.
    Approved,
    Denied,
    Expired,
    /// Too many wrong codes were typed.
    Locked,
    /// Approved, but meanwhile the account reached its session limit.
    SessionLimit,
    /// The approval was already used to log in.
    Completed,
}
