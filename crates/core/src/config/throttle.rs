//! Throttling of guesses and sign-ups (429 past the limits).
//!
//! | variable | default |
//! |---|---|
//! | `LOGIN_MAX_FAILURES` | `10`: wrong passwords for one account within the window |
//! | `LOGIN_MAX_FAILURES_PER_IP` | `50`: failed logins from one address within the window |
//! | `LOGIN_FAILURE_WINDOW_SECS` | `900` |
//! | `SIGNUP_MAX_PER_IP` | `5`: accounts created from one address (IPv6: per /64) within the window |
//! | `SIGNUP_WINDOW_SECS` | `3600` |
//! | `PASSKEY_SIGN_IN_MAX_PER_IP` | `300`: passkey sign-ins begun from one address (IPv6: per /64) per 5 minutes (the sign-in page begins one per visit) |

use std::time::Duration;

use super::env::{Env, SettingsError};

#[derive(Debug, Clone)]
pub struct ThrottleSettings {
    /// Wrong passwords for one account within the window before its logins are refused.
    pub login_max_failures: usize,
    /// Failed logins from one address within the window before its logins are refused.
    pub login_max_failures_per_ip: usize,
    pub login_failure_window: Duration,
    /// Signups allowed per address (IPv6: per /64) within `signup_window`.
    pub signup_max_per_ip: usize,
    pub signup_window: Duration,
    /// Passkey sign-ins one address may begin per 5 minutes: each stores a challenge.
    pub passkey_sign_in_max_per_ip: usize,
}

impl ThrottleSettings {
    pub fn from_env(env: &Env<'_>) -> Result<Self, SettingsError> {
        Ok(Self {
            login_max_failures: env.read("LOGIN_MAX_FAILURES", 10)?,
            login_max_failures_per_ip: env.read("LOGIN_MAX_FAILURES_PER_IP", 50)?,
            login_failure_window: env.secs("LOGIN_FAILURE_WINDOW_SECS", 15 * 60)?,
            signup_max_per_ip: env.read("SIGNUP_MAX_PER_IP", 5)?,
            signup_window: env.secs("SIGNUP_WINDOW_SECS", 3600)?,
            passkey_sign_in_max_per_ip: env.read("PASSKEY_SIGN_IN_MAX_PER_IP", 300)?,
        })
    }
}
