//! The two sockets: the logged-in session's (reconnecting with backoff) and the waiting
//! device's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::{SinkExt, StreamExt};
use gloo_net::websocket::Message;
use gloo_net::websocket::futures::WebSocket;
use gloo_timers::future::TimeoutFuture;
use leptos::task::spawn_local;
use serde::de::DeserializeOwned;
use shared::Secret;
use shared::ws::{PendingMessage, ServerMessage, WaitingClientMessage};

use crate::format::reconnect_delay_ms;

/// Waits before a reconnection: exponential backoff with jitter.
async fn back_off(failures: u32, cap_ms: u32) {
    TimeoutFuture::new(reconnect_delay_ms(failures, cap_ms, js_sys::Math::random())).await;
}

/// Keeps `/api/ws` open while `alive`: `on_open(first)` on each connection (after a
/// reconnection messages may have been missed), `on_message` for each message, `on_drop`
/// when the connection fails or ends.
pub fn keep_session_socket(
    alive: Arc<AtomicBool>,
    on_open: impl Fn(bool) + 'static,
    on_message: impl Fn(ServerMessage) + 'static,
    on_drop: impl Fn() + 'static,
) {
    spawn_local(async move {
        let mut failures = 0;
        let mut first = true;
        while alive.load(Ordering::Relaxed) {
            let Some(url) = crate::api::session_socket_url() else {
                return;
            };
            match WebSocket::open(&url) {
                Ok(socket) => {
                    on_open(first);
                    first = false;
                    let (_sink, mut stream) = socket.split();
                    while let Some(message) = stream.next().await {
                        if !alive.load(Ordering::Relaxed) {
                            return;
                        }
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
            if !alive.load(Ordering::Relaxed) {
                return;
            }
            back_off(failures, 15_000).await;
            failures += 1;
        }
    });
}

/// Follows the waiting device's socket until a final message or until `alive` is false.
/// Its first message is the pending token (tokens never go in URLs, which proxies log).
pub fn follow_pending_socket(
    url: String,
    pending_token: Secret,
    alive: Arc<AtomicBool>,
    on_message: impl Fn(PendingMessage) + 'static,
) {
    spawn_local(async move {
        let mut failures = 0;
        let authenticate =
            serde_json::to_string(&WaitingClientMessage::Authenticate { pending_token })
                .unwrap_or_default();
        while alive.load(Ordering::Relaxed) {
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
                    if !alive.load(Ordering::Relaxed) {
                        return;
                    }
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
