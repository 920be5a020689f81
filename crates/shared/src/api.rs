//! Request and response bodies of the REST API.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Every error response has this body: a human sentence and a stable machine code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignupRequest {
    pub email: String,
    pub password: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// An active session as shown to its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: Uuid,
    /// Kind of device, e.g. "Desktop", "Phone".
    pub device: String,
    pub os: String,
    pub browser: String,
    pub ip: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// When the session ends if it stays unused.
    pub idle_expires_at: DateTime<Utc>,
    /// When the session ends whatever happens (absolute lifetime).
    pub expires_at: DateTime<Utc>,
    /// True for the session that made the request.
    pub current: bool,
}

/// Body of a successful signup, login, approval completion and `GET /api/auth/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResponse {
    pub user: User,
    pub session: SessionInfo,
}

/// Body of `202 Accepted` from login: another device must approve this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequired {
    pub status: String,
    pub approval_id: Uuid,
    /// The 6-digit code to show on the new device; it is typed on the logged-in one.
    pub code: String,
    pub expires_at: DateTime<Utc>,
    /// Secret of the waiting device: opens its socket and completes the login.
    pub pending_token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<SessionInfo>,
}

/// One past or present session in the session log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionHistoryEntry {
    pub id: Uuid,
    pub device: String,
    pub os: String,
    pub browser: String,
    pub user_agent: String,
    pub ip: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `logout`, `revoked`, `idle_timeout`, `lifetime_exceeded` or `password_changed`.
    pub end_reason: Option<String>,
    pub active: bool,
    pub current: bool,
}

/// A page of a log, newest first. Pass `next_cursor` back as `?cursor=` for the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEntry {
    pub id: i64,
    /// e.g. `signup`, `login`, `login_failed`, `logout`, `session_revoked`, `session_expired`,
    /// `approval_requested`, `approval_granted`, `approval_denied`, `approval_cancelled`, `approval_code_rejected`,
    /// `approval_locked`, `approval_expired`, `password_changed`, `profile_updated`.
    pub kind: String,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    pub device: Option<String>,
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateProfileRequest {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedCount {
    pub revoked: usize,
}

/// A login waiting for approval, as shown on the logged-in devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingApproval {
    pub id: Uuid,
    pub device: String,
    pub os: String,
    pub browser: String,
    pub ip: String,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub tries_left: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingApprovalList {
    pub approvals: Vec<PendingApproval>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApproveRequest {
    pub code: String,
}

/// Answer to approve and deny: how the approval ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalDecision {
    pub approval_id: Uuid,
    /// `approved`, `denied` or `cancelled`.
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompleteApprovalRequest {
    pub pending_token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub database: String,
}
