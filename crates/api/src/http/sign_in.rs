//! The responses that sign a browser in: the session cookie, the device cookie (this
//! browser signed in to this account: it is recognised next time) and the body, or the
//! `202` of a login that must be confirmed first.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use shared::{
    ApprovalRequired, AuthResponse, EmailConfirmationRequired, LoginAccepted, SecondFactorRequired,
};

use crate::http::cookies::{PersistUntil, device_cookie};
use crate::http::error::ApiError;
use crate::http::session_cookie;
use crate::model::policy::EMAIL_CODE_MAX_ATTEMPTS;
use crate::services::admission::LoginOutcome;
use crate::state::AppState;
use crate::storage::sessions::SessionRow;
use crate::storage::users::UserRow;
use crate::wire;

/// `status` with both cookies and the user and session as body.
pub fn signed_in(
    mut status: HttpResponseBuilder,
    request: &HttpRequest,
    state: &AppState,
    cookie: &Session,
    user: &UserRow,
    session: &SessionRow,
    token: &str,
) -> Result<HttpResponse, ApiError> {
    session_cookie::start(cookie, token)?;
    let mut response = status
        .cookie(device_cookie(
            request,
            state,
            user,
            session.device_id.as_deref(),
        ))
        .json(AuthResponse {
            user: wire::user(user, &state.settings),
            session: wire::session(session, Some(session.id), state.lifetimes()),
        });
    if let Some(persist) = PersistUntil::of(session) {
        response.extensions_mut().insert(persist);
    }
    Ok(response)
}

/// 200 and the cookies, or 202 with what the device must wait for.
pub fn login_outcome(
    request: &HttpRequest,
    state: &AppState,
    cookie: &Session,
    outcome: LoginOutcome,
) -> Result<HttpResponse, ApiError> {
    match outcome {
        LoginOutcome::LoggedIn {
            user,
            session,
            token,
        } => signed_in(
            HttpResponse::Ok(),
            request,
            state,
            cookie,
            &user,
            &session,
            &token,
        ),
        LoginOutcome::NeedsApproval {
            approval,
            code,
            pending_token,
        } => Ok(
            HttpResponse::Accepted().json(LoginAccepted::Approval(ApprovalRequired {
                approval_id: approval.id,
                code,
                expires_at: approval.expires_at,
                pending_token,
            })),
        ),
        LoginOutcome::NeedsEmailCode {
            approval,
            pending_token,
            sent_to,
        } => Ok(
            HttpResponse::Accepted().json(LoginAccepted::EmailConfirmation(
                EmailConfirmationRequired {
                    approval_id: approval.id,
                    sent_to,
                    expires_at: approval.expires_at,
                    max_attempts: EMAIL_CODE_MAX_ATTEMPTS,
                    pending_token,
                },
            )),
        ),
        LoginOutcome::NeedsSecondFactor { challenge, methods } => Ok(HttpResponse::Accepted()
            .json(LoginAccepted::SecondFactor(SecondFactorRequired {
                challenge_id: challenge.id,
                methods: methods.into_iter().map(Into::into).collect(),
            }))),
    }
}
