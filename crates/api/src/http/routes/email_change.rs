//! Moving the account to another address.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use shared::{ChangeEmailRequest, EmailChangeStatus, ErrorBody, LinkToken, User};

use crate::http::cookies::device_cookie;
use crate::http::error::ApiError;
use crate::http::extractors::{Authenticated, ClientInfo, Json};
use crate::services::email_change;
use crate::state::AppState;
use crate::wire;

#[utoipa::path(
    tag = "account",
    operation_id = "change_email",
    summary = "Ask to move the account to another address (a link goes there)",
    description = "Needs the current password (counted like a sign-in). A confirmation link (24 h, once) goes to the new address and a notice with \"this wasn't me\" to the current one; nothing changes until the link is used. The answer is the same whether or not the new address belongs to another account (its owner is told instead, and no link works).",
    security(("session_cookie" = [])),
    responses(
        (status = 202, description = "The change waits for the link", body = EmailChangeStatus),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 403, description = "`wrong_password`, or `reauthentication_required` (sudo mode)", body = ErrorBody),
        (status = 422, description = "`validation`: not an address, or the account's own", body = ErrorBody),
        (status = 429, description = "`too_many_attempts` or `too_many_mail_requests`; `Retry-After`", body = ErrorBody),
    )
)]
#[post("/api/me/email")]
pub async fn request_email_change(
    auth: Authenticated,
    client: ClientInfo,
    body: Json<ChangeEmailRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let pending = email_change::request(
        &state,
        &auth,
        &body.new_email,
        body.current_password,
        &client,
    )
    .await?;
    Ok(HttpResponse::Accepted().json(EmailChangeStatus {
        message: format!(
            "A link is on its way to {}; until it is used, {} stays the account's address.",
            pending.new_email, auth.user.email
        ),
        pending: Some(pending),
    }))
}

#[utoipa::path(
    tag = "account",
    operation_id = "email_change_status",
    summary = "The change of address waiting for its link, if any",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "`pending` is null when none waits", body = EmailChangeStatus),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
    )
)]
#[get("/api/me/email")]
pub async fn email_change_status(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pending = email_change::pending(&state, &auth).await?;
    let message = match &pending {
        Some(pending) => format!("Waiting for confirmation of {}", pending.new_email),
        None => "No change of address is waiting".to_owned(),
    };
    Ok(HttpResponse::Ok().json(EmailChangeStatus { pending, message }))
}

#[utoipa::path(
    tag = "account",
    operation_id = "confirm_email_change",
    summary = "Use the link mailed to the new address: the account moves there",
    description = "Works without a session. Every other session ends (`email_changed`), requests in flight are cancelled, every browser is forgotten (a signed-in browser of the account that uses the link keeps its session and gets a new device cookie), and links sent to the old address die.",
    security(()),
    responses(
        (status = 200, description = "Moved: the user, at the new address", body = User),
        (status = 400, description = "`invalid_link`: unknown, used, expired, superseded, or its address taken meanwhile", body = ErrorBody),
        (status = 422, description = "`validation`: a field is missing or of the wrong type", body = ErrorBody),
    )
)]
#[post("/api/auth/confirm-email-change")]
pub async fn confirm_email_change(
    request: HttpRequest,
    auth: Option<Authenticated>,
    client: ClientInfo,
    body: Json<LinkToken>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let user = email_change::confirm(&state, &body.token, auth.as_deref(), &client).await?;
    let mut response = HttpResponse::Ok();
    if let Some(auth) = auth.filter(|auth| auth.user.id == user.id) {
        response.cookie(device_cookie(
            &request,
            &state,
            &user,
            auth.session.device_id.as_deref(),
        ));
    }
    Ok(response.json(wire::user(&user, &state.settings)))
}
