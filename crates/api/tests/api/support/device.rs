//! One browser: its own cookie jar and user agent, talking to an instance over HTTP.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Socket, TestApp, connect};

/// An HTTP client for the tests' browsers and admin calls. It drops a kept-alive connection
/// after 2 s idle, before the server closes it (actix-web's keep-alive is 5 s): a request
/// sent on a connection the server is closing at that moment would fail with "connection
/// closed before message completed", a race that a slow step between two requests (on a
/// loaded CI host) can hit.
pub fn http_client() -> reqwest::ClientBuilder {
    reqwest::Client::builder().pool_idle_timeout(std::time::Duration::from_secs(2))
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
        let client = http_client()
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
}

impl Device {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The same browser (cookie jar and user agent) talking to another instance.
    pub fn via(&self, app: &TestApp) -> Device {
        let client = http_client()
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

    /// Sudo mode: the password again, so that a change that needs a recent proof may
    /// follow a long pause (the test moved the clock).
    pub async fn reauthenticate(&self) {
        let response = self
            .post(
                "/api/auth/reauthenticate",
                json!({"password": super::PASSWORD}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "re-authenticated");
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

    /// How many of the account's latest 100 activity entries are of this kind.
    pub async fn activity_count(&self, kind: &str) -> usize {
        let activity: Value = self
            .get("/api/activity?limit=100")
            .await
            .json()
            .await
            .expect("json");
        activity["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|item| item["kind"] == kind)
            .count()
    }

    /// The value of one of this device's cookies.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        self.cookie_header()
            .split(';')
            .map(str::trim)
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    /// The session token inside this device's session cookie (encrypted: read with the
    /// server's key, as the server reads it).
    pub fn session_token(&self, app: &TestApp) -> String {
        let state = self.session_state(app);
        let stored = state["token"].as_str().expect("a token in the session");
        serde_json::from_str(stored).expect("the token, JSON-encoded")
    }

    /// Puts `token` in this device's session cookie in place of its own, encrypted with the
    /// server's key (what only someone holding `SESSION_SECRET` could do).
    pub fn replace_session_token(&self, app: &TestApp, token: &str) {
        use actix_web::cookie::{Cookie, CookieJar, Key};
        let state = json!({"token": serde_json::to_string(token).expect("json")});
        let name = app.state.settings.session.session_cookie_name();
        let key = Key::from(app.state.settings.session.secret.expose());
        let mut jar = CookieJar::new();
        jar.private_mut(&key)
            .add(Cookie::new(name.clone(), state.to_string()));
        let sealed = jar
            .get(&name)
            .expect("the sealed cookie")
            .encoded()
            .to_string();
        let url = self.base.parse().expect("base url");
        self.jar.add_cookie_str(&format!("{sealed}; Path=/"), &url);
    }

    /// The session cookie's state (actix-session's map of JSON-encoded values).
    fn session_state(&self, app: &TestApp) -> Value {
        use actix_web::cookie::{Cookie, CookieJar, Key};
        let name = app.state.settings.session.session_cookie_name();
        let sealed = self.cookie_value(&name).expect("a session cookie");
        let mut jar = CookieJar::new();
        // The value is percent-encoded on the wire (base64's `+`, `/`, `=`).
        jar.add_original(Cookie::parse_encoded(format!("{name}={sealed}")).expect("a cookie"));
        let key = Key::from(app.state.settings.session.secret.expose());
        let plain = jar
            .private(&key)
            .get(&name)
            .expect("a cookie this server sealed")
            .value()
            .to_owned();
        serde_json::from_str(&plain).expect("actix-session's state")
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

/// The seconds a refusal's `Retry-After` says to wait (it must have one).
pub fn retry_after_secs(response: &reqwest::Response) -> i64 {
    response.headers()["retry-after"]
        .to_str()
        .expect("Retry-After is text")
        .parse()
        .expect("Retry-After is a number of seconds")
}

/// Asserts a response's status, showing its body when it is another (a refusal says why).
pub async fn assert_status(response: reqwest::Response, status: StatusCode) -> String {
    let actual = response.status();
    let body = response.text().await.expect("a body");
    assert_eq!(actual, status, "body: {body}");
    body
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
