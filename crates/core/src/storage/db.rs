//! Connection pool, database creation and embedded migrations.

use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::Settings;
use crate::storage::locks;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>;

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("DATABASE_URL is invalid: {0}")]
    InvalidUrl(String),
    /// Nothing answered at the address (refused, unreachable, timed out): the operator's
    /// first question is where we looked and what the OS said.
    #[error("cannot reach PostgreSQL at {address}: {reason}")]
    Unreachable { address: String, reason: String },
    #[error("cannot build the connection pool: {0}")]
    Pool(String),
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(String),
    #[error("migrations failed: {0}")]
    Migrations(String),
}

/// `host:port` of each address in the URL's configuration, for messages.
fn addresses(config: &tokio_postgres::Config) -> String {
    let ports = config.get_ports();
    config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let port = ports
                .get(index)
                .or_else(|| ports.first())
                .copied()
                .unwrap_or(5432);
            match host {
                tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
                tokio_postgres::config::Host::Unix(dir) => {
                    format!("{}/.s.PGSQL.{port}", dir.display())
                }
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// An error and its sources, each said once ("error connecting to server: Connection
/// refused (os error 111)").
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// Checks that `DATABASE_URL` parses and that something answers at its address, before
/// anything else uses it: diesel-async reports a refused connection as a bare "error
/// connecting to server", without the address or the OS error. A server that answers with
/// an error of its own (a database that does not exist yet, a TLS requirement) counts as
/// reachable: the steps that follow report those.
pub async fn check_reachable(
    database_url: &str,
    timeout: std::time::Duration,
) -> Result<(), DbSetupError> {
    let config: tokio_postgres::Config = database_url
        .parse()
        .map_err(|error: tokio_postgres::Error| DbSetupError::InvalidUrl(chain(&error)))?;
    let address = addresses(&config);
    let connecting = config.connect(tokio_postgres::NoTls);
    match tokio::time::timeout(timeout, connecting).await {
        Ok(Ok(_connected)) => Ok(()),
        Ok(Err(error)) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
            let mut io = None;
            while let Some(cause) = source {
                if let Some(found) = cause.downcast_ref::<std::io::Error>() {
                    io = Some(found);
                }
                source = cause.source();
            }
            match io {
                Some(io) if error.as_db_error().is_none() => Err(DbSetupError::Unreachable {
                    address,
                    reason: io.to_string(),
                }),
                _ => Ok(()),
            }
        }
        Err(_) => Err(DbSetupError::Unreachable {
            address,
            reason: format!("no answer within {} s (DB_TIMEOUT_SECS)", timeout.as_secs()),
        }),
    }
}

pub fn build_pool(settings: &Settings) -> Result<DbPool, DbSetupError> {
    // `Fast`: no `SELECT 1` before every checkout (the default would double the queries of
    // the hot path). Closed connections are still dropped, and an outage surfaces as a 503
    // on the query that meets it.
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        settings.database.url.expose(),
        config,
    );
    Pool::builder(manager)
        .max_size(settings.database.pool_size)
        // Bounded waits: an outage must turn into a quick 503, not a hung request.
        .wait_timeout(Some(settings.database.timeout))
        .create_timeout(Some(settings.database.timeout))
        .recycle_timeout(Some(settings.database.timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|error| DbSetupError::Pool(error.to_string()))
}

/// How many connections one instance may hold: its pool, one session-lookup connection per
/// worker, and the event listener's.
pub fn connections_per_instance(settings: &Settings) -> usize {
    settings.database.pool_size + settings.server.workers + 1
}

/// Warns at start-up when `EXPECTED_INSTANCES` instances would not fit in PostgreSQL's
/// `max_connections` (less the connections reserved for superusers), and when the server's
/// messages are not in English (see `messages_recognised`).
pub async fn check_server_settings(pool: &DbPool, settings: &Settings) {
    #[derive(diesel::QueryableByName)]
    struct Limits {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        max_connections: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        reserved: i32,
        #[diesel(sql_type = diesel::sql_types::Text)]
        lc_messages: String,
    }
    let read = async {
        let mut conn = pool.get().await.map_err(|error| error.to_string())?;
        diesel::sql_query(
            "SELECT current_setting('max_connections')::int AS max_connections, \
                    current_setting('superuser_reserved_connections')::int AS reserved, \
                    current_setting('lc_messages') AS lc_messages",
        )
        .get_result::<Limits>(&mut conn)
        .await
        .map_err(|error| error.to_string())
    };
    let limits = match read.await {
        Ok(limits) => limits,
        Err(error) => {
            tracing::warn!(%error, "cannot read max_connections");
            return;
        }
    };
    if !messages_recognised(&limits.lc_messages) {
        tracing::warn!(
            lc_messages = %limits.lc_messages,
            "PostgreSQL's messages are not in English: a transaction it aborts to break a \
             deadlock is not recognised (its driver keeps the message, not the code), so it \
             answers 500 instead of being run again; set lc_messages = 'C' for this database \
             (ALTER DATABASE ... SET lc_messages = 'C', as a superuser)"
        );
    }
    let available = usize::try_from(limits.max_connections - limits.reserved).unwrap_or(0);
    let per_instance = connections_per_instance(settings);
    let needed = per_instance.saturating_mul(settings.database.expected_instances);
    if needed > available {
        tracing::warn!(
            per_instance,
            expected_instances = settings.database.expected_instances,
            needed,
            available,
            "connection budget: DB_POOL_SIZE + WORKERS + 1 per instance times EXPECTED_INSTANCES \
             exceeds PostgreSQL's max_connections; lower DB_POOL_SIZE or WORKERS, raise \
             max_connections, or put PgBouncer (session mode) in front"
        );
    } else {
        tracing::info!(per_instance, needed, available, "connection budget fits");
    }
}

/// Whether PostgreSQL writes its messages in English under this `lc_messages`, as
/// `storage::transaction::is_conflict` expects of a deadlock's ("deadlock detected"). Empty
/// means the server's environment, usually the C locale.
fn messages_recognised(lc_messages: &str) -> bool {
    let locale = lc_messages.to_ascii_lowercase();
    locale.is_empty()
        || locale == "c"
        || locale == "posix"
        || locale.starts_with("c.")
        || locale.starts_with("en")
}

/// Closes pooled connections unused for `idle`, so that a quiet instance holds few.
pub async fn reap_idle_connections(pool: DbPool, idle: std::time::Duration) {
    let mut interval = tokio::time::interval(idle.max(std::time::Duration::from_secs(1)) / 2);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let reaped = pool.retain(|_, metrics| metrics.last_used() < idle);
        if !reaped.removed.is_empty() {
            tracing::debug!(
                closed = reaped.removed.len(),
                "closed idle database connections"
            );
        }
    }
}

/// Splits `postgres://…/name?params` into the URL of the `postgres` maintenance database
/// and `name`.
pub fn maintenance_url(database_url: &str) -> Option<(String, String)> {
    let (base, params) = match database_url.split_once('?') {
        Some((base, params)) => (base, Some(params)),
        None => (database_url, None),
    };
    let authority_start = base.find("://")? + 3;
    let slash = base.rfind('/').filter(|&at| at >= authority_start)?;
    let name = &base[slash + 1..];
    if name.is_empty() {
        return None;
    }
    let mut url = format!("{}/postgres", &base[..slash]);
    if let Some(params) = params {
        url.push('?');
        url.push_str(params);
    }
    Some((url, name.to_owned()))
}

/// Creates the database named in the URL if it does not exist (a fresh machine then needs
/// only a running PostgreSQL).
pub async fn create_database_if_missing(database_url: &str) -> Result<(), DbSetupError> {
    use diesel::sql_types::{Bool, Text};
    use diesel_async::AsyncConnection;

    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = Bool)]
        exists: bool,
    }

    let Some((admin_url, name)) = maintenance_url(database_url) else {
        return Ok(());
    };
    let mut conn = AsyncPgConnection::establish(&admin_url)
        .await
        .map_err(|error| DbSetupError::Connect(error.to_string()))?;
    let found =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(&name)
            .get_result::<Exists>(&mut conn)
            .await
            .map_err(|error| DbSetupError::Connect(error.to_string()))?;
    if !found.exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        match diesel::sql_query(format!("CREATE DATABASE {quoted}"))
            .execute(&mut conn)
            .await
        {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // Another process may have created it in between.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {}
            Err(error) => return Err(DbSetupError::Connect(error.to_string())),
        }
    }
    Ok(())
}

/// Runs the embedded migrations. The migration harness is synchronous, so it runs on its
/// own thread, outside any async runtime (it would otherwise block a worker).
pub async fn run_migrations(database_url: &str) -> Result<(), DbSetupError> {
    use diesel::Connection;
    use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;

    let url = database_url.to_owned();
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .map_err(|error| DbSetupError::Connect(error.to_string()))
            .and_then(|mut conn| {
                // One instance migrates; the others wait here, then find nothing to do.
                // Without the lock, instances starting together on an empty database fail
                // on each other's half-made tables and types.
                use diesel::connection::SimpleConnection;
                let lock = |conn: &mut AsyncConnectionWrapper<AsyncPgConnection>, sql: &str| {
                    conn.batch_execute(&format!("SELECT {sql}({})", locks::MIGRATIONS))
                        .map_err(|error| DbSetupError::Migrations(error.to_string()))
                };
                lock(&mut conn, "pg_advisory_lock")?;
                let applied = conn
                    .run_pending_migrations(MIGRATIONS)
                    .map(|applied| applied.len())
                    .map_err(|error| DbSetupError::Migrations(error.to_string()));
                // Closing the connection would release it too; unlocking says so at once.
                let unlocked = lock(&mut conn, "pg_advisory_unlock");
                let applied = applied?;
                unlocked.map(|()| applied)
            });
        let _ = sender.send(result);
    });
    let applied = receiver
        .await
        .map_err(|_| DbSetupError::Migrations("migration thread died".into()))??;
    if applied > 0 {
        tracing::info!(applied, "applied database migrations");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{maintenance_url, messages_recognised};

    #[test]
    fn english_and_c_locales_are_recognised_and_others_are_not() {
        for english in ["", "C", "POSIX", "C.UTF-8", "en_US.UTF-8", "en_GB.utf8"] {
            assert!(messages_recognised(english), "{english}");
        }
        for other in ["de_DE.UTF-8", "fr_FR.UTF-8", "ja_JP.UTF-8"] {
            assert!(!messages_recognised(other), "{other}");
        }
    }

    #[test]
    fn maintenance_url_swaps_the_database_name() {
        assert_eq!(
            maintenance_url("postgres://u:p@h:5432/app?sslmode=disable"),
            Some((
                "postgres://u:p@h:5432/postgres?sslmode=disable".into(),
                "app".into()
            ))
        );
        assert_eq!(maintenance_url("postgres://h:5432"), None);
    }
}
