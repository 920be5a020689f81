//! Every route of the API. Handlers parse the request, call one service and map the result
//! to HTTP; the rules live below them.

pub mod activity;
pub mod approvals;
pub mod auth;
pub mod config;
pub mod email_change;
pub mod forward_auth;
pub mod health;
pub mod me;
pub mod passkeys;
pub mod recovery;
pub mod second_factor;
pub mod sessions;

use actix_web::{HttpRequest, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::error::ApiError;
use crate::http::ws;

/// Registers every route; each handler carries its `#[utoipa::path]`, which goes into the
/// published document (`http::openapi`).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(health::healthz)
        .service(health::readyz)
        .service(health::csp_report)
        .service(config::client_config)
        .service(auth::signup)
        .service(auth::login)
        .service(auth::me)
        .service(auth::session_probe)
        .service(forward_auth::verify)
        .service(auth::password_strength)
        .service(auth::logout)
        .service(second_factor::answer_second_factor)
        .service(second_factor::reauthenticate)
        .service(passkeys::start_reauthentication)
        .service(passkeys::finish_reauthentication)
        .service(second_factor::totp_status)
        .service(second_factor::begin_totp)
        .service(second_factor::confirm_totp)
        .service(second_factor::disable_totp)
        .service(second_factor::regenerate_recovery_codes)
        .service(passkeys::start_sign_in)
        .service(passkeys::finish_sign_in)
        .service(passkeys::start_registration)
        .service(passkeys::finish_registration)
        .service(passkeys::list_passkeys)
        .service(passkeys::rename_passkey)
        .service(passkeys::remove_passkey)
        .service(me::update_profile)
        .service(me::change_password)
        .service(me::delete_account)
        .service(me::export_data)
        .service(email_change::request_email_change)
        .service(email_change::email_change_status)
        .service(email_change::confirm_email_change)
        .service(recovery::verify_email)
        .service(recovery::resend_verification)
        .service(recovery::request_password_reset)
        .service(recovery::complete_password_reset)
        .service(recovery::secure_account)
        // `others` before `{id}`, which would otherwise match it.
        .service(sessions::revoke_other_sessions)
        .service(sessions::list_sessions)
        .service(sessions::session_history)
        .service(sessions::revoke_session)
        .service(activity::list_activity)
        .service(approvals::list_approvals)
        .service(approvals::approve)
        .service(approvals::deny)
        .service(approvals::complete)
        .service(approvals::cancel)
        .service(approvals::confirm_email_code)
        .service(ws::session::session_socket)
        .service(ws::pending::waiting_socket)
        .service(ws::pending::waiting_socket_alias);
}

pub async fn not_found(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(crate::http::known_routes::unmatched(&request).into())
}
