use actix_session::Session;
use actix_web::{HttpResponse, patch, post, web};
use shared::{AuthResponse, ChangePasswordRequest, UpdateProfileRequest};
use shared::{ErrorBody, User};

use crate::error::Error;
use crate::http::cookies::PersistUntil;
use crate::http::extractors::start_cookie_session;
use crate::services::{Authenticated, accounts};
use crate::state::AppState;
use crate::wire;

#[utoipa::path(
    tag = "account",
    operation_id = "update_profile",
    summary = "Change the display name",
    security(("session_cookie" = [])),
    responses((status = 200, description = "The user as changed", body = User), (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody), (status = 422, description = "`validation`: a field is missing, of the wrong type or invalid", body = ErrorBody))
)]
#[patch("/api/me")]
pub async fn update_profile(
    auth: Authenticated,
    body: web::Json<UpdateProfileRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let user = accounts::rename(&state, &auth, &body.name).await?;
    Ok(HttpResponse::Ok().json(wire::user(&user, &state.settings)))
}

/// Ends every other session and rotates this one's cookie.
#[utoipa::path(
    tag = "account",
    operation_id = "change_password",
    summary = "Change the password: every other session ends and this one's cookie rotates",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Changed", body = AuthResponse),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 403, description = "`wrong_password`, or `session_too_new` (`Retry-After`)", body = ErrorBody),
        (status = 422, description = "`validation` or `weak_password`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody),
    )
)]
#[post("/api/me/password")]
pub async fn change_password(
    auth: Authenticated,
    body: web::Json<ChangePasswordRequest>,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, Error> {
    let body = body.into_inner();
    let token =
        accounts::change_password(&state, &auth, body.current_password, body.new_password).await?;
    start_cookie_session(&cookie, &token)?;
    // Only the session's token changed: what the client sees of it is as it was.
    let mut response = HttpResponse::Ok().json(AuthResponse {
        user: wire::user(&auth.user, &state.settings),
        session: wire::session(&auth.session, Some(auth.session.id), state.lifetimes()),
    });
    if let Some(persist) = PersistUntil::of(&auth.session) {
        response.extensions_mut().insert(persist);
    }
    Ok(response)
}
