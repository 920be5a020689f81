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

/// An upgrade request for `path` written by hand, with `then` in the same write (bytes a
/// client may send before it has read the answer), and the answer's head read: the head, the
/// connection, and whatever came after the head.
pub async fn raw_upgrade(
    port: u16,
    path: &str,
    headers: &[(&str, String)],
    then: &[u8],
) -> (String, tokio::net::TcpStream, Vec<u8>) {
    let mut bytes = upgrade_request(port, path, headers).into_bytes();
    bytes.extend_from_slice(then);
    raw_exchange(port, &bytes).await
}

/// `before` (a whole request), then an upgrade request for `path`, pipelined in one write;
/// the first answer's head is read.
pub async fn raw_upgrade_after(
    port: u16,
    before: &str,
    path: &str,
) -> (String, tokio::net::TcpStream, Vec<u8>) {
    let bytes = format!("{before}{}", upgrade_request(port, path, &[]));
    raw_exchange(port, bytes.as_bytes()).await
}

fn upgrade_request(port: u16, path: &str, headers: &[(&str, String)]) -> String {
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request
}

/// Writes `bytes` to a new connection and reads the first answer's head: the head, the
/// connection, and whatever came after the head.
async fn raw_exchange(port: u16, bytes: &[u8]) -> (String, tokio::net::TcpStream, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the server accepts");
    stream.write_all(bytes).await.expect("the request is sent");
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        if let Some(end) = received.windows(4).position(|four| four == b"\r\n\r\n") {
            let rest = received.split_off(end + 4);
            return (
                String::from_utf8(received).expect("an ASCII head"),
                stream,
                rest,
            );
        }
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
            .await
            .expect("an answer in time")
            .expect("the connection is readable");
        assert!(read > 0, "closed before the answer's head: {received:?}");
        received.extend_from_slice(&buffer[..read]);
    }
}

/// Reads into `received` until the server closes the connection, within 10 s.
pub async fn read_until_closed(stream: &mut tokio::net::TcpStream, received: &mut Vec<u8>) {
    use tokio::io::AsyncReadExt;
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(received))
        .await
        .expect("the server answers and closes the connection in time")
        .expect("the connection is readable");
}

/// A text message in one frame, masked as a client must send it.
pub fn client_text_frame(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x81];
    match u8::try_from(payload.len()) {
        Ok(length) if length < 126 => frame.push(0x80 | length),
        _ => {
            frame.push(0x80 | 126);
            let length = u16::try_from(payload.len()).expect("a short message");
            frame.extend_from_slice(&length.to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(
        payload
            .iter()
            .zip(mask.iter().cycle())
            .map(|(byte, key)| byte ^ key),
    );
    frame
}

/// The client's side of a socket whose handshake `raw_upgrade` made; `rest` is what came
/// after the answer's head.
pub async fn socket_after_raw_upgrade(stream: tokio::net::TcpStream, rest: Vec<u8>) -> Socket {
    tokio_tungstenite::WebSocketStream::from_partially_read(
        tokio_tungstenite::MaybeTlsStream::Plain(stream),
        rest,
        tokio_tungstenite::tungstenite::protocol::Role::Client,
        None,
    )
    .await
}
