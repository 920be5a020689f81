//! Many held sockets, and the approval round trip measured over them.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::SinkExt;
use futures_util::stream::{self, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn open(url: &str, cookie: Option<&str>) -> Result<Socket> {
    let mut request = url.into_client_request()?;
    if let Some(cookie) = cookie {
        request.headers_mut().insert("cookie", cookie.parse()?);
    }
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

/// Opens `count` authenticated sockets, 100 handshakes at a time.
pub async fn hold(port: u16, cookies: &[String], count: usize) -> Result<Vec<Socket>> {
    let url = format!("ws://127.0.0.1:{port}/api/ws");
    let results: Vec<Result<Socket>> = stream::iter(0..count)
        .map(|i| {
            let url = url.clone();
            let cookie = cookies[i % cookies.len()].clone();
            async move { open(&url, Some(&cookie)).await }
        })
        .buffer_unordered(100)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn next_json(socket: &mut Socket) -> Result<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .context("no socket message within 10 s")?
            .context("socket closed")??;
        if let Message::Text(text) = message {
            return Ok(serde_json::from_str(&text)?);
        }
    }
}

/// `rounds` times: a new device asks, the old device sends the code over its socket, and
/// the time until the new device's socket hears "approved" is recorded.
pub async fn approval_round_trips(port: u16, rounds: usize) -> Result<Vec<Duration>> {
    let base = format!("http://127.0.0.1:{port}");
    let owner = reqwest::Client::builder().cookie_store(true).build()?;
    let email = format!("roundtrip-{}@bench.test", uuid::Uuid::new_v4().simple());
    let signup = owner
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"email": email, "password": crate::seed::PASSWORD, "name": "Round trip"}))
        .send()
        .await?;
    let cookie = signup
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .context("signup sets a cookie")?
        .to_owned();
    let mut old_device = open(&format!("ws://127.0.0.1:{port}/api/ws"), Some(&cookie)).await?;
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let new_device = reqwest::Client::new();
        let login: Value = new_device
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"email": email, "password": crate::seed::PASSWORD}))
            .send()
            .await?
            .json()
            .await?;
        let (Some(id), Some(code), Some(token)) = (
            login["approval_id"].as_str(),
            login["code"].as_str(),
            login["pending_token"].as_str(),
        ) else {
            bail!("login did not ask for approval: {login}");
        };
        let mut waiting = open(
            &format!("ws://127.0.0.1:{port}/api/login/approvals/{id}/ws?token={token}"),
            None,
        )
        .await?;
        next_json(&mut waiting).await?; // "pending"
        loop {
            // The prompt for this request reaches the old device.
            let message = next_json(&mut old_device).await?;
            if message["type"] == "approval_requested" && message["approval"]["id"] == id {
                break;
            }
        }
        let started = Instant::now();
        let approve = json!({"type": "approve", "approval_id": id, "code": code}).to_string();
        old_device.send(Message::Text(approve.into())).await?;
        let told = next_json(&mut waiting).await?;
        samples.push(started.elapsed());
        if told["type"] != "approved" {
            bail!("the new device was told {told}");
        }
        // Make room for the next round: complete, then sign that device out.
        let completed: Value = new_device
            .post(format!("{base}/api/login/approvals/{id}/complete"))
            .json(&json!({"pending_token": token}))
            .send()
            .await?
            .json()
            .await?;
        let session = completed["session"]["id"]
            .as_str()
            .context("completion gives a session")?;
        owner
            .delete(format!("{base}/api/sessions/{session}"))
            .send()
            .await?;
    }
    Ok(samples)
}
