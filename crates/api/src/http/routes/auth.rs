use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use shared::ErrorBody;
use shared::{
    AuthResponse, LoginAccepted, LoginRequest, PasswordStrength, PasswordStrengthRequest,
    SessionProbe, SignupRequest,
};

use crate::error::Error;
use crate::http::boot;
use crate::http::cookies::known_device;
use crate::http::error::ApiError;
use crate::http::extractors::{self, Authenticated, ClientInfo, Json};
use crate::http::sign_in;
use crate::services::accounts::{self, Signup};
use crate::services::admission::{self, LoginAttempt};
use crate::services::sessions::{self, Keep};
use crate::state::AppState;
use crate::wire;

#[utoipa::path(
    tag = "auth",
    operation_id = "signup",
    summary = "Create an account and sign this device in",
    security(()),
    responses(
        (status = 201, description = "Signed up and in; sets the session and device cookies", body = AuthResponse),
        (status = 409, description = "`email_taken` (the same whether or not the address was confirmed; an unconfirmed one is mailed a link to take that account over)", body = ErrorBody),
        (status = 422, description = "`validation` (email, name, password length) or `weak_password` (easy to guess; the sentence says why)", body = ErrorBody),
        (status = 429, description = "`too_many_signups` from this address; `Retry-After`", body = ErrorBody),
    )
)]
#[post("/api/auth/signup")]
pub async fn signup(
    request: HttpRequest,
    client: ClientInfo,
    body: Json<SignupRequest>,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let signup = Signup {
        email: body.email,
        password: body.password,
        name: body.name,
    };
    let (user, session, token) = accounts::sign_up(&state, signup, &client).await?;
    sign_in::signed_in(
        HttpResponse::Created(),
        &request,
        &state,
        &cookie,
        &user,
        &session,
        &token,
    )
}

/// 200 and a cookie, 202 when another device (or the mailbox) must vouch for this one, or
/// an error.
#[utoipa::path(
    tag = "auth",
    operation_id = "login",
    summary = "Sign in with email and password",
    description = "200 with the cookie, or 202: `approval_required` when a device already signed in must approve (policy `approve`): show `code`, keep `pending_token`, follow the waiting socket; `email_confirmation_required` when no device can approve and this browser never signed in to the account (no device cookie), and the address is confirmed: a 6-digit code went to it (10 minutes, 5 tries), send it to `/api/login/approvals/{id}/email-code`.",
    security(()),
    responses(
        (status = 200, description = "Signed in; sets the session cookie (persistent with `keep_signed_in`) and the device cookie", body = AuthResponse, links(("ListSessions" = (operation_id = "list_sessions", description = "The sessions of the account just signed in to")))),
        (status = 202, description = "`approval_required` or `email_confirmation_required` (the `status` field)", body = LoginAccepted),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 409, description = "`session_limit`: Already N sessions active", body = ErrorBody),
        (status = 422, description = "`validation`: a field is missing, of the wrong type or invalid", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`, `too_many_pending_approvals`, `too_many_approval_requests` or `too_many_sign_in_codes` (5 codes a day); `Retry-After`", body = ErrorBody),
    )
)]
#[post("/api/auth/login")]
pub async fn login(
    request: HttpRequest,
    client: ClientInfo,
    body: Json<LoginRequest>,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let attempt = LoginAttempt {
        known_device: known_device(&request, &state, &body.email),
        email: body.email,
        password: body.password,
        keep: Keep {
            persistent: body.keep_signed_in,
        },
    };
    let outcome = admission::login(&state, attempt, &client).await?;
    sign_in::login_outcome(&request, &state, &cookie, outcome)
}

#[utoipa::path(
    tag = "auth",
    operation_id = "me",
    summary = "The signed-in user and this session",
    security(("session_cookie" = [])),
    responses((status = 200, description = "The user and the current session", body = AuthResponse), (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody))
)]
#[get("/api/auth/me")]
pub async fn me(auth: Authenticated, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let state = extractors::app_state_ref(&request).map_err(ApiError)?;
    let (user, session) = wire::signed_in(auth.0.into_rows(), &state.settings, state.lifetimes());
    let body = AuthResponse { user, session };
    // Sized for the whole body at once (`json` starts at 128 bytes and grows it three times):
    // this is the hottest response. About 600 bytes; below glibc's 1 KiB "large" requests,
    // which consolidate its fast bins (`malloc_consolidate`, ~1% of the CPU under load).
    let mut bytes = Vec::with_capacity(768);
    serde_json::to_writer(&mut bytes, &body).map_err(|error| ApiError(Error::internal(error)))?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(bytes))
}

/// Whether this browser is signed in: 200 either way (a signed-out visitor is no error). A
/// dead or unknown cookie reads as signed out. The app's document carries the same answer.
#[utoipa::path(
    tag = "auth",
    operation_id = "session_probe",
    summary = "Whether this browser is signed in (never 401)",
    security(()),
    responses((status = 200, description = "`authenticated`, with the user and session when it is", body = SessionProbe))
)]
#[get("/api/auth/session")]
pub async fn session_probe(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(boot::session_probe(&state, &request).await?))
}

#[utoipa::path(
    tag = "auth",
    operation_id = "logout",
    summary = "End this session",
    security(("session_cookie" = [])),
    responses((status = 204, description = "Signed out; the cookie is cleared, and `Clear-Site-Data` clears cache and storage"), (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody))
)]
#[post("/api/auth/logout")]
pub async fn logout(
    auth: Authenticated,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, ApiError> {
    sessions::logout(&state, &auth).await?;
    cookie.purge();
    // The session cookie goes with `purge`; caches and storage (a pending request kept by a
    // tab) go too. Not "cookies": the device cookie must outlive the session.
    Ok(HttpResponse::NoContent()
        .insert_header(("Clear-Site-Data", "\"cache\", \"storage\""))
        .finish())
}

/// How guessable a password would be (the app shows it as the user types).
#[utoipa::path(
    tag = "auth",
    operation_id = "password_strength",
    summary = "How guessable a password would be (zxcvbn)",
    security(()),
    responses((status = 200, description = "Score 0 to 4; 3 or more is accepted", body = PasswordStrength), (status = 422, description = "`validation`: a field is missing, of the wrong type or invalid", body = ErrorBody))
)]
#[post("/api/password/strength")]
pub async fn password_strength(
    body: Json<PasswordStrengthRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let context = [body.email, body.name].into_iter().flatten().collect();
    let strength = accounts::strength(body.password, context).await?;
    Ok(HttpResponse::Ok().json(PasswordStrength {
        score: strength.score,
        acceptable: strength.acceptable(),
        warning: strength.warning,
        suggestions: strength.suggestions,
    }))
}
