//! Builds the application: database, state, routes, middleware, background sweeper.

use std::net::TcpListener;
use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use diesel_async::RunQueryDsl;
use shared::Health;
use tracing_actix_web::TracingLogger;

use crate::clock::{Clock, SystemClock};
use crate::db::{self, DbPool};
use crate::error::{ApiError, extractors};
use crate::hub::Hub;
use crate::security::CodeHasher;
use crate::settings::Settings;
use crate::telemetry::PathOnlySpans;
use crate::{activity, approvals, auth, sessions, sweeper, users, ws};

/// Everything a handler needs, shared by all workers.
pub struct AppState {
    pub pool: DbPool,
    pub hasher: crate::security::HashPool,
    pub throttle: crate::throttle::LoginThrottle,
    pub lookups: crate::session_lookup::SessionLookups,
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
    pub hub: Hub,
    pub codes: CodeHasher,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] db::DbSetupError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot start the server: {0}")]
    Server(std::io::Error),
}

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
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
        if settings.create_database {
            db::create_database_if_missing(&settings.database_url).await?;
        }
        db::run_migrations(&settings.database_url).await?;
        let pool = db::build_pool(&settings)?;

        let address = format!("{}:{}", settings.bind, settings.port);
        let listener =
            TcpListener::bind(&address).map_err(|source| StartupError::Bind { address, source })?;
        let port = listener.local_addr().map_err(StartupError::Server)?.port();
        if settings.ephemeral_secret {
            tracing::warn!(
                "SESSION_SECRET is not set: using a random key, sessions end when the server stops"
            );
        }
        let state = web::Data::new(AppState {
            codes: CodeHasher::new(&settings.session_secret),
            hasher: crate::security::HashPool::start(settings.hash_threads, settings.hash_queue),
            throttle: crate::throttle::LoginThrottle::new(
                settings.login_max_failures,
                settings.login_max_failures_per_ip,
                settings.login_failure_window,
            ),
            lookups: crate::session_lookup::SessionLookups::new(&settings),
            pool,
            settings,
            clock,
            hub: Hub::default(),
        });
        let server = server(listener, state.clone())?;
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from elsewhere (tests stop theirs when they end).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until the server is stopped, with the sweeper running beside it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let sweeper = tokio::spawn(sweeper::run(self.state.clone()));
        let result = self.server.await;
        sweeper.abort();
        result
    }
}

fn server(listener: TcpListener, state: web::Data<AppState>) -> Result<Server, StartupError> {
    let settings = &state.settings;
    let key = Key::from(&settings.session_secret);
    let cookie_name = settings.cookie_name.clone();
    let cookie_secure = settings.cookie_secure;
    let lifetime = actix_web::cookie::time::Duration::seconds(
        i64::try_from(settings.absolute_lifetime.as_secs()).unwrap_or(i64::MAX),
    );
    let json_limit = settings.json_limit;
    let static_dir = settings.static_dir.clone();
    let server = HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_name(cookie_name.clone())
            .cookie_secure(cookie_secure)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_path("/".to_owned())
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(PersistentSession::default().session_ttl(lifetime))
            .build();
        let app = App::new()
            .app_data(state.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(json_limit)
                    .error_handler(extractors::json),
            )
            .app_data(web::QueryConfig::default().error_handler(extractors::query))
            .app_data(web::PathConfig::default().error_handler(extractors::path))
            // Bodies of requests that are not JSON (none expected) are capped too.
            .app_data(web::PayloadConfig::default().limit(json_limit))
            .wrap(sessions)
            .wrap(from_fn(origin_guard))
            .wrap(TracingLogger::<PathOnlySpans>::new())
            .configure(routes);
        match &static_dir {
            Some(dir) => app.default_service(crate::spa::service(dir.clone())),
            None => app.default_service(web::to(not_found)),
        }
    })
    .listen(listener)
    .map_err(StartupError::Server)?
    .run();
    Ok(server)
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/healthz", web::get().to(healthz))
        .service(auth::signup)
        .service(auth::login)
        .service(auth::me)
        .service(auth::logout)
        .service(users::update_profile)
        .service(users::change_password)
        // `others` before `{id}`, which would otherwise match it.
        .service(sessions::revoke_other_sessions)
        .service(sessions::list_sessions)
        .service(sessions::session_history)
        .service(sessions::revoke_session)
        .service(activity::list_activity)
        .service(approvals::list_approvals)
        .service(approvals::approve)
        .service(approvals::deny)
        .service(approvals::complete)
        .service(approvals::cancel)
        .service(ws::session_socket)
        .service(
            web::resource(["/api/login/approvals/{id}/ws", "/api/ws/approvals/{id}"])
                .route(web::get().to(ws::pending_socket)),
        )
        .route("/api/{tail:.*}", web::route().to(not_found));
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("No such endpoint"))
}

async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok".into(),
        database: "ok".into(),
    }))
}

/// CSRF and cross-site WebSocket hijacking defence: a state-changing request or a socket
/// upgrade that carries an `Origin` must come from an allowed origin or the server's own
/// host. Requests without `Origin` (curl, server-to-server) pass: browsers always send it on
/// cross-site POSTs and WebSocket handshakes. SameSite=Lax on the cookie is the second layer.
async fn origin_guard(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let checked = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || request.headers().contains_key(header::UPGRADE);
    if checked && let Some(origin) = request.headers().get(header::ORIGIN) {
        let allowed = origin.to_str().is_ok_and(|origin| {
            let state = request.app_data::<web::Data<AppState>>();
            let listed = state.is_some_and(|state| {
                state
                    .settings
                    .allowed_origins
                    .iter()
                    .any(|allowed| allowed == origin)
            });
            listed
                || is_same_host(
                    origin,
                    request
                        .headers()
                        .get(header::HOST)
                        .and_then(|host| host.to_str().ok()),
                )
        });
        if !allowed {
            tracing::info!(origin = ?origin, path = request.path(), "refused a request from a foreign origin");
            return Err(ApiError::ForbiddenOrigin.into());
        }
    }
    next.call(request).await
}

/// True when `origin` is `http(s)://<host>` for the Host the browser sent to us.
fn is_same_host(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .is_some_and(|rest| rest == host)
}
