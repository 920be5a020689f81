//! Approval of one more device by a device already signed in (`LIMIT_POLICY=approve`).
//!
//! | variable | default |
//! |---|---|
//! | `APPROVAL_TTL_SECS` | `120`: how long the code a new device shows is valid |
//! | `APPROVAL_MAX_ATTEMPTS` | `5`: wrong codes before the request is locked |
//! | `MAX_PENDING_APPROVALS` | `3`: requests waiting at once, per account |
//! | `MAX_APPROVAL_REQUESTS_PER_HOUR` | `10`: requests an account may make per hour |
//! | `APPROVAL_DENIAL_COOLDOWN_SECS` | `300`: no new request for this long after a denial |

use std::time::Duration;

use super::env::{Env, SettingsError};

#[derive(Debug, Clone)]
pub struct ApprovalSettings {
    pub ttl: Duration,
    pub max_attempts: i32,
    pub max_pending: i64,
    /// Login requests an account may make per hour (prompt fatigue).
    pub max_requests_per_hour: i64,
    /// After a request is denied, no new request for this long.
    pub denial_cooldown: Duration,
}

impl ApprovalSettings {
    pub fn from_env(env: &Env<'_>) -> Result<Self, SettingsError> {
        Ok(Self {
            ttl: env.positive_secs("APPROVAL_TTL_SECS", 120)?,
            max_attempts: env.read_at_least("APPROVAL_MAX_ATTEMPTS", 5, 1)?,
            max_pending: env.read("MAX_PENDING_APPROVALS", 3)?,
            max_requests_per_hour: env.read("MAX_APPROVAL_REQUESTS_PER_HOUR", 10)?,
            denial_cooldown: env.secs("APPROVAL_DENIAL_COOLDOWN_SECS", 300)?,
        })
    }
}
