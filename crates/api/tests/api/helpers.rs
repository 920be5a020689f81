use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use api::AppState;
use api::Application;
use api::config::{Settings, ShiftedClock};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::ws::{PendingMessage, ServerMessage};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub use crate::database::TestDatabase;

pub const PASSWORD: &str = "correct horse battery";

pub const CHROME_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
pub const FIREFOX_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
pub const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// Where `GET /metrics` listens (its own port).
    pub metrics_address: String,
    pub database_url: String,
    pub clock: ShiftedClock,
    pub state: web::Data<AppState>,
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

/// Starts another instance on an existing test database.
pub async fn spawn_app_on(
    database: Arc<TestDatabase>,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let (app, application) = build_app_on(database, configure).await;
    tokio::spawn(application.run_until_stopped());
    app
}

/// Builds an instance without running it yet (tests that stop it need its `Application`).
pub async fn build_app_on(
    database: Arc<TestDatabase>,
    configure: impl FnOnce(&mut Settings),
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
    configure(&mut settings);
    let clock = ShiftedClock::default();
    let database_url = settings.database.url.expose().to_owned();
    let application = Application::build_with_clock(settings, Arc::new(clock.clone()))
        .await
        .expect("the application starts");
    let port = application.port();
    let metrics_port = application
        .metrics_port()
        .expect("tests serve metrics on a port of their own");
    let state = application.state();
    let server = application.handle();
    let app = TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        metrics_address: format!("http://127.0.0.1:{metrics_port}"),
        database_url,
        clock,
        state,
        server,
        _database: database,
    };
    (app, application)
}

/// One browser: its own cookie jar and user agent.
pub struct Device {
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub base: String,
    pub user_agent: &'static str,
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
    let a = spawn_app_on(database.clone(), &configure).await;
    let b = spawn_app_on(database, &configure).await;
    // Both hear events before the test acts.
    a.wait_until_ready().await;
    b.wait_until_ready().await;
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

    pub fn device(&self, user_agent: &'static str) -> Device {
        self.device_with_headers(user_agent, reqwest::header::HeaderMap::new())
    }

    /// A device whose requests come through a proxy from `ip` (`X-Forwarded-For`; the app
    /// must trust the proxy).
    pub fn device_at(&self, user_agent: &'static str, ip: &str) -> Device {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", ip.parse().expect("an address"));
        self.device_with_headers(user_agent, headers)
    }

    fn device_with_headers(
        &self,
        user_agent: &'static str,
        headers: reqwest::header::HeaderMap,
    ) -> Device {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .user_agent(user_agent)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client builds");
        Device {
            client,
            jar,
            base: self.address.clone(),
            user_agent,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// One pass of the sweeper, now.
    pub async fn sweep(&self) {
        api::services::sweeper::sweep(&self.state)
            .await
            .expect("sweep runs");
    }

    /// A user with one session: the device that signed up.
    pub async fn user_with_one_session(&self) -> Device {
        self.signed_up("ada@example.com").await
    }

    /// A login from a new device that now waits for approval.
    pub async fn pending_approval(&self, email: &str, user_agent: &'static str) -> Waiting {
        Waiting::start(self, email, user_agent).await
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

    /// Waits until the mail worker has recorded every mail as sent: the SMTP server may
    /// hold a mail a moment before its sender commits what it wrote alongside (the
    /// "this wasn't me" link's hash, the erased payload).
    pub async fn wait_until_mail_recorded(&self) {
        for _ in 0..200 {
            let waiting = self
                .sql("SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL")
                .await;
            if waiting[0]["n"] == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("mail stayed unsent in the outbox");
    }

    pub async fn active_sessions_in_db(&self) -> i64 {
        let rows = self
            .sql("SELECT count(*) AS n FROM sessions WHERE ended_at IS NULL")
            .await;
        rows[0]["n"].as_i64().expect("a count")
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

impl Device {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The same browser (cookie jar and user agent) talking to another instance.
    pub fn via(&self, app: &TestApp) -> Device {
        let client = reqwest::Client::builder()
            .cookie_provider(self.jar.clone())
            .user_agent(self.user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client builds");
        Device {
            client,
            jar: self.jar.clone(),
            base: app.address.clone(),
            user_agent: self.user_agent,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn patch(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post(
            "/api/auth/login",
            json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn me(&self) -> reqwest::Response {
        self.get("/api/auth/me").await
    }

    pub async fn session_id(&self) -> String {
        let body: Value = self.me().await.json().await.expect("json");
        body["session"]["id"]
            .as_str()
            .expect("session id")
            .to_owned()
    }

    /// The value of one of this device's cookies.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        self.cookie_header()
            .split(';')
            .map(str::trim)
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    /// The `Cookie` header this device would send.
    pub fn cookie_header(&self) -> String {
        use reqwest::cookie::CookieStore;
        let url = self.base.parse().expect("base url");
        self.jar
            .cookies(&url)
            .map(|value| value.to_str().expect("ascii cookie").to_owned())
            .unwrap_or_default()
    }

    /// Opens this device's session socket (`/api/ws`) with its cookie.
    pub async fn session_socket(&self) -> Socket {
        let url = self.url("/api/ws").replacen("http", "ws", 1);
        connect(
            &url,
            &[
                ("cookie", self.cookie_header()),
                ("user-agent", self.user_agent.to_owned()),
            ],
        )
        .await
        .expect("the session socket opens")
    }
}

/// The `Set-Cookie` header of a response that sets the cookie `name`.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// Asserts the JSON error envelope and returns it.
pub async fn assert_error(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(
        response.status(),
        status,
        "unexpected status for expected code {code}"
    );
    let body: Value = response.json().await.expect("error bodies are JSON");
    assert_eq!(body["code"], code, "body: {body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|error| !error.is_empty()),
        "body: {body}"
    );
    body
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a socket with the given extra headers (cookie, origin).
pub async fn connect(
    url: &str,
    headers: &[(&str, String)],
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request()?;
    for (name, value) in headers {
        request.headers_mut().insert(
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            value.parse().expect("header value"),
        );
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

/// Reads the next JSON text message (skipping pings), failing after `within`.
pub async fn next_json<T: serde::de::DeserializeOwned>(socket: &mut Socket, within: Duration) -> T {
    loop {
        let message = tokio::time::timeout(within, socket.next())
            .await
            .expect("a message arrives in time")
            .expect("the socket is open")
            .expect("no protocol error");
        match message {
            Message::Text(text) => {
                return serde_json::from_str(&text)
                    .unwrap_or_else(|error| panic!("{error}: {text}"));
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected message {other:?}"),
        }
    }
}

pub async fn next_server_message(socket: &mut Socket) -> ServerMessage {
    next_json(socket, Duration::from_secs(5)).await
}

/// The next message other than `sessions_changed` (a refresh hint that may come any time).
pub async fn next_server_message_but_refreshes(socket: &mut Socket) -> ServerMessage {
    loop {
        let message = next_server_message(socket).await;
        if message != ServerMessage::SessionsChanged {
            return message;
        }
    }
}

pub async fn next_pending_message(socket: &mut Socket) -> PendingMessage {
    next_json(socket, Duration::from_secs(5)).await
}

/// Waits for the server to close the socket; returns the close code.
pub async fn closed(socket: &mut Socket) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("closes in time")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|frame| u16::from(frame.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

pub async fn send_json(socket: &mut Socket, value: Value) {
    socket
        .send(Message::Text(value.to_string().into()))
        .await
        .expect("message sent");
}

/// A login from a new device that waits for approval: its code and pending token.
pub struct Waiting {
    pub device: Device,
    pub id: String,
    pub code: String,
    pub token: String,
    port: u16,
}

impl Waiting {
    pub async fn start(app: &TestApp, email: &str, user_agent: &'static str) -> Self {
        let device = app.device(user_agent);
        let response = device.login(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let body: Value = response.json().await.expect("json");
        Self {
            device,
            id: body["approval_id"].as_str().expect("id").to_owned(),
            code: body["code"].as_str().expect("code").to_owned(),
            token: body["pending_token"].as_str().expect("token").to_owned(),
            port: app.port,
        }
    }

    /// The waiting device's socket (with its pending token).
    pub async fn socket(&self) -> Socket {
        self.socket_on(self.port).await
    }

    /// The waiting device's socket, opened on another instance.
    pub async fn socket_via(&self, app: &TestApp) -> Socket {
        self.socket_on(app.port).await
    }

    async fn socket_on(&self, port: u16) -> Socket {
        let url = format!(
            "ws://127.0.0.1:{port}/api/login/approvals/{}/ws?token={}",
            self.id, self.token
        );
        connect(&url, &[]).await.expect("the waiting socket opens")
    }

    pub async fn complete(&self) -> reqwest::Response {
        self.device
            .post(
                &format!("/api/login/approvals/{}/complete", self.id),
                json!({"pending_token": self.token}),
            )
            .await
    }

    /// A code that is not this request's.
    pub fn wrong_code(&self) -> String {
        let first = self
            .code
            .chars()
            .next()
            .and_then(|c| c.to_digit(10))
            .unwrap_or(0);
        let rest: String = self.code.chars().skip(1).collect();
        format!("{}{rest}", (first + 1) % 10)
    }

    /// Approves this request from `approver` over HTTP.
    pub async fn approve_from(&self, approver: &Device) -> reqwest::Response {
        approver
            .post(
                &format!("/api/approvals/{}/approve", self.id),
                json!({"code": self.code}),
            )
            .await
    }
}
