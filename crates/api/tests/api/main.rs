#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed expectation is how a test fails

//! Integration tests: the real server on a free port, a fresh PostgreSQL database per test,
//! real HTTP and WebSocket clients.

mod helpers;

mod account;
mod approvals;
mod browser;
mod errors;
mod limits;
mod sessions;
mod websockets;
