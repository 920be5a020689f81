//! Messages of the two WebSocket channels, JSON with a `type` tag.
//!
//! * `GET /api/ws` (session cookie): [`ServerMessage`] from the server, [`ClientMessage`] to it.
//! * `GET /api/ws/approvals/{id}` (the pending token as the first message,
//!   [`WaitingClientMessage`]): [`PendingMessage`] from the server.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::{PendingApproval, ReplacedBy, SecurityAlert};
use crate::secret::Secret;
use crate::vocabulary::{ApprovalStatus, EndReason, ErrorCode};

/// Pushed to a logged-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// A new device asks to log in; show the prompt.
    ApprovalRequested { approval: PendingApproval },
    /// The approval is over (`approved`, `denied`, `expired`, `locked`, `session_limit` or `cancelled`); hide the prompt.
    ApprovalResolved {
        approval_id: Uuid,
        outcome: ApprovalStatus,
    },
    /// The code typed was wrong.
    ApprovalCodeRejected { approval_id: Uuid, tries_left: i32 },
    /// This session has ended; the socket closes after this message. `replaced_by` says
    /// which login took its place when the reason is `replaced`.
    SessionRevoked {
        reason: EndReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaced_by: Option<ReplacedBy>,
    },
    /// Something unusual happened on the account (a new device or country signed in, a
    /// request was denied as "this wasn't me", a correct password was refused).
    SecurityAlert { alert: SecurityAlert },
    /// A session of this user started or ended: refresh lists.
    SessionsChanged,
    /// A client message could not be handled.
    Error { error: String, code: ErrorCode },
    /// A message this build does not know (a newer server sent it): ignored.
    #[serde(other)]
    Unknown,
}

/// Sent by a logged-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Approve {
        approval_id: Uuid,
        code: Secret,
    },
    Deny {
        approval_id: Uuid,
        /// "This wasn't me" (see `DenyRequest`).
        #[serde(default)]
        suspicious: bool,
    },
}

/// Sent by the device that waits for approval: first (and only) message on
/// `/api/ws/approvals/{id}`, so that its pending token never travels in a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WaitingClientMessage {
    Authenticate { pending_token: Secret },
}

/// Pushed to the device that waits for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PendingMessage {
    /// Sent on connect while nothing is decided yet.
    Pending {
        #[serde(with = "crate::timestamps")]
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
    /// A message this build does not know (a newer server sent it): ignored.
    #[serde(other)]
    Unknown,
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
        assert!(
            matches!(parsed, Ok(ClientMessage::Approve { code, .. }) if code.expose() == "123456")
        );
    }

    #[test]
    fn vocabularies_in_messages_keep_their_names() {
        let revoked = ServerMessage::SessionRevoked {
            reason: EndReason::IdleTimeout,
            replaced_by: None,
        };
        assert_eq!(
            serde_json::to_string(&revoked).unwrap_or_default(),
            r#"{"type":"session_revoked","reason":"idle_timeout"}"#
        );
        let resolved = ServerMessage::ApprovalResolved {
            approval_id: Uuid::nil(),
            outcome: ApprovalStatus::SessionLimit,
        };
        assert_eq!(
            serde_json::to_string(&resolved).unwrap_or_default(),
            r#"{"type":"approval_resolved","approval_id":"00000000-0000-0000-0000-000000000000","outcome":"session_limit"}"#
        );
        let error = ServerMessage::Error {
            error: "Unreadable message".to_owned(),
            code: ErrorCode::BadMessage,
        };
        assert_eq!(
            serde_json::to_string(&error).unwrap_or_default(),
            r#"{"type":"error","error":"Unreadable message","code":"bad_message"}"#
        );
    }

    #[test]
    fn a_message_or_name_from_a_newer_server_reads_as_unknown() {
        let parse = |text: &str| serde_json::from_str::<ServerMessage>(text).ok();
        assert_eq!(
            parse(r#"{"type":"passkey_added","id":3}"#),
            Some(ServerMessage::Unknown)
        );
        assert_eq!(
            parse(r#"{"type":"session_revoked","reason":"moon_landing"}"#),
            Some(ServerMessage::SessionRevoked {
                reason: EndReason::Unknown,
                replaced_by: None
            })
        );
        assert_eq!(
            serde_json::from_str::<PendingMessage>(r#"{"type":"paused"}"#).ok(),
            Some(PendingMessage::Unknown)
        );
        // The server reads no message it does not know.
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"approve_all"}"#).is_err());
    }
}
