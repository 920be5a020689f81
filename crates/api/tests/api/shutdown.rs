//! Stopping an instance: SIGTERM to the real binary, and `/readyz` while it stops.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use shared::ws::PendingMessage;
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;

/// The API binary, started as a process of its own on the test's database.
struct ApiProcess {
    child: Child,
    port: u16,
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SECRET: &str = "3f9c2a7be1d04856c9a1f7e20b6d4c38a5e9f1027bd36c84e0a9f5d21c7b3e96";

impl ApiProcess {
    async fn start(database: &TestDatabase) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_api"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &database.url)
            .env("CREATE_DATABASE", "false")
            .env("BIND", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("SESSION_SECRET", SECRET)
            .env("SWEEP_INTERVAL_SECS", "3600")
            .env("METRICS_BIND", "127.0.0.1:0")
            .env("ADMIN_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the api binary starts");
        let process = Self { child, port };
        for _ in 0..200 {
            if reqwest::get(process.url("/readyz"))
                .await
                .is_ok_and(|response| response.status().is_success())
            {
                return process;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the api process never became ready");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit status.
    async fn exited(&mut self) -> std::process::ExitStatus {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the api process did not exit after SIGTERM");
    }
}

/// A client device speaking to one process.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(Arc::new(reqwest::cookie::Jar::default()))
        .user_agent(FIREFOX_WINDOWS)
        .build()
        .unwrap()
}

#[tokio::test]
async fn sigterm_closes_sockets_with_1012_and_the_waiting_device_finishes_on_the_other_instance() {
    let database = TestDatabase::create().await;
    let mut a = ApiProcess::start(&database).await;
    let b = ApiProcess::start(&database).await;

    let owner = client();
    let signup = owner
        .post(a.url("/api/auth/signup"))
        .json(&json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), StatusCode::CREATED);
    let newcomer = client();
    let login: serde_json::Value = newcomer
        .post(b.url("/api/auth/login"))
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = login["approval_id"].as_str().unwrap();
    let token = login["pending_token"].as_str().unwrap();
    let code = login["code"].as_str().unwrap();

    // The device waits on A, which is then stopped.
    let mut waiting = waiting_socket(a.port, id, token).await;
    assert!(matches!(
        next_pending_message(&mut waiting).await,
        PendingMessage::Pending { .. }
    ));
    a.terminate();
    let close = loop {
        match tokio::time::timeout(
            Duration::from_secs(10),
            futures_util::StreamExt::next(&mut waiting),
        )
        .await
        .expect("closed in time")
        {
            Some(Ok(Message::Close(frame))) => break frame.map(|frame| u16::from(frame.code)),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close, Some(1012), "service restart: reconnect elsewhere");
    assert!(a.exited().await.success());

    // It reconnects to B; the approval on B still completes.
    let mut waiting = waiting_socket(b.port, id, token).await;
    assert!(matches!(
        next_pending_message(&mut waiting).await,
        PendingMessage::Pending { .. }
    ));
    // Cookies are per host, not per port: the owner's browser talks to B as it did to A.
    let approve = owner
        .post(b.url(&format!("/api/approvals/{id}/approve")))
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(approve.status(), StatusCode::OK);
    assert_eq!(
        next_pending_message(&mut waiting).await,
        PendingMessage::Approved
    );
    let complete = newcomer
        .post(b.url(&format!("/api/login/approvals/{id}/complete")))
        .json(&json!({"pending_token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(complete.status(), StatusCode::OK);
}

#[tokio::test]
async fn readyz_turns_503_while_an_instance_stops() {
    let database = std::sync::Arc::new(TestDatabase::create().await);
    let (app, application) = build_app_on(database, |settings| {
        settings.server.shutdown_drain = Duration::from_secs(5);
    })
    .await;
    let stopper = application.stopper();
    tokio::spawn(application.run_until_stopped());
    app.wait_until_ready().await;
    let stopping = tokio::spawn(async move { stopper.stop().await });
    let mut saw_503 = false;
    for _ in 0..40 {
        if let Ok(response) = reqwest::get(app.url("/readyz")).await
            && response.status() == StatusCode::SERVICE_UNAVAILABLE
        {
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["stopping"], true);
            saw_503 = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(saw_503, "readiness fails while draining");
    // Liveness still answers during the drain.
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
    stopping.await.unwrap();
}
