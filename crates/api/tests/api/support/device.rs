//! One browser: its own cookie jar and user agent, talking to an instance over HTTP.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Socket, TestApp, connect};

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
