//! Storage: queries only, one module per table, plus the pool and migrations (`db`), the
//! one way to run a transaction (`transaction`), the batched per-worker session read
//! (`lookup`) and the login-failure counters (`throttle`).
//! What a query's result means is decided above, in `services`, with `model`'s rules.

/// `device_label()` and `client()` for rows that store the device a sign-in came from in
/// the columns they all share (`device`, `os`, `browser`, `user_agent`, `ip`, `country`,
/// `device_id`): sessions, sign-in requests, second-factor challenges.
macro_rules! stored_device {
    ($($row:ty),+ $(,)?) => {$(
        impl $row {
            /// "Chrome 120 on Linux (Desktop)", for logs and prompts.
            pub fn device_label(&self) -> String {
                crate::model::device::label(&self.browser, &self.os, &self.device)
            }

            /// The device, as stored.
            pub fn client(&self) -> crate::model::device::ClientInfo {
                crate::model::device::ClientInfo {
                    device: self.device.clone(),
                    os: self.os.clone(),
                    browser: self.browser.clone(),
                    user_agent: self.user_agent.clone(),
                    ip: self.ip.clone(),
                    country: self.country.clone(),
                    device_id: self.device_id.clone(),
                }
            }
        }
    )+};
}

pub mod activity;
pub mod api_keys;
pub mod approvals;
pub mod db;
pub mod email_links;
pub mod geoip;
pub mod history;
pub mod locks;
pub mod lookup;
pub mod outbox;
pub mod partitions;
pub mod passkeys;
pub mod replica;
pub mod schema;
pub mod second_factor;
pub mod sessions;
pub mod throttle;
pub mod transaction;
pub mod users;
pub mod webhooks;

pub use db::{DbConn, DbPool};
