//! Request and response bodies of the REST API.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::secret::Secret;
use crate::vocabulary::{
    ActivityKind, AlertKind, ApprovalStatus, EndReason, ErrorCode, HealthStatus, LimitPolicy,
    LoginStep, MailDelivery, ProofMethod, WebhookEventType,
};

/// Every error response has this body: a human sentence and a stable machine code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
    pub code: ErrorCode,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignupRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 254, example = "ada@example.com")
    )]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, min_length = 8, max_length = 128))]
    pub password: Secret,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, example = "Ada")
    )]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 254, example = "ada@example.com")
    )]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, min_length = 1, max_length = 128))]
    pub password: Secret,
    /// "Keep me signed in on this device": the cookie outlives the browser (up to the
    /// session's absolute lifetime); otherwise it ends with the browser.
    #[serde(default)]
    pub keep_signed_in: bool,
}

/// `POST /api/password/strength`: how guessable a password would be for this account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordStrengthRequest {
    pub password: Secret,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordStrength {
    /// 0 (guessed at once) to 4 (very hard); 3 or more is accepted.
    pub score: u8,
    pub acceptable: bool,
    pub warning: Option<String>,
    pub suggestions: Vec<String>,
}

/// `GET /api/auth/session`: whether this browser is signed in, without an error when it is
/// not (the app's document carries it too: `BootState`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionProbe {
    pub authenticated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionInfo>,
}

impl SessionProbe {
    /// A visitor: no session, or one the server does not accept.
    pub fn signed_out() -> Self {
        Self {
            authenticated: false,
            user: None,
            session: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[serde(with = "crate::timestamps")]
    pub created_at: DateTime<Utc>,
    /// The address was confirmed through the link mailed to it (only a confirmed address
    /// is used for password recovery).
    #[serde(default)]
    pub email_verified: bool,
    /// Nothing but the password protects the account: while none of its devices is signed
    /// in, whoever has the password signs in (and then approves every later device). True
    /// without a confirmed address, or where the server mails no codes to new devices
    /// (`NEW_DEVICE_EMAIL_CHECK`); false once a second factor covers it.
    #[serde(default)]
    pub password_only: bool,
    /// The authenticator app (TOTP) is on: a sign-in needs its code (or a recovery code)
    /// after the password.
    #[serde(default)]
    pub totp_enabled: bool,
}

/// An active session as shown to its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub id: Uuid,
    /// Kind of device, e.g. "Desktop", "Phone".
    pub device: String,
    pub os: String,
    pub browser: String,
    pub ip: String,
    /// ISO 3166 code of the country the device signed in from, when known.
    pub country: Option<String>,
    #[serde(with = "crate::timestamps")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timestamps")]
    pub last_seen_at: DateTime<Utc>,
    /// When the session ends if it stays unused.
    #[serde(with = "crate::timestamps")]
    pub idle_expires_at: DateTime<Utc>,
    /// When the session ends whatever happens (absolute lifetime).
    #[serde(with = "crate::timestamps")]
    pub expires_at: DateTime<Utc>,
    /// True for the session that made the request.
    pub current: bool,
    /// When the session last proved its user: its sign-in, or a re-authentication (sudo
    /// mode counts from here).
    #[serde(with = "crate::timestamps")]
    pub proved_at: DateTime<Utc>,
    /// How it did.
    pub proof_method: ProofMethod,
}

/// Body of a successful signup, login, approval completion and `GET /api/auth/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthResponse {
    pub user: User,
    pub session: SessionInfo,
}

/// Body of `202 Accepted` from login: another device must approve this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalRequired {
    pub approval_id: Uuid,
    /// The 6-digit code to show on the new device; it is typed on the logged-in one.
    pub code: Secret,
    #[serde(with = "crate::timestamps")]
    pub expires_at: DateTime<Utc>,
    /// Secret of the waiting device: opens its socket and completes the login.
    pub pending_token: Secret,
}

/// Body of `202 Accepted` from login when no device can approve this unrecognised one: a
/// 6-digit code went to the account's confirmed address; type it here with the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailConfirmationRequired {
    pub approval_id: Uuid,
    /// The address the code went to, masked (`a***@example.com`).
    pub sent_to: String,
    #[serde(with = "crate::timestamps")]
    pub expires_at: DateTime<Utc>,
    /// Wrong codes allowed before the request locks.
    pub max_attempts: i32,
    /// Secret of this device: completes the login with the code.
    pub pending_token: Secret,
}

/// What `202 Accepted` from login carries: which, its `status` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LoginAccepted {
    /// `approval_required`: a signed-in device types the code shown here.
    #[serde(rename = "approval_required")]
    Approval(ApprovalRequired),
    /// `email_confirmation_required`: this device types the code mailed to the account.
    #[serde(rename = "email_confirmation_required")]
    EmailConfirmation(EmailConfirmationRequired),
    /// `second_factor_required`: the password was right; send a code of one of `methods`
    /// to `/api/auth/second-factor`.
    #[serde(rename = "second_factor_required")]
    SecondFactor(SecondFactorRequired),
    /// A step this build does not know (a newer server asked for it); never sent.
    #[serde(other)]
    Unknown,
}

impl LoginAccepted {
    /// Reads a `202`'s body in two passes, its `status` and then the step's own fields: the
    /// same result as the derived `Deserialize`, which (an internally tagged enum) first
    /// copies the whole body into serde's generic `Content`, about 8 KB of wasm in the
    /// browser's first module.
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        #[derive(Deserialize)]
        struct Status {
            status: LoginStep,
        }
        Ok(match serde_json::from_str::<Status>(text)?.status {
            LoginStep::Approval => Self::Approval(serde_json::from_str(text)?),
            LoginStep::EmailConfirmation => Self::EmailConfirmation(serde_json::from_str(text)?),
            LoginStep::SecondFactor => Self::SecondFactor(serde_json::from_str(text)?),
            LoginStep::Unknown => Self::Unknown,
        })
    }
}

/// Body of `202 Accepted` from login when the account has a second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecondFactorRequired {
    /// Single use, 5 minutes; any instance finishes it.
    pub challenge_id: Uuid,
    /// What the account can answer with (`totp`, `recovery_code`, `passkey`).
    pub methods: Vec<ProofMethod>,
}

/// `POST /api/auth/second-factor`: the challenge and a code of the authenticator app or a
/// recovery code.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecondFactorRequest {
    pub challenge_id: Uuid,
    /// 6 digits of the app, or a recovery code (`xxxxx-xxxxx`); spaces and dashes are forgiven.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, min_length = 1, max_length = 64, example = "123456"))]
    pub code: Secret,
}

/// `POST /api/me/totp`: a new authenticator secret to scan; on once a code confirms it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpSetup {
    /// The key in base32, for typing it into the app.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub secret: Secret,
    /// `otpauth://totp/…`, what the QR code holds.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub otpauth_url: Secret,
    /// The QR code as an SVG document.
    pub qr_svg: String,
}

/// A code of the authenticator app (`POST /api/me/totp/confirm`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpCodeRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, min_length = 1, max_length = 64, example = "123456"))]
    pub code: Secret,
}

/// Ten single-use recovery codes, shown once (only their hashes are kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub recovery_codes: Vec<Secret>,
}

/// `GET /api/me/totp`: whether the authenticator app is on, and recovery codes left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecondFactorStatus {
    pub totp_enabled: bool,
    pub recovery_codes_left: i64,
}

/// `POST /api/auth/reauthenticate`: the password, or a code of the authenticator app
/// (exactly one of them).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReauthenticateRequest {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Password, min_length = 1, max_length = 128))]
    pub password: Option<Secret>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Password, min_length = 1, max_length = 64))]
    pub code: Option<Secret>,
}

/// The code mailed to the account, typed on the device that is signing in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailCodeRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, min_length = 1, max_length = 128))]
    pub pending_token: Secret,
    /// The 6 digits of the mail (spaces are forgiven).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, pattern = "^ *[0-9]( *[0-9]){5} *$", example = "123456"))]
    pub code: Secret,
}

/// What the "this wasn't me" link of a security mail did; the password comes next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountSecured {
    pub sessions_ended: usize,
    pub requests_cancelled: usize,
    /// A password-reset token (valid 30 minutes, once) for
    /// `POST /api/auth/password-reset/complete`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub reset_token: Secret,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionList {
    pub sessions: Vec<SessionInfo>,
}

/// One past or present session in the session log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionHistoryEntry {
    pub id: Uuid,
    pub device: String,
    pub os: String,
    pub browser: String,
    pub user_agent: String,
    pub ip: String,
    pub country: Option<String>,
    #[serde(with = "crate::timestamps")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timestamps")]
    pub last_seen_at: DateTime<Utc>,
    #[serde(with = "crate::timestamps::option", default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended; `null` while it is active.
    pub end_reason: Option<EndReason>,
    pub active: bool,
    pub current: bool,
}

/// A page of a log, newest first. Pass `next_cursor` back as `?cursor=` for the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityEntry {
    pub id: i64,
    pub kind: ActivityKind,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    pub device: Option<String>,
    pub detail: Option<String>,
    #[serde(with = "crate::timestamps")]
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateProfileRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, min_length = 1, max_length = 128))]
    pub current_password: Secret,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, min_length = 8, max_length = 128))]
    pub new_password: Secret,
}

/// Deleting one's account: the current password again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteAccountRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, min_length = 1, max_length = 128))]
    pub current_password: Secret,
}

/// Moving the account to another address: the address and the current password.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeEmailRequest {
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    pub new_email: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, min_length = 1, max_length = 128))]
    pub current_password: Secret,
}

/// A change of address waiting for the link mailed to the new address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingEmailChange {
    pub new_email: String,
    #[serde(with = "crate::timestamps")]
    pub expires_at: DateTime<Utc>,
}

/// Where a change of address stands (`pending` is `null` when none waits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailChangeStatus {
    pub pending: Option<PendingEmailChange>,
    pub message: String,
}

/// The token of a mailed link (the part after `#token=`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkToken {
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, max_length = 128))]
    pub token: Secret,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordResetRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 254, example = "ada@example.com")
    )]
    pub email: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordResetCompletion {
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, max_length = 128))]
    pub token: Secret,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, min_length = 8, max_length = 128))]
    pub new_password: Secret,
}

/// A mail was (or, for an address we may not reveal, may have been) queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailQueued {
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokedCount {
    pub revoked: usize,
}

/// A login waiting for approval, as shown on the logged-in devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingApproval {
    pub id: Uuid,
    pub device: String,
    pub os: String,
    pub browser: String,
    pub ip: String,
    pub country: Option<String>,
    #[serde(with = "crate::timestamps")]
    pub requested_at: DateTime<Utc>,
    #[serde(with = "crate::timestamps")]
    pub expires_at: DateTime<Utc>,
    pub tries_left: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingApprovalList {
    pub approvals: Vec<PendingApproval>,
}

/// Body of `POST /api/approvals/{id}/deny` (optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DenyRequest {
    /// "This wasn't me": every other pending request is cancelled too, and the account's
    /// devices are alerted.
    #[serde(default)]
    pub suspicious: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApproveRequest {
    /// The 6 digits the new device shows (spaces are forgiven).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, pattern = "^ *[0-9]( *[0-9]){5} *$", example = "123456"))]
    pub code: Secret,
}

/// Answer to approve and deny: how the approval ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalDecision {
    pub approval_id: Uuid,
    /// `approved`, `denied` or `cancelled`.
    pub outcome: ApprovalStatus,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompleteApprovalRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, min_length = 1, max_length = 128))]
    pub pending_token: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: HealthStatus,
    pub database: HealthStatus,
}

/// What the app's document carries for its start: the answers `GET /api/config` and
/// `GET /api/auth/session` would give, each in a JSON data block
/// (`<script type="application/json" id="…">`, `BOOT_CONFIG_ID` and `BOOT_SESSION_ID`; two
/// blocks, so that the app reads each with the reader its answer already needs), so that the
/// first page waits for no round trip. Absent where the server could not tell (the app then
/// asks).
/// (The server writes each half as its own block; nothing reads or writes the pair whole.)
#[derive(Debug, Clone)]
pub struct BootState {
    pub config: ClientConfig,
    pub session: SessionProbe,
}

/// The id of the document's data block holding the `BootState`'s `config`.
pub const BOOT_CONFIG_ID: &str = "boot-config";
/// The id of the document's data block holding the `BootState`'s `session`.
pub const BOOT_SESSION_ID: &str = "boot-session";

/// The id of the document's first paint, shown before the app has loaded: a placeholder,
/// which the app removes when it starts; or, in a signed-in browser's document of the
/// dashboard, that page's top as the server wrote it (class `PREPAINT_CLASS`), which the app
/// keeps until its own top takes its place.
pub const BOOT_ID: &str = "boot";
/// The class of a first paint that is the dashboard's top (see `BOOT_ID`).
pub const PREPAINT_CLASS: &str = "prepaint";

/// `GET /api/config`: the rules the app shows, so it never hard-codes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientConfig {
    /// The app's name (`APP_NAME`), for the header and title of every page.
    pub app_name: String,
    /// `smtp` when mail leaves through an SMTP server, `log` when it is only written to
    /// the server's log (development): the app then says where the link is instead of
    /// "we mailed".
    pub mail_delivery: MailDelivery,
    /// Active sessions a user may have at once.
    pub max_sessions: u32,
    pub limit_policy: LimitPolicy,
    /// Seconds a session must have existed before it may end an older one, sign out the
    /// others or change the password (while an older session is active).
    pub fresh_session_secs: u64,
    /// Seconds without use after which a session ends.
    pub idle_timeout_secs: u64,
    /// Seconds a second-device code stays valid.
    pub approval_ttl_secs: u64,
    pub password_min: u32,
    pub password_max: u32,
    /// Origins (`https://app.example.com`) the sign-in page may send the browser back to
    /// (its `return_to`); any other `return_to` is ignored. Missing from an older server:
    /// none.
    #[serde(default)]
    pub return_to_origins: Vec<String>,
}

/// Something unusual happened on the account; the app shows it with a "this wasn't me".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecurityAlert {
    /// On the devices: `new_device`, `new_country`, `suspicious_login_denied` or
    /// `login_refused`; the mail-only kinds are never sent to them.
    pub kind: AlertKind,
    /// The session that signed in (for "this wasn't me" to end it), when there is one.
    pub session_id: Option<Uuid>,
    /// "Firefox 121 on Windows 10 (Desktop)".
    pub device: String,
    pub ip: String,
    pub country: Option<String>,
    #[serde(with = "crate::timestamps")]
    pub at: DateTime<Utc>,
}

/// Which login took a session's place (policies `evict_oldest` and `single`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplacedBy {
    pub device: String,
    #[serde(with = "crate::timestamps")]
    pub at: DateTime<Utc>,
}

/// The body of a webhook (Standard Webhooks: `type`, `timestamp`, `data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPayload {
    #[serde(rename = "type")]
    pub event_type: WebhookEventType,
    /// When it happened.
    #[serde(with = "crate::timestamps")]
    pub timestamp: DateTime<Utc>,
    pub data: WebhookData,
}

/// What a webhook is about; fields that do not apply to its type are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookData {
    pub user_id: Uuid,
    /// The account's address (absent once the account is deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<Uuid>,
    /// "Firefox 121 on Windows 10 (Desktop)": of the session, the request, or whoever acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// `session.ended`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<EndReason>,
    /// `approval.decided`: how the request ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ApprovalStatus>,
    /// `alert.raised`: `new_device`, `new_country` or `suspicious_login_denied`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertKind>,
    /// What the activity log says besides (what was new, why a login was refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn the_login_outcome_is_tagged_by_status_as_before() {
        let approval = LoginAccepted::Approval(ApprovalRequired {
            approval_id: Uuid::nil(),
            code: Secret::new("123456"),
            expires_at: at(),
            pending_token: Secret::new("token"),
        });
        let json = serde_json::to_string(&approval).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"status":"approval_required","approval_id":"00000000-0000-0000-0000-000000000000","code":"123456","expires_at":"2023-11-14T22:13:20Z","pending_token":"token"}"#
        );
        assert_eq!(
            serde_json::from_str::<LoginAccepted>(&json).ok(),
            Some(approval)
        );
        let by_mail = LoginAccepted::EmailConfirmation(EmailConfirmationRequired {
            approval_id: Uuid::nil(),
            sent_to: "a***@example.com".to_owned(),
            expires_at: at(),
            max_attempts: 5,
            pending_token: Secret::new("token"),
        });
        let json = serde_json::to_string(&by_mail).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"status":"email_confirmation_required","approval_id":"00000000-0000-0000-0000-000000000000","sent_to":"a***@example.com","expires_at":"2023-11-14T22:13:20Z","max_attempts":5,"pending_token":"token"}"#
        );
        assert_eq!(
            serde_json::from_str::<LoginAccepted>(&json).ok(),
            Some(by_mail)
        );
    }

    #[test]
    fn a_login_step_read_in_two_passes_is_what_the_derived_reader_reads() {
        let steps = [
            LoginAccepted::Approval(ApprovalRequired {
                approval_id: Uuid::nil(),
                code: Secret::new("123456"),
                expires_at: at(),
                pending_token: Secret::new("token"),
            }),
            LoginAccepted::EmailConfirmation(EmailConfirmationRequired {
                approval_id: Uuid::nil(),
                sent_to: "a***@example.com".to_owned(),
                expires_at: at(),
                max_attempts: 5,
                pending_token: Secret::new("token"),
            }),
            LoginAccepted::SecondFactor(SecondFactorRequired {
                challenge_id: Uuid::nil(),
                methods: vec![ProofMethod::Totp, ProofMethod::Passkey],
            }),
        ];
        for step in steps {
            let json = serde_json::to_string(&step).unwrap();
            // `LoginStep`'s names are the tags the derived writer puts in `status`.
            let status: serde_json::Value = serde_json::from_str(&json).unwrap();
            let name = match step {
                LoginAccepted::Approval(_) => LoginStep::Approval,
                LoginAccepted::EmailConfirmation(_) => LoginStep::EmailConfirmation,
                LoginAccepted::SecondFactor(_) => LoginStep::SecondFactor,
                LoginAccepted::Unknown => LoginStep::Unknown,
            };
            assert_eq!(status["status"], name.as_str());
            assert_eq!(LoginAccepted::from_json(&json).unwrap(), step);
            assert_eq!(serde_json::from_str::<LoginAccepted>(&json).unwrap(), step);
        }
        assert_eq!(LoginStep::KNOWN.len(), 3);
        let newer =
            r#"{"status":"passkey_required","approval_id":"00000000-0000-0000-0000-000000000000"}"#;
        assert_eq!(
            LoginAccepted::from_json(newer).unwrap(),
            LoginAccepted::Unknown
        );
        // A known step without its fields, or no status at all, is a malformed answer.
        for malformed in [
            r#"{"status":"approval_required"}"#,
            r#"{"code":"123456"}"#,
            "[]",
        ] {
            assert!(LoginAccepted::from_json(malformed).is_err(), "{malformed}");
            assert!(
                serde_json::from_str::<LoginAccepted>(malformed).is_err(),
                "{malformed}"
            );
        }
    }

    #[test]
    fn a_login_step_or_error_code_from_a_newer_server_reads_as_unknown() {
        let step = serde_json::from_str::<LoginAccepted>(
            r#"{"status":"passkey_required","approval_id":"00000000-0000-0000-0000-000000000000"}"#,
        );
        assert_eq!(step.ok(), Some(LoginAccepted::Unknown));
        let error =
            serde_json::from_str::<ErrorBody>(r#"{"error":"Slow down","code":"slow_down"}"#);
        assert_eq!(error.ok().map(|body| body.code), Some(ErrorCode::Unknown));
        let body = ErrorBody {
            error: "Session expired".to_owned(),
            code: ErrorCode::SessionExpired,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap_or_default(),
            r#"{"error":"Session expired","code":"session_expired"}"#
        );
    }
}

/// The first half of a passkey ceremony: `options` go to `navigator.credentials.create` or
/// `.get` (webauthn-rs' `CreationChallengeResponse` / `RequestChallengeResponse`: the
/// `publicKey` member inside, binary values in base64url); `challenge_id` comes back with
/// the authenticator's answer (5 minutes, once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyChallenge {
    pub challenge_id: Uuid,
    /// `{"publicKey": {…}}`, ready for the browser once base64url values are buffers.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub options: serde_json::Value,
}

/// `POST /api/me/passkeys/register/finish`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterPasskeyRequest {
    pub challenge_id: Uuid,
    /// What the user calls it ("Laptop", "Phone"): 1 to 100 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, example = "Laptop")
    )]
    pub name: String,
    /// The `PublicKeyCredential` of `navigator.credentials.create`, as JSON (binary values
    /// in base64url: `id`, `rawId`, `response.attestationObject`, `response.clientDataJSON`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: serde_json::Value,
}

/// `POST /api/auth/passkey/finish`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeySignInRequest {
    pub challenge_id: Uuid,
    /// The `PublicKeyCredential` of `navigator.credentials.get`, as JSON (binary values in
    /// base64url: `id`, `rawId`, `response.authenticatorData`, `response.clientDataJSON`,
    /// `response.signature`, `response.userHandle`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: serde_json::Value,
    /// As for a password sign-in.
    #[serde(default)]
    pub keep_signed_in: bool,
}

/// `POST /api/auth/reauthenticate/passkey/finish`: sudo mode with one of the account's
/// passkeys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyReauthenticationRequest {
    pub challenge_id: Uuid,
    /// The `PublicKeyCredential` of `navigator.credentials.get`, as JSON (as for a sign-in).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: serde_json::Value,
}

/// One of the account's passkeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Passkey {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "crate::timestamps")]
    pub created_at: DateTime<Utc>,
    /// The last sign-in with it; `null` before the first.
    #[serde(with = "crate::timestamps::option", default)]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// `GET /api/me/passkeys`: oldest first, and how many the account may have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyList {
    pub passkeys: Vec<Passkey>,
    pub max_passkeys: u32,
}

/// `PATCH /api/me/passkeys/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenamePasskeyRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, example = "Phone")
    )]
    pub name: String,
}
