//! The cookies besides actix-session's: how long the session cookie lives ("keep me signed
//! in"), and the device cookie.

use actix_web::HttpRequest;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use chrono::{DateTime, Utc};

use crate::model::input::Email;
use crate::model::policy::DEVICE_COOKIE_LIFETIME;
use crate::model::secrets::{DeviceCookies, KnownDevice};
use crate::state::AppState;
use crate::storage::sessions::SessionRow;
use crate::storage::users::UserRow;

/// Put in a response's extensions by a handler that set the session cookie for a
/// persistent session: the cookie then gets a `Max-Age` reaching to `until`. Without it the
/// session cookie is a browser-session cookie (actix-session sets none).
#[derive(Debug, Clone, Copy)]
pub struct PersistUntil(pub DateTime<Utc>);

impl PersistUntil {
    /// For a session: persistent ones live until their absolute lifetime ends.
    pub fn of(session: &SessionRow) -> Option<Self> {
        session.persistent.then_some(Self(session.expires_at))
    }
}

/// Gives the session cookie set in this response its `Max-Age`, when the handler asked for
/// one (actix-session sets the same lifetime for every session; this is per session). Runs on
/// the requests that may write the cookie, as actix-session does (`ForCookieWrites`).
pub async fn persist_session_cookie(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = request
        .app_data::<actix_web::web::Data<AppState>>()
        .cloned();
    let mut response = next.call(request).await?.map_into_boxed_body();
    let persist = response
        .response()
        .extensions()
        .get::<PersistUntil>()
        .copied();
    if let (Some(PersistUntil(until)), Some(state)) = (persist, state) {
        let name = state.settings.session.session_cookie_name();
        // The session ends by the app's clock, so the cookie's lifetime is counted by it.
        let seconds = (until - state.now()).num_seconds().max(0);
        let headers = response.headers_mut();
        let rewritten: Vec<HeaderValue> = headers
            .get_all(header::SET_COOKIE)
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| Cookie::parse(value.to_owned()).ok())
            .map(|mut cookie| {
                if cookie.name() == name && !cookie.value().is_empty() {
                    cookie.set_max_age(time::Duration::seconds(seconds));
                }
                cookie.to_string()
            })
            .filter_map(|value| HeaderValue::from_str(&value).ok())
            .collect();
        headers.remove(header::SET_COOKIE);
        for value in rewritten {
            headers.append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// The device the browser proves for `email`, if it carries a device cookie for it.
pub fn known_device(request: &HttpRequest, state: &AppState, email: &str) -> Option<KnownDevice> {
    let email = Email::parse(email).ok()?;
    let cookie = request.cookie(&state.settings.session.device_cookie_name())?;
    state
        .device_cookies
        .recognise(cookie.value(), email.as_str())
}

/// The device cookie of `user`'s account for this browser: the device id of the session it
/// signed in with (`session_device`), else the one it has (or a new one), and a proof that
/// it signed in to the account in its current device generation.
pub fn device_cookie(
    request: &HttpRequest,
    state: &AppState,
    user: &UserRow,
    session_device: Option<&str>,
) -> Cookie<'static> {
    let settings = &state.settings;
    let device_id = match session_device {
        Some(id) => id.to_owned(),
        None => known_device(request, state, &user.email)
            .map_or_else(DeviceCookies::new_device_id, |known| known.id),
    };
    let mut cookie = Cookie::build(
        settings.session.device_cookie_name(),
        state
            .device_cookies
            .value(&user.email, &device_id, user.device_generation),
    )
    .path("/")
    .http_only(true)
    .secure(settings.session.cookie_secure)
    .same_site(SameSite::Strict)
    .max_age(time::Duration::seconds(
        DEVICE_COOKIE_LIFETIME.num_seconds(),
    ))
    .finish();
    // Shared like the session cookie: a subdomain's sign-in knows this browser too.
    if let Some(domain) = &settings.session.cookie_domain {
        cookie.set_domain(domain.clone());
    }
    cookie
}
