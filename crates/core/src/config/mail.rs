//! Mail: where it goes, who sends it, how the worker retries, and the check of new devices
//! by a mailed code.
//!
//! | variable | default |
//! |---|---|
//! | `SMTP_URL` | unset: mail is written to the log (its password is never printed) |
//! | `MAIL_FROM` | `<APP_NAME> <no-reply@localhost>` |
//! | `MAIL_POLL_SECS` | `10`: how often the worker looks for mail due |
//! | `MAIL_RETRY_SECS` | `30`: the first wait after a failed send, doubling |
//! | `NEW_DEVICE_EMAIL_CHECK` | on exactly when `SMTP_URL` is set |

use std::time::Duration;

use super::env::{Env, SettingsError};
use super::secret::SecretUrl;
use super::server::ServerSettings;

#[derive(Debug, Clone)]
pub struct MailSettings {
    /// Where mail goes (`smtp://host:port`, `smtps://user:password@host`); `None` writes
    /// mail to the log instead, for development.
    pub smtp_url: Option<SecretUrl>,
    /// The sender of every mail (`Name <address>`).
    pub from: String,
    /// How often the mail worker looks for mail due (it also wakes when mail is queued).
    pub poll: Duration,
    /// The first wait after a failed send; each further failure doubles it (up to
    /// `model::policy::MAIL_RETRY_MAX`).
    pub retry: Duration,
    /// `NEW_DEVICE_EMAIL_CHECK`: a sign-in that no device approves, from a device that
    /// never signed in to the account, waits for a code mailed to the confirmed address.
    /// Unset: on exactly when `SMTP_URL` is set (see [`Self::checks_new_devices_by_email`]).
    pub new_device_email_check: Option<bool>,
}

impl MailSettings {
    pub fn from_env(env: &Env<'_>, server: &ServerSettings) -> Result<Self, SettingsError> {
        Ok(Self {
            smtp_url: smtp_url(env)?,
            from: from(env, &server.app_name)?,
            poll: env.positive_secs("MAIL_POLL_SECS", 10)?,
            retry: env.positive_secs("MAIL_RETRY_SECS", 30)?,
            new_device_email_check: env.optional("NEW_DEVICE_EMAIL_CHECK")?,
        })
    }

    /// Whether an unrecognised device that no device approves needs a mailed code: as
    /// `NEW_DEVICE_EMAIL_CHECK` says, else whenever mail really leaves (`SMTP_URL`).
    pub fn checks_new_devices_by_email(&self) -> bool {
        self.new_device_email_check
            .unwrap_or(self.smtp_url.is_some())
    }
}

fn smtp_url(env: &Env<'_>) -> Result<Option<SecretUrl>, SettingsError> {
    const NAME: &str = "SMTP_URL";
    let Some(url) = env.text(NAME).map(SecretUrl::new) else {
        return Ok(None);
    };
    if let Err(error) = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url.expose())
    {
        return Err(SettingsError::invalid(
            NAME,
            format!(
                "{} is not an SMTP URL such as smtp://host:1025 ({error})",
                url.redacted()
            ),
        ));
    }
    Ok(Some(url))
}

/// `MAIL_FROM`, else the app's name at a local address.
fn from(env: &Env<'_>, app_name: &str) -> Result<String, SettingsError> {
    const NAME: &str = "MAIL_FROM";
    let from = env.text(NAME).unwrap_or_else(|| {
        let address = lettre::Address::new("no-reply", "localhost")
            .unwrap_or_else(|_| unreachable!("a valid address"));
        lettre::message::Mailbox::new(Some(app_name.to_owned()), address).to_string()
    });
    if let Err(error) = from.parse::<lettre::message::Mailbox>() {
        return Err(SettingsError::invalid(
            NAME,
            format!("{from:?} is not a mailbox ({error})"),
        ));
    }
    Ok(from)
}
