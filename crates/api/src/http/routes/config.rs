use actix_web::{HttpResponse, get, web};
use shared::ClientConfig;
use shared::rules::{PASSWORD_MAX, PASSWORD_MIN};

use crate::state::AppState;

/// The rules the app shows (limit, lifetimes, password length), so it hard-codes none.
#[utoipa::path(
    tag = "operations",
    operation_id = "client_config",
    summary = "The rules the app shows (limit, policy, lifetimes, password length)",
    security(()),
    responses((status = 200, description = "The configuration", body = ClientConfig))
)]
#[get("/api/config")]
pub async fn client_config(state: web::Data<AppState>) -> HttpResponse {
    let settings = &state.settings;
    let count = |value: usize| u32::try_from(value).unwrap_or(u32::MAX);
    HttpResponse::Ok().json(ClientConfig {
        max_sessions: u32::try_from(state.limits().max_sessions()).unwrap_or(u32::MAX),
        limit_policy: settings.limit_policy.as_str().to_owned(),
        fresh_session_secs: settings.fresh_session.as_secs(),
        idle_timeout_secs: settings.idle_timeout.as_secs(),
        approval_ttl_secs: settings.approval_ttl.as_secs(),
        password_min: count(PASSWORD_MIN),
        password_max: count(PASSWORD_MAX),
    })
}
