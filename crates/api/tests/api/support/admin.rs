//! The operator's side: `api admin …` run as a command, and the admin API called with a key.

use std::process::{Command, Output};

use serde_json::Value;

use super::TestApp;

/// Runs `api admin ARGS…` against the app's database, as an operator would.
pub async fn run_admin(app: &TestApp, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    let database_url = app.database_url.clone();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_api"))
            .arg("admin")
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .output()
            .expect("the api binary runs")
    })
    .await
    .unwrap()
}

/// What a command printed on standard error.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What a successful `--json` command printed.
pub fn json_of(output: &Output) -> Value {
    assert!(output.status.success(), "failed: {}", stderr(output));
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

/// `api admin api-key create NAME --scope SCOPE --json`: the key it printed, once.
pub async fn create_api_key(app: &TestApp, name: &str, scope: &str) -> String {
    let output = run_admin(
        app,
        &["api-key", "create", name, "--scope", scope, "--json"],
    )
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: Value = serde_json::from_slice(&output.stdout).expect("--json prints JSON");
    assert_eq!(created["name"], name);
    assert_eq!(created["scope"], scope);
    assert!(created["id"].is_string());
    created["key"].as_str().expect("the key").to_owned()
}

/// A client of one instance's admin API, holding a key (or none).
pub struct AdminClient {
    pub client: reqwest::Client,
    pub base: String,
    pub key: Option<String>,
}

impl TestApp {
    /// The admin API of this instance, called with `key`.
    pub fn admin_api(&self, key: &str) -> AdminClient {
        AdminClient {
            client: super::http_client().build().expect("client builds"),
            base: self.admin_address.clone(),
            key: Some(key.to_owned()),
        }
    }

    /// The admin API of this instance, called without a key.
    pub fn admin_api_without_key(&self) -> AdminClient {
        AdminClient {
            client: super::http_client().build().expect("client builds"),
            base: self.admin_address.clone(),
            key: None,
        }
    }
}

impl AdminClient {
    pub async fn send(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("the admin API answers")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.send(reqwest::Method::GET, path).await
    }

    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.send(reqwest::Method::POST, path).await
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.send(reqwest::Method::DELETE, path).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(body);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("the admin API answers")
    }

    /// A GET that must answer 200, as JSON.
    pub async fn json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), reqwest::StatusCode::OK, "GET {path}");
        response.json().await.expect("json")
    }
}
