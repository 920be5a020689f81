//! WebSocket clients: opening a socket and reading what the server sends.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use shared::ws::{PendingMessage, ServerMessage};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

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

/// The next message other than `sessions_changed`. That refresh hint may come any time: the
/// events of actions taken before a socket opened travel through LISTEN/NOTIFY and can reach
/// it after it is registered.
pub async fn next_server_message(socket: &mut Socket) -> ServerMessage {
    next_matching(socket, |message| *message != ServerMessage::SessionsChanged).await
}

/// Waits for a `sessions_changed`, skipping the rest (prompts and resolutions of earlier
/// actions may still be on their way).
pub async fn next_refresh(socket: &mut Socket) {
    next_matching(socket, |message| *message == ServerMessage::SessionsChanged).await;
}

/// The first message `wanted` accepts, skipping the others (late events of earlier
/// actions), each within 5 s.
pub async fn next_matching(
    socket: &mut Socket,
    wanted: impl Fn(&ServerMessage) -> bool,
) -> ServerMessage {
    loop {
        let message = next_json(socket, Duration::from_secs(5)).await;
        if wanted(&message) {
            return message;
        }
    }
}

/// The next `session_revoked`, skipping the refreshes and alerts of earlier actions.
pub async fn next_revocation(socket: &mut Socket) -> ServerMessage {
    next_matching(socket, |message| {
        matches!(message, ServerMessage::SessionRevoked { .. })
    })
    .await
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

/// The next security alert, skipping everything else.
pub async fn next_alert(socket: &mut Socket) -> shared::SecurityAlert {
    loop {
        if let ServerMessage::SecurityAlert { alert } = next_server_message(socket).await {
            return alert;
        }
    }
}

/// The next message other than `sessions_changed` that is not about a sign-in request
/// (prompts and their resolutions of earlier actions may come first).
pub async fn next_beyond_requests(socket: &mut Socket) -> ServerMessage {
    next_matching(socket, |message| {
        !matches!(
            message,
            ServerMessage::SessionsChanged
                | ServerMessage::ApprovalRequested { .. }
                | ServerMessage::ApprovalResolved { .. }
        )
    })
    .await
}

/// Reads and drops what the socket is sent until it has been silent for half a second: the
/// late events of the setup, so that what is read next comes from what the test does after.
pub async fn quiet(socket: &mut Socket) {
    while let Ok(Some(Ok(_))) =
        tokio::time::timeout(Duration::from_millis(500), socket.next()).await
    {}
}
