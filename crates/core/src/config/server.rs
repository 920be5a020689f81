//! The server: where it listens, whom it believes, how it is reached and how it stops.
//!
//! | variable | default |
//! |---|---|
//! | `APP_NAME` | `Session Manager` (plain text, at most [`APP_NAME_MAX`] characters) |
//! | `BIND` / `PORT` | `127.0.0.1` / `8000` |
//! | `PUBLIC_URL` | `http://localhost:PORT`, the port served |
//! | `ALLOWED_ORIGINS` | `http://localhost:8080,http://127.0.0.1:8080` |
//! | `TRUSTED_PROXIES` | none (addresses or CIDRs, comma-separated) |
//! | `TRUST_PROXY` | `false` (deprecated: a proxy on loopback) |
//! | `WORKERS` | cores, at most 8 |
//! | `HASH_THREADS` / `HASH_QUEUE` | cores / `256` |
//! | `JSON_LIMIT_BYTES` | `16384` |
//! | `STATIC_DIR` | unset |
//! | `METRICS_BIND` | `127.0.0.1:9000` (`off`: none) |
//! | `ADMIN_BIND` | `127.0.0.1:9001` (`off`: none) |
//! | `GEOIP_DB` | unset |
//! | `SHUTDOWN_TIMEOUT_SECS` / `SHUTDOWN_DRAIN_SECS` | `30` / `0` |

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::env::{Env, SettingsError};

pub const DEFAULT_APP_NAME: &str = "Session Manager";

/// Longest `APP_NAME`, in characters: it heads pages and mail subjects.
pub const APP_NAME_MAX: usize = 60;

#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The app's name (`APP_NAME`), on every page and in every mail.
    pub app_name: String,
    pub bind: String,
    pub port: u16,
    /// Where users reach the app, for the links in mail. `None` (`PUBLIC_URL` unset): the
    /// address this server serves, `http://localhost:PORT`, set once the port is known
    /// ([`Self::resolve_public_url`]); read it with [`Self::public_url`].
    pub public_url: Option<String>,
    pub allowed_origins: Vec<String>,
    /// Deprecated shorthand: trust a proxy on the loopback interface (`TRUST_PROXY=true`).
    pub trust_proxy: bool,
    /// Proxies whose `X-Forwarded-For` entries are believed (`TRUSTED_PROXIES`, CIDRs).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// actix-web worker threads; each also holds one session-lookup connection.
    pub workers: usize,
    /// Threads for argon2id (default: one per core) and how many hashes may wait for them.
    pub hash_threads: usize,
    pub hash_queue: usize,
    pub json_limit: usize,
    pub static_dir: Option<PathBuf>,
    /// Where `GET /metrics` listens (`host:port`), apart from the API so that it is never
    /// public by accident; `None` (`METRICS_BIND=off`) serves no metrics.
    pub metrics_bind: Option<String>,
    /// Where the admin API listens (`host:port`), apart from the public API so that it is
    /// reachable only where the operator chooses; `None` (`ADMIN_BIND=off`): no admin API.
    pub admin_bind: Option<String>,
    /// A MaxMind-format country database (`.mmdb`) for the country of sign-ins.
    pub geoip_db: Option<PathBuf>,
    /// Longest wait for requests in flight when stopping.
    pub shutdown_timeout: Duration,
    /// How long a stopping instance keeps serving with `/readyz` at 503 before it stops
    /// accepting connections (for load balancers that poll readiness).
    pub shutdown_drain: Duration,
}

impl ServerSettings {
    pub fn from_env(env: &Env<'_>) -> Result<Self, SettingsError> {
        let cores = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1);
        Ok(Self {
            app_name: app_name(env)?,
            bind: env.text_or("BIND", "127.0.0.1"),
            port: env.read("PORT", 8000)?,
            public_url: public_url(env)?,
            allowed_origins: env
                .text_or(
                    "ALLOWED_ORIGINS",
                    "http://localhost:8080,http://127.0.0.1:8080",
                )
                .split(',')
                .map(|origin| origin.trim().trim_end_matches('/').to_owned())
                .filter(|origin| !origin.is_empty())
                .collect(),
            trust_proxy: env.read("TRUST_PROXY", false)?,
            trusted_proxies: trusted_proxies(env)?,
            workers: env.read_at_least("WORKERS", cores.min(8), 1)?,
            hash_threads: env.read("HASH_THREADS", cores)?,
            hash_queue: env.read("HASH_QUEUE", 256)?,
            json_limit: env.read("JSON_LIMIT_BYTES", 16 * 1024)?,
            static_dir: env.text("STATIC_DIR").map(PathBuf::from),
            metrics_bind: listen_address(env, "METRICS_BIND", "127.0.0.1:9000")?,
            admin_bind: listen_address(env, "ADMIN_BIND", "127.0.0.1:9001")?,
            geoip_db: env.text("GEOIP_DB").map(PathBuf::from),
            shutdown_timeout: env.secs("SHUTDOWN_TIMEOUT_SECS", 30)?,
            shutdown_drain: env.secs("SHUTDOWN_DRAIN_SECS", 0)?,
        })
    }

    /// Whether the server is reachable only from this machine (development).
    pub fn is_loopback(&self) -> bool {
        self.bind == "localhost" || self.bind.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// Whether a proxy is configured in front of the server.
    pub fn behind_proxy(&self) -> bool {
        self.trust_proxy || !self.trusted_proxies.is_empty()
    }

    /// Whether `ip` is a proxy whose `X-Forwarded-For` is believed.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        (self.trust_proxy && ip.is_loopback())
            || self.trusted_proxies.iter().any(|net| net.contains(&ip))
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
}

/// `APP_NAME`, trimmed: 1 to [`APP_NAME_MAX`] characters, none of them a control or bidi
/// control character (it is shown on every page and put in mail headers).
fn app_name(env: &Env<'_>) -> Result<String, SettingsError> {
    const NAME: &str = "APP_NAME";
    let Some(raw) = env.text(NAME) else {
        return Ok(DEFAULT_APP_NAME.to_owned());
    };
    let name = raw.trim();
    if name.chars().count() > APP_NAME_MAX {
        return Err(SettingsError::invalid(
            NAME,
            format!("must be at most {APP_NAME_MAX} characters"),
        ));
    }
    if name
        .chars()
        .any(|c| c.is_control() || shared::rules::is_bidi_control(c))
    {
        return Err(SettingsError::invalid(
            NAME,
            format!("{name:?} has control characters; it must be plain text"),
        ));
    }
    Ok(name.to_owned())
}

fn public_url(env: &Env<'_>) -> Result<Option<String>, SettingsError> {
    const NAME: &str = "PUBLIC_URL";
    env.text(NAME)
        .map(|url| {
            if url.starts_with("http://") || url.starts_with("https://") {
                Ok(url.trim_end_matches('/').to_owned())
            } else {
                Err(SettingsError::invalid(
                    NAME,
                    format!("{url:?} is not an http(s) URL"),
                ))
            }
        })
        .transpose()
}

fn trusted_proxies(env: &Env<'_>) -> Result<Vec<ipnet::IpNet>, SettingsError> {
    const NAME: &str = "TRUSTED_PROXIES";
    env.text(NAME)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|cidr| !cidr.is_empty())
        .map(|cidr| {
            cidr.parse::<ipnet::IpNet>()
                .or_else(|_| cidr.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    SettingsError::invalid(
                        NAME,
                        format!("{cidr:?} is not an address or a CIDR block"),
                    )
                })
        })
        .collect()
}

/// A second listener's `host:port` (`off`: none).
fn listen_address(
    env: &Env<'_>,
    name: &'static str,
    default: &str,
) -> Result<Option<String>, SettingsError> {
    let address = match env.text(name) {
        Some(off) if off.eq_ignore_ascii_case("off") => return Ok(None),
        Some(address) => address,
        None => default.to_owned(),
    };
    let has_port = address
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok());
    if !has_port {
        return Err(SettingsError::invalid(
            name,
            format!("{address:?} is not host:port (or \"off\")"),
        ));
    }
    Ok(Some(address))
}
