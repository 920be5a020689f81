use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use shared::ErrorBody;
use shared::{
    ApprovalRequired, AuthResponse, LoginRequest, PasswordStrength, PasswordStrengthRequest,
    SessionProbe, SignupRequest,
};

use crate::error::Error;
use crate::http::cookies::{PersistUntil, device_cookie, known_device};
use crate::http::extractors::{session_token, start_cookie_session};
use crate::model::device::ClientInfo;
use crate::services::accounts::{self, Signup};
use crate::services::admission::{self, LoginAttempt, LoginOutcome};
use crate::services::sessions::Keep;
use crate::services::{Authenticated, sessions};
use crate::state::AppState;
use crate::wire;

#[utoipa::path(
    tag = "auth",
    operation_id = "signup",
    summary = "Create an account and sign this device in",
    security(()),
    responses(
        (status = 201, description = "Signed up and in; sets the session and device cookies", body = AuthResponse),
        (status = 409, description = "`email_taken`", body = ErrorBody),
        (status = 422, description = "`validation` (email, name, password length) or `weak_password` (easy to guess; the sentence says why)", body = ErrorBody),
        (status = 429, description = "`too_many_signups` from this address; `Retry-After`", body = ErrorBody),
    )
)]
#[post("/api/auth/signup")]
pub async fn signup(
    client: ClientInfo,
    body: web::Json<SignupRequest>,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, Error> {
    let body = body.into_inner();
    let signup = Signup {
        email: body.email,
        password: body.password,
        name: body.name,
    };
    let (user, session, token) = accounts::sign_up(&state, signup, &client).await?;
    start_cookie_session(&cookie, &token)?;
    Ok(HttpResponse::Created()
        .cookie(device_cookie(
            &state.settings,
            &state.device_cookies,
            &user.email,
            None,
        ))
        .json(AuthResponse {
            user: wire::user(&user),
            session: wire::session(&session, Some(session.id), state.lifetimes()),
        }))
}

/// 200 and a cookie, 202 when another device must approve, or an error.
#[utoipa::path(
    tag = "auth",
    operation_id = "login",
    summary = "Sign in with email and password",
    description = "200 with the cookie, or 202 when a device already signed in must approve (policy `approve`): show `code`, keep `pending_token`, follow the waiting socket.",
    security(()),
    responses(
        (status = 200, description = "Signed in; sets the session cookie (persistent with `keep_signed_in`) and the device cookie", body = AuthResponse, links(("ListSessions" = (operation_id = "list_sessions", description = "The sessions of the account just signed in to")))),
        (status = 202, description = "`approval_required`", body = ApprovalRequired),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 409, description = "`session_limit`: Already N sessions active", body = ErrorBody),
        (status = 422, description = "`validation`: a field is missing, of the wrong type or invalid", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`, `too_many_pending_approvals` or `too_many_approval_requests`; `Retry-After`", body = ErrorBody),
    )
)]
#[post("/api/auth/login")]
pub async fn login(
    request: HttpRequest,
    client: ClientInfo,
    body: web::Json<LoginRequest>,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, Error> {
    let body = body.into_inner();
    let known_device = known_device(&request, &state, &body.email);
    let attempt = LoginAttempt {
        email: body.email,
        password: body.password,
        keep: Keep {
            persistent: body.keep_signed_in,
        },
        known_device: known_device.clone(),
    };
    match admission::login(&state, attempt, &client).await? {
        LoginOutcome::LoggedIn {
            user,
            session,
            token,
        } => {
            start_cookie_session(&cookie, &token)?;
            let mut response = HttpResponse::Ok()
                .cookie(device_cookie(
                    &state.settings,
                    &state.device_cookies,
                    &user.email,
                    known_device,
                ))
                .json(AuthResponse {
                    user: wire::user(&user),
                    session: wire::session(&session, Some(session.id), state.lifetimes()),
                });
            if let Some(persist) = PersistUntil::of(&session) {
                response.extensions_mut().insert(persist);
            }
            Ok(response)
        }
        LoginOutcome::NeedsApproval {
            approval,
            code,
            pending_token,
        } => Ok(HttpResponse::Accepted().json(ApprovalRequired {
            status: "approval_required".to_owned(),
            approval_id: approval.id,
            code,
            expires_at: approval.expires_at,
            pending_token,
        })),
    }
}

#[utoipa::path(
    tag = "auth",
    operation_id = "me",
    summary = "The signed-in user and this session",
    security(("session_cookie" = [])),
    responses((status = 200, description = "The user and the current session", body = AuthResponse), (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody))
)]
#[get("/api/auth/me")]
pub async fn me(auth: Authenticated, state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(AuthResponse {
        user: wire::user(&auth.user),
        session: wire::session(&auth.session, Some(auth.session.id), state.lifetimes()),
    })
}

/// Whether this browser is signed in: 200 either way (a signed-out visitor's first request
/// is no error). A dead or unknown cookie reads as signed out.
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
) -> Result<HttpResponse, Error> {
    let signed_out = SessionProbe {
        authenticated: false,
        user: None,
        session: None,
    };
    let Ok(token) = session_token(&request, &state) else {
        return Ok(HttpResponse::Ok().json(signed_out));
    };
    match sessions::authenticate(&state, &token).await {
        Ok(auth) => Ok(HttpResponse::Ok().json(SessionProbe {
            authenticated: true,
            user: Some(wire::user(&auth.user)),
            session: Some(wire::session(
                &auth.session,
                Some(auth.session.id),
                state.lifetimes(),
            )),
        })),
        Err(error) if error.is_server_side() => Err(error),
        Err(_) => Ok(HttpResponse::Ok().json(signed_out)),
    }
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
) -> Result<HttpResponse, Error> {
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
    body: web::Json<PasswordStrengthRequest>,
) -> Result<HttpResponse, Error> {
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
