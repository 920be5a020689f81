//! A running server on its own database, and what tests do to it from outside the API:
//! run the sweeper or the mail worker now, read or change what is stored.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use api::AppState;
use api::Application;
use api::config::{Clock, Settings, ShiftedClock};
use api::services::mailer::{self, Delivered, Transport};
use api::services::webhook_delivery;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{CHROME_LINUX, Device, FIREFOX_WINDOWS, MemoryMailbox, PASSWORD, TestDatabase};

pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// Where `GET /metrics` listens (its own port).
    pub metrics_address: String,
    /// Where the admin API listens (its own port).
    pub admin_address: String,
    pub database_url: String,
    pub clock: ShiftedClock,
    pub state: web::Data<AppState>,
    /// What this instance's mail worker sends through (`deliver_mail` uses it too).
    mail_transport: Arc<Transport>,
    /// What `deliver_webhooks` sends with (built as the instance's worker builds its own).
    webhook_sender: webhook_delivery::Sender,
    server: actix_web::dev::ServerHandle,
    /// Dropped after the server: the database goes when the test ends.
    _database: Arc<TestDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the workers so their database connections close with the test.
        drop(self.server.stop(false));
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the server on its own database, cloned from the migrated template;
/// `configure` adjusts the settings.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let database = Arc::new(TestDatabase::create().await);
    spawn_app_on(database, configure).await
}

/// Starts another instance on an existing test database, handed over once it hears events.
pub async fn spawn_app_on(
    database: Arc<TestDatabase>,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let (app, application) = build_app_on(database, configure).await;
    tokio::spawn(application.run_until_stopped());
    app.wait_until_listening().await;
    app
}

/// Starts an instance on `database` whose mail stays in memory, in the mailbox returned.
pub async fn spawn_app_with_memory_mail(database: Arc<TestDatabase>) -> (TestApp, MemoryMailbox) {
    let mailbox = MemoryMailbox::default();
    let (app, application) =
        build_app_with_transport(database, |_| {}, Some(mailbox.transport())).await;
    tokio::spawn(application.run_until_stopped());
    app.wait_until_listening().await;
    (app, mailbox)
}

/// Builds an instance without running it yet (tests that stop it need its `Application`).
pub async fn build_app_on(
    database: Arc<TestDatabase>,
    configure: impl FnOnce(&mut Settings),
) -> (TestApp, Application) {
    build_app_with_transport(database, configure, None).await
}

async fn build_app_with_transport(
    database: Arc<TestDatabase>,
    configure: impl FnOnce(&mut Settings),
    mail_transport: Option<Transport>,
) -> (TestApp, Application) {
    // `TEST_LOG=1 cargo test …` shows the server's log (RUST_LOG filters it).
    if std::env::var_os("TEST_LOG").is_some() {
        api::telemetry::init(api::telemetry::Output::Stdout);
    }
    let mut settings = Settings::for_tests(&database.url);
    // The sweeper would race the tests that drive it by hand.
    settings.retention.sweep_interval = Duration::from_secs(3600);
    settings.database.pool_size = 8;
    // The template is already migrated.
    settings.database.create_database = false;
    // The tests' webhook receivers listen on loopback.
    settings.webhooks.allow_private = true;
    configure(&mut settings);
    let clock = ShiftedClock::default();
    let database_url = settings.database.url.expose().to_owned();
    let mut application = Application::build_with_clock(settings, Arc::new(clock.clone()))
        .await
        .expect("the application starts");
    if let Some(transport) = mail_transport {
        application = application.with_mail_transport(transport);
    }
    let port = application.port();
    let metrics_port = application
        .metrics_port()
        .expect("tests serve metrics on a port of their own");
    let admin_port = application
        .admin_port()
        .expect("tests serve the admin API on a port of their own");
    let app = TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        metrics_address: format!("http://127.0.0.1:{metrics_port}"),
        admin_address: format!("http://127.0.0.1:{admin_port}"),
        database_url,
        clock,
        state: application.state(),
        mail_transport: application.mail_transport(),
        webhook_sender: webhook_delivery::Sender::new(&application.state().settings.webhooks)
            .expect("the webhook client builds"),
        server: application.handle(),
        _database: database,
    };
    (app, application)
}

/// Two instances of the API on one database, as behind a load balancer.
pub struct Pair {
    pub a: TestApp,
    pub b: TestApp,
}

pub async fn spawn_two_instances() -> Pair {
    spawn_two_instances_with(|_| {}).await
}

pub async fn spawn_two_instances_with(configure: impl Fn(&mut Settings)) -> Pair {
    let database = Arc::new(TestDatabase::create().await);
    // Each is handed over once it hears events (`spawn_app_on`).
    let a = spawn_app_on(database.clone(), &configure).await;
    let b = spawn_app_on(database, &configure).await;
    Pair { a, b }
}

impl TestApp {
    /// Waits until `/readyz` says this instance hears every event.
    pub async fn wait_until_ready(&self) {
        for _ in 0..100 {
            if reqwest::get(self.url("/readyz"))
                .await
                .is_ok_and(|response| response.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the instance never became ready");
    }

    /// Waits until this instance listens for events: one committed before that would not
    /// reach its sockets (a reconnect resynchronises their sessions, not their alerts).
    pub async fn wait_until_listening(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !self.state.events.is_listening() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the instance never listened for events"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Runs a housekeeping pass now, asserting that every step of it succeeded.
    pub async fn sweep(&self) {
        let swept = self.sweep_once().await;
        assert_eq!(
            swept.failed_steps, 0,
            "a sweeper step failed (the log says which)"
        );
    }

    /// Runs a housekeeping pass now: what it did. This instance's own background sweeper may
    /// hold the lock at this moment (a pass is skipped then): wait for it, and run one of our
    /// own.
    pub async fn sweep_once(&self) -> api::services::sweeper::Swept {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let swept = api::services::sweeper::sweep(&self.state)
                .await
                .expect("sweep runs");
            if swept.ran {
                return swept;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the sweeper's lock stayed taken"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Delivers every mail due now, as this instance's mail worker does, and waits for the
    /// mail another worker is sending at this moment: when it returns, every mail due is
    /// recorded as sent, retried later or given up on. (A claim left by a worker that died
    /// holds its mail until the claim runs out: move the clock past it first.)
    pub async fn deliver_mail(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if self.deliver_due_mail().await != Delivered::default() {
                continue;
            }
            if self.mail_due().await == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "a mail stayed claimed by another worker"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// One pass of this instance's mail worker, now.
    pub async fn deliver_due_mail(&self) -> Delivered {
        mailer::deliver_due(&self.state, &self.mail_transport)
            .await
            .expect("the mail pass runs")
    }

    /// Delivers every webhook due now, as this instance's worker does, and waits for what
    /// another worker is delivering at this moment: when it returns, every delivery due is
    /// recorded as delivered, retried later or given up on.
    pub async fn deliver_webhooks(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let done = webhook_delivery::deliver_due(&self.state, &self.webhook_sender)
                .await
                .expect("the webhook pass runs");
            if done != webhook_delivery::Delivered::default() {
                continue;
            }
            let due = self
                .count(&format!(
                    "SELECT count(*) AS n FROM webhook_deliveries d \
                     JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                     WHERE d.delivered_at IS NULL AND d.failed_at IS NULL \
                       AND e.disabled_at IS NULL AND d.next_attempt_at <= '{}'",
                    self.clock.now().to_rfc3339()
                ))
                .await;
            if due == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "a webhook delivery stayed claimed by another worker"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Mail neither sent nor given up on (due now or retried later).
    pub async fn unsent_mail(&self) -> i64 {
        self.count(
            "SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL",
        )
        .await
    }

    /// Unsent mail due by this instance's clock, claimed by a worker or not.
    async fn mail_due(&self) -> i64 {
        self.count(&format!(
            "SELECT count(*) AS n FROM mail_outbox \
             WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= '{}'",
            self.clock.now().to_rfc3339()
        ))
        .await
    }

    /// A query's single `n`.
    pub async fn count(&self, query: &str) -> i64 {
        self.sql(query).await[0]["n"].as_i64().expect("a count")
    }

    /// Raw SQL on the test's database (to inspect what was stored).
    pub async fn sql(&self, query: &str) -> Vec<Value> {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            row: String,
        }
        let mut conn = AsyncPgConnection::establish(&self.database_url)
            .await
            .expect("database connects");
        diesel::sql_query(format!("SELECT to_jsonb(t)::text AS row FROM ({query}) t"))
            .load::<Row>(&mut conn)
            .await
            .expect("query runs")
            .into_iter()
            .map(|row| serde_json::from_str(&row.row).expect("valid json"))
            .collect()
    }

    /// A statement on the test's database that returns no rows (to change what is stored
    /// behind the API's back).
    pub async fn execute(&self, statement: &str) {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        let mut conn = AsyncPgConnection::establish(&self.database_url)
            .await
            .expect("database connects");
        diesel::sql_query(statement)
            .execute(&mut conn)
            .await
            .expect("statement runs");
    }

    pub async fn active_sessions_in_db(&self) -> i64 {
        self.count("SELECT count(*) AS n FROM sessions WHERE ended_at IS NULL")
            .await
    }

    /// A user with one session: the device that signed up.
    pub async fn user_with_one_session(&self) -> Device {
        self.signed_up("ada@example.com").await
    }

    /// A user with two sessions: the device that signed up (Chrome on Linux) and a second
    /// one it approved (Firefox on Windows).
    pub async fn user_with_two_sessions(&self) -> (Device, Device) {
        let first = self.user_with_one_session().await;
        let second = self
            .second_device(&first, "ada@example.com", FIREFOX_WINDOWS)
            .await;
        (first, second)
    }

    /// A device that has signed up (and so holds the user's first session).
    pub async fn signed_up(&self, email: &str) -> Device {
        let device = self.device(CHROME_LINUX);
        let response = device
            .post(
                "/api/auth/signup",
                json!({"email": email, "password": PASSWORD, "name": "Ada"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        device
    }

    /// Logs a second device in through the whole approval flow, approving from `approver`.
    pub async fn second_device(
        &self,
        approver: &Device,
        email: &str,
        user_agent: &'static str,
    ) -> Device {
        let device = self.device(user_agent);
        let response = device
            .post(
                "/api/auth/login",
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let body: Value = response.json().await.expect("json");
        let id = body["approval_id"]
            .as_str()
            .expect("approval id")
            .to_owned();
        let approved = approver
            .post(
                &format!("/api/approvals/{id}/approve"),
                json!({"code": body["code"]}),
            )
            .await;
        assert_eq!(approved.status(), StatusCode::OK);
        let completed = device
            .post(
                &format!("/api/login/approvals/{id}/complete"),
                json!({"pending_token": body["pending_token"]}),
            )
            .await;
        assert_eq!(completed.status(), StatusCode::OK);
        device
    }
}

/// The variables a test's `api serve` process runs with, beside whatever it sets itself:
/// `database_url`, which the test made; a free port (written to its `--port-file`); no
/// metrics or admin listener.
pub fn serving_env<'a>(
    command: &'a mut std::process::Command,
    database_url: &str,
) -> &'a mut std::process::Command {
    command
        .env("DATABASE_URL", database_url)
        .env("CREATE_DATABASE", "false")
        .env("PORT", "0")
        .env("METRICS_BIND", "off")
        .env("ADMIN_BIND", "off")
}

/// What a server started with `--port-file PATH` wrote there once it listens (its port), or
/// `None` if it has not within 10 s.
pub async fn port_from_file(path: &std::path::Path) -> Option<String> {
    for _ in 0..200 {
        let port = std::fs::read_to_string(path).unwrap_or_default();
        if !port.is_empty() {
            return Some(port);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    None
}
