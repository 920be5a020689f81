use actix_web::{HttpResponse, get, web};
use shared::rules::{PASSWORD_MAX, PASSWORD_MIN};
use shared::{ClientConfig, MailDelivery};

use crate::state::AppState;

/// The rules the app shows (limit, lifetimes, password length), its name and whether mail
/// really leaves, so it hard-codes none.
#[utoipa::path(
    tag = "operations",
    operation_id = "client_config",
    summary = "The app's name and the rules it shows (limit, policy, lifetimes, password length, mail delivery)",
    security(()),
    responses((status = 200, description = "The configuration", body = ClientConfig))
)]
#[get("/api/config")]
pub async fn client_config(state: web::Data<AppState>) -> HttpResponse {
    let settings = &state.settings;
    let count = |value: usize| u32::try_from(value).unwrap_or(u32::MAX);
    HttpResponse::Ok().json(ClientConfig {
        app_name: settings.server.app_name.clone(),
        mail_delivery: if settings.mail.smtp_url.is_some() {
            MailDelivery::Smtp
        } else {
            MailDelivery::Log
        },
        max_sessions: u32::try_from(state.limits().max_sessions()).unwrap_or(u32::MAX),
        limit_policy: settings.session.limit_policy.into(),
        fresh_session_secs: settings.session.fresh_session.as_secs(),
        idle_timeout_secs: settings.session.idle_timeout.as_secs(),
        approval_ttl_secs: settings.approval.ttl.as_secs(),
        password_min: count(PASSWORD_MIN),
        password_max: count(PASSWORD_MAX),
        return_to_origins: settings.forward_auth.return_to_origins.clone(),
    })
}
