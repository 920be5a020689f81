//! The WebSockets (the dashboard's and the waiting device's).
//!
//! | variable | default |
//! |---|---|
//! | `WS_MAX_SOCKETS_PER_USER` | `16`: open sockets per user on one instance (more get 429) |
//! | `WS_MAX_MESSAGES_PER_MINUTE` | `60`: client messages per socket before it is closed (1008) |
//! | `WS_HEARTBEAT_SECS` | `15`: how often the server pings |
//! | `WS_CLIENT_TIMEOUT_SECS` | `45`: silence before a socket is dropped |

use std::time::Duration;

use super::env::{Env, SettingsError};

#[derive(Debug, Clone)]
pub struct SocketSettings {
    pub max_per_user: usize,
    pub max_messages_per_minute: usize,
    pub heartbeat: Duration,
    pub client_timeout: Duration,
}

impl SocketSettings {
    pub fn from_env(env: &Env<'_>) -> Result<Self, SettingsError> {
        Ok(Self {
            max_per_user: env.read("WS_MAX_SOCKETS_PER_USER", 16)?,
            max_messages_per_minute: env.read("WS_MAX_MESSAGES_PER_MINUTE", 60)?,
            heartbeat: env.positive_secs("WS_HEARTBEAT_SECS", 15)?,
            client_timeout: env.secs("WS_CLIENT_TIMEOUT_SECS", 45)?,
        })
    }
}
