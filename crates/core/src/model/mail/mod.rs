//! Mail to the account's address: which alerts are mailed, how often, and the links mail
//! carries. [`payload`] is what the outbox stores for a mail; [`render`] turns a stored mail
//! into its subject, text and HTML (templates in `crates/core/templates/mail/`).
//!
//! An outbox row holds what a mail is about (a [`SecurityAlert`], or a one-time link's
//! token); it is rendered when it is sent, so that a change of wording or of
//! `PUBLIC_URL` applies to mail still queued. A mail carries no secret but the one-time
//! link it exists to carry.

pub mod payload;
pub mod render;

use std::time::Duration;

use shared::{AlertKind, SecurityAlert};

use super::policy;

/// What a mail tells the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// A sign-in from a device, network or country the account had not used.
    NewSignIn,
    /// A sign-in request was denied as "this wasn't me".
    SuspiciousLoginDenied,
    /// Someone gave the correct password and was refused (the limit, too many requests).
    LoginRefused,
    PasswordChanged,
    /// The link that proves the address is the user's.
    VerifyEmail,
    /// The link that sets a new password.
    PasswordReset,
    /// The code an unrecognised device needs when no device can approve it.
    SignInCode,
    /// The link, to the new address, that confirms a change of the account's address.
    ChangeEmail,
    /// To the current address: a change of address was asked for (with "this wasn't me").
    EmailChangeRequested,
    /// To the owner of an address another account asked to move to (instead of the link:
    /// the answer to the asker is the same, so it says nothing about who has an account).
    EmailInUse,
    /// The goodbye: the account and its data are gone.
    AccountDeleted,
    /// Someone signed up with the address of an account never confirmed: a reset link that
    /// lets the mailbox's owner take that account over.
    ClaimAccount,
    /// What signs in to the account changed: the authenticator app on or off, a passkey
    /// added or removed (the alert's kind says which).
    SignInMethodsChanged,
}

impl MailKind {
    /// The mail for an alert of this kind (`SecurityAlert::kind`), if it is mailed.
    pub fn for_alert(kind: AlertKind) -> Option<Self> {
        match kind {
            AlertKind::NewDevice | AlertKind::NewCountry => Some(Self::NewSignIn),
            AlertKind::SuspiciousLoginDenied => Some(Self::SuspiciousLoginDenied),
            AlertKind::LoginRefused => Some(Self::LoginRefused),
            AlertKind::PasswordChanged => Some(Self::PasswordChanged),
            AlertKind::EmailChangeRequested => Some(Self::EmailChangeRequested),
            AlertKind::EmailInUse => Some(Self::EmailInUse),
            AlertKind::AccountDeleted => Some(Self::AccountDeleted),
            AlertKind::SecondFactorEnabled
            | AlertKind::SecondFactorDisabled
            | AlertKind::PasskeyAdded
            | AlertKind::PasskeyRemoved => Some(Self::SignInMethodsChanged),
            // The code goes as `Mail::SignInCode`; an unknown kind (a newer server queued
            // it) is not this server's to render.
            AlertKind::SignInCode | AlertKind::Unknown => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewSignIn => "new_sign_in",
            Self::SuspiciousLoginDenied => "suspicious_login_denied",
            Self::LoginRefused => "login_refused",
            Self::PasswordChanged => "password_changed",
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
            Self::SignInCode => "sign_in_code",
            Self::ChangeEmail => "change_email",
            Self::EmailChangeRequested => "email_change_requested",
            Self::EmailInUse => "email_in_use",
            Self::AccountDeleted => "account_deleted",
            Self::ClaimAccount => "claim_account",
            Self::SignInMethodsChanged => "sign_in_methods_changed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::NewSignIn,
            Self::SuspiciousLoginDenied,
            Self::LoginRefused,
            Self::PasswordChanged,
            Self::VerifyEmail,
            Self::PasswordReset,
            Self::SignInCode,
            Self::ChangeEmail,
            Self::EmailChangeRequested,
            Self::EmailInUse,
            Self::AccountDeleted,
            Self::ClaimAccount,
            Self::SignInMethodsChanged,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }

    /// No second mail of this kind to an account within this time (see the policy).
    pub fn quiet_period(self) -> Option<Duration> {
        match self {
            Self::LoginRefused => Some(policy::LOGIN_REFUSED_MAIL_QUIET_PERIOD),
            Self::NewSignIn
            | Self::SuspiciousLoginDenied
            | Self::PasswordChanged
            | Self::VerifyEmail
            | Self::PasswordReset
            | Self::SignInCode
            | Self::ChangeEmail
            | Self::EmailChangeRequested
            | Self::AccountDeleted
            | Self::ClaimAccount
            | Self::SignInMethodsChanged => None,
            Self::EmailInUse => Some(policy::EMAIL_IN_USE_MAIL_QUIET_PERIOD),
        }
    }

    /// Whether the mail offers a "this wasn't me" link (to a confirmed address only: the
    /// link ends every session and leads to a new password).
    pub fn offers_secure_link(self) -> bool {
        match self {
            Self::NewSignIn
            | Self::SuspiciousLoginDenied
            | Self::LoginRefused
            | Self::PasswordChanged
            | Self::SignInCode
            | Self::EmailChangeRequested
            | Self::SignInMethodsChanged => true,
            Self::VerifyEmail
            | Self::PasswordReset
            | Self::ChangeEmail
            | Self::EmailInUse
            | Self::AccountDeleted
            | Self::ClaimAccount => false,
        }
    }
}

/// A one-time link sent by mail, and what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    VerifyEmail,
    ResetPassword,
    /// "This wasn't me" in security mail: ends every session and request, then leads to a
    /// new password.
    SecureAccount,
    /// Confirms a change of the account's address (mailed to the new address).
    ChangeEmail,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::SecureAccount => "secure_account",
            Self::ChangeEmail => "change_email",
        }
    }

    /// How long a link stays valid (a security mail may be read days later).
    pub fn lifetime(self) -> chrono::Duration {
        match self {
            Self::VerifyEmail => policy::VERIFY_EMAIL_LINK_LIFETIME,
            Self::ResetPassword => policy::RESET_PASSWORD_LINK_LIFETIME,
            Self::SecureAccount => policy::SECURE_ACCOUNT_LINK_LIFETIME,
            Self::ChangeEmail => policy::CHANGE_EMAIL_LINK_LIFETIME,
        }
    }

    /// The mail that exists to carry this link (a secure-account link rides along in
    /// security mail instead).
    pub fn mail_kind(self) -> Option<MailKind> {
        match self {
            Self::VerifyEmail => Some(MailKind::VerifyEmail),
            Self::ResetPassword => Some(MailKind::PasswordReset),
            Self::SecureAccount => None,
            Self::ChangeEmail => Some(MailKind::ChangeEmail),
        }
    }

    /// The app's page that takes the link (the token goes in the fragment, which browsers
    /// send to no server and put in no `Referer`).
    fn page(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify-email",
            Self::ResetPassword => "reset-password",
            Self::SecureAccount => "secure-account",
            Self::ChangeEmail => "confirm-email-change",
        }
    }

    /// The link as it appears in a mail.
    pub fn url(self, public_url: &str, token: &str) -> String {
        format!(
            "{}/{}#token={token}",
            public_url.trim_end_matches('/'),
            self.page()
        )
    }
}

/// What a queued mail is about.
#[derive(Debug, Clone)]
pub enum Mail {
    Alert(SecurityAlert),
    /// A one-time link: its token is the one secret the mail exists to carry (stored only
    /// until the mail is sent).
    Link {
        purpose: LinkPurpose,
        token: shared::Secret,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// The code an unrecognised device must type, and that device (stored only until the
    /// mail is sent, like a link's token).
    SignInCode {
        device: SecurityAlert,
        code: shared::Secret,
    },
    /// A reset link offered to the owner of an address someone signed up with while an
    /// unconfirmed account held it (`MailKind::ClaimAccount`).
    Claim {
        token: shared::Secret,
        at: chrono::DateTime<chrono::Utc>,
    },
}

impl Mail {
    /// Its kind, if this is mailed at all.
    pub fn kind(&self) -> Option<MailKind> {
        match self {
            Self::Alert(alert) => MailKind::for_alert(alert.kind),
            Self::Link { purpose, .. } => purpose.mail_kind(),
            Self::SignInCode { .. } => Some(MailKind::SignInCode),
            Self::Claim { .. } => Some(MailKind::ClaimAccount),
        }
    }

    pub fn at(&self) -> chrono::DateTime<chrono::Utc> {
        match self {
            Self::Alert(alert) | Self::SignInCode { device: alert, .. } => alert.at,
            Self::Link { at, .. } | Self::Claim { at, .. } => *at,
        }
    }
}

/// Who a mail comes from: the app's name (`APP_NAME`) and where users reach it
/// (`PUBLIC_URL`).
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    pub app_name: &'a str,
    pub public_url: &'a str,
}

/// The address as a device that was mailed a code is shown it: enough for its owner to
/// recognise, not the whole address ("a***@example.com").
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// When to try again after `attempts` failed sends: doubling from `base`, at most
/// [`policy::MAIL_RETRY_MAX`].
pub fn retry_delay(base: Duration, attempts: u32) -> Duration {
    let factor = 2_u32.saturating_pow(attempts.saturating_sub(1).min(16));
    base.saturating_mul(factor).min(policy::MAIL_RETRY_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mailed_alert_kind_round_trips_through_its_stored_name() {
        for kind in [
            AlertKind::NewDevice,
            AlertKind::NewCountry,
            AlertKind::SuspiciousLoginDenied,
            AlertKind::LoginRefused,
            AlertKind::PasswordChanged,
        ] {
            let mail = MailKind::for_alert(kind).unwrap();
            assert_eq!(MailKind::parse(mail.as_str()), Some(mail));
        }
        assert_eq!(MailKind::for_alert(AlertKind::Unknown), None);
    }

    #[test]
    fn a_masked_address_keeps_its_first_letter_and_domain() {
        assert_eq!(mask_email("ada@example.com"), "a***@example.com");
        assert_eq!(mask_email("élodie@example.fr"), "é***@example.fr");
        assert_eq!(mask_email("nonsense"), "***");
    }

    #[test]
    fn retries_double_from_the_base_up_to_an_hour() {
        let base = Duration::from_secs(30);
        assert_eq!(retry_delay(base, 1), Duration::from_secs(30));
        assert_eq!(retry_delay(base, 2), Duration::from_secs(60));
        assert_eq!(retry_delay(base, 4), Duration::from_secs(240));
        assert_eq!(retry_delay(base, 30), Duration::from_secs(3600));
    }
}
