//! Live session events on `/api/ws`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use shared::ws::ServerMessage;

use crate::support::*;

#[tokio::test]
async fn a_revoked_session_is_told_why_and_its_socket_closed() {
    let app = spawn_app().await;
    let (first, second) = app.user_with_two_sessions().await;
    let mut first_socket = first.session_socket().await;
    let mut second_socket = second.session_socket().await;
    quiet(&mut first_socket).await;

    let second_id = second.session_id().await;
    assert_eq!(
        first
            .delete(&format!("/api/sessions/{second_id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        next_revocation(&mut second_socket).await,
        ServerMessage::SessionRevoked {
            reason: "revoked".into(),
            replaced_by: None,
        }
    );
    assert_eq!(closed(&mut second_socket).await, Some(1008));
    assert_error(
        second.me().await,
        StatusCode::UNAUTHORIZED,
        "invalid_session",
    )
    .await;
    // The other device refreshes its list.
    next_refresh(&mut first_socket).await;
}

#[tokio::test]
async fn every_open_session_hears_when_a_session_starts_or_ends() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let mut socket = first.session_socket().await;
    quiet(&mut socket).await;
    let second = app
        .second_device(&first, "ada@example.com", FIREFOX_WINDOWS)
        .await;
    // The request is resolved, then the new session is announced.
    next_matching(&mut socket, |message| {
        matches!(message, ServerMessage::ApprovalResolved { .. })
    })
    .await;
    next_refresh(&mut socket).await;
    quiet(&mut socket).await;
    assert_eq!(
        second.post("/api/auth/logout", json!({})).await.status(),
        StatusCode::NO_CONTENT
    );
    next_refresh(&mut socket).await;
}

#[tokio::test]
async fn the_socket_of_an_expired_session_is_closed() {
    let app = spawn_app().await;
    let device = app.signed_up("ada@example.com").await;
    let mut socket = device.session_socket().await;
    app.clock.advance(chrono::Duration::minutes(61));
    app.sweep().await;
    assert_eq!(
        next_revocation(&mut socket).await,
        ServerMessage::SessionRevoked {
            reason: "idle_timeout".into(),
            replaced_by: None,
        }
    );
    assert_eq!(closed(&mut socket).await, Some(1008));
}

#[tokio::test]
async fn a_socket_needs_a_valid_session() {
    let app = spawn_app().await;
    let url = format!("ws://127.0.0.1:{}/api/ws", app.port);
    let error = connect(&url, &[]).await.expect_err("no cookie, no socket");
    assert!(error.to_string().contains("401"), "{error}");
    let error = connect(&url, &[("cookie", "sm_session=forged".to_owned())])
        .await
        .expect_err("a forged cookie is refused");
    assert!(error.to_string().contains("401"), "{error}");
}

#[tokio::test]
async fn an_upgrade_from_a_foreign_origin_is_refused() {
    let app = spawn_app_with(|settings| {
        settings.server.allowed_origins = vec!["http://localhost:8080".into()]
    })
    .await;
    let device = app.signed_up("ada@example.com").await;
    let url = format!("ws://127.0.0.1:{}/api/ws", app.port);
    let cookie = device.cookie_header();
    let error = connect(
        &url,
        &[
            ("cookie", cookie.clone()),
            ("origin", "https://evil.example".into()),
        ],
    )
    .await
    .expect_err("cross-site WebSocket hijacking is refused");
    assert!(error.to_string().contains("403"), "{error}");
    assert!(
        connect(
            &url,
            &[
                ("cookie", cookie),
                ("origin", "http://localhost:8080".into())
            ]
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn a_refused_upgrade_gets_the_json_envelope_and_its_connection_closed() {
    let app = spawn_app().await;
    let (head, mut stream, mut rest) = raw_upgrade(app.port, "/api/ws", &[], b"").await;
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{head}"
    );
    // The body, then the end of the connection.
    read_until_closed(&mut stream, &mut rest).await;
    let body: serde_json::Value = serde_json::from_slice(&rest).expect("a JSON body");
    assert_eq!(body["code"], "unauthenticated", "{body}");
}

#[tokio::test]
async fn a_message_sent_with_the_handshake_is_read() {
    let app = spawn_app().await;
    app.user_with_one_session().await;
    let waiting = app.pending_approval("ada@example.com", SAFARI_IPHONE).await;
    let path = shared::routes::with_id(shared::routes::WAITING_SOCKET, &waiting.id);
    // The first message in the same write as the upgrade request: the server holds it while
    // the application answers the handshake.
    let authenticate = json!({"type": "authenticate", "pending_token": waiting.token});
    let frame = client_text_frame(&authenticate.to_string());
    let (head, stream, rest) = raw_upgrade(app.port, &path, &[], &frame).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let mut socket = socket_after_raw_upgrade(stream, rest).await;
    assert!(matches!(
        next_pending_message(&mut socket).await,
        shared::ws::PendingMessage::Pending { .. }
    ));
}

#[tokio::test]
async fn an_upgrade_header_does_not_stall_a_request_that_reads_its_body() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app().await;
    let body = json!({"email": "nobody@example.com", "password": "not the password"}).to_string();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("the server accepts");
    let head = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app.port,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("sent");
    // The body comes apart from the head: the server must read it while the handler waits.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(body.as_bytes()).await.expect("sent");
    // An upgrade request's body runs to the end of what the client sends.
    stream.shutdown().await.expect("half-closed");
    let mut answer = Vec::new();
    read_until_closed(&mut stream, &mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("invalid_credentials"), "{answer}");
}

#[tokio::test]
async fn a_request_pipelined_before_an_upgrade_is_answered_first() {
    let app = spawn_app().await;
    let (head, mut stream, mut rest) = raw_upgrade_after(
        app.port,
        &format!(
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
            app.port
        ),
        "/api/ws",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    read_until_closed(&mut stream, &mut rest).await;
    let rest = String::from_utf8_lossy(&rest);
    // The upgrade, without a cookie, is refused after the first answer.
    assert!(rest.contains("HTTP/1.1 401"), "{rest}");
}

#[tokio::test]
async fn bad_client_messages_get_an_error_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let device = app.signed_up("ada@example.com").await;
    let mut socket = device.session_socket().await;
    send_json(&mut socket, json!({"type": "launch_missiles"})).await;
    assert!(
        matches!(next_server_message(&mut socket).await, ServerMessage::Error { code, .. } if code == "bad_message")
    );
    send_json(
        &mut socket,
        json!({"type": "approve", "approval_id": uuid::Uuid::new_v4(), "code": "123456"}),
    )
    .await;
    assert!(
        matches!(next_server_message(&mut socket).await, ServerMessage::Error { code, .. } if code == "not_found")
    );
    send_json(
        &mut socket,
        json!({"type": "approve", "approval_id": uuid::Uuid::new_v4(), "code": "12"}),
    )
    .await;
    assert!(
        matches!(next_server_message(&mut socket).await, ServerMessage::Error { code, .. } if code == "validation")
    );
}

#[tokio::test]
async fn the_server_pings_and_drops_a_silent_peer() {
    let app = spawn_app_with(|settings| {
        // Several heartbeats within the timeout, so that the peer is pinged before it is
        // dropped even when the machine stalls the socket's first steps for a second.
        settings.sockets.heartbeat = Duration::from_millis(200);
        settings.sockets.client_timeout = Duration::from_secs(2);
    })
    .await;
    let device = app.signed_up("ada@example.com").await;
    let url = format!("ws://127.0.0.1:{}/api/ws", app.port);
    let socket = connect(&url, &[("cookie", device.cookie_header())])
        .await
        .unwrap();
    // Read nothing (so no pong is sent back): the raw TCP reader is not polled until the
    // server has let the socket go.
    let (_sink, mut stream) = futures_util::StreamExt::split(socket);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.state.events.hub().counts().session > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the silent peer stays"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Drain: pings arrived, then the server closed the connection.
    let mut pings = 0;
    let mut ended = false;
    while let Ok(Some(message)) = tokio::time::timeout(
        Duration::from_secs(3),
        futures_util::StreamExt::next(&mut stream),
    )
    .await
    {
        match message {
            Ok(tokio_tungstenite::tungstenite::Message::Ping(_)) => pings += 1,
            Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_) => {
                ended = true;
                break;
            }
            Ok(_) => {}
        }
    }
    assert!(pings >= 1, "the server pings");
    assert!(ended, "the silent peer is dropped");
}
