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

pub async fn next_server_message(socket: &mut Socket) -> ServerMessage {
    next_json(socket, Duration::from_secs(5)).await
}

/// The next message other than `sessions_changed` (a refresh hint that may come any time).
pub async fn next_server_message_but_refreshes(socket: &mut Socket) -> ServerMessage {
    loop {
        let message = next_server_message(socket).await;
        if message != ServerMessage::SessionsChanged {
            return message;
        }
    }
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
