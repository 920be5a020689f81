//! Mail to the account's address: which alerts are mailed, how often, and their text.
//!
//! An outbox row holds what a mail is about (a [`SecurityAlert`]); it is rendered here when
//! it is sent, so that a change of wording or of `PUBLIC_URL` applies to mail still queued.
//! A mail carries no secret: it says what happened, from where, and where to act.

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
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::NewSignIn,
            Self::SuspiciousLoginDenied,
            Self::LoginRefused,
            Self::PasswordChanged,
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
            Self::NewSignIn | Self::SuspiciousLoginDenied | Self::PasswordChanged => None,
        }
    }

    fn subject(self) -> &'static str {
        match self {
            Self::NewSignIn => "New sign-in to your account",
            Self::SuspiciousLoginDenied => "A sign-in attempt was blocked",
            Self::LoginRefused => "Someone used your password and was refused",
            Self::PasswordChanged => "Your password was changed",
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

/// The mail for `alert`; `public_url` is where the app is (`PUBLIC_URL`).
pub fn render(kind: MailKind, alert: &SecurityAlert, public_url: &str) -> Rendered {
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
        let mail = render(
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
    fn retries_double_from_the_base_up_to_an_hour() {
        let base = Duration::from_secs(30);
        assert_eq!(retry_delay(base, 1), Duration::from_secs(30));
        assert_eq!(retry_delay(base, 2), Duration::from_secs(60));
        assert_eq!(retry_delay(base, 4), Duration::from_secs(240));
        assert_eq!(retry_delay(base, 30), Duration::from_secs(3600));
    }
}
