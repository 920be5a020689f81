//! A device whose login waits for approval, and its socket.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Device, PASSWORD, Socket, TestApp, connect, send_json};

/// A login from a new device that waits for approval: its code and pending token.
pub struct Waiting {
    pub device: Device,
    pub id: String,
    pub code: String,
    pub token: String,
    port: u16,
}

impl TestApp {
    /// A login from a new device that now waits for approval.
    pub async fn pending_approval(&self, email: &str, user_agent: &'static str) -> Waiting {
        Waiting::start(self, email, user_agent).await
    }
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

    /// The waiting device's socket, authenticated by its first message as the app does.
    pub async fn socket(&self) -> Socket {
        waiting_socket(self.port, &self.id, &self.token).await
    }

    /// The waiting device's socket, opened on another instance.
    pub async fn socket_via(&self, app: &TestApp) -> Socket {
        waiting_socket(app.port, &self.id, &self.token).await
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

/// Opens request `id`'s waiting socket on `port` where the app opens it
/// (`/api/ws/approvals/{id}`) and sends `token` as the first message.
pub async fn waiting_socket(port: u16, id: &str, token: &str) -> Socket {
    let path = shared::routes::with_id(shared::routes::WAITING_SOCKET, id);
    let url = format!("ws://127.0.0.1:{port}{path}");
    let mut socket = connect(&url, &[]).await.expect("the waiting socket opens");
    send_json(
        &mut socket,
        json!({"type": "authenticate", "pending_token": token}),
    )
    .await;
    socket
}
