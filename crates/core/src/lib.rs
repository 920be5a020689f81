//! The core of the session-management API: accounts, server-side sessions in PostgreSQL,
//! the per-user session limit with second-device approval, mail and logs — everything but
//! HTTP. It does not depend on actix; the server crate (`crates/api`) adds routes, sockets
//! and the binary on top, so the compiler keeps this side free of them.
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

pub mod config;
pub mod telemetry;

pub mod model;

pub mod error;

pub mod storage;

pub mod wire;

pub mod events;

pub mod state;

pub mod services;

pub use state::AppState;
