//! Session-management API: accounts, server-side sessions in PostgreSQL behind a cookie,
//! a per-user session limit with second-device approval over WebSockets, and logs.

pub mod activity;
pub mod approvals;
pub mod auth;
pub mod clock;
pub mod db;
pub mod device;
pub mod domain;
pub mod error;
pub mod hub;
pub mod pagination;
pub mod schema;
pub mod security;
pub mod session_lookup;
pub mod sessions;
pub mod settings;
pub mod spa;
pub mod startup;
pub mod sweeper;
pub mod telemetry;
pub mod throttle;
pub mod users;
pub mod ws;

pub use startup::{AppState, Application};
