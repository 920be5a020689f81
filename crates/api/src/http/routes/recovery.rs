//! The address as a second channel: confirming it, and recovering the account through it.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, post, web};
use shared::{
    AccountSecured, ErrorBody, LinkToken, MailQueued, PasswordResetCompletion,
    PasswordResetRequest, User,
};

use crate::http::cookies::device_cookie;
use crate::http::error::ApiError;
use crate::http::extractors::{Authenticated, ClientInfo, Json};
use crate::services::recovery;
use crate::state::AppState;
use crate::wire;

#[utoipa::path(
    tag = "account",
    operation_id = "verify_email",
    summary = "Confirm the address with the link mailed to it",
    description = "The token is the part after `#token=` of the link in the mail. Works without a session (the link may be opened on another device).",
    security(()),
    responses(
        (status = 200, description = "Confirmed: the user, now with `email_verified`", body = User),
        (status = 400, description = "`invalid_link`: unknown, used, expired, or sent to an address no longer the account's", body = ErrorBody),
        (status = 422, description = "`validation`: a field is missing, of the wrong type or invalid", body = ErrorBody),
    )
)]
#[post("/api/auth/verify-email")]
pub async fn verify_email(
    body: Json<LinkToken>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let user = recovery::verify_email(&state, &body.token).await?;
    Ok(HttpResponse::Ok().json(wire::user(&user, &state.settings)))
}

#[utoipa::path(
    tag = "account",
    operation_id = "resend_verification",
    summary = "Mail the confirmation link again",
    security(("session_cookie" = [])),
    responses(
        (status = 202, description = "Queued", body = MailQueued),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 409, description = "`already_verified`", body = ErrorBody),
        (status = 429, description = "`too_many_mail_requests`; `Retry-After`", body = ErrorBody),
    )
)]
#[post("/api/me/email-verification")]
pub async fn resend_verification(
    auth: Authenticated,
    client: ClientInfo,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    recovery::resend_verification(&state, &auth, &client).await?;
    let message = if mail_leaves(&state) {
        format!("A new link is on its way to {}.", auth.user.email)
    } else {
        shared::banners::MAIL_IS_LOGGED.to_owned()
    };
    Ok(HttpResponse::Accepted().json(MailQueued { message }))
}

#[utoipa::path(
    tag = "auth",
    operation_id = "request_password_reset",
    summary = "Mail a password-reset link",
    description = "Always 202 with the same body, in the same time, whether or not the address has an account (the account is looked up after the answer). An account's address gets the link, confirmed or not (valid 30 minutes, once; using it confirms the address).",
    security(()),
    responses(
        (status = 202, description = "If the address belongs to an account, a link is on its way", body = MailQueued),
        (status = 422, description = "`validation`: a field is missing, of the wrong type, or not an e-mail address", body = ErrorBody),
        (status = 429, description = "`too_many_mail_requests` from this address or for this e-mail; `Retry-After`", body = ErrorBody),
    )
)]
#[post("/api/auth/password-reset")]
pub async fn request_password_reset(
    body: Json<PasswordResetRequest>,
    client: ClientInfo,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mail_leaves = mail_leaves(&state);
    recovery::request_password_reset(&state.into_inner(), &body.email, &client).await?;
    let message = if mail_leaves {
        "If this address belongs to an account, a link to reset the password is on its way. \
         It is valid for 30 minutes."
    } else {
        "Mail is not set up on this server. If this address belongs to an account, the link \
         to reset the password is in the server log. It is valid for 30 minutes."
    };
    Ok(HttpResponse::Accepted().json(MailQueued {
        message: message.to_owned(),
    }))
}

/// Whether mail really leaves (`SMTP_URL`); without it the mailer writes mail to the log,
/// and saying "on its way" would be untrue.
fn mail_leaves(state: &AppState) -> bool {
    state.settings.mail.smtp_url.is_some()
}

#[utoipa::path(
    tag = "auth",
    operation_id = "complete_password_reset",
    summary = "Set a new password with a reset link",
    description = "Every session of the account ends and every sign-in request in flight is cancelled; sign in with the new password afterwards. The browser that did it gets the device cookie: it proved the mailbox, so its next sign-in needs no mailed code.",
    security(()),
    responses(
        (status = 200, description = "The password is set; sets the device cookie", body = User),
        (status = 400, description = "`invalid_link`: unknown, used, expired, or sent to an address no longer the account's", body = ErrorBody),
        (status = 422, description = "`validation` or `weak_password`", body = ErrorBody),
    )
)]
#[post("/api/auth/password-reset/complete")]
pub async fn complete_password_reset(
    request: HttpRequest,
    body: Json<PasswordResetCompletion>,
    client: ClientInfo,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let user =
        recovery::complete_password_reset(&state, &body.token, body.new_password, &client).await?;
    Ok(HttpResponse::Ok()
        .cookie(device_cookie(&request, &state, &user, None))
        .json(wire::user(&user, &state.settings)))
}

#[utoipa::path(
    tag = "auth",
    operation_id = "secure_account",
    summary = "\"This wasn't me\": end every session and request, from a security mail's link",
    description = "The token is the part after `#token=` of the \"This wasn't me\" link in a security mail (sent to confirmed addresses only; valid 72 hours, once). Every session of the account ends (this browser's too) and every sign-in request in flight is cancelled; the answer carries a reset token (30 minutes, once) for `POST /api/auth/password-reset/complete`.",
    security(()),
    responses(
        (status = 200, description = "Secured: what ended, and the token that sets the new password", body = AccountSecured),
        (status = 400, description = "`invalid_link`: unknown, used, expired, or sent to an address no longer the account's", body = ErrorBody),
        (status = 422, description = "`validation`: a field is missing, of the wrong type or invalid", body = ErrorBody),
    )
)]
#[post("/api/auth/secure-account")]
pub async fn secure_account(
    body: Json<LinkToken>,
    client: ClientInfo,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, ApiError> {
    let secured = recovery::secure_account(&state, &body.token, &client).await?;
    // This browser's session, if it had one, ended with the others.
    cookie.purge();
    Ok(HttpResponse::Ok().json(AccountSecured {
        message: format!(
            "Every device was signed out ({}) and {} cancelled. \
             Now choose a new password: whoever signed in knows the old one.",
            counted(secured.sessions_ended, "session", "sessions"),
            counted(
                secured.requests_cancelled,
                "sign-in request was",
                "sign-in requests were"
            ),
        ),
        sessions_ended: secured.sessions_ended,
        requests_cancelled: secured.requests_cancelled,
        reset_token: secured.reset_token,
    }))
}

/// "1 session", "2 sessions".
fn counted(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}
