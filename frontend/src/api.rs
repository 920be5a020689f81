//! Every call the app makes to the API, in one place. Requests are same-origin, so the
//! session cookie travels with them (the API serves the app, or `trunk serve` proxies).

use std::cell::Cell;

use gloo_net::http::{Request, RequestBuilder, Response};
use gloo_timers::future::TimeoutFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::routes;
use shared::{
    AccountSecured, ActivityEntry, ApprovalDecision, ApprovalRequired, AuthResponse,
    ChangeEmailRequest, ChangePasswordRequest, ClientConfig, CompleteApprovalRequest,
    DeleteAccountRequest, EmailChangeStatus, EmailCodeRequest, EmailConfirmationRequired,
    ErrorBody, ErrorCode, LinkToken, LoginAccepted, LoginRequest, MailQueued, Page, Passkey,
    PasskeyChallenge, PasskeyList, PasskeyReauthenticationRequest, PasskeySignInRequest,
    PasswordResetCompletion, PasswordResetRequest, ReauthenticateRequest, RecoveryCodes,
    RegisterPasskeyRequest, RenamePasskeyRequest, RevokedCount, SecondFactorRequest,
    SecondFactorRequired, SecondFactorStatus, Secret, SessionHistoryEntry, SessionInfo,
    SessionList, SignupRequest, TotpCodeRequest, TotpSetup, UpdateProfileRequest, User,
};
use uuid::Uuid;

/// A failed call: the server's envelope, or a network failure described for people.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    /// `Unknown` when no envelope came (the network failed, or something else answered).
    pub code: ErrorCode,
    pub message: String,
    /// No answer came: the network failed (not the browser refusing something locally).
    pub unanswered: bool,
}

impl ApiError {
    /// A failure in the browser itself (no request was answered), for people.
    pub fn local(message: &str) -> Self {
        Self {
            status: 0,
            code: ErrorCode::Unknown,
            message: message.to_owned(),
            unanswered: false,
        }
    }

    /// An answer came, but without an envelope this app can read (another version of the
    /// server, or something else answered).
    fn unexpected(status: u16, message: String) -> Self {
        Self {
            status,
            code: ErrorCode::Unknown,
            message,
            unanswered: false,
        }
    }

    pub(crate) fn network(error: impl std::fmt::Display) -> Self {
        Self {
            status: 0,
            code: ErrorCode::Unknown,
            message: format!("Cannot reach the server ({error})"),
            unanswered: true,
        }
    }

    /// The session is gone (only a 401 says so): the app must return to the login page.
    pub fn ends_session(&self) -> bool {
        self.status == 401
            && matches!(
                self.code,
                ErrorCode::SessionExpired
                    | ErrorCode::InvalidSession
                    | ErrorCode::Unauthenticated
                    | ErrorCode::SessionReplaced
            )
    }

    /// The server could not be reached or is unavailable for a moment: worth a retry, and
    /// no reason to sign anyone out.
    /// (A failure in the browser itself, such as a cancelled passkey prompt, is not one.)
    pub fn is_outage(&self) -> bool {
        self.unanswered || matches!(self.status, 502..=504)
    }

    /// A failure in the browser itself (`ApiError::local`): no server said anything.
    pub fn is_local(&self) -> bool {
        self.status == 0 && !self.unanswered
    }
}

/// The message is what people read (`ErrorBoundary` shows it).
impl std::fmt::Display for ApiError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

async fn send(request: Result<Request, gloo_net::Error>) -> ApiResult<Response> {
    let response = request
        .map_err(ApiError::network)?
        .send()
        .await
        .map_err(ApiError::network)?;
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    Err(match response.json::<ErrorBody>().await {
        Ok(body) => ApiError {
            status,
            code: body.code,
            message: body.error,
            unanswered: false,
        },
        Err(_) => ApiError::unexpected(status, format!("The server answered {status}")),
    })
}

async fn json<T: DeserializeOwned>(response: Response) -> ApiResult<T> {
    let status = response.status();
    response.json::<T>().await.map_err(|error| match error {
        gloo_net::Error::SerdeError(error) => unreadable(status, &error),
        error => broken_off(&error),
    })
}

/// The answer stopped coming while its body was read: the network.
fn broken_off(error: &gloo_net::Error) -> ApiError {
    ApiError::network(format!("bad response: {error}"))
}

/// An answer came, just not one this app can read: no outage.
fn unreadable(status: u16, error: &serde_json::Error) -> ApiError {
    ApiError::unexpected(
        status,
        format!("The server's answer could not be read ({error}): reload the page"),
    )
}

fn with_body(builder: RequestBuilder, body: &impl Serialize) -> Result<Request, gloo_net::Error> {
    builder.json(body)
}

pub async fn signup(request: &SignupRequest) -> ApiResult<AuthResponse> {
    json(send(with_body(Request::post(routes::SIGNUP), request)).await?).await
}

/// What a correct password (or a mailed code) leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginOutcome {
    LoggedIn(AuthResponse),
    /// A signed-in device must type the code this one shows.
    NeedsApproval(ApprovalRequired),
    /// No device can approve: this one types the code mailed to the account.
    NeedsEmailCode(EmailConfirmationRequired),
    /// The account has a second factor: a code of the authenticator app (or a recovery
    /// code) answers the challenge.
    NeedsSecondFactor(SecondFactorRequired),
}

/// 200 signs in; 202 says what this device waits for.
async fn login_outcome(response: Response) -> ApiResult<LoginOutcome> {
    if response.status() != 202 {
        return Ok(LoginOutcome::LoggedIn(json(response).await?));
    }
    let body = response.text().await.map_err(|error| broken_off(&error))?;
    match LoginAccepted::from_json(&body).map_err(|error| unreadable(202, &error))? {
        LoginAccepted::Approval(request) => Ok(LoginOutcome::NeedsApproval(request)),
        LoginAccepted::EmailConfirmation(request) => Ok(LoginOutcome::NeedsEmailCode(request)),
        LoginAccepted::SecondFactor(challenge) => Ok(LoginOutcome::NeedsSecondFactor(challenge)),
        LoginAccepted::Unknown => Err(ApiError::unexpected(
            202,
            "The server asks for a sign-in step this page does not know: reload it.".to_owned(),
        )),
    }
}

pub async fn login(request: &LoginRequest) -> ApiResult<LoginOutcome> {
    login_outcome(send(with_body(Request::post(routes::LOGIN), request)).await?).await
}

/// Begins a passkey sign-in (the options for `navigator.credentials.get`).
pub async fn start_passkey_sign_in() -> ApiResult<PasskeyChallenge> {
    json(send(Request::post(routes::PASSKEY_SIGN_IN_START).build()).await?).await
}

/// Finishes a passkey sign-in: the same outcomes as a password.
pub async fn finish_passkey_sign_in(request: &PasskeySignInRequest) -> ApiResult<LoginOutcome> {
    login_outcome(
        send(with_body(
            Request::post(routes::PASSKEY_SIGN_IN_FINISH),
            request,
        ))
        .await?,
    )
    .await
}

pub async fn passkeys() -> ApiResult<PasskeyList> {
    json(send(Request::get(routes::PASSKEYS).build()).await?).await
}

/// Begins adding a passkey (the options for `navigator.credentials.create`).
pub async fn start_passkey_registration() -> ApiResult<PasskeyChallenge> {
    json(send(Request::post(routes::PASSKEY_REGISTER_START).build()).await?).await
}

pub async fn finish_passkey_registration(request: &RegisterPasskeyRequest) -> ApiResult<Passkey> {
    json(
        send(with_body(
            Request::post(routes::PASSKEY_REGISTER_FINISH),
            request,
        ))
        .await?,
    )
    .await
}

pub async fn rename_passkey(id: Uuid, name: String) -> ApiResult<Passkey> {
    json(
        send(with_body(
            Request::patch(&routes::with_id(routes::PASSKEY, id)),
            &RenamePasskeyRequest { name },
        ))
        .await?,
    )
    .await
}

pub async fn remove_passkey(id: Uuid) -> ApiResult<()> {
    send(Request::delete(&routes::with_id(routes::PASSKEY, id)).build())
        .await
        .map(|_| ())
}

/// The code of the mail, typed on the device that is signing in.
pub async fn confirm_email_code(
    id: Uuid,
    pending_token: Secret,
    code: String,
) -> ApiResult<LoginOutcome> {
    let body = EmailCodeRequest {
        pending_token,
        code: Secret::new(code),
    };
    login_outcome(
        send(with_body(
            Request::post(&routes::with_id(routes::EMAIL_CODE, id)),
            &body,
        ))
        .await?,
    )
    .await
}

/// The second step of a sign-in: a code of the authenticator app or a recovery code.
pub async fn answer_second_factor(challenge_id: Uuid, code: String) -> ApiResult<LoginOutcome> {
    let body = SecondFactorRequest {
        challenge_id,
        code: Secret::new(code),
    };
    login_outcome(send(with_body(Request::post(routes::SECOND_FACTOR), &body)).await?).await
}

/// Sudo mode: the password or an authenticator code again; the session as it now stands.
pub async fn reauthenticate(request: &ReauthenticateRequest) -> ApiResult<SessionInfo> {
    json(send(with_body(Request::post(routes::REAUTHENTICATE), request)).await?).await
}

/// Sudo mode with a passkey, step one (the options for `navigator.credentials.get`).
pub async fn start_passkey_reauthentication() -> ApiResult<PasskeyChallenge> {
    json(send(Request::post(routes::REAUTHENTICATE_PASSKEY_START).build()).await?).await
}

/// Sudo mode with a passkey, step two; the session as it now stands.
pub async fn finish_passkey_reauthentication(
    request: &PasskeyReauthenticationRequest,
) -> ApiResult<SessionInfo> {
    json(
        send(with_body(
            Request::post(routes::REAUTHENTICATE_PASSKEY_FINISH),
            request,
        ))
        .await?,
    )
    .await
}

/// Whether the authenticator app is on, and how many recovery codes are left.
pub async fn second_factor_status() -> ApiResult<SecondFactorStatus> {
    json(send(Request::get(routes::TOTP).build()).await?).await
}

/// A new authenticator secret and its QR code (on once a code confirms it).
pub async fn begin_totp() -> ApiResult<TotpSetup> {
    json(send(Request::post(routes::TOTP).build()).await?).await
}

/// The app's first code turns it on; the recovery codes, shown once.
pub async fn confirm_totp(code: String) -> ApiResult<RecoveryCodes> {
    let body = TotpCodeRequest {
        code: Secret::new(code),
    };
    json(send(with_body(Request::post(routes::TOTP_CONFIRM), &body)).await?).await
}

pub async fn disable_totp() -> ApiResult<()> {
    send(Request::delete(routes::TOTP).build())
        .await
        .map(|_| ())
}

/// A new set of recovery codes (the old ones die).
pub async fn regenerate_recovery_codes() -> ApiResult<RecoveryCodes> {
    json(send(Request::post(routes::RECOVERY_CODES).build()).await?).await
}

/// The rules the server applies (session limit, password length, lifetimes).
pub async fn config() -> ApiResult<ClientConfig> {
    json(send(Request::get(routes::CONFIG).build()).await?).await
}

/// Whether this browser is signed in (200 either way: no error logged for a visitor).
pub async fn session_probe() -> ApiResult<shared::SessionProbe> {
    json(send(Request::get(routes::SESSION_PROBE).build()).await?).await
}

/// How guessable a password would be for this account.
pub async fn password_strength(
    password: String,
    email: Option<String>,
    name: Option<String>,
) -> ApiResult<shared::PasswordStrength> {
    let body = shared::PasswordStrengthRequest {
        password: shared::Secret::new(password),
        email,
        name,
    };
    json(send(with_body(Request::post(routes::PASSWORD_STRENGTH), &body)).await?).await
}

pub async fn me() -> ApiResult<AuthResponse> {
    json(send(Request::get(routes::ME).build()).await?).await
}

pub async fn logout() -> ApiResult<()> {
    send(Request::post(routes::LOGOUT).build())
        .await
        .map(|_| ())
}

pub async fn sessions() -> ApiResult<SessionList> {
    json(send(Request::get(routes::SESSIONS).build()).await?).await
}

pub async fn revoke_session(id: Uuid) -> ApiResult<()> {
    send(Request::delete(&routes::with_id(routes::SESSION, id)).build())
        .await
        .map(|_| ())
}

pub async fn revoke_other_sessions() -> ApiResult<RevokedCount> {
    json(send(Request::delete(routes::OTHER_SESSIONS).build()).await?).await
}

fn paged(path: &str, cursor: Option<&str>) -> String {
    match cursor {
        Some(cursor) => format!("{path}?limit=10&cursor={cursor}"),
        None => format!("{path}?limit=10"),
    }
}

pub async fn session_history(cursor: Option<String>) -> ApiResult<Page<SessionHistoryEntry>> {
    json(send(Request::get(&paged(routes::SESSION_HISTORY, cursor.as_deref())).build()).await?)
        .await
}

pub async fn activity(cursor: Option<String>) -> ApiResult<Page<ActivityEntry>> {
    json(send(Request::get(&paged(routes::ACTIVITY, cursor.as_deref())).build()).await?).await
}

pub async fn update_name(name: String) -> ApiResult<User> {
    json(
        send(with_body(
            Request::patch(routes::ACCOUNT),
            &UpdateProfileRequest { name },
        ))
        .await?,
    )
    .await
}

/// Changes the password. The answer replaces the session cookie; until it comes, the old one
/// is already refused (see `cookie_settled`).
pub async fn change_password(request: &ChangePasswordRequest) -> ApiResult<AuthResponse> {
    let _rotating = CookieRotation::start();
    json(send(with_body(Request::post(routes::PASSWORD), request)).await?).await
}

thread_local! {
    /// Calls in flight whose answer replaces the session cookie.
    static COOKIE_ROTATIONS: Cell<u32> = const { Cell::new(0) };
}

/// Counts a call whose answer replaces the session cookie, while it is in flight.
struct CookieRotation;

impl CookieRotation {
    fn start() -> Self {
        COOKIE_ROTATIONS.with(|count| count.set(count.get().saturating_add(1)));
        Self
    }
}

impl Drop for CookieRotation {
    fn drop(&mut self) {
        COOKIE_ROTATIONS.with(|count| count.set(count.get().saturating_sub(1)));
    }
}

/// Resolves once no call that replaces the session cookie is in flight, or after 10 s (a call
/// that hangs does not keep a dead session open). The server refuses the old cookie from its
/// commit on, and its events can reach the socket (and the refetches they cause) before the
/// answer that sets the new one: an `invalid_session` seen meanwhile says nothing until then.
pub async fn cookie_settled() {
    for _ in 0..200 {
        if COOKIE_ROTATIONS.with(Cell::get) == 0 {
            return;
        }
        TimeoutFuture::new(50).await;
    }
}

/// Deletes the account (the current password again).
pub async fn delete_account(request: &DeleteAccountRequest) -> ApiResult<()> {
    send(with_body(Request::delete(routes::ACCOUNT), request))
        .await
        .map(|_| ())
}

/// Asks to move the account to another address: a link goes to that address.
pub async fn change_email(request: &ChangeEmailRequest) -> ApiResult<EmailChangeStatus> {
    json(send(with_body(Request::post(routes::EMAIL), request)).await?).await
}

/// The change of address waiting for its link, if any.
pub async fn email_change_status() -> ApiResult<EmailChangeStatus> {
    json(send(Request::get(routes::EMAIL).build()).await?).await
}

/// Moves the account to the new address with the token of the link mailed there.
pub async fn confirm_email_change(token: String) -> ApiResult<User> {
    let body = LinkToken {
        token: Secret::new(token),
    };
    json(
        send(with_body(
            Request::post(routes::CONFIRM_EMAIL_CHANGE),
            &body,
        ))
        .await?,
    )
    .await
}

/// Confirms the address with the token of the mailed link.
pub async fn verify_email(token: String) -> ApiResult<User> {
    let body = LinkToken {
        token: Secret::new(token),
    };
    json(send(with_body(Request::post(routes::VERIFY_EMAIL), &body)).await?).await
}

pub async fn resend_verification() -> ApiResult<MailQueued> {
    json(send(Request::post(routes::EMAIL_VERIFICATION).build()).await?).await
}

pub async fn request_password_reset(email: String) -> ApiResult<MailQueued> {
    let body = PasswordResetRequest { email };
    json(send(with_body(Request::post(routes::PASSWORD_RESET), &body)).await?).await
}

pub async fn complete_password_reset(token: String, new_password: String) -> ApiResult<User> {
    let body = PasswordResetCompletion {
        token: Secret::new(token),
        new_password: Secret::new(new_password),
    };
    json(
        send(with_body(
            Request::post(routes::PASSWORD_RESET_COMPLETE),
            &body,
        ))
        .await?,
    )
    .await
}

/// "This wasn't me" from a security mail: every session and request ends.
pub async fn secure_account(token: String) -> ApiResult<AccountSecured> {
    let body = LinkToken {
        token: Secret::new(token),
    };
    json(send(with_body(Request::post(routes::SECURE_ACCOUNT), &body)).await?).await
}

pub async fn approve(id: Uuid, code: String) -> ApiResult<ApprovalDecision> {
    let body = shared::ApproveRequest {
        code: Secret::new(code),
    };
    json(
        send(with_body(
            Request::post(&routes::with_id(routes::APPROVE, id)),
            &body,
        ))
        .await?,
    )
    .await
}

/// Denies a request; `suspicious` ("this wasn't me") also cancels the other pending ones.
pub async fn deny(id: Uuid, suspicious: bool) -> ApiResult<ApprovalDecision> {
    json(
        send(with_body(
            Request::post(&routes::with_id(routes::DENY, id)),
            &shared::DenyRequest { suspicious },
        ))
        .await?,
    )
    .await
}

pub async fn complete_approval(id: Uuid, pending_token: Secret) -> ApiResult<AuthResponse> {
    let body = CompleteApprovalRequest { pending_token };
    json(
        send(with_body(
            Request::post(&routes::with_id(routes::COMPLETE_APPROVAL, id)),
            &body,
        ))
        .await?,
    )
    .await
}

/// The waiting device gives up: the prompt disappears from the other devices.
pub async fn cancel_approval(id: Uuid, pending_token: Secret) -> ApiResult<ApprovalDecision> {
    let body = CompleteApprovalRequest { pending_token };
    json(
        send(with_body(
            Request::post(&routes::with_id(routes::CANCEL_APPROVAL, id)),
            &body,
        ))
        .await?,
    )
    .await
}

/// `ws://` or `wss://` URL of an API path on the page's own host.
pub fn socket_url(path: &str) -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}{path}", location.host().ok()?))
}

pub fn session_socket_url() -> Option<String> {
    socket_url(routes::SESSION_SOCKET)
}

/// The waiting device's socket; its pending token goes in the first message, never in
/// the URL (see `socket::follow_pending_socket`).
pub fn pending_socket_url(id: Uuid) -> Option<String> {
    socket_url(&routes::with_id(routes::WAITING_SOCKET, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unanswered_request_or_an_unavailable_server_is_an_outage() {
        assert!(ApiError::network("connection refused").is_outage());
        assert!(!ApiError::local("The passkey request was cancelled or timed out").is_outage());
        for (status, outage) in [
            (502, true),
            (503, true),
            (504, true),
            (500, false),
            (429, false),
        ] {
            let error = ApiError::unexpected(status, String::new());
            assert_eq!(error.is_outage(), outage, "{status}");
        }
    }
}
