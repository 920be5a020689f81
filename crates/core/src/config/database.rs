//! PostgreSQL: where it is and how many connections an instance holds.
//!
//! | variable | default |
//! |---|---|
//! | `DATABASE_URL` | [`DEFAULT_DATABASE_URL`] (its password is never printed) |
//! | `CREATE_DATABASE` | `true`: the database is created if missing |
//! | `DB_POOL_SIZE` | `8` |
//! | `DB_TIMEOUT_SECS` | `5`: the longest wait for a connection |
//! | `DB_IDLE_TIMEOUT_SECS` | `60` |
//! | `EXPECTED_INSTANCES` | `4`: instances sharing the database (the start-up budget check) |
//! | `DATABASE_LISTEN_URL` | `DATABASE_URL`: where the event listener's `LISTEN` connection goes (direct to PostgreSQL when `DATABASE_URL` is a pooler) |
//! | `DATABASE_REPLICA_URL` | unset: a streaming replica for the reads that tolerate lag (lists, logs, admin reads) |
//! | `DB_REPLICA_RETRY_SECS` | `10`: how long a replica that failed is left alone |

use std::time::Duration;

use super::env::{Env, SettingsError};
use super::secret::SecretUrl;

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/session_manager";

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: SecretUrl,
    pub create_database: bool,
    pub pool_size: usize,
    pub timeout: Duration,
    /// Pooled connections unused this long are closed.
    pub idle_timeout: Duration,
    /// How many instances are expected to share the database (for the start-up check of
    /// the connection budget).
    pub expected_instances: usize,
    /// The event listener's connection (`LISTEN` needs a server session of its own, so not
    /// through a transaction-mode pooler); `None`: `url`.
    pub listen_url: Option<SecretUrl>,
    /// A streaming replica of `url` (`storage::replica`); `None`: every read goes to `url`.
    pub replica_url: Option<SecretUrl>,
    /// After a replica failed, reads skip it this long before trying it again.
    pub replica_retry: Duration,
}

impl DatabaseSettings {
    pub fn from_env(env: &Env<'_>) -> Result<Self, SettingsError> {
        Ok(Self {
            url: url(env)?,
            create_database: env.read("CREATE_DATABASE", true)?,
            // Small on purpose: four instances (pool + workers + listener each) fit in a
            // default PostgreSQL (max_connections 100) with room to spare.
            pool_size: env.read_at_least("DB_POOL_SIZE", 8, 1)?,
            timeout: env.positive_secs("DB_TIMEOUT_SECS", 5)?,
            idle_timeout: env.secs("DB_IDLE_TIMEOUT_SECS", 60)?,
            expected_instances: env.read("EXPECTED_INSTANCES", 4)?,
            listen_url: env
                .text("DATABASE_LISTEN_URL")
                .map(|listen| checked_url("DATABASE_LISTEN_URL", SecretUrl::new(listen)))
                .transpose()?,
            replica_url: env
                .text("DATABASE_REPLICA_URL")
                .map(|replica| checked_url("DATABASE_REPLICA_URL", SecretUrl::new(replica)))
                .transpose()?,
            replica_retry: env.positive_secs("DB_REPLICA_RETRY_SECS", 10)?,
        })
    }
}

impl DatabaseSettings {
    /// Where the event listener connects.
    pub fn listen_url(&self) -> &SecretUrl {
        self.listen_url.as_ref().unwrap_or(&self.url)
    }
}

fn url(env: &Env<'_>) -> Result<SecretUrl, SettingsError> {
    const NAME: &str = "DATABASE_URL";
    checked_url(
        NAME,
        SecretUrl::new(env.text_or(NAME, DEFAULT_DATABASE_URL)),
    )
}

fn checked_url(name: &'static str, url: SecretUrl) -> Result<SecretUrl, SettingsError> {
    if let Err(error) = url.expose().parse::<tokio_postgres::Config>() {
        return Err(SettingsError::invalid(
            name,
            format!(
                "{} is not a PostgreSQL URL such as postgres://user@host:5432/name ({error})",
                url.redacted()
            ),
        ));
    }
    Ok(url)
}
