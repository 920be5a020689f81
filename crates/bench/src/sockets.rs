// JSON answers are read with `value["key"]`: serde_json's indexing yields Null, never panics.
#![allow(clippy::indexing_slicing)]

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
            let cookie = cookies
                .get(i % cookies.len().max(1))
                .cloned()
                .unwrap_or_default();
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
/// the time until the new device's socket hears "approved" is recorded. The old device is
/// on the instance at `port`, the new one on the instance at `new_port` (the same instance,
/// or another one on the same database: then the answer crosses the PostgreSQL bus).
pub async fn approval_round_trips(
    port: u16,
    new_port: u16,
    rounds: usize,
) -> Result<Vec<Duration>> {
    let base = format!("http://127.0.0.1:{port}");
    let new_base = format!("http://127.0.0.1:{new_port}");
    let owner = reqwest::Client::builder().cookie_store(true).build()?;
    let email = format!("roundtrip-{}@bench.test", uuid::Uuid::new_v4().simple());
    let signup = owner
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"email": email, "password": crate::seed::PASSWORD, "name": "Round trip"}))
        .send()
        .await?;
    let cookie = crate::session_cookie(&signup).context("signup sets a session cookie")?;
    let mut old_device = open(&format!("ws://127.0.0.1:{port}/api/ws"), Some(&cookie)).await?;
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let new_device = reqwest::Client::new();
        let login: Value = new_device
            .post(format!("{new_base}/api/auth/login"))
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
            &format!("ws://127.0.0.1:{new_port}/api/login/approvals/{id}/ws?token={token}"),
            None,
        )
        .await?;
        next_json(&mut waiting)
            .await
            .with_context(|| format!("round {round}: the new device's \"pending\""))?;
        loop {
            // The prompt for this request reaches the old device.
            let message = next_json(&mut old_device)
                .await
                .with_context(|| format!("round {round}: the prompt on the old device"))?;
            if message["type"] == "approval_requested" && message["approval"]["id"] == id {
                break;
            }
        }
        let started = Instant::now();
        let approve = json!({"type": "approve", "approval_id": id, "code": code}).to_string();
        old_device.send(Message::Text(approve.into())).await?;
        let told = next_json(&mut waiting)
            .await
            .with_context(|| format!("round {round}: the new device told of the approval"))?;
        samples.push(started.elapsed());
        if told["type"] != "approved" {
            bail!("the new device was told {told}");
        }
        // Make room for the next round: complete, then sign that device out.
        let completed: Value = new_device
            .post(format!("{new_base}/api/login/approvals/{id}/complete"))
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

/// Events per second through the bus: `count` events published straight into PostgreSQL
/// (`pg_notify`, in batches of 1000 per transaction) for a user whose socket is held on the
/// instance at `port`; the rate at which that socket hears them.
pub async fn bus_events_per_second(
    port: u16,
    database_url: &str,
    cookie: &str,
    count: usize,
) -> Result<f64> {
    let me: Value = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/auth/me"))
        .header("cookie", cookie)
        .send()
        .await?
        .json()
        .await?;
    let user_id = me["user"]["id"].as_str().context("a user id")?.to_owned();
    let session_id = me["session"]["id"]
        .as_str()
        .context("a session id")?
        .to_owned();
    let mut socket = open(&format!("ws://127.0.0.1:{port}/api/ws"), Some(cookie)).await?;
    // Anything pending on connect is not part of the measure.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let payload = json!({"kind": "session_started", "user_id": user_id, "session_id": session_id})
        .to_string();
    let mut conn = crate::seed::connect(database_url).await?;
    let started = Instant::now();
    let publisher = async {
        let mut sent = 0;
        while sent < count {
            let batch = (count - sent).min(1000);
            // Distinct payloads: PostgreSQL folds identical notifications of one transaction.
            diesel_async::RunQueryDsl::execute(
                diesel::sql_query(format!(
                    "SELECT pg_notify('session_events', '{payload}' || repeat(' ', n)) \
                     FROM generate_series(1, {batch}) AS n"
                )),
                &mut conn,
            )
            .await?;
            sent += batch;
        }
        anyhow::Ok(())
    };
    let receiver = async {
        let mut heard = 0;
        while heard < count {
            let message = next_json(&mut socket).await?;
            if message["type"] == "sessions_changed" {
                heard += 1;
            }
        }
        anyhow::Ok(())
    };
    let (published, received) = tokio::join!(publisher, receiver);
    published?;
    received?;
    Ok(count as f64 / started.elapsed().as_secs_f64())
}
