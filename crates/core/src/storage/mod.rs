//! Storage: queries only, one module per table, plus the pool and migrations (`db`), the
//! one way to run a transaction (`transaction`), the batched per-worker session read
//! (`lookup`) and the login-failure counters (`throttle`).
//! What a query's result means is decided above, in `services`, with `model`'s rules.

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
