use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use api::clock::ShiftedClock;
use api::settings::Settings;
use api::{AppState, Application};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::ws::{PendingMessage, ServerMessage};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub const PASSWORD: &str = "correct horse battery";

pub const CHROME_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
pub const FIREFOX_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
pub const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

fn base_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub database_url: String,
    pub clock: ShiftedClock,
    pub state: web::Data<AppState>,
    server: actix_web::dev::ServerHandle,
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

/// Starts the server on its own fresh database; `configure` adjusts the settings.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut settings = Settings::for_tests(&format!("{}/{name}", base_database_url()));
    // The sweeper would race the tests that drive it by hand.
    settings.sweep_interval = Duration::from_secs(3600);
    settings.db_pool_size = 8;
    configure(&mut settings);
    let clock = ShiftedClock::default();
    let database_url = settings.database_url.clone();
    let application = Application::build_with_clock(settings, Arc::new(clock.clone()))
        .await
        .expect("the application starts");
    let port = application.port();
    let state = application.state();
    let server = application.handle();
    tokio::spawn(application.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        database_url,
        clock,
        state,
        server,
    }
}

/// One browser: its own cookie jar and user agent.
pub struct Device {
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub base: String,
    pub user_agent: &'static str,
}

impl TestApp {
    pub fn device(&self, user_agent: &'static str) -> Device {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .user_agent(user_agent)
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
