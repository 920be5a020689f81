//! Typed configuration, read from the environment (and a `.env` file if present), one
//! struct per concern; each concern's module lists its variables.
//!
//! Every variable has a default that is safe for local development; a server that listens
//! on a non-loopback address refuses to start without `SESSION_SECRET`, and one with Secure
//! cookies (production) without `SMTP_URL` unless `NEW_DEVICE_EMAIL_CHECK=off` says so. Secrets are never
//! printed: their types redact them, so `Debug` is derived.

use super::approval::ApprovalSettings;
use super::database::DatabaseSettings;
use super::env::{Env, SettingsError};
use super::forward_auth::ForwardAuthSettings;
use super::mail::MailSettings;
use super::retention::RetentionSettings;
use super::secret::{Secret, SecretUrl};
use super::server::ServerSettings;
use super::session::SessionSettings;
use super::sockets::SocketSettings;
use super::throttle::ThrottleSettings;
use super::webhooks::WebhookSettings;

#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub session: SessionSettings,
    pub approval: ApprovalSettings,
    pub throttle: ThrottleSettings,
    pub mail: MailSettings,
    pub sockets: SocketSettings,
    pub retention: RetentionSettings,
    pub forward_auth: ForwardAuthSettings,
    pub webhooks: WebhookSettings,
}

/// Adds the variables of `.env` (if there is one) to the environment, without overriding
/// what the environment already says. A missing `.env` is normal; a malformed one is
/// returned, for a warning once logging is set up (this runs before it).
pub fn load_dotenv() -> Result<(), dotenvy::Error> {
    match dotenvy::dotenv() {
        Err(error) if !error.not_found() => Err(error),
        _ => Ok(()),
    }
}

impl Settings {
    /// Reads the process environment (`load_dotenv` has added `.env`'s variables to it).
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from any variable source (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let env = Env::new(&lookup);
        let server = ServerSettings::from_env(&env)?;
        let settings = Self {
            database: DatabaseSettings::from_env(&env)?,
            session: SessionSettings::from_env(&env, &server)?,
            approval: ApprovalSettings::from_env(&env)?,
            throttle: ThrottleSettings::from_env(&env)?,
            mail: MailSettings::from_env(&env, &server)?,
            sockets: SocketSettings::from_env(&env)?,
            retention: RetentionSettings::from_env(&env)?,
            forward_auth: ForwardAuthSettings::from_env(&env)?,
            webhooks: WebhookSettings::from_env(&env)?,
            server,
        };
        settings.check_production_mail()?;
        Ok(settings)
    }

    /// Production (Secure cookies) must not fall back to "the first device wins": without
    /// mail, whoever has the password signs in while no device is, and approves the rest.
    fn check_production_mail(&self) -> Result<(), SettingsError> {
        if self.session.cookie_secure
            && self.mail.smtp_url.is_none()
            && self.mail.new_device_email_check != Some(false)
        {
            return Err(SettingsError::Missing(
                "SMTP_URL must be set when cookies are Secure (production): without mail, a \
                 new device that no signed-in device approves needs nothing but the password, \
                 and whoever signs in first approves every device after. Set SMTP_URL, or \
                 NEW_DEVICE_EMAIL_CHECK=off to run on passwords alone on purpose"
                    .into(),
            ));
        }
        Ok(())
    }

    /// A copy for tests: local database URL, fixed secret, everything else default.
    pub fn for_tests(database_url: &str) -> Self {
        let mut settings =
            Self::from_lookup(|_| None).unwrap_or_else(|_| unreachable!("defaults are valid"));
        settings.database.url = SecretUrl::new(database_url);
        settings.server.port = 0;
        settings.server.metrics_bind = Some("127.0.0.1:0".to_owned());
        settings.server.admin_bind = Some("127.0.0.1:0".to_owned());
        settings.session.secret = Secret::new(vec![7; 64]);
        settings.session.ephemeral_secret = false;
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_cookies_get_the_host_prefix_and_a_prefixed_insecure_name_is_refused() {
        let mut settings = Settings::for_tests("postgres://x/y");
        settings.session.cookie_secure = true;
        assert_eq!(settings.session.session_cookie_name(), "__Host-sm_session");
        settings.session.cookie_secure = false;
        assert_eq!(settings.session.session_cookie_name(), "sm_session");
        let refused = Settings::from_lookup(|name| match name {
            "COOKIE_NAME" => Some("__Host-sm".to_owned()),
            "COOKIE_SECURE" => Some("false".to_owned()),
            _ => None,
        });
        assert!(matches!(
            refused,
            Err(SettingsError::Invalid {
                name: "COOKIE_NAME",
                ..
            })
        ));
    }

    #[test]
    fn a_cookie_domain_takes_the_secure_prefix_and_must_cover_the_public_url() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let pairs = pairs.to_vec();
            Settings::from_lookup(move |name| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            })
        };
        let shared = with(&[
            ("COOKIE_DOMAIN", ".Example.com"),
            ("COOKIE_SECURE", "true"),
            ("SMTP_URL", "smtp://mail:1025"),
            ("PUBLIC_URL", "https://auth.example.com"),
        ])
        .unwrap_or_else(|error| unreachable!("{error}"));
        assert_eq!(shared.session.cookie_domain.as_deref(), Some("example.com"));
        assert_eq!(shared.session.session_cookie_name(), "__Secure-sm_session");
        assert_eq!(shared.session.device_cookie_name(), "__Secure-sm_device");
        for refused in [
            vec![("COOKIE_DOMAIN", "https://example.com")],
            vec![
                ("COOKIE_DOMAIN", "example.com"),
                ("PUBLIC_URL", "https://auth.other.org"),
            ],
            vec![
                ("COOKIE_DOMAIN", "example.com"),
                ("PUBLIC_URL", "https://notexample.com"),
            ],
        ] {
            assert!(
                matches!(
                    with(&refused),
                    Err(SettingsError::Invalid {
                        name: "COOKIE_DOMAIN",
                        ..
                    })
                ),
                "{refused:?} accepted"
            );
        }
        assert!(matches!(
            with(&[
                ("COOKIE_DOMAIN", "example.com"),
                ("COOKIE_NAME", "__Host-s"),
                ("COOKIE_SECURE", "true"),
                ("NEW_DEVICE_EMAIL_CHECK", "off"),
            ]),
            Err(SettingsError::Invalid {
                name: "COOKIE_NAME",
                ..
            })
        ));
    }

    #[test]
    fn return_to_origins_are_origins_and_the_header_prefix_a_header_name() {
        let with = |name: &'static str, value: &'static str| {
            Settings::from_lookup(move |asked| (asked == name).then(|| value.to_owned()))
        };
        let origins = with(
            "RETURN_TO_ORIGINS",
            "https://App.example.com/, http://127.0.0.1:8000",
        )
        .unwrap_or_else(|error| unreachable!("{error}"));
        assert_eq!(
            origins.forward_auth.return_to_origins,
            ["https://app.example.com", "http://127.0.0.1:8000"]
        );
        assert_eq!(origins.forward_auth.header_prefix, "X-Auth-");
        for (name, value) in [
            ("RETURN_TO_ORIGINS", "https://app.example.com/path"),
            ("RETURN_TO_ORIGINS", "app.example.com"),
            ("RETURN_TO_ORIGINS", "javascript:alert(1)"),
            ("FORWARD_AUTH_HEADER_PREFIX", "X Auth:"),
        ] {
            assert!(
                matches!(with(name, value), Err(SettingsError::Invalid { name: refused, .. }) if refused == name),
                "{name}={value} accepted"
            );
        }
    }

    #[test]
    fn mail_settings_are_checked_and_the_smtp_password_is_never_printed() {
        let settings = Settings::from_lookup(|name| match name {
            "SMTP_URL" => Some("smtps://mailer:hunter2@smtp.example:465".to_owned()),
            "PUBLIC_URL" => Some("https://sessions.example/".to_owned()),
            _ => None,
        })
        .unwrap_or_else(|error| unreachable!("{error}"));
        assert_eq!(settings.server.public_url(), "https://sessions.example");
        let printed = format!("{settings:?}");
        assert!(printed.contains("smtps://mailer:***@smtp.example:465"));
        assert!(!printed.contains("hunter2"));
        for (name, value) in [
            ("SMTP_URL", "http://not-smtp"),
            ("MAIL_FROM", "not an address"),
            ("PUBLIC_URL", "sessions.example"),
        ] {
            let refused = Settings::from_lookup(|asked| (asked == name).then(|| value.to_owned()));
            assert!(
                matches!(refused, Err(SettingsError::Invalid { name: refused, .. }) if refused == name),
                "{name}={value} must be refused"
            );
        }
    }

    #[test]
    fn the_app_name_is_plain_text_of_sixty_characters_at_most_and_names_the_default_sender() {
        let with_name = |value: &str| {
            let value = value.to_owned();
            Settings::from_lookup(move |name| (name == "APP_NAME").then(|| value.clone()))
        };
        let default =
            Settings::from_lookup(|_| None).unwrap_or_else(|error| unreachable!("{error}"));
        assert_eq!(default.server.app_name, "Session Manager");
        assert_eq!(default.mail.from, "Session Manager <no-reply@localhost>");
        for (name, sender) in [
            ("  Acme Sessions ", "Acme Sessions <no-reply@localhost>"),
            ("Acme, Inc.", "\"Acme, Inc.\" <no-reply@localhost>"),
            // UTF-8 is atom text (RFC 6532); MAIL_FROM's own check parses it back.
            ("Ünïcode Käse", "Ünïcode Käse <no-reply@localhost>"),
        ] {
            let settings = with_name(name).unwrap_or_else(|error| unreachable!("{error}"));
            assert_eq!(settings.server.app_name, name.trim());
            assert_eq!(settings.mail.from, sender);
            assert!(format!("{settings:?}").contains(name.trim()));
        }
        let sent_from_elsewhere = Settings::from_lookup(|name| match name {
            "APP_NAME" => Some("Acme".to_owned()),
            "MAIL_FROM" => Some("Security <security@acme.example>".to_owned()),
            _ => None,
        })
        .unwrap_or_else(|error| unreachable!("{error}"));
        assert_eq!(
            sent_from_elsewhere.mail.from,
            "Security <security@acme.example>"
        );
        for refused in [
            "x".repeat(61),
            "Acme\nBcc: victim@example.com".to_owned(),
            "Acme\u{202E}evil".to_owned(),
        ] {
            assert!(
                matches!(
                    with_name(&refused),
                    Err(SettingsError::Invalid {
                        name: "APP_NAME",
                        ..
                    })
                ),
                "{refused:?} was accepted"
            );
        }
        assert!(with_name(&"é".repeat(60)).is_ok(), "characters, not bytes");
    }

    #[test]
    fn the_new_device_mail_check_follows_smtp_unless_set() {
        let with = |pairs: &'static [(&'static str, &'static str)]| {
            Settings::from_lookup(|name| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            })
        };
        let check = |pairs| with(pairs).map(|settings| settings.mail.checks_new_devices_by_email());
        assert!(matches!(check(&[]), Ok(false)));
        assert!(matches!(
            check(&[("SMTP_URL", "smtp://127.0.0.1:1025")]),
            Ok(true)
        ));
        assert!(matches!(
            check(&[
                ("SMTP_URL", "smtp://127.0.0.1:1025"),
                ("NEW_DEVICE_EMAIL_CHECK", "false")
            ]),
            Ok(false)
        ));
        assert!(matches!(
            check(&[("NEW_DEVICE_EMAIL_CHECK", "on")]),
            Ok(true)
        ));
        assert!(matches!(
            with(&[("NEW_DEVICE_EMAIL_CHECK", "maybe")]),
            Err(SettingsError::Invalid {
                name: "NEW_DEVICE_EMAIL_CHECK",
                ..
            })
        ));
    }

    #[test]
    fn trusted_proxies_are_cidrs() {
        let settings = Settings::from_lookup(|name| match name {
            "TRUSTED_PROXIES" => Some("10.0.0.0/8, 192.0.2.1".to_owned()),
            "SMTP_URL" => Some("smtp://mail:1025".to_owned()),
            _ => None,
        })
        .unwrap_or_else(|_| unreachable!());
        assert!(
            settings
                .server
                .is_trusted_proxy("10.9.8.7".parse().unwrap_or_else(|_| unreachable!()))
        );
        assert!(
            settings
                .server
                .is_trusted_proxy("192.0.2.1".parse().unwrap_or_else(|_| unreachable!()))
        );
        assert!(
            !settings
                .server
                .is_trusted_proxy("192.0.2.2".parse().unwrap_or_else(|_| unreachable!()))
        );
        assert!(
            Settings::from_lookup(|name| (name == "TRUSTED_PROXIES").then(|| "nope".to_owned()))
                .is_err()
        );
    }

    #[test]
    fn a_malformed_database_url_names_the_variable() {
        let refused = Settings::from_lookup(|name| {
            (name == "DATABASE_URL").then(|| "postgres://app:hunter2@db:notaport/x".to_owned())
        });
        match refused {
            Err(
                error @ SettingsError::Invalid {
                    name: "DATABASE_URL",
                    ..
                },
            ) => {
                assert!(!error.to_string().contains("hunter2"), "{error}");
            }
            other => panic!("DATABASE_URL must be refused: {other:?}"),
        }
    }

    #[test]
    fn secure_cookies_without_mail_refuse_to_start_unless_passwords_alone_are_chosen() {
        let secret = "3f9c2a7be1d04856c9a1f7e20b6d4c38a5e9f1027bd36c84e0a9f5d21c7b3e96";
        let with = |pairs: &[(&'static str, &'static str)]| {
            let pairs = pairs.to_vec();
            Settings::from_lookup(move |name| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            })
        };
        let refused = |result: Result<Settings, SettingsError>| match result {
            Err(SettingsError::Missing(reason)) => {
                reason.contains("SMTP_URL") && reason.contains("NEW_DEVICE_EMAIL_CHECK=off")
            }
            _ => false,
        };
        // Production: behind a proxy, or on a public address, or Secure set by hand.
        for production in [
            vec![("COOKIE_SECURE", "true")],
            vec![("TRUSTED_PROXIES", "10.0.0.0/8")],
            vec![("BIND", "0.0.0.0"), ("SESSION_SECRET", secret)],
            vec![("COOKIE_SECURE", "true"), ("NEW_DEVICE_EMAIL_CHECK", "on")],
        ] {
            assert!(refused(with(&production)), "{production:?} started");
        }
        for started in [
            vec![("COOKIE_SECURE", "true"), ("SMTP_URL", "smtp://mail:1025")],
            vec![("COOKIE_SECURE", "true"), ("NEW_DEVICE_EMAIL_CHECK", "off")],
            // Development over plain HTTP on loopback: mail in the log.
            vec![],
            vec![
                ("COOKIE_SECURE", "false"),
                ("BIND", "0.0.0.0"),
                ("SESSION_SECRET", secret),
            ],
        ] {
            assert!(with(&started).is_ok(), "{started:?} refused");
        }
    }

    #[test]
    fn links_follow_the_served_port_unless_public_url_is_set() {
        let mut settings = Settings::from_lookup(|_| None).unwrap_or_else(|_| unreachable!());
        assert_eq!(settings.server.public_url(), "http://localhost:8000");
        settings.server.resolve_public_url(43_210);
        assert_eq!(settings.server.public_url(), "http://localhost:43210");
        let mut set = Settings::from_lookup(|name| {
            (name == "PUBLIC_URL").then(|| "https://sessions.example".to_owned())
        })
        .unwrap_or_else(|_| unreachable!());
        set.server.resolve_public_url(43_210);
        assert_eq!(set.server.public_url(), "https://sessions.example");
    }

    #[test]
    fn a_public_bind_without_a_secret_is_refused() {
        let result = Settings::from_lookup(|name| (name == "BIND").then(|| "0.0.0.0".to_owned()));
        assert!(matches!(result, Err(SettingsError::Missing(_))));
    }

    #[test]
    fn placeholder_and_short_secrets_are_refused() {
        let with_secret = |secret: &str| {
            let secret = secret.to_owned();
            Settings::from_lookup(move |name| (name == "SESSION_SECRET").then(|| secret.clone()))
        };
        for weak in [
            "change-me-change-me-change-me-change-me-change-me-change-me-0000".to_owned(),
            "x".repeat(64),
            "0123456789abcdef".to_owned(),
        ] {
            assert!(
                matches!(
                    with_secret(&weak),
                    Err(SettingsError::Invalid {
                        name: "SESSION_SECRET",
                        ..
                    })
                ),
                "{weak} was accepted"
            );
        }
        let random = "3f9c2a7be1d04856c9a1f7e20b6d4c38a5e9f1027bd36c84e0a9f5d21c7b3e96";
        assert!(with_secret(random).is_ok());
    }

    #[test]
    fn cookies_are_secure_by_default_outside_loopback() {
        let secret = "3f9c2a7be1d04856c9a1f7e20b6d4c38a5e9f1027bd36c84e0a9f5d21c7b3e96".to_owned();
        let public = Settings::from_lookup(|name| match name {
            "BIND" => Some("0.0.0.0".to_owned()),
            "SESSION_SECRET" => Some(secret.clone()),
            "SMTP_URL" => Some("smtp://mail:1025".to_owned()),
            _ => None,
        });
        assert!(public.is_ok_and(|settings| settings.session.cookie_secure));
        let local = Settings::from_lookup(|_| None);
        assert!(local.is_ok_and(
            |settings| !settings.session.cookie_secure && settings.session.ephemeral_secret
        ));
    }

    /// Every variable the settings read, in the order they are read (all are read, even
    /// when unset).
    fn variables_read() -> Vec<String> {
        let asked = std::cell::RefCell::new(Vec::new());
        Settings::from_lookup(|name| {
            asked.borrow_mut().push(name.to_owned());
            None
        })
        .unwrap_or_else(|error| unreachable!("{error}"));
        asked.into_inner()
    }

    #[test]
    fn the_readme_documents_every_variable_and_the_example_file_names_only_real_ones() {
        let read = variables_read();
        assert!(read.len() > 40, "{read:?}");
        let readme = include_str!("../../../../README.md");
        let section = readme
            .split("\n## Configuration\n")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap_or_else(|| unreachable!("README.md has a Configuration section"));
        let undocumented: Vec<&String> = read
            .iter()
            .filter(|name| !section.contains(&format!("`{name}`")))
            .collect();
        assert!(
            undocumented.is_empty(),
            "README.md's Configuration section does not name {undocumented:?}"
        );
        // The example file shows a choice of them, and the two the logging reads.
        let example = include_str!("../../../../.env.example");
        for line in example.lines() {
            let line = line.trim_start_matches('#').trim_start();
            let Some((name, _)) = line.split_once('=') else {
                continue;
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                continue;
            }
            assert!(
                read.iter().any(|known| known == name)
                    || ["RUST_LOG", "LOG_FORMAT"].contains(&name),
                ".env.example names {name}, which nothing reads"
            );
        }
    }
}
