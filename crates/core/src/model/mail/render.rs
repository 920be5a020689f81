//! A stored mail as the user reads it: its subject, its plain text and its HTML, from the
//! templates in `crates/core/templates/mail/` (askama; the HTML ones escape every value, and
//! a device's label is anyone's text). The wording of each kind is here.

use askama::Template;
use shared::SecurityAlert;

use super::payload::{self, Stored};
use super::{LinkPurpose, MailKind, Sender};
use crate::model::policy;

/// A mail ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
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
    let secure_link =
        secure_token.map(|token| LinkPurpose::SecureAccount.url(sender.public_url, token));
    let (purpose, token) = match payload::read(kind, payload)? {
        Stored::Code { device, code } => {
            return render_alert(kind, &device, sender, Some(&code), secure_link.as_deref());
        }
        Stored::Alert(alert) => {
            return render_alert(kind, &alert, sender, None, secure_link.as_deref());
        }
        Stored::Link { purpose, token } => (purpose, token),
    };
    let url = purpose.url(sender.public_url, &token);
    let app = sender.app_name;
    let summary = kind.summary(app);
    let link = LinkMail {
        app,
        summary: &summary,
        url: &url,
        label: kind.subject(),
        advice: kind.advice(),
    };
    Ok(Rendered {
        subject: kind.subject_of(app),
        text: template(kind, link.render())?,
        html: template(kind, LinkMailHtml { mail: &link }.render())?,
    })
}

/// The mail about `alert` (the device, place and time), with the sign-in `code` it carries
/// if any, and the "this wasn't me" link when there is one; else a link to the app.
fn render_alert(
    kind: MailKind,
    alert: &SecurityAlert,
    sender: Sender<'_>,
    code: Option<&str>,
    secure_link: Option<&str>,
) -> Result<Rendered, String> {
    let app = sender.app_name;
    let summary = alert_summary(alert.kind, app).unwrap_or_else(|| kind.summary(app));
    let app_link = format!("{}/", sender.public_url.trim_end_matches('/'));
    let place = match &alert.country {
        Some(country) => format!("{} ({country})", alert.ip),
        None => alert.ip.clone(),
    };
    let when = alert.at.format("%Y-%m-%d %H:%M UTC").to_string();
    let mail = AlertMail {
        app,
        summary: &summary,
        code,
        device: &alert.device,
        place: &place,
        when: &when,
        advice: kind.advice(),
        secure_link,
        app_link: &app_link,
    };
    Ok(Rendered {
        subject: kind.subject_of(app),
        text: template(kind, mail.render())?,
        html: template(kind, AlertMailHtml { mail: &mail }.render())?,
    })
}

/// What happened, where the alert's kind says more than its mail's kind.
fn alert_summary(kind: shared::AlertKind, app: &str) -> Option<String> {
    use shared::AlertKind;
    let change = match kind {
        AlertKind::SecondFactorEnabled => {
            "the authenticator app was turned on: signing in now \
             asks for one of its codes after the password"
        }
        AlertKind::SecondFactorDisabled => {
            "the authenticator app was turned off, and its \
             recovery codes no longer work: the password alone signs in again"
        }
        AlertKind::PasskeyAdded => "a passkey was added: it signs in without the password",
        AlertKind::PasskeyRemoved => "a passkey was removed: it signs in no more",
        _ => return None,
    };
    Some(format!(
        "How your {app} account signs in was changed from one of its sessions: {change}."
    ))
}

fn template(kind: MailKind, rendered: askama::Result<String>) -> Result<String, String> {
    rendered.map_err(|error| format!("cannot render {} mail: {error}", kind.as_str()))
}

/// A mail that exists to carry a one-time link.
#[derive(Template)]
#[template(path = "mail/link.txt")]
struct LinkMail<'a> {
    app: &'a str,
    summary: &'a str,
    url: &'a str,
    /// The link's text in HTML.
    label: &'a str,
    advice: &'a str,
}

#[derive(Template)]
#[template(path = "mail/link.html")]
struct LinkMailHtml<'a> {
    mail: &'a LinkMail<'a>,
}

/// A mail about something that happened on a device (a sign-in, a refusal, a code asked).
#[derive(Template)]
#[template(path = "mail/alert.txt")]
struct AlertMail<'a> {
    app: &'a str,
    summary: &'a str,
    code: Option<&'a str>,
    device: &'a str,
    place: &'a str,
    when: &'a str,
    advice: &'a str,
    secure_link: Option<&'a str>,
    app_link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/alert.html")]
struct AlertMailHtml<'a> {
    mail: &'a AlertMail<'a>,
}

/// A lifetime as a mail says it: "24 hours", "30 minutes".
fn spoken(lifetime: chrono::Duration) -> String {
    let unit = |count: i64, one: &str| {
        if count == 1 {
            format!("1 {one}")
        } else {
            format!("{count} {one}s")
        }
    };
    if lifetime.num_minutes() % 60 == 0 {
        unit(lifetime.num_hours(), "hour")
    } else {
        unit(lifetime.num_minutes(), "minute")
    }
}

impl MailKind {
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
            Self::SignInMethodsChanged => "How your account signs in was changed",
        }
    }

    /// What happened, naming the app (`app`) whose account it is; a link's or a code's
    /// lifetime is the policy's.
    fn summary(self, app: &str) -> String {
        let verify = spoken(policy::VERIFY_EMAIL_LINK_LIFETIME);
        let reset = spoken(policy::RESET_PASSWORD_LINK_LIFETIME);
        let code = spoken(policy::EMAIL_CODE_LIFETIME);
        let change = spoken(policy::CHANGE_EMAIL_LINK_LIFETIME);
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
                 {verify}."
            ),
            Self::PasswordReset => format!(
                "Someone (we hope you) asked to reset the password of your {app} account. The \
                 link sets a new password, confirms this address and signs out every device; \
                 it is valid for {reset} and works once."
            ),
            Self::SignInCode => format!(
                "Someone (we hope you) entered your {app} password on a device your account \
                 has not used before, and no device of yours is signed in to approve it. To \
                 sign in there, type this code on that device. It is valid for {code}."
            ),
            Self::ChangeEmail => format!(
                "Someone (we hope you) asked to move a {app} account to this address. The link \
                 makes this the account's address and signs out every other device; it is \
                 valid for {change} and works once."
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
                 confirms the address and signs out every device. It is valid for {reset} \
                 and works once."
            ),
            Self::SignInMethodsChanged => {
                format!("How your {app} account signs in was changed from one of its sessions.")
            }
        }
    }

    /// The subject line: the app's name, then what the mail is about.
    fn subject_of(self, app: &str) -> String {
        format!("{app}: {}", self.subject())
    }

    fn advice(self) -> &'static str {
        match self {
            Self::NewSignIn | Self::PasswordChanged | Self::SignInMethodsChanged => {
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

#[cfg(test)]
mod tests {
    use shared::AlertKind;

    use super::*;
    use crate::model::mail::Mail;

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
    fn a_mail_names_the_device_place_and_time_and_escapes_them_in_html() {
        let mail = render_alert(
            MailKind::NewSignIn,
            &alert(AlertKind::NewDevice),
            SENDER,
            None,
            None,
        )
        .unwrap();
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
        // askama's entities: numeric, as good as `&lt;` in every browser and mail client.
        assert!(mail.html.contains("&#60;script&#62;"));
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
    fn a_change_of_sign_in_methods_says_which_and_offers_this_wasnt_me() {
        for (kind, says) in [
            (
                AlertKind::SecondFactorEnabled,
                "the authenticator app was turned on",
            ),
            (
                AlertKind::SecondFactorDisabled,
                "the authenticator app was turned off",
            ),
            (AlertKind::PasskeyAdded, "a passkey was added"),
            (AlertKind::PasskeyRemoved, "a passkey was removed"),
        ] {
            let mail_kind = MailKind::for_alert(kind).unwrap();
            assert_eq!(mail_kind, MailKind::SignInMethodsChanged);
            assert_eq!(MailKind::parse(mail_kind.as_str()), Some(mail_kind));
            assert!(mail_kind.offers_secure_link());
            let rendered = render(
                mail_kind,
                &serde_json::to_string(&alert(kind)).unwrap(),
                SENDER,
                Some("t0ken"),
            )
            .unwrap();
            assert_eq!(
                rendered.subject,
                "Acme Sessions: How your account signs in was changed"
            );
            assert!(rendered.text.contains(says), "{}", rendered.text);
            assert!(rendered.text.contains("/secure-account#token=t0ken"));
            assert!(unescaped(&rendered.html).contains(says));
        }
    }

    /// The text of HTML as askama escapes it.
    fn unescaped(html: &str) -> String {
        html.replace("&#34;", "\"")
            .replace("&#39;", "'")
            .replace("&#60;", "<")
            .replace("&#62;", ">")
            .replace("&#38;", "&")
    }

    #[test]
    fn every_kind_renders_in_text_and_html_and_states_the_policys_lifetimes() {
        let link = Mail::Link {
            purpose: LinkPurpose::VerifyEmail,
            token: shared::Secret::new("abc_123"),
            at: chrono::Utc::now(),
        }
        .payload()
        .unwrap();
        let code = Mail::SignInCode {
            device: alert(AlertKind::SignInCode),
            code: shared::Secret::new("042917"),
        }
        .payload()
        .unwrap();
        let device = serde_json::to_string(&alert(AlertKind::NewDevice)).unwrap();
        for kind in [
            MailKind::NewSignIn,
            MailKind::SuspiciousLoginDenied,
            MailKind::LoginRefused,
            MailKind::PasswordChanged,
            MailKind::VerifyEmail,
            MailKind::PasswordReset,
            MailKind::SignInCode,
            MailKind::ChangeEmail,
            MailKind::EmailChangeRequested,
            MailKind::EmailInUse,
            MailKind::AccountDeleted,
            MailKind::ClaimAccount,
        ] {
            let payload = match payload::read(kind, &link) {
                Ok(_) => &link,
                Err(_) if kind == MailKind::SignInCode => &code,
                Err(_) => &device,
            };
            let mail = render(kind, payload, SENDER, Some("xyz_789")).unwrap();
            assert!(mail.text.starts_with(&kind.summary("Acme Sessions")));
            assert!(
                mail.text.ends_with("\n\n-- \nAcme Sessions\n"),
                "{:?}",
                mail.text
            );
            assert!(mail.html.starts_with("<!doctype html>"));
            assert!(unescaped(&mail.html).contains(kind.advice()), "{kind:?}");
            assert!(mail.html.contains(">Acme Sessions</p>"));
        }
        let verify = render(MailKind::VerifyEmail, &link, SENDER, None).unwrap();
        assert!(verify.text.contains("valid for 24 hours."));
        assert!(
            MailKind::PasswordReset
                .summary("A")
                .contains("valid for 30 minutes")
        );
        assert!(
            MailKind::SignInCode
                .summary("A")
                .contains("valid for 10 minutes.")
        );
        assert_eq!(spoken(chrono::Duration::hours(1)), "1 hour");
    }

    #[test]
    fn the_html_escapes_every_value_even_the_apps_name() {
        let sender = Sender {
            app_name: "Tom & Jerry's <b>",
            public_url: "https://sessions.example/",
        };
        let mail = render_alert(
            MailKind::NewSignIn,
            &alert(AlertKind::NewDevice),
            sender,
            None,
            Some("https://x.example/?a=1&b=\"2\""),
        )
        .unwrap();
        assert!(
            mail.html.contains(">Tom &#38; Jerry&#39;s &#60;b&#62;</p>"),
            "{}",
            mail.html
        );
        assert!(!mail.html.contains("<b>"));
        assert!(!mail.html.contains("b=\"2\""));
        assert!(
            mail.text.contains("Tom & Jerry's <b>"),
            "plain text stays as it is"
        );
    }
}
