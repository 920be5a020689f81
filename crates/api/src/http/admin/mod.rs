//! The admin API: `/admin/v1/…` on a listener of its own (`ADMIN_BIND`, loopback by
//! default), for holders of an API key (`Authorization: Bearer <key>`), with its own OpenAPI
//! document at `/admin/v1/openapi.json`. Not part of the public router or document.
//!
//! * `keys`: the extractors that check the key on every request (`AdminKey`, `WriteKey`).
//! * `users`, `sessions`, `webhooks`: the handlers, one module per resource.
//! * `routes`: every handler, registered once (a new resource is a module and a line there).
//! * `openapi`: the document; `server`: the listener.

pub mod keys;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod sessions;
pub mod users;
pub mod webhooks;
