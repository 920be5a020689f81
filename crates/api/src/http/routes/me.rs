use actix_session::Session;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use futures_util::StreamExt;
use shared::{AuthResponse, ChangePasswordRequest, DeleteAccountRequest, UpdateProfileRequest};
use shared::{ErrorBody, User};

use crate::http::cookies::PersistUntil;
use crate::http::error::ApiError;
use crate::http::extractors::{Authenticated, ClientInfo, Json};
use crate::http::session_cookie;
use crate::services::{accounts, deletion, export};
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
    body: Json<UpdateProfileRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
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
        (status = 403, description = "`wrong_password`, `session_too_new` (`Retry-After`) or `reauthentication_required` (sudo mode)", body = ErrorBody),
        (status = 422, description = "`validation` or `weak_password`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody),
    )
)]
#[post("/api/me/password")]
pub async fn change_password(
    auth: Authenticated,
    body: Json<ChangePasswordRequest>,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let token =
        accounts::change_password(&state, &auth, body.current_password, body.new_password).await?;
    session_cookie::start(&cookie, &token)?;
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

/// Deletes the account and everything of it; the browser's cookies go too.
#[utoipa::path(
    tag = "account",
    operation_id = "delete_account",
    summary = "Delete the account: every session ends, every row of it goes, a goodbye mail",
    description = "Needs the current password (counted like a sign-in). In one transaction every session ends (sockets get `session_revoked` with reason `account_deleted` and close, on every instance), requests in flight are cancelled, links, device cookies and mail not yet sent die, and the account's rows are deleted; the address is free for a new signup at once.",
    security(("session_cookie" = [])),
    responses(
        (status = 204, description = "Deleted; the cookies are cleared (`Clear-Site-Data`)"),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 403, description = "`wrong_password`, or `session_too_new` (`Retry-After`)", body = ErrorBody),
        (status = 422, description = "`validation`: a field is missing or of the wrong type", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody),
    )
)]
#[delete("/api/me")]
pub async fn delete_account(
    auth: Authenticated,
    client: ClientInfo,
    body: Json<DeleteAccountRequest>,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, ApiError> {
    deletion::delete_own(&state, &auth, body.into_inner().current_password, &client).await?;
    cookie.purge();
    // The device cookie names an account that is gone: it goes with the rest.
    Ok(HttpResponse::NoContent()
        .insert_header(("Clear-Site-Data", "\"cache\", \"cookies\", \"storage\""))
        .finish())
}

/// The account's data as one JSON document, streamed.
#[utoipa::path(
    tag = "account",
    operation_id = "export_data",
    summary = "Download my data: profile, session log, sign-in requests, activity, alerts, mail",
    description = "A JSON document (`Content-Disposition: attachment`), written as it is read: `format`, `exported_at`, `profile`, `signed_in_from` (devices, networks, countries first seen), `mail` (kind, recipient, times), `sessions` (every session of the log), `sign_in_requests`, `activity`, `alerts`. Never a secret, hash or token. At most 5 an hour per account.",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The document", content_type = "application/json", body = Object),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 429, description = "`too_many_exports`; `Retry-After`", body = ErrorBody),
    )
)]
#[get("/api/me/export")]
pub async fn export_data(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    export::begin(&state, &auth).await?;
    let chunks = export::document(state.into_inner(), auth.0)
        .map(|chunk| chunk.map(actix_web::web::Bytes::from));
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"account-data.json\"",
        ))
        .streaming(chunks))
}
