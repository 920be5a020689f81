//! What the API does, as functions of the state: each takes validated input, runs one
//! transaction that applies `model`'s rules to `storage`'s rows, records what changed in the
//! activity log and announces it through `events` after the commit. No HTTP in here.
//!
//! Every write is one `state.unit_of_work(…)` (`events::unit_of_work`: the changes saved on
//! commit, the transaction run again after a deadlock), and locks in one order: the user's
//! row first, then the user's sessions, requests and links.

pub mod accounts;
pub mod activity;
pub mod admin;
pub mod admission;
pub mod alerts;
pub mod api_keys;
pub mod approvals;
pub mod current_password;
pub mod deletion;
pub mod email_change;
pub mod export;
pub mod in_flight;
pub mod mailer;
pub mod operations;
pub mod passkeys;
pub mod reauth;
pub mod recovery;
pub mod second_factor;
pub mod sessions;
pub mod strength;
pub mod sweeper;
pub mod throttle;
pub mod webhook_delivery;
pub mod webhooks;

pub use sessions::Authenticated;
