//! The two sockets: the logged-in session's (reconnecting with backoff) and the waiting
//! device's. Each is followed by a task that lives as long as the component that started it:
//! when the component is cleaned up the task is dropped, and with it the socket, which closes.

use futures_util::{SinkExt, StreamExt};
use gloo_net::websocket::Message;
use gloo_net::websocket::futures::WebSocket;
use gloo_timers::future::TimeoutFuture;
use leptos::task::spawn_local_scoped_with_cancellation;
use serde::de::DeserializeOwned;
use shared::Secret;
use shared::ws::{PendingMessage, ServerMessage, WaitingClientMessage};

use crate::format::reconnect_delay_ms;

/// Waits before a reconnection: exponential backoff with jitter.
async fn back_off(failures: u32, cap_ms: u32) {
    TimeoutFuture::new(reconnect_delay_ms(failures, cap_ms, js_sys::Math::random())).await;
}

/// Keeps `/api/ws` open while the calling component lives: `on_open(first)` on each
/// connection (after a reconnection messages may have been missed), `on_message` for each
/// message, `on_drop` when the connection fails or ends.
pub fn keep_session_socket(
    on_open: impl Fn(bool) + 'static,
    on_message: impl Fn(ServerMessage) + 'static,
    on_drop: impl Fn() + 'static,
) {
    spawn_local_scoped_with_cancellation(async move {
        // Opened after the page's first paint, in a task of its own: opened with the page's
        // first render, it made the dashboard's first task a quarter longer (BENCHMARKS.md).
        // Nothing is missed meanwhile: on connecting, the server sends the prompts pending.
        crate::paint::after_next_paint().await;
        let mut failures = 0;
        let mut first = true;
        loop {
            let Some(url) = crate::api::session_socket_url() else {
                return;
            };
            match WebSocket::open(&url) {
                Ok(socket) => {
                    on_open(first);
                    first = false;
                    let (_sink, mut stream) = socket.split();
                    while let Some(message) = stream.next().await {
                        match message {
                            Ok(message) => {
                                failures = 0;
                                if let Some(parsed) = parse::<ServerMessage>(message) {
                                    on_message(parsed);
                                }
                            }
                            Err(_) => break,
                        }
                    }
                    on_drop();
                }
                Err(_) => on_drop(),
            }
            back_off(failures, 15_000).await;
            failures += 1;
        }
    });
}

/// Follows the waiting device's socket until a final message, while the calling component
/// lives. Its first message is the pending token (tokens never go in URLs, which proxies log).
pub fn follow_pending_socket(
    url: String,
    pending_token: Secret,
    on_message: impl Fn(PendingMessage) + 'static,
) {
    spawn_local_scoped_with_cancellation(async move {
        let mut failures = 0;
        let authenticate =
            serde_json::to_string(&WaitingClientMessage::Authenticate { pending_token })
                .unwrap_or_default();
        loop {
            if let Ok(socket) = WebSocket::open(&url) {
                let (mut sink, mut stream) = socket.split();
                if sink
                    .send(Message::Text(authenticate.clone()))
                    .await
                    .is_err()
                {
                    back_off(failures, 5_000).await;
                    failures += 1;
                    continue;
                }
                while let Some(Ok(message)) = stream.next().await {
                    if let Some(parsed) = parse::<PendingMessage>(message) {
                        let done = !matches!(
                            parsed,
                            PendingMessage::Pending { .. }
                                | PendingMessage::Approved
                                | PendingMessage::Unknown
                        );
                        on_message(parsed);
                        if done {
                            return;
                        }
                    }
                }
            }
            back_off(failures, 5_000).await;
            failures += 1;
        }
    });
}

fn parse<T: DeserializeOwned>(message: Message) -> Option<T> {
    match message {
        Message::Text(text) => serde_json::from_str(&text).ok(),
        Message::Bytes(_) => None,
    }
}
