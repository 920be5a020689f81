//! Mail to the account's address: which alerts are mailed, how often, and their text.
//!
//! An outbox row holds what a mail is about (a [`SecurityAlert`], or a one-time link's
//! token); it is rendered here when it is sent, so that a change of wording or of
//! `PUBLIC_URL` applies to mail still queued. A mail carries no secret but the one-time
//! link it exists to carry.

use std::time::Duration;

use shared::{AlertKind, SecurityAlert};

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
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }

    /// No second mail of this kind to an account within this time: someone who has the
    /// password and retries at the limit must not flood the owner's mailbox (the activity
    /// log and the devices still record every attempt).
    pub fn quiet_period(self) -> Option<Duration> {
        match self {
            Self::LoginRefused => Some(Duration::from_secs(15 * 60)),
            Self::NewSignIn
            | Self::SuspiciousLoginDenied
            | Self::PasswordChanged
            | Self::VerifyEmail
            | Self::PasswordReset
            | Self::SignInCode
            | Self::ChangeEmail
            | Self::EmailChangeRequested
            | Self::AccountDeleted
            | Self::ClaimAccount => None,
            // Asking to move to an address must not flood its owner's mailbox.
            Self::EmailInUse => Some(Duration::from_secs(15 * 60)),
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
            | Self::EmailChangeRequested => true,
            Self::VerifyEmail
            | Self::PasswordReset
            | Self::ChangeEmail
            | Self::EmailInUse
            | Self::AccountDeleted
            | Self::ClaimAccount => false,
        }
    }

    /// The subject, after the app's name (`"Session Manager: Your sign-in code"`).
    fn subject(self) -> &'static str {
        match self {
            Self::NewSignIn => "New sign-in to your account",
            Self::SuspiciousLoginDenied => "A sign-in attempt was blocked",
            Self::LoginRefused => "Someone used your password and was refused",
            Self::PasswordChanged => "Your password was changed",
            Self::VerifyEmail => "Confirm your e-mail address",
            Self::PasswordReset => "Reset your password",
            Self::SignInCode => "Your sign-in code",
            Self::ChangeEmail => "Confirm your new e-mail address",
            Self::EmailChangeRequested => "A change of your e-mail address was asked for",
            Self::EmailInUse => "Someone tried to use your e-mail address",
            Self::AccountDeleted => "Your account was deleted",
            Self::ClaimAccount => "Someone tried to sign up with your address",
        }
    }

    /// What happened, naming the app (`app`) whose account it is.
    fn summary(self, app: &str) -> String {
        match self {
            Self::NewSignIn => {
                format!("Your {app} account was signed in to from a new device or place.")
            }
            Self::SuspiciousLoginDenied => {
                format!("A sign-in request to your {app} account was denied as \"this wasn't me\".")
            }
            Self::LoginRefused => format!(
                "Someone signed in to {app} with your correct password and was refused: your \
                 account already had as many sessions as it may have, or too many sign-in \
                 requests."
            ),
            Self::PasswordChanged => {
                format!("Your {app} password was changed, and every other device was signed out.")
            }
            Self::VerifyEmail => format!(
                "Please confirm that this is your address for {app}: it is where we tell you \
                 about sign-ins and where you can recover your account. The link is valid for \
                 24 hours."
            ),
            Self::PasswordReset => format!(
                "Someone (we hope you) asked to reset the password of your {app} account. The \
                 link sets a new password, confirms this address and signs out every device; \
                 it is valid for 30 minutes and works once."
            ),
            Self::SignInCode => format!(
                "Someone (we hope you) entered your {app} password on a device your account \
                 has not used before, and no device of yours is signed in to approve it. To \
                 sign in there, type this code on that device. It is valid for 10 minutes."
            ),
            Self::ChangeEmail => format!(
                "Someone (we hope you) asked to move a {app} account to this address. The link \
                 makes this the account's address and signs out every other device; it is \
                 valid for 24 hours and works once."
            ),
            Self::EmailChangeRequested => format!(
                "Someone signed in to your {app} account asked to move it to another e-mail \
                 address. Until the new address is confirmed, this one stays the account's."
            ),
            Self::EmailInUse => format!(
                "Someone signed in to another {app} account asked to move it to this address, \
                 which already belongs to your account. Nothing changed on your account."
            ),
            Self::AccountDeleted => format!(
                "Your {app} account was deleted: every device was signed out, and your \
                 sessions, activity log and other data were erased. This address is free again."
            ),
            Self::ClaimAccount => format!(
                "Someone tried to create a {app} account with this address, which already has \
                 an account whose address was never confirmed: perhaps one you began and \
                 forgot, perhaps one someone else made with your address. If the address is \
                 yours, this link lets you take that account over: it sets a new password, \
                 confirms the address and signs out every device. It is valid for 30 minutes \
                 and works once."
            ),
        }
    }

    /// The subject line: the app's name, then what the mail is about.
    fn subject_of(self, app: &str) -> String {
        format!("{app}: {}", self.subject())
    }

    fn advice(self) -> &'static str {
        match self {
            Self::NewSignIn | Self::PasswordChanged => {
                "If this was you, there is nothing to do. If it was not, open your account, \
                 choose \"this wasn't me\" and change your password."
            }
            Self::SuspiciousLoginDenied | Self::LoginRefused => {
                "Whoever tried knows your password. If it was not you, open your account and \
                 change your password now."
            }
            Self::VerifyEmail => "If you did not create this account, ignore this mail.",
            Self::PasswordReset => {
                "If you did not ask for this, ignore this mail: your password stays as it is."
            }
            Self::SignInCode => {
                "Never give this code to anyone. If this was not you, someone knows your \
                 password: do not use the code, and change your password now."
            }
            Self::ChangeEmail => {
                "If you did not ask for this, ignore this mail: nothing changes without the link."
            }
            Self::EmailChangeRequested => {
                "If this was you, confirm with the link sent to the new address. If it was not, \
                 someone knows your password: choose \"this wasn't me\" to sign out every device \
                 and cancel the change."
            }
            Self::EmailInUse => {
                "If this was you, there is nothing to do. Otherwise ignore this mail."
            }
            Self::AccountDeleted => {
                "If you did not ask for this, someone knew your password; you can sign up \
                 again with this address."
            }
            Self::ClaimAccount => {
                "If you want nothing to do with it, ignore this mail: an account that is never \
                 confirmed and not used is deleted after a few days."
            }
        }
    }
}

/// A mail ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
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
            Self::VerifyEmail => chrono::Duration::hours(24),
            Self::ResetPassword => chrono::Duration::minutes(30),
            Self::SecureAccount => chrono::Duration::hours(72),
            Self::ChangeEmail => chrono::Duration::hours(24),
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

/// What the outbox stores for a link; the key `token` is what `mark_sent` erases.
#[derive(serde::Serialize, serde::Deserialize)]
struct LinkPayload {
    token: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CodePayload {
    device: SecurityAlert,
    token: String,
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

    /// What the outbox stores (JSON).
    pub fn payload(&self) -> Result<String, serde_json::Error> {
        match self {
            Self::Alert(alert) => serde_json::to_string(alert),
            Self::Link { token, .. } | Self::Claim { token, .. } => {
                serde_json::to_string(&LinkPayload {
                    token: token.expose().to_owned(),
                })
            }
            Self::SignInCode { device, code } => serde_json::to_string(&CodePayload {
                device: device.clone(),
                token: code.expose().to_owned(),
            }),
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

/// The mail of an outbox row (`kind` and its JSON `payload`); `secure_token` is the token
/// of a "this wasn't me" link minted for it (see [`MailKind::offers_secure_link`]). An
/// error says why it cannot be rendered (it never will be).
pub fn render(
    kind: MailKind,
    payload: &str,
    sender: Sender<'_>,
    secure_token: Option<&str>,
) -> Result<Rendered, String> {
    let public_url = sender.public_url;
    let unreadable =
        |error: serde_json::Error| format!("unreadable {} payload: {error}", kind.as_str());
    let secure_link = secure_token.map(|token| LinkPurpose::SecureAccount.url(public_url, token));
    let purpose = match kind {
        MailKind::VerifyEmail => LinkPurpose::VerifyEmail,
        MailKind::PasswordReset | MailKind::ClaimAccount => LinkPurpose::ResetPassword,
        MailKind::ChangeEmail => LinkPurpose::ChangeEmail,
        MailKind::SignInCode => {
            let payload: CodePayload = serde_json::from_str(payload).map_err(unreadable)?;
            let code = Some(payload.token.as_str());
            return Ok(render_alert(
                kind,
                &payload.device,
                sender,
                code,
                secure_link,
            ));
        }
        MailKind::NewSignIn
        | MailKind::SuspiciousLoginDenied
        | MailKind::LoginRefused
        | MailKind::PasswordChanged
        | MailKind::EmailChangeRequested
        | MailKind::EmailInUse
        | MailKind::AccountDeleted => {
            let alert: SecurityAlert = serde_json::from_str(payload).map_err(unreadable)?;
            return Ok(render_alert(kind, &alert, sender, None, secure_link));
        }
    };
    let link: LinkPayload = serde_json::from_str(payload).map_err(unreadable)?;
    let url = purpose.url(public_url, &link.token);
    let app = sender.app_name;
    let summary = kind.summary(app);
    Ok(Rendered {
        subject: kind.subject_of(app),
        text: format!(
            "{summary}\n\n{url}\n\n{advice}\n{signature}",
            advice = kind.advice(),
            signature = signature_text(app),
        ),
        html: format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\">\
             <p>{summary}</p><p><a href=\"{href}\">{label}</a></p><p>{advice}</p>{signature}\
             </body></html>",
            summary = escape(&summary),
            href = escape(&url),
            label = escape(kind.subject()),
            advice = escape(kind.advice()),
            signature = signature_html(app),
        ),
    })
}

/// The mail about `alert` (the device, place and time), with the sign-in `code` it carries
/// if any, and the "this wasn't me" link when there is one; else a link to the app.
fn render_alert(
    kind: MailKind,
    alert: &SecurityAlert,
    sender: Sender<'_>,
    code: Option<&str>,
    secure_link: Option<String>,
) -> Rendered {
    let app = sender.app_name;
    let summary = kind.summary(app);
    let app_link = format!("{}/", sender.public_url.trim_end_matches('/'));
    let place = match &alert.country {
        Some(country) => format!("{} ({country})", alert.ip),
        None => alert.ip.clone(),
    };
    let when = alert.at.format("%Y-%m-%d %H:%M UTC").to_string();
    let details = [
        ("Device", alert.device.as_str()),
        ("Address", place.as_str()),
        ("Time", when.as_str()),
    ];
    let code_text = code
        .map(|code| format!("Your code: {code}\n\n"))
        .unwrap_or_default();
    let code_html = code
        .map(|code| {
            format!(
                "<p style=\"font-size:2em;letter-spacing:0.2em\"><strong>{}</strong></p>",
                escape(code)
            )
        })
        .unwrap_or_default();
    let (link_text, link_html) = match &secure_link {
        Some(link) => (
            format!(
                "This wasn't me: {link}\n(signs out every device and cancels every sign-in \
                 request, then lets you choose a new password)\n\nYour account: {app_link}\n"
            ),
            format!(
                "<p><a href=\"{}\">This wasn't me</a> (signs out every device and cancels \
                 every sign-in request, then lets you choose a new password)</p>\
                 <p><a href=\"{}\">Open your account</a></p>",
                escape(link),
                escape(&app_link)
            ),
        ),
        None => (
            format!("Your account: {app_link}\n"),
            format!(
                "<p><a href=\"{}\">Open your account</a></p>",
                escape(&app_link)
            ),
        ),
    };
    let text = format!(
        "{summary}\n\n{code_text}{details}\n\n{advice}\n\n{link_text}{signature}",
        signature = signature_text(app),
        details = details
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect::<Vec<_>>()
            .join("\n"),
        advice = kind.advice(),
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\">\
         <p>{summary}</p>{code_html}<table>{rows}</table><p>{advice}</p>{link_html}{signature}\
         </body></html>",
        summary = escape(&summary),
        signature = signature_html(app),
        rows = details
            .iter()
            .map(|(name, value)| format!(
                "<tr><th align=\"left\">{name}</th><td>{}</td></tr>",
                escape(value)
            ))
            .collect::<String>(),
        advice = escape(kind.advice()),
    );
    Rendered {
        subject: kind.subject_of(app),
        text,
        html,
    }
}

/// The plain text's sign-off: the app's name below the usual "-- " separator.
fn signature_text(app: &str) -> String {
    format!("\n-- \n{app}\n")
}

fn signature_html(app: &str) -> String {
    format!("<p style=\"color:#5d6b7e\">{}</p>", escape(app))
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

/// Escapes text for HTML (a device label comes from a user agent: anyone's text).
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// When to try again after `attempts` failed sends: doubling from `base`, at most an hour.
pub fn retry_delay(base: Duration, attempts: u32) -> Duration {
    let factor = 2_u32.saturating_pow(attempts.saturating_sub(1).min(16));
    base.saturating_mul(factor).min(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENDER: Sender<'static> = Sender {
        app_name: "Acme Sessions",
        public_url: "https://sessions.example/",
    };

    fn alert(kind: AlertKind) -> SecurityAlert {
        SecurityAlert {
            kind,
            session_id: None,
            device: "<script>alert(1)</script> on Linux".to_owned(),
            ip: "203.0.113.9".to_owned(),
            country: Some("NL".to_owned()),
            at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        }
    }

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
    fn a_mail_names_the_device_place_and_time_and_escapes_them_in_html() {
        let mail = render_alert(
            MailKind::NewSignIn,
            &alert(AlertKind::NewDevice),
            SENDER,
            None,
            None,
        );
        assert_eq!(mail.subject, "Acme Sessions: New sign-in to your account");
        assert!(
            mail.text
                .starts_with("Your Acme Sessions account was signed in to")
        );
        assert!(
            mail.text.ends_with("\n-- \nAcme Sessions\n"),
            "signed with the name"
        );
        assert!(mail.html.contains(">Acme Sessions</p>"));
        assert!(mail.text.contains("Address: 203.0.113.9 (NL)"));
        assert!(mail.text.contains("Time: 2023-11-14 22:13 UTC"));
        assert!(
            mail.text
                .contains("Your account: https://sessions.example/\n")
        );
        assert!(mail.text.contains("<script>"), "plain text stays as it is");
        assert!(!mail.html.contains("<script>"));
        assert!(mail.html.contains("&lt;script&gt;"));
    }

    #[test]
    fn a_link_mail_carries_its_token_in_the_fragment_of_the_apps_page() {
        let mail = Mail::Link {
            purpose: LinkPurpose::ResetPassword,
            token: shared::Secret::new("abc_123"),
            at: chrono::Utc::now(),
        };
        assert!(
            !format!("{mail:?}").contains("abc_123"),
            "Debug hides the token"
        );
        let kind = mail.kind().unwrap();
        let rendered = render(kind, &mail.payload().unwrap(), SENDER, None).unwrap();
        assert_eq!(rendered.subject, "Acme Sessions: Reset your password");
        assert!(rendered.text.contains("your Acme Sessions account"));
        assert!(rendered.text.ends_with("\n-- \nAcme Sessions\n"));
        assert!(
            rendered
                .text
                .contains("https://sessions.example/reset-password#token=abc_123")
        );
        assert!(render(kind, "{}", SENDER, None).is_err());
    }

    #[test]
    fn a_claim_mail_carries_a_reset_link_and_says_why_it_came() {
        let mail = Mail::Claim {
            token: shared::Secret::new("abc_123"),
            at: chrono::Utc::now(),
        };
        let kind = mail.kind().unwrap();
        assert_eq!(MailKind::parse(kind.as_str()), Some(kind));
        let rendered = render(kind, &mail.payload().unwrap(), SENDER, None).unwrap();
        assert_eq!(
            rendered.subject,
            "Acme Sessions: Someone tried to sign up with your address"
        );
        assert!(rendered.text.contains("never confirmed"));
        assert!(
            rendered
                .text
                .contains("https://sessions.example/reset-password#token=abc_123")
        );
        assert!(!kind.offers_secure_link());
    }

    #[test]
    fn a_sign_in_code_mail_names_the_device_and_offers_this_wasnt_me() {
        let mail = Mail::SignInCode {
            device: alert(AlertKind::SignInCode),
            code: shared::Secret::new("042917"),
        };
        assert!(
            !format!("{mail:?}").contains("042917"),
            "Debug hides the code"
        );
        let kind = mail.kind().unwrap();
        assert_eq!(kind, MailKind::SignInCode);
        let rendered = render(kind, &mail.payload().unwrap(), SENDER, Some("xyz_789")).unwrap();
        assert_eq!(rendered.subject, "Acme Sessions: Your sign-in code");
        assert!(rendered.text.contains("Your code: 042917\n"));
        assert!(rendered.text.contains("Address: 203.0.113.9 (NL)"));
        assert!(
            rendered
                .text
                .contains("This wasn't me: https://sessions.example/secure-account#token=xyz_789")
        );
        assert!(rendered.html.contains("<strong>042917</strong>"));
        // The stored payload keeps the code under the key that is erased once sent.
        let stored: serde_json::Value = serde_json::from_str(&mail.payload().unwrap()).unwrap();
        assert_eq!(stored["token"], "042917");
    }

    #[test]
    fn security_mail_without_a_secure_token_links_to_the_app_only() {
        let rendered = render(
            MailKind::PasswordChanged,
            &serde_json::to_string(&alert(AlertKind::PasswordChanged)).unwrap(),
            SENDER,
            None,
        )
        .unwrap();
        assert!(!rendered.text.contains("secure-account"));
        assert!(
            rendered
                .text
                .contains("Your account: https://sessions.example/\n")
        );
        assert!(MailKind::PasswordChanged.offers_secure_link());
        assert!(!MailKind::PasswordReset.offers_secure_link());
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
