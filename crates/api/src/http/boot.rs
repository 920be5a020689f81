//! What the app asks first: the server's rules (`GET /api/config`) and who is signed in
//! (`GET /api/auth/session`). Built here for those two answers and for the app's document,
//! which carries both (`shared::BootState`), so that the first page waits for no round trip.

use actix_web::HttpRequest;
use shared::rules::{PASSWORD_MAX, PASSWORD_MIN};
use shared::{ClientConfig, MailDelivery, SessionProbe};

use crate::error::Error;
use crate::http::extractors::session_token;
use crate::services::sessions;
use crate::state::AppState;
use crate::wire;

/// The rules the app shows, its name and whether mail really leaves.
pub fn client_config(state: &AppState) -> ClientConfig {
    let settings = &state.settings;
    let count = |value: usize| u32::try_from(value).unwrap_or(u32::MAX);
    ClientConfig {
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
    }
}

/// Whether the request's browser is signed in. A missing, dead or unknown cookie reads as
/// signed out; only the server's own failures (the database) are errors.
pub async fn session_probe(state: &AppState, request: &HttpRequest) -> Result<SessionProbe, Error> {
    let Ok(token) = session_token(request) else {
        return Ok(SessionProbe::signed_out());
    };
    match sessions::authenticate(state, &token).await {
        Ok(checked) => {
            let (user, session) =
                wire::signed_in(checked.into_rows(), &state.settings, state.lifetimes());
            Ok(SessionProbe {
                authenticated: true,
                user: Some(user),
                session: Some(session),
            })
        }
        Err(error) if error.is_server_side() => Err(error),
        Err(_) => Ok(SessionProbe::signed_out()),
    }
}
