//! What every request and background task shares: the pool, the settings, the clock and
//! the long-lived helpers built from them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::config::{Clock, Settings};
use crate::error::Error;
use crate::events::Events;
use crate::events::unit_of_work::{self, Committed, Tx, Work};
use crate::model::admission::Limits;
use crate::model::passwords::HashPool;
use crate::model::secrets::{CodeHasher, DeviceCookies};
use crate::model::session::Lifetimes;
use crate::storage::DbConn;
use crate::storage::DbPool;
use crate::storage::geoip::GeoIp;
use crate::storage::lookup::SessionLookups;
use crate::storage::replica::{self, Replica};
use uuid::Uuid;

pub struct AppState {
    pub pool: DbPool,
    /// `DATABASE_REPLICA_URL`'s pool, for the reads that tolerate lag ([`Self::reader`]).
    pub replica: Option<Replica>,
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
    /// argon2id threads.
    pub hasher: HashPool,
    /// Keyed hashes of approval codes.
    pub codes: CodeHasher,
    /// Signs and checks device cookies.
    pub device_cookies: DeviceCookies,
    /// The batched read behind every authenticated request.
    pub lookups: SessionLookups,
    pub events: Arc<Events>,
    /// The country of an address, when `GEOIP_DB` is set.
    pub geoip: Option<GeoIp>,
    /// Turns true when the server starts to stop (`/readyz` answers 503 from then on).
    pub stopping: watch::Sender<bool>,
    /// Content-Security-Policy violations browsers reported (`POST /api/csp-reports`).
    pub csp_reports: std::sync::atomic::AtomicU64,
}

impl AppState {
    pub fn new(
        pool: DbPool,
        settings: Settings,
        clock: Arc<dyn Clock>,
        geoip: Option<GeoIp>,
    ) -> Self {
        let replica = Replica::from_settings(&settings.database).unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot use DATABASE_REPLICA_URL; every read goes to the primary");
            None
        });
        Self {
            replica,
            geoip,
            codes: CodeHasher::new(settings.session.secret.expose()),
            device_cookies: DeviceCookies::new(settings.session.secret.expose()),
            hasher: HashPool::start(settings.server.hash_threads, settings.server.hash_queue),
            lookups: SessionLookups::new(&settings),
            events: Arc::new(Events::new(pool.clone(), settings.approval.max_attempts)),
            stopping: watch::Sender::new(false),
            csp_reports: std::sync::atomic::AtomicU64::new(0),
            pool,
            settings,
            clock,
        }
    }

    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// The country of an address, if a GeoIP database is configured and knows it.
    pub fn country_of(&self, ip: &str) -> Option<String> {
        self.geoip.as_ref().and_then(|geoip| geoip.country(ip))
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Runs `work` as one unit of work on a connection of the pool, at the clock's `now`
    /// (see `events::unit_of_work`).
    pub async fn unit_of_work<T, F>(&self, work: F) -> Result<T, Error>
    where
        for<'c> F: AsyncFn(Tx<'c>) -> Result<Committed<T>, Error> + Work<'c, T>,
        F: Send + Sync,
        T: Send,
    {
        let mut conn = self.pool.get().await?;
        if self.replica.is_none() {
            return unit_of_work::run(&mut conn, self.now(), work).await;
        }
        // Committed: the accounts' next reads must see it, on the replica too.
        let (result, accounts) =
            unit_of_work::run_telling_accounts(&mut conn, self.now(), work).await;
        replica::record_writes(&mut conn, &accounts).await;
        result
    }

    /// A connection for a read of the account's rows that may lag behind (lists, logs):
    /// the replica's when one is configured, up and caught up with the account's own
    /// last change, else the primary's (see `storage::replica`).
    pub async fn reader(&self, user_id: Uuid) -> Result<DbConn, Error> {
        replica::reader(&self.pool, self.replica.as_ref(), user_id).await
    }

    pub fn lifetimes(&self) -> Lifetimes {
        Lifetimes {
            idle: self.settings.session.idle_timeout,
            absolute: self.settings.session.absolute_lifetime,
        }
    }

    pub fn limits(&self) -> Limits {
        Limits {
            policy: self.settings.session.limit_policy,
            max_sessions: self.settings.session.max_sessions,
            max_pending_requests: self.settings.approval.max_pending,
            max_requests_per_hour: self.settings.approval.max_requests_per_hour,
            denial_cooldown: crate::model::session::chrono_duration(
                self.settings.approval.denial_cooldown,
            ),
        }
    }
}
