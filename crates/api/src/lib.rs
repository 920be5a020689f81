//! Session-management API: accounts, server-side sessions in PostgreSQL behind a cookie,
//! a per-user session limit with second-device approval over WebSockets, and logs.
//!
//! Layers, bottom to top; a module imports only from layers below its own (CI checks it
//! with `scripts/check-layers`):
//!
//! 1. `config`, `telemetry` — settings, clock, logging setup
//! 2. `model` — the rules, without HTTP or database I/O
//! 3. `error` — the one error type
//! 4. `storage` — queries only
//! 5. `wire` — stored rows as the API shows them
//! 6. `events` — announcing what changed to the sockets
//! 7. `state` — what requests share
//! 8. `services` — what the API does, one transaction each
//! 9. `http` — routes, sockets, extractors, middleware
//! 10. `startup` — `Application::build`
//! 11. `cli` — the binary's commands (`serve`, `openapi`, `admin`)

pub mod config;
pub mod telemetry;

pub mod model;

pub mod error;

pub mod storage;

pub mod wire;

pub mod events;

pub mod state;

pub mod services;

pub mod http;

pub mod startup;

pub mod cli;

pub use startup::Application;
pub use state::AppState;
