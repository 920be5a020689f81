//! Typed configuration, read from the environment (and a `.env` file if present).
//!
//! Every variable has a default that is safe for local development; a server that listens
//! on a non-loopback address refuses to start without `SESSION_SECRET`. Secrets are never
//! printed: `Debug` redacts them.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("{0}")]
    Missing(String),
}

#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind: String,
    pub port: u16,
    /// Key for signing and encrypting the session cookie (64 bytes or more).
    pub session_secret: Vec<u8>,
    /// True when `session_secret` was generated at start-up (sessions die with the process).
    pub ephemeral_secret: bool,
    pub cookie_name: String,
    pub cookie_secure: bool,
    pub idle_timeout: Duration,
    pub absolute_lifetime: Duration,
    /// `last_seen_at` is written at most this often per session.
    pub touch_interval: Duration,
    pub max_sessions: i64,
    pub approval_ttl: Duration,
    pub approval_max_attempts: i32,
    pub max_pending_approvals: i64,
    /// Wrong passwords for one account within the window before its logins are refused.
    pub login_max_failures: usize,
    /// Failed logins from one address within the window before its logins are refused.
    pub login_max_failures_per_ip: usize,
    pub login_failure_window: Duration,
    pub allowed_origins: Vec<String>,
    pub trust_proxy: bool,
    pub sweep_interval: Duration,
    pub history_retention: Duration,
    pub db_pool_size: usize,
    /// Threads for argon2id (default: one per core) and how many hashes may wait for them.
    pub hash_threads: usize,
    pub hash_queue: usize,
    pub db_timeout: Duration,
    pub json_limit: usize,
    pub ws_heartbeat: Duration,
    pub ws_client_timeout: Duration,
    pub static_dir: Option<PathBuf>,
    pub create_database: bool,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("port", &self.port)
            .field("session_secret", &"<redacted>")
            .field("ephemeral_secret", &self.ephemeral_secret)
            .field("cookie_name", &self.cookie_name)
            .field("cookie_secure", &self.cookie_secure)
            .field("idle_timeout", &self.idle_timeout)
            .field("absolute_lifetime", &self.absolute_lifetime)
            .field("max_sessions", &self.max_sessions)
            .field("approval_ttl", &self.approval_ttl)
            .field("allowed_origins", &self.allowed_origins)
            .field("trust_proxy", &self.trust_proxy)
            .field("static_dir", &self.static_dir)
            .finish_non_exhaustive()
    }
}

/// Hides the password of a `postgres://user:password@host/db` URL.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***{}", &url[..scheme_end], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/session_manager";

impl Settings {
    /// Reads `.env` (if any) and then the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        // A missing .env is normal; a malformed one is worth a warning but not a crash.
        if let Err(error) = dotenvy::dotenv()
            && !error.not_found()
        {
            eprintln!("warning: ignoring .env: {error}");
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from any variable source (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let bind = get("BIND").unwrap_or_else(|| "127.0.0.1".to_owned());
        let loopback = is_loopback(&bind);
        let trust_proxy = parse_bool("TRUST_PROXY", get("TRUST_PROXY"), false)?;

        let (session_secret, ephemeral_secret) = match get("SESSION_SECRET") {
            Some(secret) if secret.len() >= 64 => (secret.into_bytes(), false),
            Some(_) => {
                return Err(SettingsError::Invalid {
                    name: "SESSION_SECRET",
                    reason: "must be at least 64 characters (try `openssl rand -hex 32`)".into(),
                });
            }
            None if loopback => (random_secret(), true),
            None => {
                return Err(SettingsError::Missing(
                    "SESSION_SECRET must be set when BIND is not a loopback address".into(),
                ));
            }
        };

        let allowed_origins = get("ALLOWED_ORIGINS")
            .unwrap_or_else(|| "http://localhost:8080,http://127.0.0.1:8080".to_owned())
            .split(',')
            .map(|origin| origin.trim().trim_end_matches('/').to_owned())
            .filter(|origin| !origin.is_empty())
            .collect();

        let settings = Self {
            database_url: get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            port: parse_num("PORT", get("PORT"), 8000)?,
            session_secret,
            ephemeral_secret,
            cookie_name: get("COOKIE_NAME").unwrap_or_else(|| "sm_session".to_owned()),
            // A loopback-only server without a proxy is local development over plain HTTP.
            cookie_secure: parse_bool(
                "COOKIE_SECURE",
                get("COOKIE_SECURE"),
                !loopback || trust_proxy,
            )?,
            idle_timeout: secs("IDLE_TIMEOUT_SECS", get("IDLE_TIMEOUT_SECS"), 60 * 60)?,
            absolute_lifetime: secs(
                "SESSION_LIFETIME_SECS",
                get("SESSION_LIFETIME_SECS"),
                7 * 24 * 3600,
            )?,
            touch_interval: secs("TOUCH_INTERVAL_SECS", get("TOUCH_INTERVAL_SECS"), 60)?,
            max_sessions: parse_num("MAX_SESSIONS", get("MAX_SESSIONS"), 2)?,
            approval_ttl: secs("APPROVAL_TTL_SECS", get("APPROVAL_TTL_SECS"), 120)?,
            approval_max_attempts: parse_num(
                "APPROVAL_MAX_ATTEMPTS",
                get("APPROVAL_MAX_ATTEMPTS"),
                5,
            )?,
            max_pending_approvals: parse_num(
                "MAX_PENDING_APPROVALS",
                get("MAX_PENDING_APPROVALS"),
                3,
            )?,
            login_max_failures: parse_num("LOGIN_MAX_FAILURES", get("LOGIN_MAX_FAILURES"), 10)?,
            login_max_failures_per_ip: parse_num(
                "LOGIN_MAX_FAILURES_PER_IP",
                get("LOGIN_MAX_FAILURES_PER_IP"),
                50,
            )?,
            login_failure_window: secs(
                "LOGIN_FAILURE_WINDOW_SECS",
                get("LOGIN_FAILURE_WINDOW_SECS"),
                15 * 60,
            )?,
            allowed_origins,
            trust_proxy,
            sweep_interval: secs("SWEEP_INTERVAL_SECS", get("SWEEP_INTERVAL_SECS"), 30)?,
            history_retention: secs("HISTORY_RETENTION_DAYS", get("HISTORY_RETENTION_DAYS"), 365)?
                * (24 * 3600),
            hash_threads: parse_num(
                "HASH_THREADS",
                get("HASH_THREADS"),
                std::thread::available_parallelism()
                    .map(usize::from)
                    .unwrap_or(1),
            )?,
            hash_queue: parse_num("HASH_QUEUE", get("HASH_QUEUE"), 256)?,
            db_pool_size: parse_num("DB_POOL_SIZE", get("DB_POOL_SIZE"), 32)?,
            db_timeout: secs("DB_TIMEOUT_SECS", get("DB_TIMEOUT_SECS"), 5)?,
            json_limit: parse_num("JSON_LIMIT_BYTES", get("JSON_LIMIT_BYTES"), 16 * 1024)?,
            ws_heartbeat: secs("WS_HEARTBEAT_SECS", get("WS_HEARTBEAT_SECS"), 15)?,
            ws_client_timeout: secs("WS_CLIENT_TIMEOUT_SECS", get("WS_CLIENT_TIMEOUT_SECS"), 45)?,
            static_dir: get("STATIC_DIR").map(PathBuf::from),
            create_database: parse_bool("CREATE_DATABASE", get("CREATE_DATABASE"), true)?,
            bind,
        };
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let positive = [
            ("IDLE_TIMEOUT_SECS", self.idle_timeout),
            ("SESSION_LIFETIME_SECS", self.absolute_lifetime),
            ("APPROVAL_TTL_SECS", self.approval_ttl),
            ("SWEEP_INTERVAL_SECS", self.sweep_interval),
            ("DB_TIMEOUT_SECS", self.db_timeout),
            ("WS_HEARTBEAT_SECS", self.ws_heartbeat),
        ];
        for (name, value) in positive {
            if value.is_zero() {
                return Err(SettingsError::Invalid {
                    name,
                    reason: "must be greater than 0".into(),
                });
            }
        }
        if self.max_sessions < 1 {
            return Err(SettingsError::Invalid {
                name: "MAX_SESSIONS",
                reason: "must be at least 1".into(),
            });
        }
        if self.approval_max_attempts < 1 {
            return Err(SettingsError::Invalid {
                name: "APPROVAL_MAX_ATTEMPTS",
                reason: "must be at least 1".into(),
            });
        }
        if self.db_pool_size < 1 {
            return Err(SettingsError::Invalid {
                name: "DB_POOL_SIZE",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    /// A copy for tests: local database URL, fixed secret, everything else default.
    pub fn for_tests(database_url: &str) -> Self {
        let mut settings =
            Self::from_lookup(|_| None).unwrap_or_else(|_| unreachable!("defaults are valid"));
        settings.database_url = database_url.to_owned();
        settings.port = 0;
        settings.session_secret = vec![7; 64];
        settings.ephemeral_secret = false;
        settings
    }
}

fn is_loopback(bind: &str) -> bool {
    bind == "localhost" || bind.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn random_secret() -> Vec<u8> {
    use rand::RngExt;
    let mut rng = rand::rng();
    (0..64).map(|_| rng.random::<u8>()).collect()
}

fn parse_bool(
    name: &'static str,
    value: Option<String>,
    default: bool,
) -> Result<bool, SettingsError> {
    match value
        .as_deref()
        .map(str::trim)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(SettingsError::Invalid {
            name,
            reason: format!("expected true or false, got {other:?}"),
        }),
    }
}

fn parse_num<T: std::str::FromStr>(
    name: &'static str,
    value: Option<String>,
    default: T,
) -> Result<T, SettingsError> {
    match value {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| SettingsError::Invalid {
            name,
            reason: format!("expected a number, got {raw:?}"),
        }),
    }
}

fn secs(
    name: &'static str,
    value: Option<String>,
    default: u64,
) -> Result<Duration, SettingsError> {
    parse_num(name, value, default).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://app@db/x"), "postgres://app@db/x");
    }

    #[test]
    fn a_public_bind_without_a_secret_is_refused() {
        let result = Settings::from_lookup(|name| (name == "BIND").then(|| "0.0.0.0".to_owned()));
        assert!(matches!(result, Err(SettingsError::Missing(_))));
    }

    #[test]
    fn cookies_are_secure_by_default_outside_loopback() {
        let secret = "x".repeat(64);
        let public = Settings::from_lookup(|name| match name {
            "BIND" => Some("0.0.0.0".to_owned()),
            "SESSION_SECRET" => Some(secret.clone()),
            _ => None,
        });
        assert!(public.is_ok_and(|settings| settings.cookie_secure));
        let local = Settings::from_lookup(|_| None);
        assert!(local.is_ok_and(|settings| !settings.cookie_secure && settings.ephemeral_secret));
    }
}
