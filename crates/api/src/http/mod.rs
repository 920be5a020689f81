//! HTTP: routes, sockets, extractors, middleware and the error responses. The only layer
//! that knows actix-web.

pub mod admin;
pub mod boot;
pub mod cookies;
pub mod error;
pub mod extractors;
pub mod known_routes;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod paging;
pub mod prepaint;
pub mod routes;
pub mod session_cookie;
pub mod sign_in;
pub mod spa;
pub mod telemetry;
pub mod upgraded;
pub mod ws;
