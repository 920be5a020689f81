//! Response bodies of the admin API (`/admin/v1/…`, on `ADMIN_BIND`, for API keys).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::{PendingApproval, SessionInfo};

/// A user as an administrator sees it: the account, its confirmation, its active sessions
/// and sign-in requests, and whether failed sign-ins lock it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserOverview {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// When the address was confirmed through the link mailed to it; `null`: not yet.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub active_sessions: Vec<SessionInfo>,
    pub pending_approvals: Vec<PendingApproval>,
    /// Failed sign-ins counted against the account in the current window.
    pub recent_login_failures: i64,
    /// Whether those failures lock the account now (`LOGIN_MAX_FAILURES`; `unlock` lifts it).
    pub locked: bool,
}

/// What ending every session of a user ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokedAll {
    pub revoked_sessions: usize,
    /// Sign-in requests in flight, cancelled (they would bring a device back in).
    pub cancelled_requests: usize,
}

/// What unlocking an account forgot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unlocked {
    pub forgotten_failures: usize,
}
