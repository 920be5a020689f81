//! Typed configuration, read from the environment (and a `.env` file if present).
//!
//! Every variable has a default that is safe for local development; a server that listens
//! on a non-loopback address refuses to start without `SESSION_SECRET`, and one with Secure
//! cookies (production) without `SMTP_URL` unless `NEW_DEVICE_EMAIL_CHECK=off` says so. Secrets are never
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

#[derive(Clone)]
pub struct Settings {
    /// The app's name (`APP_NAME`), on every page and in every mail.
    pub app_name: String,
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
    /// What happens at (or, for `approve`, below) the limit.
    pub limit_policy: LimitPolicy,
    /// Login requests an account may make per hour (prompt fatigue).
    pub max_approval_requests_per_hour: i64,
    /// After a request is denied, no new request for this long.
    pub approval_denial_cooldown: Duration,
    /// A session younger than this cannot end an older one, sign out the others or change
    /// the password while an older session is active.
    pub fresh_session: Duration,
    /// A MaxMind-format country database (`.mmdb`) for the country of sign-ins.
    pub geoip_db: Option<PathBuf>,
    pub approval_ttl: Duration,
    pub approval_max_attempts: i32,
    pub max_pending_approvals: i64,
    /// Wrong passwords for one account within the window before its logins are refused.
    pub login_max_failures: usize,
    /// Failed logins from one address within the window before its logins are refused.
    pub login_max_failures_per_ip: usize,
    pub login_failure_window: Duration,
    pub allowed_origins: Vec<String>,
    /// Deprecated shorthand: trust a proxy on the loopback interface (`TRUST_PROXY=true`).
    pub trust_proxy: bool,
    /// Proxies whose `X-Forwarded-For` entries are believed (`TRUSTED_PROXIES`, CIDRs).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Signups allowed per address (IPv6: per /64) within `SIGNUP_WINDOW_SECS`.
    pub signup_max_per_ip: usize,
    pub signup_window: Duration,
    /// Open sockets one user may hold on one instance; more upgrades get 429.
    pub ws_max_sockets_per_user: usize,
    /// Client messages a socket may send per minute before it is closed (1008).
    pub ws_max_messages_per_minute: usize,
    pub sweep_interval: Duration,
    pub history_retention: Duration,
    pub db_pool_size: usize,
    /// Pooled connections unused this long are closed.
    pub db_idle_timeout: Duration,
    /// actix-web worker threads; each also holds one session-lookup connection.
    pub workers: usize,
    /// How many instances are expected to share the database (for the start-up check of
    /// the connection budget).
    pub expected_instances: usize,
    /// Longest wait for requests in flight when stopping.
    pub shutdown_timeout: Duration,
    /// How long a stopping instance keeps serving with `/readyz` at 503 before it stops
    /// accepting connections (for load balancers that poll readiness).
    pub shutdown_drain: Duration,
    /// Threads for argon2id (default: one per core) and how many hashes may wait for them.
    pub hash_threads: usize,
    pub hash_queue: usize,
    pub db_timeout: Duration,
    pub json_limit: usize,
    pub ws_heartbeat: Duration,
    pub ws_client_timeout: Duration,
    pub static_dir: Option<PathBuf>,
    pub create_database: bool,
    /// Where `GET /metrics` listens (`host:port`), apart from the API so that it is never
    /// public by accident; `None` (`METRICS_BIND=off`) serves no metrics.
    pub metrics_bind: Option<String>,
    /// Where mail goes (`smtp://host:port`, `smtps://user:password@host`); `None` writes
    /// mail to the log instead, for development.
    pub smtp_url: Option<String>,
    /// The sender of every mail (`Name <address>`).
    pub mail_from: String,
    /// Where users reach the app, for the links in mail. `None` (`PUBLIC_URL` unset): the
    /// address this server serves, `http://localhost:PORT`, set once the port is known
    /// ([`Self::resolve_public_url`]); read it with [`Self::public_url`].
    pub public_url: Option<String>,
    /// How often the mail worker looks for mail due (it also wakes when mail is queued).
    pub mail_poll: Duration,
    /// The first wait after a failed send; each further failure doubles it (at most 1 h).
    pub mail_retry: Duration,
    /// `NEW_DEVICE_EMAIL_CHECK`: a sign-in that no device approves, from a device that
    /// never signed in to the account, waits for a code mailed to the confirmed address.
    /// Unset: on exactly when `SMTP_URL` is set (see [`Self::checks_new_devices_by_email`]).
    pub new_device_email_check: Option<bool>,
    /// `UNCONFIRMED_ACCOUNT_DAYS`: an account whose address was never confirmed and that no
    /// session used for this long is deleted (its address is free again); `None` (0): kept.
    pub unconfirmed_account_retention: Option<Duration>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("app_name", &self.app_name)
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
            .field("limit_policy", &self.limit_policy)
            .field("approval_ttl", &self.approval_ttl)
            .field("allowed_origins", &self.allowed_origins)
            .field("trust_proxy", &self.trust_proxy)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("static_dir", &self.static_dir)
            .field("metrics_bind", &self.metrics_bind)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("public_url", &self.public_url)
            .field(
                "new_device_email_check",
                &self.checks_new_devices_by_email(),
            )
            .field(
                "unconfirmed_account_retention",
                &self.unconfirmed_account_retention,
            )
            .field("db_pool_size", &self.db_pool_size)
            .field("workers", &self.workers)
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

/// Adds the variables of `.env` (if there is one) to the environment, without overriding
/// what the environment already says. A missing `.env` is normal; a malformed one is
/// returned, for a warning once logging is set up (this runs before it).
pub fn load_dotenv() -> Result<(), dotenvy::Error> {
    match dotenvy::dotenv() {
        Err(error) if !error.not_found() => Err(error),
        _ => Ok(()),
    }
}

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/session_manager";

impl Settings {
    /// Reads the process environment (`load_dotenv` has added `.env`'s variables to it).
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from any variable source (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let bind = get("BIND").unwrap_or_else(|| "127.0.0.1".to_owned());
        let loopback = is_loopback(&bind);
        let trust_proxy = parse_bool("TRUST_PROXY", get("TRUST_PROXY"), false)?;
        let trusted_proxies = get("TRUSTED_PROXIES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|cidr| !cidr.is_empty())
            .map(|cidr| {
                cidr.parse::<ipnet::IpNet>()
                    .or_else(|_| cidr.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| SettingsError::Invalid {
                        name: "TRUSTED_PROXIES",
                        reason: format!("{cidr:?} is not an address or a CIDR block"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let (session_secret, ephemeral_secret) = match get("SESSION_SECRET") {
            Some(secret) => match weak_secret(&secret) {
                None => (secret.into_bytes(), false),
                Some(reason) => {
                    return Err(SettingsError::Invalid {
                        name: "SESSION_SECRET",
                        reason: format!("{reason} (generate one with `openssl rand -hex 32`)"),
                    });
                }
            },
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

        let port = parse_num("PORT", get("PORT"), 8000)?;
        let app_name = parse_app_name(get("APP_NAME"))?;
        let settings = Self {
            database_url: get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            port,
            session_secret,
            ephemeral_secret,
            cookie_name: get("COOKIE_NAME").unwrap_or_else(|| "sm_session".to_owned()),
            // A loopback-only server without a proxy is local development over plain HTTP.
            cookie_secure: parse_bool(
                "COOKIE_SECURE",
                get("COOKIE_SECURE"),
                !loopback || trust_proxy || !trusted_proxies.is_empty(),
            )?,
            idle_timeout: secs("IDLE_TIMEOUT_SECS", get("IDLE_TIMEOUT_SECS"), 60 * 60)?,
            absolute_lifetime: secs(
                "SESSION_LIFETIME_SECS",
                get("SESSION_LIFETIME_SECS"),
                7 * 24 * 3600,
            )?,
            touch_interval: secs("TOUCH_INTERVAL_SECS", get("TOUCH_INTERVAL_SECS"), 60)?,
            max_sessions: parse_num("MAX_SESSIONS", get("MAX_SESSIONS"), 2)?,
            limit_policy: match get("LIMIT_POLICY") {
                None => LimitPolicy::Approve,
                Some(text) => {
                    LimitPolicy::parse(text.trim()).ok_or_else(|| SettingsError::Invalid {
                        name: "LIMIT_POLICY",
                        reason: format!(
                            "expected approve, refuse, evict_oldest or single, got {text:?}"
                        ),
                    })?
                }
            },
            max_approval_requests_per_hour: parse_num(
                "MAX_APPROVAL_REQUESTS_PER_HOUR",
                get("MAX_APPROVAL_REQUESTS_PER_HOUR"),
                10,
            )?,
            approval_denial_cooldown: secs(
                "APPROVAL_DENIAL_COOLDOWN_SECS",
                get("APPROVAL_DENIAL_COOLDOWN_SECS"),
                300,
            )?,
            fresh_session: secs("FRESH_SESSION_SECS", get("FRESH_SESSION_SECS"), 24 * 3600)?,
            geoip_db: get("GEOIP_DB").map(PathBuf::from),
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
            trusted_proxies,
            signup_max_per_ip: parse_num("SIGNUP_MAX_PER_IP", get("SIGNUP_MAX_PER_IP"), 5)?,
            signup_window: secs("SIGNUP_WINDOW_SECS", get("SIGNUP_WINDOW_SECS"), 3600)?,
            ws_max_sockets_per_user: parse_num(
                "WS_MAX_SOCKETS_PER_USER",
                get("WS_MAX_SOCKETS_PER_USER"),
                16,
            )?,
            ws_max_messages_per_minute: parse_num(
                "WS_MAX_MESSAGES_PER_MINUTE",
                get("WS_MAX_MESSAGES_PER_MINUTE"),
                60,
            )?,
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
            // Small on purpose: four instances (pool + workers + listener each) fit in a
            // default PostgreSQL (max_connections 100) with room to spare.
            db_pool_size: parse_num("DB_POOL_SIZE", get("DB_POOL_SIZE"), 8)?,
            db_idle_timeout: secs("DB_IDLE_TIMEOUT_SECS", get("DB_IDLE_TIMEOUT_SECS"), 60)?,
            workers: parse_num(
                "WORKERS",
                get("WORKERS"),
                std::thread::available_parallelism()
                    .map(usize::from)
                    .unwrap_or(1)
                    .min(8),
            )?,
            expected_instances: parse_num("EXPECTED_INSTANCES", get("EXPECTED_INSTANCES"), 4)?,
            shutdown_timeout: secs("SHUTDOWN_TIMEOUT_SECS", get("SHUTDOWN_TIMEOUT_SECS"), 30)?,
            shutdown_drain: secs("SHUTDOWN_DRAIN_SECS", get("SHUTDOWN_DRAIN_SECS"), 0)?,
            db_timeout: secs("DB_TIMEOUT_SECS", get("DB_TIMEOUT_SECS"), 5)?,
            json_limit: parse_num("JSON_LIMIT_BYTES", get("JSON_LIMIT_BYTES"), 16 * 1024)?,
            ws_heartbeat: secs("WS_HEARTBEAT_SECS", get("WS_HEARTBEAT_SECS"), 15)?,
            ws_client_timeout: secs("WS_CLIENT_TIMEOUT_SECS", get("WS_CLIENT_TIMEOUT_SECS"), 45)?,
            static_dir: get("STATIC_DIR").map(PathBuf::from),
            create_database: parse_bool("CREATE_DATABASE", get("CREATE_DATABASE"), true)?,
            metrics_bind: match get("METRICS_BIND") {
                Some(off) if off.eq_ignore_ascii_case("off") => None,
                Some(address) => Some(address),
                None => Some("127.0.0.1:9000".to_owned()),
            },
            smtp_url: get("SMTP_URL"),
            mail_from: get("MAIL_FROM").unwrap_or_else(|| default_sender(&app_name)),
            public_url: get("PUBLIC_URL").map(|url| url.trim_end_matches('/').to_owned()),
            mail_poll: secs("MAIL_POLL_SECS", get("MAIL_POLL_SECS"), 10)?,
            mail_retry: secs("MAIL_RETRY_SECS", get("MAIL_RETRY_SECS"), 30)?,
            new_device_email_check: get("NEW_DEVICE_EMAIL_CHECK")
                .map(|value| parse_bool("NEW_DEVICE_EMAIL_CHECK", Some(value), false))
                .transpose()?,
            unconfirmed_account_retention: match parse_num::<u64>(
                "UNCONFIRMED_ACCOUNT_DAYS",
                get("UNCONFIRMED_ACCOUNT_DAYS"),
                7,
            )? {
                0 => None,
                days => Some(Duration::from_secs(days.checked_mul(24 * 3600).ok_or(
                    SettingsError::Invalid {
                        name: "UNCONFIRMED_ACCOUNT_DAYS",
                        reason: "too large".into(),
                    },
                )?)),
            },
            bind,
            app_name,
        };
        settings.validate()?;
        settings.check_cookie()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        if let Err(error) = self.database_url.parse::<tokio_postgres::Config>() {
            return Err(SettingsError::Invalid {
                name: "DATABASE_URL",
                reason: format!(
                    "{} is not a PostgreSQL URL such as postgres://user@host:5432/name ({error})",
                    redact_url(&self.database_url)
                ),
            });
        }
        if let Some(address) = &self.metrics_bind
            && address
                .rsplit_once(':')
                .and_then(|(_, port)| port.parse::<u16>().ok())
                .is_none()
        {
            return Err(SettingsError::Invalid {
                name: "METRICS_BIND",
                reason: format!("{address:?} is not host:port (or \"off\")"),
            });
        }
        if let Err(error) = self.mail_from.parse::<lettre::message::Mailbox>() {
            return Err(SettingsError::Invalid {
                name: "MAIL_FROM",
                reason: format!("{:?} is not a mailbox ({error})", self.mail_from),
            });
        }
        if let Some(url) = &self.smtp_url
            && let Err(error) = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
        {
            return Err(SettingsError::Invalid {
                name: "SMTP_URL",
                reason: format!(
                    "{} is not an SMTP URL such as smtp://host:1025 ({error})",
                    redact_url(url)
                ),
            });
        }
        // Production (Secure cookies) must not fall back to "the first device wins": without
        // mail, whoever has the password signs in while no device is, and approves the rest.
        if self.cookie_secure
            && self.smtp_url.is_none()
            && self.new_device_email_check != Some(false)
        {
            return Err(SettingsError::Missing(
                "SMTP_URL must be set when cookies are Secure (production): without mail, a \
                 new device that no signed-in device approves needs nothing but the password, \
                 and whoever signs in first approves every device after. Set SMTP_URL, or \
                 NEW_DEVICE_EMAIL_CHECK=off to run on passwords alone on purpose"
                    .into(),
            ));
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(SettingsError::Invalid {
                name: "PUBLIC_URL",
                reason: format!("{url:?} is not an http(s) URL"),
            });
        }
        let positive = [
            ("MAIL_POLL_SECS", self.mail_poll),
            ("MAIL_RETRY_SECS", self.mail_retry),
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
        if self.workers < 1 {
            return Err(SettingsError::Invalid {
                name: "WORKERS",
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

    /// Whether an unrecognised device that no device approves needs a mailed code: as
    /// `NEW_DEVICE_EMAIL_CHECK` says, else whenever mail really leaves (`SMTP_URL`).
    pub fn checks_new_devices_by_email(&self) -> bool {
        self.new_device_email_check
            .unwrap_or(self.smtp_url.is_some())
    }

    /// Without `PUBLIC_URL`, links in mail lead to the address this server serves on the
    /// port it really got (`PORT=0` picks one at start-up).
    pub fn resolve_public_url(&mut self, port: u16) {
        self.public_url
            .get_or_insert_with(|| format!("http://localhost:{port}"));
    }

    /// Where users reach the app (`PUBLIC_URL`, else this server's own address).
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://localhost:{}", self.port))
    }

    /// Whether `ip` is a proxy whose `X-Forwarded-For` is believed.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        (self.trust_proxy && ip.is_loopback())
            || self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// The session cookie's name: `__Host-` prefixed whenever the cookie is `Secure` (the
    /// browser then refuses it from an insecure origin, a subdomain, or with a Domain).
    pub fn session_cookie_name(&self) -> String {
        prefixed(&self.cookie_name, self.cookie_secure)
    }

    /// The device cookie's name (see `http::cookies`).
    pub fn device_cookie_name(&self) -> String {
        prefixed("sm_device", self.cookie_secure)
    }

    /// Checks what the environment cannot (tests and callers may change fields after
    /// `from_env`): a `__Host-`/`__Secure-` cookie name without `Secure` would be refused by
    /// every browser.
    pub fn check_cookie(&self) -> Result<(), SettingsError> {
        let prefixed =
            self.cookie_name.starts_with("__Host-") || self.cookie_name.starts_with("__Secure-");
        if prefixed && !self.cookie_secure {
            return Err(SettingsError::Invalid {
                name: "COOKIE_NAME",
                reason: format!(
                    "{} needs a Secure cookie: set COOKIE_SECURE=true or drop the prefix",
                    self.cookie_name
                ),
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
        settings.metrics_bind = Some("127.0.0.1:0".to_owned());
        settings.session_secret = vec![7; 64];
        settings.ephemeral_secret = false;
        settings
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

pub const DEFAULT_APP_NAME: &str = "Session Manager";

/// Longest `APP_NAME`, in characters: it heads pages and mail subjects.
pub const APP_NAME_MAX: usize = 60;

/// `APP_NAME`, trimmed: 1 to [`APP_NAME_MAX`] characters, none of them a control or bidi
/// control character (it is shown on every page and put in mail headers).
fn parse_app_name(value: Option<String>) -> Result<String, SettingsError> {
    let Some(raw) = value else {
        return Ok(DEFAULT_APP_NAME.to_owned());
    };
    let name = raw.trim();
    let invalid = |reason: String| SettingsError::Invalid {
        name: "APP_NAME",
        reason,
    };
    if name.chars().count() > APP_NAME_MAX {
        return Err(invalid(format!(
            "must be at most {APP_NAME_MAX} characters"
        )));
    }
    if name
        .chars()
        .any(|c| c.is_control() || shared::rules::is_bidi_control(c))
    {
        return Err(invalid(format!(
            "{name:?} has control characters; it must be plain text"
        )));
    }
    Ok(name.to_owned())
}

/// The sender when `MAIL_FROM` is unset: the app's name at a local address.
fn default_sender(app_name: &str) -> String {
    let address = lettre::Address::new("no-reply", "localhost")
        .unwrap_or_else(|_| unreachable!("a valid address"));
    lettre::message::Mailbox::new(Some(app_name.to_owned()), address).to_string()
}

fn prefixed(name: &str, secure: bool) -> String {
    if secure && !name.starts_with("__Host-") && !name.starts_with("__Secure-") {
        format!("__Host-{name}")
    } else {
        name.to_owned()
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
    fn secure_cookies_get_the_host_prefix_and_a_prefixed_insecure_name_is_refused() {
        let mut settings = Settings::for_tests("postgres://x/y");
        settings.cookie_secure = true;
        assert_eq!(settings.session_cookie_name(), "__Host-sm_session");
        settings.cookie_secure = false;
        assert_eq!(settings.session_cookie_name(), "sm_session");
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
    fn mail_settings_are_checked_and_the_smtp_password_is_never_printed() {
        let settings = Settings::from_lookup(|name| match name {
            "SMTP_URL" => Some("smtps://mailer:hunter2@smtp.example:465".to_owned()),
            "PUBLIC_URL" => Some("https://sessions.example/".to_owned()),
            _ => None,
        })
        .unwrap_or_else(|error| unreachable!("{error}"));
        assert_eq!(settings.public_url(), "https://sessions.example");
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
        assert_eq!(default.app_name, "Session Manager");
        assert_eq!(default.mail_from, "Session Manager <no-reply@localhost>");
        for (name, sender) in [
            ("  Acme Sessions ", "Acme Sessions <no-reply@localhost>"),
            ("Acme, Inc.", "\"Acme, Inc.\" <no-reply@localhost>"),
            // UTF-8 is atom text (RFC 6532); MAIL_FROM's own check parses it back.
            ("Ünïcode Käse", "Ünïcode Käse <no-reply@localhost>"),
        ] {
            let settings = with_name(name).unwrap_or_else(|error| unreachable!("{error}"));
            assert_eq!(settings.app_name, name.trim());
            assert_eq!(settings.mail_from, sender);
            assert!(format!("{settings:?}").contains(name.trim()));
        }
        let sent_from_elsewhere = Settings::from_lookup(|name| match name {
            "APP_NAME" => Some("Acme".to_owned()),
            "MAIL_FROM" => Some("Security <security@acme.example>".to_owned()),
            _ => None,
        })
        .unwrap_or_else(|error| unreachable!("{error}"));
        assert_eq!(
            sent_from_elsewhere.mail_from,
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
        let check = |pairs| with(pairs).map(|settings| settings.checks_new_devices_by_email());
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
        assert!(settings.is_trusted_proxy("10.9.8.7".parse().unwrap_or_else(|_| unreachable!())));
        assert!(settings.is_trusted_proxy("192.0.2.1".parse().unwrap_or_else(|_| unreachable!())));
        assert!(!settings.is_trusted_proxy("192.0.2.2".parse().unwrap_or_else(|_| unreachable!())));
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
        assert_eq!(settings.public_url(), "http://localhost:8000");
        settings.resolve_public_url(43_210);
        assert_eq!(settings.public_url(), "http://localhost:43210");
        let mut set = Settings::from_lookup(|name| {
            (name == "PUBLIC_URL").then(|| "https://sessions.example".to_owned())
        })
        .unwrap_or_else(|_| unreachable!());
        set.resolve_public_url(43_210);
        assert_eq!(set.public_url(), "https://sessions.example");
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
        assert!(public.is_ok_and(|settings| settings.cookie_secure));
        let local = Settings::from_lookup(|_| None);
        assert!(local.is_ok_and(|settings| !settings.cookie_secure && settings.ephemeral_secret));
    }
}
