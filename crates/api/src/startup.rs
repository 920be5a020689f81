//! Builds the application: database, state, routes, middleware, the event listener and the
//! background tasks; stops it gracefully.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_http::HttpService;
use actix_service::{IntoServiceFactory, map_config};
use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{AppConfig, Server};
use actix_web::http::KeepAlive;
use actix_web::middleware::from_fn;
use actix_web::{App, web};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::{Clock, Settings, SystemClock};
use crate::events;
use crate::http::cookies::persist_session_cookie;
use crate::http::error::extractors;
use crate::http::middleware::{origin_guard, security_headers};
use crate::http::routes;
use crate::http::session_cookie::{ForCookieWrites, SessionCookieReader};
use crate::http::telemetry::{PathOnlySpans, record_request};
use crate::services::{mailer, sweeper, webhook_delivery};
use crate::state::AppState;
use crate::storage::db;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] db::DbSetupError),
    /// `setting` names the variable that chose the address (`PORT`, `METRICS_BIND`,
    /// `ADMIN_BIND`).
    #[error("cannot listen on {address} ({setting}): {source}")]
    Bind {
        setting: &'static str,
        address: String,
        source: std::io::Error,
    },
    #[error("cannot start the server: {0}")]
    Server(std::io::Error),
    #[error(transparent)]
    GeoIp(#[from] crate::storage::geoip::GeoIpError),
    #[error(transparent)]
    Settings(crate::config::SettingsError),
    #[error("cannot end the sessions of the earlier key: {}", .0.chain())]
    Sessions(crate::error::Error),
    #[error("cannot set up SMTP_URL: {}", .0.chain())]
    Mail(crate::error::Error),
    #[error("cannot set up the webhook client: {}", .0.chain())]
    Webhooks(crate::error::Error),
}

pub struct Application {
    port: u16,
    server: Server,
    /// `GET /metrics` on `METRICS_BIND`, when set.
    metrics: Option<(u16, Server)>,
    /// The admin API on `ADMIN_BIND`, when set.
    admin: Option<(u16, Server)>,
    state: web::Data<AppState>,
    listener: tokio::task::JoinHandle<()>,
    /// How the mail worker sends (from `SMTP_URL` unless a test chose another).
    mail_transport: Arc<mailer::Transport>,
    /// What the webhook worker sends deliveries with.
    webhook_sender: webhook_delivery::Sender,
}

/// Stops an application gracefully: `/readyz` turns 503, every socket closes with 1012
/// (clients reconnect elsewhere at once), the listener stops accepting, and requests in
/// flight finish. SIGTERM and SIGINT do this for the binary.
#[derive(Clone)]
pub struct Stopper {
    state: web::Data<AppState>,
    server: actix_web::dev::ServerHandle,
}

impl Stopper {
    pub async fn stop(&self) {
        if self.state.stopping.send_replace(true) {
            return;
        }
        tracing::info!("stopping: closing sockets, finishing requests in flight");
        self.state.events.hub().restart_all();
        // `/readyz` answers 503 from now on; give load balancers time to notice.
        tokio::time::sleep(self.state.settings.server.shutdown_drain).await;
        self.server.stop(true).await;
    }
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Like `build`, with the clock used for every expiry decision (tests move it).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        settings
            .session
            .check_cookie()
            .map_err(StartupError::Settings)?;
        crate::telemetry::metrics::install();
        db::check_reachable(settings.database.url.expose(), settings.database.timeout).await?;
        if settings.database.create_database {
            db::create_database_if_missing(settings.database.url.expose()).await?;
        }
        db::run_migrations(settings.database.url.expose()).await?;
        let pool = db::build_pool(&settings)?;
        db::check_server_settings(&pool, &settings).await;

        let address = format!("{}:{}", settings.server.bind, settings.server.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            setting: "BIND, PORT",
            address,
            source,
        })?;
        let port = listener.local_addr().map_err(StartupError::Server)?.port();
        let mut settings = settings;
        settings.server.resolve_public_url(port);
        let geoip = settings
            .server
            .geoip_db
            .as_deref()
            .map(crate::storage::geoip::GeoIp::open)
            .transpose()?;
        let state = web::Data::new(AppState::new(pool, settings, clock, geoip));
        if state.settings.session.ephemeral_secret {
            // No cookie made with an earlier key can be read any more: the sessions behind
            // them would hold slots (and ask this very browser for an approval) for an hour.
            let ended = crate::services::sessions::end_unreachable(&state)
                .await
                .map_err(StartupError::Sessions)?;
            tracing::warn!(
                ended_sessions = ended,
                "SESSION_SECRET is not set: using a one-off key. Every session made before \
                 this start has ended, and the sessions made now end when this server \
                 stops. Set SESSION_SECRET (scripts/run keeps one in .session-secret) to \
                 keep sessions across restarts"
            );
        }
        sweeper::prepare_partitions(&state).await;
        // Listening before serving: no event of this instance's sockets can be missed.
        let listener_task = tokio::spawn(events::listener::run(
            state.events.clone(),
            state.settings.database.listen_url().expose().to_owned(),
            state.stopping.subscribe(),
        ));
        let metrics = second_listener(
            "METRICS_BIND",
            state.settings.server.metrics_bind.as_deref(),
            &state,
            crate::http::metrics::server,
        )?;
        let admin = second_listener(
            "ADMIN_BIND",
            state.settings.server.admin_bind.as_deref(),
            &state,
            crate::http::admin::server::server,
        )?;
        let mail_transport =
            mailer::Transport::from_settings(&state.settings).map_err(StartupError::Mail)?;
        let webhook_sender = webhook_delivery::Sender::new(&state.settings.webhooks)
            .map_err(StartupError::Webhooks)?;
        let server = server(listener, state.clone())?;
        Ok(Self {
            port,
            server,
            metrics,
            admin,
            state,
            listener: listener_task,
            mail_transport: Arc::new(mail_transport),
            webhook_sender,
        })
    }

    /// Sends mail through `transport` instead of what `SMTP_URL` says (tests keep it in
    /// memory); call before running.
    #[must_use]
    pub fn with_mail_transport(mut self, transport: mailer::Transport) -> Self {
        self.mail_transport = Arc::new(transport);
        self
    }

    /// The mail worker's transport, to deliver mail from elsewhere (tests deliver it at
    /// once with `mailer::deliver_due`).
    pub fn mail_transport(&self) -> Arc<mailer::Transport> {
        self.mail_transport.clone()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of `GET /metrics`, if `METRICS_BIND` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// The port of the admin API, if `ADMIN_BIND` is set.
    pub fn admin_port(&self) -> Option<u16> {
        self.admin.as_ref().map(|(port, _)| *port)
    }

    /// Stops the server from elsewhere (tests stop theirs when they end).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Stops this application gracefully (what SIGTERM does to the binary).
    pub fn stopper(&self) -> Stopper {
        Stopper {
            state: self.state.clone(),
            server: self.server.handle(),
        }
    }

    /// Serves until the server is stopped, with the housekeeping beside it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let state = self.state.clone();
        let sweeper = tokio::spawn(async move { sweeper::run(&state).await });
        let state = self.state.clone();
        let transport = self.mail_transport.clone();
        let mailer = tokio::spawn(async move { mailer::run(&state, &transport).await });
        let state = self.state.clone();
        let sender = self.webhook_sender.clone();
        let webhooks = tokio::spawn(async move { webhook_delivery::run(&state, &sender).await });
        let state = self.state.clone();
        let heartbeat =
            tokio::spawn(async move { crate::http::ws::session::recheck_held(&state).await });
        let reaper = tokio::spawn(db::reap_idle_connections(
            self.state.pool.clone(),
            self.state.settings.database.idle_timeout,
        ));
        let beside: Vec<_> = [self.metrics, self.admin]
            .into_iter()
            .flatten()
            .map(|(_, server)| {
                let handle = server.handle();
                (handle, tokio::spawn(server))
            })
            .collect();
        let result = self.server.await;
        for (handle, task) in beside {
            handle.stop(false).await;
            task.abort();
        }
        sweeper.abort();
        mailer.abort();
        webhooks.abort();
        reaper.abort();
        heartbeat.abort();
        self.listener.abort();
        result
    }

    /// Like `run_until_stopped`, and stops gracefully on SIGTERM or SIGINT.
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        let stopper = self.stopper();
        let signals = tokio::spawn(async move {
            wait_for_signal().await;
            stopper.stop().await;
        });
        let result = self.run_until_stopped().await;
        signals.abort();
        result
    }
}

/// A listener beside the API's (`METRICS_BIND`, `ADMIN_BIND`), when its setting names an
/// address: its port and its server.
fn second_listener(
    setting: &'static str,
    address: Option<&str>,
    state: &web::Data<AppState>,
    serve: fn(TcpListener, web::Data<AppState>) -> std::io::Result<Server>,
) -> Result<Option<(u16, Server)>, StartupError> {
    let Some(address) = address else {
        return Ok(None);
    };
    let listener = TcpListener::bind(address).map_err(|source| StartupError::Bind {
        setting,
        address: address.to_owned(),
        source,
    })?;
    let port = listener.local_addr().map_err(StartupError::Server)?.port();
    let server = serve(listener, state.clone()).map_err(StartupError::Server)?;
    Ok(Some((port, server)))
}

fn server(listener: TcpListener, state: web::Data<AppState>) -> Result<Server, StartupError> {
    let settings = &state.settings;
    let key = Key::from(settings.session.secret.expose());
    let cookie_name = settings.session.session_cookie_name();
    let session_cookies = web::Data::new(
        SessionCookieReader::new(&key, cookie_name.clone()).ok_or_else(|| {
            StartupError::Server(std::io::Error::other(
                "the session key has no 256-bit cipher key",
            ))
        })?,
    );
    let cookie_secure = settings.session.cookie_secure;
    let cookie_domain = settings.session.cookie_domain.clone();
    let json_limit = settings.server.json_limit;
    let static_dir = settings.server.static_dir.clone();
    // From the settings as the state holds them (after the listener is bound), once.
    let spa_policy = web::Data::new(crate::http::spa::SpaPolicy::load(
        static_dir.as_deref(),
        settings,
    ));
    let spa = static_dir
        .clone()
        .map(|dir| crate::http::spa::Spa::load(dir, cookie_name.clone()));
    let api_document = crate::http::openapi::document(&cookie_name);
    let known_routes = web::Data::new(crate::http::known_routes::KnownRoutes::from_document(
        &api_document,
    ));
    let published_document = web::Data::new(
        crate::http::openapi::Published::new(&api_document)
            .map_err(|error| StartupError::Server(std::io::Error::other(error)))?,
    );
    let workers = settings.server.workers;
    let settings_shutdown_timeout = settings.server.shutdown_timeout.as_secs();
    let app = move || {
        let sessions = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_name(cookie_name.clone())
            .cookie_secure(cookie_secure)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_path("/".to_owned())
            .cookie_domain(cookie_domain.clone())
            .cookie_content_security(CookieContentSecurity::Private)
            // A browser-session cookie; "keep me signed in" gives it a Max-Age per session
            // (`http::cookies::persist_session_cookie`). The server enforces the lifetimes.
            .session_lifecycle(BrowserSession::default())
            .build();
        let app = App::new()
            .app_data(state.clone())
            .app_data(session_cookies.clone())
            .app_data(spa_policy.clone())
            .app_data(known_routes.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(json_limit)
                    .error_handler(extractors::json),
            )
            .app_data(web::QueryConfig::default().error_handler(extractors::query))
            .app_data(web::PathConfig::default().error_handler(extractors::path))
            // Bodies of requests that are not JSON (none expected) are capped too.
            .app_data(web::PayloadConfig::default().limit(json_limit))
            // Only requests that may write the cookie pass through actix-session, and through
            // the cookie's lifetime after it; every handler reads it with `session_cookie`
            // (actix-session decrypts eagerly, on every request).
            .wrap(ForCookieWrites(sessions))
            .wrap(ForCookieWrites(from_fn(persist_session_cookie)))
            .wrap(from_fn(origin_guard))
            .wrap(from_fn(security_headers))
            .wrap(from_fn(record_request))
            .wrap(TracingLogger::<PathOnlySpans>::new())
            .into_utoipa_app()
            .configure(routes::configure)
            .into_app()
            .app_data(published_document.clone())
            .route(
                "/api/openapi.json",
                web::get().to(crate::http::openapi::published),
            )
            .service(
                SwaggerUi::new("/api/docs/{_:.*}")
                    .config(utoipa_swagger_ui::Config::from("/api/openapi.json")),
            )
            .service(web::redirect("/api/docs", "/api/docs/"));
        match &spa {
            Some(spa) => app.default_service(spa.clone().service()),
            None => app.default_service(web::to(routes::not_found)),
        }
    };
    // actix-web's `HttpServer`, built from its parts (with its defaults) for one addition:
    // upgrade requests go to `http::upgraded`, which serves a held socket without the
    // dispatcher's two 8 KiB buffers.
    let address = listener.local_addr().map_err(StartupError::Server)?;
    let builder = Server::build();
    let shutdown_signal = builder.graceful_shutdown_signal();
    let server = builder
        // Signals are ours (see `run_until_signalled`): sockets must be closed before workers stop.
        .disable_signals()
        .shutdown_timeout(settings_shutdown_timeout)
        .workers(workers)
        .listen("api", listener, move || {
            // `HttpServer` would put the listener's address here (its constructor is not
            // public): read only for a request with no `Host` header, and nothing here reads it.
            let config = AppConfig::default();
            let signal = shutdown_signal.clone();
            let upgrades = crate::http::upgraded::factory(app().into_factory(), config.clone());
            HttpService::build()
                .graceful_shutdown_signal(move || {
                    let signal = signal.clone();
                    async move { signal.notified().await }
                })
                .keep_alive(KeepAlive::default())
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .local_addr(address)
                .upgrade(upgrades)
                .finish(map_config(app().into_factory(), move |()| config.clone()))
                .tcp()
        })
        .map_err(StartupError::Server)?
        .run();
    Ok(server)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut terminate), Ok(mut interrupt)) => {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM received"),
                _ = interrupt.recv() => tracing::info!("SIGINT received"),
            }
        }
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(%error, "cannot listen for signals; stop the server with SIGKILL");
            std::future::pending::<()>().await;
        }
    }
}
