//! Wire types shared by the API server and the browser frontend.
//!
//! This crate must stay wasm-clean: serde, chrono and uuid only (CI builds it for
//! `wasm32-unknown-unknown`).

pub mod admin;
pub mod api;
pub mod banners;
pub mod routes;
pub mod rules;
pub mod secret;
pub mod timestamps;
pub mod vocabulary;
pub mod ws;

pub use api::*;
pub use secret::Secret;
pub use vocabulary::*;
