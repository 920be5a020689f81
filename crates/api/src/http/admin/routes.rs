//! Every route of the admin API; each handler carries its `#[utoipa::path]`, which goes
//! into the admin document (`http::admin::openapi`). A new resource (webhooks, …) is a
//! module beside `users` and a line here.

use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::admin::{sessions, users, webhooks};

pub fn configure(config: &mut ServiceConfig) {
    config
        .service(users::user)
        .service(users::user_sessions)
        .service(users::user_history)
        .service(users::user_activity)
        .service(users::revoke_user_sessions)
        .service(users::unlock_user)
        .service(sessions::revoke_session)
        .service(webhooks::list)
        .service(webhooks::add)
        .service(webhooks::remove)
        .service(webhooks::enable)
        .service(webhooks::deliveries);
}
