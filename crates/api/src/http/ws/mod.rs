//! The two WebSocket channels.
//!
//! * `GET /api/ws` (`session`) — a logged-in session (cookie). Receives approval prompts,
//!   session changes and its own revocation; sends approve/deny. Pending prompts are sent on
//!   connect.
//! * `GET /api/ws/approvals/{id}` (`pending`; also served at its first path,
//!   `/api/login/approvals/{id}/ws`; the app uses this one so that one dev-proxy rule for
//!   `/api/ws` covers every socket) — the device waiting for approval. Its first message is
//!   its pending token (the `?token=` URL form is deprecated, as proxies log URLs, and goes in a coming
//!   release); it then
//!   receives its current status and every change; closed once decided.
//!
//! Both ping every `WS_HEARTBEAT_SECS` and drop a peer silent for `WS_CLIENT_TIMEOUT_SECS`.
//! Upgrades from a foreign Origin are refused by the origin guard (`http::middleware`).

mod incoming;
pub mod pending;
pub mod session;

use std::collections::VecDeque;
use std::time::Duration;

use actix_ws::{CloseCode, CloseReason, Session};
use shared::ws::ServerMessage;
use tokio::time::Instant;

use crate::error::Error;
use crate::http::error::ApiError;
use crate::state::AppState;

/// Largest message a client may send; approve/deny messages are tiny. A bigger frame closes
/// the socket with 1009.
const MAX_MESSAGE: usize = 16 * 1024;

/// How to close after a message over `MAX_MESSAGE`.
fn too_big() -> CloseReason {
    CloseReason {
        code: CloseCode::Size,
        description: Some("message too big".into()),
    }
}

/// Counts a socket's messages over the last minute: past the limit, it is closed (1008).
struct RateLimit {
    limit: usize,
    seen: VecDeque<Instant>,
}

impl RateLimit {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            seen: VecDeque::new(),
        }
    }

    /// Records a message; false when it is one too many.
    fn allow(&mut self) -> bool {
        let now = Instant::now();
        while self
            .seen
            .front()
            .is_some_and(|at| now.duration_since(*at) > Duration::from_secs(60))
        {
            self.seen.pop_front();
        }
        self.seen.push_back(now);
        self.seen.len() <= self.limit
    }
}

fn too_many_messages() -> CloseReason {
    CloseReason {
        code: CloseCode::Policy,
        description: Some("too many messages".into()),
    }
}

/// The WebSocket handshake; a request that is no upgrade gets the JSON envelope (400).
fn upgrade(
    request: &actix_web::HttpRequest,
    body: actix_web::web::Payload,
) -> Result<(actix_web::HttpResponse, Session, actix_ws::MessageStream), ApiError> {
    actix_ws::handle(request, body).map_err(|error| {
        ApiError(Error::BadRequest(format!(
            "This endpoint is a WebSocket: send an upgrade request ({error})"
        )))
    })
}

fn heartbeat(state: &AppState) -> tokio::time::Interval {
    let period = state.settings.sockets.heartbeat;
    let mut interval = tokio::time::interval_at(Instant::now() + period, period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

async fn send_json<T: serde::Serialize>(
    socket: &mut Session,
    message: &T,
) -> Result<(), actix_ws::Closed> {
    match serde_json::to_string(message) {
        Ok(text) => socket.text(text).await,
        Err(error) => {
            tracing::error!(%error, "cannot serialise a socket message");
            Ok(())
        }
    }
}

fn protocol_error(error: &str) -> ServerMessage {
    ServerMessage::Error {
        error: error.to_owned(),
        code: shared::ErrorCode::BadMessage,
    }
}

/// An error as a socket message (logged here when it is the server's business).
fn error_message(error: &Error) -> ServerMessage {
    crate::http::error::log(error);
    let body = error.body();
    ServerMessage::Error {
        error: body.error,
        code: body.code,
    }
}
