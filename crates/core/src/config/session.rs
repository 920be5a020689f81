//! Sessions: the cookie that carries them, how long they live, how many an account may hold.
//!
//! | variable | default |
//! |---|---|
//! | `SESSION_SECRET` | random per start on loopback; **required** otherwise (64+ random characters) |
//! | `COOKIE_NAME` | `sm_session` (`__Host-` prefixed whenever the cookie is Secure; `__Secure-` with `COOKIE_DOMAIN`) |
//! | `COOKIE_SECURE` | `true` unless bound to loopback without a proxy |
//! | `COOKIE_DOMAIN` | unset: the cookies belong to this host only; `example.com` shares them with its subdomains |
//! | `IDLE_TIMEOUT_SECS` | `3600` |
//! | `SESSION_LIFETIME_SECS` | `604800` (7 days) |
//! | `TOUCH_INTERVAL_SECS` | `60` |
//! | `MAX_SESSIONS` | `2` |
//! | `LIMIT_POLICY` | `approve` (`refuse`, `evict_oldest`, `single`) |
//! | `FRESH_SESSION_SECS` | `86400` |
//! | `REAUTH_WINDOW_SECS` | `600` (sudo mode: how long a proof allows sensitive changes) |

use std::time::Duration;

use super::env::{Env, FromEnv, SettingsError};
use super::secret::Secret;
use super::server::ServerSettings;

/// Named by [`SessionSettings::check_cookie`] too, which callers run again after changes.
const COOKIE_NAME: &str = "COOKIE_NAME";

/// What happens when an account signs in from one more device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitPolicy {
    /// A device already signed in must approve with the code the new one shows; at the
    /// limit, refused.
    Approve,
    /// At the limit the new device is told "Already N sessions active"; nothing else happens.
    Refuse,
    /// At the limit the least recently used session ends to make room.
    EvictOldest,
    /// One session: a new login ends the previous one.
    Single,
}

impl LimitPolicy {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "approve" => Some(Self::Approve),
            "refuse" => Some(Self::Refuse),
            "evict_oldest" => Some(Self::EvictOldest),
            "single" => Some(Self::Single),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Refuse => "refuse",
            Self::EvictOldest => "evict_oldest",
            Self::Single => "single",
        }
    }
}

impl FromEnv for LimitPolicy {
    fn from_env(raw: &str) -> Result<Self, String> {
        Self::parse(raw.trim())
            .ok_or_else(|| format!("expected approve, refuse, evict_oldest or single, got {raw:?}"))
    }
}

#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// Key for signing and encrypting the session cookie (64 bytes or more).
    pub secret: Secret,
    /// True when `secret` was generated at start-up (sessions die with the process).
    pub ephemeral_secret: bool,
    pub cookie_name: String,
    pub cookie_secure: bool,
    /// The `Domain` of the session and device cookies (`COOKIE_DOMAIN`): every host under
    /// it shares the session. `None`: this host only.
    pub cookie_domain: Option<String>,
    pub idle_timeout: Duration,
    pub absolute_lifetime: Duration,
    /// `last_seen_at` is written at most this often per session.
    pub touch_interval: Duration,
    pub max_sessions: i64,
    /// What happens at (or, for `approve`, below) the limit.
    pub limit_policy: LimitPolicy,
    /// A session younger than this cannot end an older one, sign out the others or change
    /// the password while an older session is active.
    pub fresh_session: Duration,
    /// Sudo mode: changing the password or address, signing out the other devices and
    /// changing the second factor need a proof of the user (sign-in or re-authentication)
    /// younger than this.
    pub reauth_window: Duration,
}

impl SessionSettings {
    /// `server` says whether this is local development (loopback, no proxy), where a key may
    /// be made up and cookies go over plain HTTP.
    pub fn from_env(env: &Env<'_>, server: &ServerSettings) -> Result<Self, SettingsError> {
        let (secret, ephemeral_secret) = secret(env, server.is_loopback())?;
        let settings = Self {
            secret,
            ephemeral_secret,
            cookie_name: env.text_or(COOKIE_NAME, "sm_session"),
            cookie_secure: env.read(
                "COOKIE_SECURE",
                !server.is_loopback() || server.behind_proxy(),
            )?,
            cookie_domain: cookie_domain(env, server)?,
            idle_timeout: env.positive_secs("IDLE_TIMEOUT_SECS", 60 * 60)?,
            absolute_lifetime: env.positive_secs("SESSION_LIFETIME_SECS", 7 * 24 * 3600)?,
            touch_interval: env.secs("TOUCH_INTERVAL_SECS", 60)?,
            max_sessions: env.read_at_least("MAX_SESSIONS", 2, 1)?,
            limit_policy: env.read("LIMIT_POLICY", LimitPolicy::Approve)?,
            fresh_session: env.secs("FRESH_SESSION_SECS", 24 * 3600)?,
            reauth_window: env.positive_secs("REAUTH_WINDOW_SECS", 10 * 60)?,
        };
        settings.check_cookie()?;
        Ok(settings)
    }

    /// The session cookie's name: `__Host-` prefixed whenever the cookie is `Secure` (the
    /// browser then refuses it from an insecure origin, a subdomain, or with a Domain);
    /// `__Secure-` when it is shared with the subdomains of `COOKIE_DOMAIN`.
    pub fn session_cookie_name(&self) -> String {
        self.prefixed(&self.cookie_name)
    }

    /// The device cookie's name (see `http::cookies`).
    pub fn device_cookie_name(&self) -> String {
        self.prefixed("sm_device")
    }

    fn prefixed(&self, name: &str) -> String {
        let prefix = if self.cookie_domain.is_some() {
            "__Secure-"
        } else {
            "__Host-"
        };
        if self.cookie_secure && !name.starts_with("__Host-") && !name.starts_with("__Secure-") {
            format!("{prefix}{name}")
        } else {
            name.to_owned()
        }
    }

    /// Checks what the environment cannot (tests and callers may change fields after
    /// `from_env`): a `__Host-`/`__Secure-` cookie name without `Secure` would be refused by
    /// every browser.
    pub fn check_cookie(&self) -> Result<(), SettingsError> {
        let prefixed =
            self.cookie_name.starts_with("__Host-") || self.cookie_name.starts_with("__Secure-");
        if prefixed && !self.cookie_secure {
            return Err(SettingsError::invalid(
                COOKIE_NAME,
                format!(
                    "{} needs a Secure cookie: set COOKIE_SECURE=true or drop the prefix",
                    self.cookie_name
                ),
            ));
        }
        if self.cookie_domain.is_some() && self.cookie_name.starts_with("__Host-") {
            return Err(SettingsError::invalid(
                COOKIE_NAME,
                format!(
                    "{} cannot have a Domain (COOKIE_DOMAIN): use __Secure- or no prefix",
                    self.cookie_name
                ),
            ));
        }
        Ok(())
    }
}

/// `SESSION_SECRET`, or on loopback a key made up for this run (`true`: ephemeral).
fn secret(env: &Env<'_>, loopback: bool) -> Result<(Secret, bool), SettingsError> {
    const NAME: &str = "SESSION_SECRET";
    match env.text(NAME) {
        Some(secret) => match weak_secret(&secret) {
            None => Ok((Secret::new(secret.into_bytes()), false)),
            Some(reason) => Err(SettingsError::invalid(
                NAME,
                format!("{reason} (generate one with `openssl rand -hex 32`)"),
            )),
        },
        None if loopback => Ok((random_secret(), true)),
        None => Err(SettingsError::Missing(format!(
            "{NAME} must be set when BIND is not a loopback address"
        ))),
    }
}

/// Why a cookie key is too weak to use, if it is: too short, or a placeholder such as the
/// `change-me…` of an example file (a random hex key has 16 distinct characters).
fn weak_secret(secret: &str) -> Option<&'static str> {
    let distinct = secret
        .chars()
        .collect::<std::collections::HashSet<_>>()
        .len();
    let lower = secret.to_ascii_lowercase();
    if secret.len() < 64 {
        Some("must be at least 64 characters")
    } else if lower.contains("change") || lower.contains("example") || lower.contains("secret") {
        Some("looks like a placeholder, not a random key")
    } else if distinct < 12 {
        Some("is not random enough (too few distinct characters)")
    } else {
        None
    }
}

fn random_secret() -> Secret {
    use rand::RngExt;
    let mut rng = rand::rng();
    Secret::new((0..64).map(|_| rng.random::<u8>()).collect::<Vec<_>>())
}

/// `COOKIE_DOMAIN`: a host name (a leading dot is dropped, as browsers do) that
/// `PUBLIC_URL`'s host is, or is under; else the browser would drop the cookie.
fn cookie_domain(env: &Env<'_>, server: &ServerSettings) -> Result<Option<String>, SettingsError> {
    const NAME: &str = "COOKIE_DOMAIN";
    let Some(written) = env.text(NAME) else {
        return Ok(None);
    };
    let domain = written.trim().trim_start_matches('.').to_ascii_lowercase();
    let is_label = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !domain.split('.').all(is_label) {
        return Err(SettingsError::invalid(
            NAME,
            format!("{written:?} is not a host name such as example.com"),
        ));
    }
    let public_host = server
        .public_url
        .as_deref()
        .and_then(|public| url::Url::parse(public).ok())
        .and_then(|public| public.host_str().map(str::to_ascii_lowercase));
    if let Some(host) = public_host
        && host != domain
        && !host.ends_with(&format!(".{domain}"))
    {
        return Err(SettingsError::invalid(
            NAME,
            format!(
                "PUBLIC_URL's host {host} is not {domain} nor under it: browsers would refuse the cookie"
            ),
        ));
    }
    Ok(Some(domain))
}
