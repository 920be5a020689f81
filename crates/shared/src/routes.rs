//! Every path of the API, as the server registers it (with `{id}` where a path takes a
//! parameter) and as the app calls it (through [`with_id`]).
//!
//! The server's route attributes (`#[get("…")]`) only take string literals, so it cannot
//! name these constants there; instead its unit tests check that the published document
//! has exactly these paths, and the app calls nothing else.

use std::fmt::Display;

pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
pub const CSP_REPORTS: &str = "/api/csp-reports";
pub const CONFIG: &str = "/api/config";

pub const SIGNUP: &str = "/api/auth/signup";
pub const LOGIN: &str = "/api/auth/login";
pub const LOGOUT: &str = "/api/auth/logout";
pub const ME: &str = "/api/auth/me";
pub const SESSION_PROBE: &str = "/api/auth/session";
pub const PASSWORD_STRENGTH: &str = "/api/password/strength";
pub const VERIFY_EMAIL: &str = "/api/auth/verify-email";
pub const PASSWORD_RESET: &str = "/api/auth/password-reset";
pub const PASSWORD_RESET_COMPLETE: &str = "/api/auth/password-reset/complete";
pub const SECURE_ACCOUNT: &str = "/api/auth/secure-account";
pub const CONFIRM_EMAIL_CHANGE: &str = "/api/auth/confirm-email-change";
/// A sign-in's second step: the code that answers its challenge.
pub const SECOND_FACTOR: &str = "/api/auth/second-factor";
/// Sudo mode: the session proves its user again.
pub const REAUTHENTICATE: &str = "/api/auth/reauthenticate";
/// Forward authentication: a reverse proxy asks whether the request it holds carries a
/// live session, and whose.
pub const FORWARD_AUTH: &str = "/api/auth/verify";

/// `PATCH` the profile, `DELETE` the account.
pub const ACCOUNT: &str = "/api/me";
pub const PASSWORD: &str = "/api/me/password";
/// `POST` asks for a change of address, `GET` says where it stands.
pub const EMAIL: &str = "/api/me/email";
pub const EMAIL_VERIFICATION: &str = "/api/me/email-verification";
pub const EXPORT: &str = "/api/me/export";
/// The authenticator app: `POST` a new secret to scan, `GET` whether it is on, `DELETE` it.
pub const TOTP: &str = "/api/me/totp";
/// Its first code turns it on.
pub const TOTP_CONFIRM: &str = "/api/me/totp/confirm";
/// A new set of recovery codes.
pub const RECOVERY_CODES: &str = "/api/me/recovery-codes";
/// `GET` lists the account's passkeys.
pub const PASSKEYS: &str = "/api/me/passkeys";
/// `PATCH` renames a passkey, `DELETE` removes it.
pub const PASSKEY: &str = "/api/me/passkeys/{id}";
pub const PASSKEY_REGISTER_START: &str = "/api/me/passkeys/register/start";
pub const PASSKEY_REGISTER_FINISH: &str = "/api/me/passkeys/register/finish";
/// Signing in with a passkey (discoverable: no address first).
pub const PASSKEY_SIGN_IN_START: &str = "/api/auth/passkey/start";
pub const PASSKEY_SIGN_IN_FINISH: &str = "/api/auth/passkey/finish";
/// Sudo mode with one of the account's passkeys.
pub const REAUTHENTICATE_PASSKEY_START: &str = "/api/auth/reauthenticate/passkey/start";
pub const REAUTHENTICATE_PASSKEY_FINISH: &str = "/api/auth/reauthenticate/passkey/finish";

pub const SESSIONS: &str = "/api/sessions";
pub const SESSION: &str = "/api/sessions/{id}";
pub const OTHER_SESSIONS: &str = "/api/sessions/others";
pub const SESSION_HISTORY: &str = "/api/sessions/history";
pub const ACTIVITY: &str = "/api/activity";

/// Requests waiting for this account's approval (the signed-in devices' side).
pub const APPROVALS: &str = "/api/approvals";
pub const APPROVE: &str = "/api/approvals/{id}/approve";
pub const DENY: &str = "/api/approvals/{id}/deny";
/// The waiting device's side of its request.
pub const COMPLETE_APPROVAL: &str = "/api/login/approvals/{id}/complete";
pub const CANCEL_APPROVAL: &str = "/api/login/approvals/{id}/cancel";
pub const EMAIL_CODE: &str = "/api/login/approvals/{id}/email-code";

/// The signed-in session's socket.
pub const SESSION_SOCKET: &str = "/api/ws";
/// The waiting device's socket (its pending token is the first message).
pub const WAITING_SOCKET: &str = "/api/ws/approvals/{id}";
/// The waiting device's socket at its first path (deprecated: `?token=` in the URL).
pub const WAITING_SOCKET_DEPRECATED: &str = "/api/login/approvals/{id}/ws";

/// Every path above, once.
pub const ALL: &[&str] = &[
    HEALTHZ,
    READYZ,
    CSP_REPORTS,
    CONFIG,
    SIGNUP,
    LOGIN,
    LOGOUT,
    ME,
    SESSION_PROBE,
    PASSWORD_STRENGTH,
    VERIFY_EMAIL,
    PASSWORD_RESET,
    PASSWORD_RESET_COMPLETE,
    SECURE_ACCOUNT,
    CONFIRM_EMAIL_CHANGE,
    SECOND_FACTOR,
    REAUTHENTICATE,
    FORWARD_AUTH,
    ACCOUNT,
    PASSWORD,
    EMAIL,
    EMAIL_VERIFICATION,
    EXPORT,
    TOTP,
    TOTP_CONFIRM,
    RECOVERY_CODES,
    PASSKEYS,
    PASSKEY,
    PASSKEY_REGISTER_START,
    PASSKEY_REGISTER_FINISH,
    PASSKEY_SIGN_IN_START,
    PASSKEY_SIGN_IN_FINISH,
    REAUTHENTICATE_PASSKEY_START,
    REAUTHENTICATE_PASSKEY_FINISH,
    SESSIONS,
    SESSION,
    OTHER_SESSIONS,
    SESSION_HISTORY,
    ACTIVITY,
    APPROVALS,
    APPROVE,
    DENY,
    COMPLETE_APPROVAL,
    CANCEL_APPROVAL,
    EMAIL_CODE,
    SESSION_SOCKET,
    WAITING_SOCKET,
    WAITING_SOCKET_DEPRECATED,
];

/// The app's dashboard, a signed-in browser's page.
pub const DASHBOARD_PAGE: &str = "/";
/// The app's sign-in page, where a protected app sends a browser without a session.
pub const SIGN_IN_PAGE: &str = "/login";
/// The sign-in page's query parameter: where to go back to once signed in (the app goes
/// there only when its origin is one of the configuration's `return_to_origins`).
pub const RETURN_TO: &str = "return_to";

/// A path with its `{id}` filled in: `with_id(SESSION, id)` is `/api/sessions/<id>`.
pub fn with_id(template: &str, id: impl Display) -> String {
    template.replace("{id}", &id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_fill_the_template_and_every_path_is_listed_once() {
        assert_eq!(
            with_id(APPROVE, "00000000-0000-0000-0000-000000000000"),
            "/api/approvals/00000000-0000-0000-0000-000000000000/approve"
        );
        assert_eq!(with_id(SESSIONS, 7), SESSIONS);
        let mut paths = ALL.to_vec();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ALL.len());
    }
}
