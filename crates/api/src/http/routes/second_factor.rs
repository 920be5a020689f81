//! The second factor (authenticator app and recovery codes), a sign-in's second step, and
//! sudo mode's re-authentication.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use shared::{
    AuthResponse, ErrorBody, LoginAccepted, ReauthenticateRequest, RecoveryCodes,
    SecondFactorRequest, SecondFactorStatus, SessionInfo, TotpCodeRequest, TotpSetup,
};

use crate::http::error::ApiError;
use crate::http::extractors::{Authenticated, ClientInfo, Json};
use crate::http::sign_in;
use crate::services::admission;
use crate::services::second_factor::{self, Reauthentication};
use crate::state::AppState;
use crate::wire;

/// The 403 every sudo-mode operation documents.
const REAUTH_403: &str = "`reauthentication_required`: the session's last proof is older than `REAUTH_WINDOW_SECS`; `POST /api/auth/reauthenticate` and retry (or `forbidden_origin`)";

#[utoipa::path(
    tag = "auth",
    operation_id = "second_factor",
    summary = "Answer a sign-in's second-factor challenge",
    description = "After `202 second_factor_required` from login: a code of the authenticator app (accepted once) or a recovery code (each once). Then the usual outcomes of login: 200 with the cookies, 202 `approval_required`, 409 `session_limit`… A wrong code counts against the account's login throttle; the challenge stays open until its 5 minutes are up.",
    security(()),
    responses(
        (status = 200, description = "Signed in; sets the session and device cookies", body = AuthResponse),
        (status = 202, description = "`approval_required`: a signed-in device must approve", body = LoginAccepted),
        (status = 409, description = "`session_limit`", body = ErrorBody),
        (status = 410, description = "`challenge_expired`: unknown, finished or older than 5 minutes; sign in again", body = ErrorBody),
        (status = 422, description = "`invalid_code` or `validation`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts` (and the login's other caps); `Retry-After`", body = ErrorBody),
    )
)]
#[post("/api/auth/second-factor")]
pub async fn answer_second_factor(
    request: HttpRequest,
    body: Json<SecondFactorRequest>,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let outcome = admission::complete_second_factor(&state, body.challenge_id, &body.code).await?;
    sign_in::login_outcome(&request, &state, &cookie, outcome)
}

#[utoipa::path(
    tag = "auth",
    operation_id = "reauthenticate",
    summary = "Sudo mode: prove the user again (password or authenticator code)",
    description = "Exactly one of `password` and `code` (the authenticator app's). Renews the session's proof: changes that need one are allowed for `REAUTH_WINDOW_SECS` from now. Counted like a password check (this session's slot and the account's).",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The session with its new `proved_at` and `proof_method`", body = SessionInfo),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 403, description = "`wrong_password`", body = ErrorBody),
        (status = 409, description = "`second_factor_not_enabled`: a code without the authenticator app", body = ErrorBody),
        (status = 422, description = "`invalid_code` or `validation` (neither or both fields)", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody),
    )
)]
#[post("/api/auth/reauthenticate")]
pub async fn reauthenticate(
    auth: Authenticated,
    body: Json<ReauthenticateRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let proof = Reauthentication::from_fields(body.password, body.code)?;
    let session = second_factor::reauthenticate(&state, &auth, proof).await?;
    Ok(HttpResponse::Ok().json(wire::session(&session, Some(session.id), state.lifetimes())))
}

#[utoipa::path(
    tag = "account",
    operation_id = "second_factor_status",
    summary = "Whether the authenticator app is on, and recovery codes left",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The account's second factor", body = SecondFactorStatus),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
    )
)]
#[get("/api/me/totp")]
pub async fn totp_status(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(second_factor::status(&state, &auth).await?))
}

#[utoipa::path(
    tag = "account",
    operation_id = "begin_totp",
    summary = "Set up the authenticator app: a new secret and its QR code",
    description = "Not on until a code of the app confirms it (`/api/me/totp/confirm`); asking again replaces a secret never confirmed. Needs a recent proof (sudo mode).",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The secret (base32), the otpauth URL and its QR code (SVG)", body = TotpSetup),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 403, description = REAUTH_403, body = ErrorBody),
        (status = 409, description = "`second_factor_enabled`: turn it off first", body = ErrorBody),
    )
)]
#[post("/api/me/totp")]
pub async fn begin_totp(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let enrolment = second_factor::begin_totp(&state, &auth).await?;
    Ok(HttpResponse::Ok().json(TotpSetup {
        secret: enrolment.secret_base32.into(),
        otpauth_url: enrolment.otpauth_url.into(),
        qr_svg: enrolment.qr_svg,
    }))
}

#[utoipa::path(
    tag = "account",
    operation_id = "confirm_totp",
    summary = "Turn the authenticator app on with its first code; the recovery codes, once",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "On; ten single-use recovery codes, shown this once", body = RecoveryCodes),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 403, description = REAUTH_403, body = ErrorBody),
        (status = 409, description = "`second_factor_enabled`, or `second_factor_not_enabled` (not set up)", body = ErrorBody),
        (status = 422, description = "`invalid_code` or `validation`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody),
    )
)]
#[post("/api/me/totp/confirm")]
pub async fn confirm_totp(
    auth: Authenticated,
    client: ClientInfo,
    body: Json<TotpCodeRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let recovery_codes = second_factor::confirm_totp(&state, &auth, &client, &body.code).await?;
    Ok(HttpResponse::Ok().json(RecoveryCodes { recovery_codes }))
}

#[utoipa::path(
    tag = "account",
    operation_id = "disable_totp",
    summary = "Turn the authenticator app off (its recovery codes go too)",
    security(("session_cookie" = [])),
    responses(
        (status = 204, description = "Off"),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 403, description = REAUTH_403, body = ErrorBody),
        (status = 409, description = "`second_factor_not_enabled`", body = ErrorBody),
    )
)]
#[delete("/api/me/totp")]
pub async fn disable_totp(
    auth: Authenticated,
    client: ClientInfo,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    second_factor::disable_totp(&state, &auth, &client).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "account",
    operation_id = "regenerate_recovery_codes",
    summary = "A new set of ten recovery codes (the old ones die)",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The codes, shown this once", body = RecoveryCodes),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 403, description = REAUTH_403, body = ErrorBody),
        (status = 409, description = "`second_factor_not_enabled`", body = ErrorBody),
    )
)]
#[post("/api/me/recovery-codes")]
pub async fn regenerate_recovery_codes(
    auth: Authenticated,
    client: ClientInfo,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let recovery_codes = second_factor::regenerate_recovery_codes(&state, &auth, &client).await?;
    Ok(HttpResponse::Ok().json(RecoveryCodes { recovery_codes }))
}
