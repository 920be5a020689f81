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
    /// The approval is over (`approved`, `denied`, `expired`, `locked`, `session_limit` or `cancelled`); hide the prompt.
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
    /// The waiting device cancelled the request.
    Cancelled,
    /// The approval was already used to log in.
    Completed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_in_snake_case() {
        let message = ServerMessage::ApprovalCodeRejected {
            approval_id: Uuid::nil(),
            tries_left: 3,
        };
        let json = serde_json::to_value(&message).unwrap_or_default();
        assert_eq!(json["type"], "approval_code_rejected");
        assert_eq!(json["tries_left"], 3);
        assert_eq!(
            serde_json::to_string(&PendingMessage::Approved).unwrap_or_default(),
            r#"{"type":"approved"}"#
        );
        let parsed: Result<ClientMessage, _> = serde_json::from_str(
            r#"{"type":"approve","approval_id":"00000000-0000-0000-0000-000000000000","code":"123456"}"#,
        );
        assert!(matches!(parsed, Ok(ClientMessage::Approve { code, .. }) if code == "123456"));
    }
}
