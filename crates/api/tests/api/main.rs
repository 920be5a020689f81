#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::as_conversions
)] // a failed expectation is how a test fails

//! Integration tests: the real server on a free port, a fresh PostgreSQL database per test,
//! real HTTP and WebSocket clients.

mod database;
mod support;

mod account;
mod account_life;
mod admin_api;
mod alerts;
mod approvals;
mod browser;
mod contract;
mod errors;
mod fan_in;
mod first_run;
mod forward_auth;
mod geoip;
mod instances;
mod limits;
mod mail;
mod operations;
mod partitions;
mod passkeys;
mod policies;
mod races;
mod recovery;
mod replica;
mod second_factor;
mod security;
mod sessions;
mod shutdown;
mod sign_in_by_mail;
mod sudo_mode;
mod webhooks;
mod websockets;
