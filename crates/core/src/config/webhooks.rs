//! Webhooks: where deliveries may go and how the worker paces them.
//!
//! | variable | default |
//! |---|---|
//! | `WEBHOOK_ALLOW_PRIVATE` | `false`: deliveries to loopback, private and link-local addresses are refused |
//! | `WEBHOOK_POLL_SECS` | `10`: how often the worker looks for deliveries due |
//! | `WEBHOOK_RETRY_SECS` | `30`: the first wait after a failed delivery, doubling |

use std::time::Duration;

use super::env::{Env, SettingsError};

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Deliveries may go to loopback, private and link-local addresses (receivers inside
    /// the network; tests). Off, no endpoint can reach the network behind the server.
    pub allow_private: bool,
    /// How often the worker looks for deliveries due (it also wakes when one is queued).
    pub poll: Duration,
    /// The first wait after a failed delivery; each further failure doubles it (up to
    /// `model::policy::WEBHOOK_RETRY_MAX`).
    pub retry: Duration,
}

impl WebhookSettings {
    pub fn from_env(env: &Env<'_>) -> Result<Self, SettingsError> {
        Ok(Self {
            allow_private: env.read("WEBHOOK_ALLOW_PRIVATE", false)?,
            poll: env.positive_secs("WEBHOOK_POLL_SECS", 10)?,
            retry: env.positive_secs("WEBHOOK_RETRY_SECS", 30)?,
        })
    }
}
