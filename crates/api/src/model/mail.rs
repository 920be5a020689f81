//! Mail to the account's address: which alerts are mailed, how often, and their text.
//!
//! An outbox row holds what a mail is about (a [`SecurityAlert`], or a one-time link's
//! token); it is rendered here when it is sent, so that a change of wording or of
//! `PUBLIC_URL` applies to mail still queued. A mail carries no secret but the one-time
//! link it exists to carry.

use std::time::Duration;

use shared::SecurityAlert;

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
}

impl MailKind {
    /// The mail for an alert of this kind (`SecurityAlert::kind`), if it is mailed.
    pub fn for_alert(kind: &str) -> Option<Self> {
        match kind {
            "new_device" | "new_country" => Some(Self::NewSignIn),
            "suspicious_login_denied" => Some(Self::SuspiciousLoginDenied),
            "login_refused" => Some(Self::LoginRefused),
            "password_changed" => Some(Self::PasswordChanged),
            _ => None,
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
            | Self::PasswordReset => None,
        }
    }

    fn subject(self) -> &'static str {
        match self {
            Self::NewSignIn => "New sign-in to your account",
            Self::SuspiciousLoginDenied => "A sign-in attempt was blocked",
            Self::LoginRefused => "Someone used your password and was refused",
            Self::PasswordChanged => "Your password was changed",
            Self::VerifyEmail => "Confirm your e-mail address",
            Self::PasswordReset => "Reset your password",
        }
    }

    fn summary(self) -> &'static str {
        match self {
            Self::NewSignIn => "Your account was signed in to from a new device or place.",
            Self::SuspiciousLoginDenied => {
                "A sign-in request to your account was denied as \"this wasn't me\"."
            }
            Self::LoginRefused => {
                "Someone signed in with your correct password and was refused: your account \
                 already had as many sessions as it may have, or too many sign-in requests."
            }
            Self::PasswordChanged => {
                "Your password was changed, and every other device was signed out."
            }
            Self::VerifyEmail => {
                "Please confirm that this is your address: it is where we tell you about sign-ins \
                 and where you can recover your account. The link is valid for 24 hours."
            }
            Self::PasswordReset => {
                "Someone (we hope you) asked to reset the password of your account. The link \
                 sets a new password and signs out every device; it is valid for 30 minutes \
                 and works once."
            }
        }
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
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }

    /// How long a link stays valid.
    pub fn lifetime(self) -> chrono::Duration {
        match self {
            Self::VerifyEmail => chrono::Duration::hours(24),
            Self::ResetPassword => chrono::Duration::minutes(30),
        }
    }

    pub fn mail_kind(self) -> MailKind {
        match self {
            Self::VerifyEmail => MailKind::VerifyEmail,
            Self::ResetPassword => MailKind::PasswordReset,
        }
    }

    /// The app's page that takes the link (the token goes in the fragment, which browsers
    /// send to no server and put in no `Referer`).
    fn page(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify-email",
            Self::ResetPassword => "reset-password",
        }
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
}

#[derive(serde::Serialize, serde::Deserialize)]
struct LinkPayload {
    token: String,
}

impl Mail {
    /// Its kind, if this is mailed at all.
    pub fn kind(&self) -> Option<MailKind> {
        match self {
            Self::Alert(alert) => MailKind::for_alert(&alert.kind),
            Self::Link { purpose, .. } => Some(purpose.mail_kind()),
        }
    }

    pub fn at(&self) -> chrono::DateTime<chrono::Utc> {
        match self {
            Self::Alert(alert) => alert.at,
            Self::Link { at, .. } => *at,
        }
    }

    /// What the outbox stores (JSON).
    pub fn payload(&self) -> Result<String, serde_json::Error> {
        match self {
            Self::Alert(alert) => serde_json::to_string(alert),
            Self::Link { token, .. } => serde_json::to_string(&LinkPayload {
                token: token.expose().to_owned(),
            }),
        }
    }
}

/// The mail of an outbox row (`kind` and its JSON `payload`); an error says why it cannot
/// be rendered (it never will be).
pub fn render(kind: MailKind, payload: &str, public_url: &str) -> Result<Rendered, String> {
    let unreadable =
        |error: serde_json::Error| format!("unreadable {} payload: {error}", kind.as_str());
    let purpose = match kind {
        MailKind::VerifyEmail => LinkPurpose::VerifyEmail,
        MailKind::PasswordReset => LinkPurpose::ResetPassword,
        MailKind::NewSignIn
        | MailKind::SuspiciousLoginDenied
        | MailKind::LoginRefused
        | MailKind::PasswordChanged => {
            let alert: SecurityAlert = serde_json::from_str(payload).map_err(unreadable)?;
            return Ok(render_alert(kind, &alert, public_url));
        }
    };
    let link: LinkPayload = serde_json::from_str(payload).map_err(unreadable)?;
    let url = format!(
        "{}/{}#token={}",
        public_url.trim_end_matches('/'),
        purpose.page(),
        link.token
    );
    Ok(Rendered {
        subject: kind.subject().to_owned(),
        text: format!(
            "{summary}\n\n{url}\n\n{advice}\n",
            summary = kind.summary(),
            advice = kind.advice()
        ),
        html: format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\">\
             <p>{summary}</p><p><a href=\"{href}\">{label}</a></p><p>{advice}</p>\
             </body></html>",
            summary = escape(kind.summary()),
            href = escape(&url),
            label = escape(kind.subject()),
            advice = escape(kind.advice()),
        ),
    })
}

/// The mail for `alert`; `public_url` is where the app is (`PUBLIC_URL`).
fn render_alert(kind: MailKind, alert: &SecurityAlert, public_url: &str) -> Rendered {
    let link = format!("{}/", public_url.trim_end_matches('/'));
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
    let text = format!(
        "{summary}\n\n{details}\n\n{advice}\n\nYour account: {link}\n",
        summary = kind.summary(),
        details = details
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect::<Vec<_>>()
            .join("\n"),
        advice = kind.advice(),
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\">\
         <p>{summary}</p><table>{rows}</table><p>{advice}</p>\
         <p><a href=\"{href}\">Open your account</a></p></body></html>",
        summary = escape(kind.summary()),
        rows = details
            .iter()
            .map(|(name, value)| format!(
                "<tr><th align=\"left\">{name}</th><td>{}</td></tr>",
                escape(value)
            ))
            .collect::<String>(),
        advice = escape(kind.advice()),
        href = escape(&link),
    );
    Rendered {
        subject: kind.subject().to_owned(),
        text,
        html,
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

    fn alert(kind: &str) -> SecurityAlert {
        SecurityAlert {
            kind: kind.to_owned(),
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
            "new_device",
            "new_country",
            "suspicious_login_denied",
            "login_refused",
            "password_changed",
        ] {
            let mail = MailKind::for_alert(kind).unwrap();
            assert_eq!(MailKind::parse(mail.as_str()), Some(mail));
        }
        assert_eq!(MailKind::for_alert("something_else"), None);
    }

    #[test]
    fn a_mail_names_the_device_place_and_time_and_escapes_them_in_html() {
        let mail = render_alert(
            MailKind::NewSignIn,
            &alert("new_device"),
            "https://sessions.example/",
        );
        assert_eq!(mail.subject, "New sign-in to your account");
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
        let rendered = render(kind, &mail.payload().unwrap(), "https://sessions.example").unwrap();
        assert_eq!(rendered.subject, "Reset your password");
        assert!(
            rendered
                .text
                .contains("https://sessions.example/reset-password#token=abc_123")
        );
        assert!(render(kind, "{}", "https://sessions.example").is_err());
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
