//! The sweeper: how often it runs and what it keeps.
//!
//! | variable | default |
//! |---|---|
//! | `SWEEP_INTERVAL_SECS` | `30`: how often lapsed sessions and approvals are ended |
//! | `HISTORY_RETENTION_DAYS` | `365`: ended sessions older than this are purged |
//! | `UNCONFIRMED_ACCOUNT_DAYS` | `7` (`0`: never): accounts never confirmed nor used are deleted |

use std::time::Duration;

use super::env::{Env, SettingsError};

#[derive(Debug, Clone)]
pub struct RetentionSettings {
    pub sweep_interval: Duration,
    pub history: Duration,
    /// An account whose address was never confirmed and that no session used for this long
    /// is deleted (its address is free again); `None` (0): kept.
    pub unconfirmed_accounts: Option<Duration>,
}

impl RetentionSettings {
    pub fn from_env(env: &Env<'_>) -> Result<Self, SettingsError> {
        let unconfirmed = env.days("UNCONFIRMED_ACCOUNT_DAYS", 7)?;
        Ok(Self {
            sweep_interval: env.positive_secs("SWEEP_INTERVAL_SECS", 30)?,
            history: env.days("HISTORY_RETENTION_DAYS", 365)?,
            unconfirmed_accounts: (!unconfirmed.is_zero()).then_some(unconfirmed),
        })
    }
}
