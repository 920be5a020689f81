//! Session-management API server: routes, sockets, extractors and middleware over
//! `session_core` (accounts, sessions, approvals, mail; no actix), and the binary's commands.
//!
//! Layers, bottom to top; a module imports only from layers below its own (CI checks it
//! with `scripts/check-layers`); everything in `session_core` is below all of them, and the
//! compiler keeps `session_core` from importing any of them:
//!
//! 1. `http` — routes, sockets, extractors, middleware
//! 2. `startup` — `Application::build`
//! 3. `cli` — the binary's commands (`serve`, `openapi`, `admin`)

// The core's modules under their old paths (`crate::services::…`, `api::config::…`).
pub use session_core::{
    AppState, config, error, events, model, services, state, storage, telemetry, wire,
};

pub mod http;

pub mod startup;

pub mod cli;

pub use startup::Application;
