//! The two WebSocket channels.
//!
//! * `GET /api/ws` — a logged-in session (cookie). Receives approval prompts, session
//!   changes and its own revocation; sends approve/deny. Pending prompts are sent on connect.
//! * `GET /api/login/approvals/{id}/ws?token=<pending_token>` (also served as
//!   `/api/ws/approvals/{id}`, so that one dev-proxy rule for `/api/ws` covers every socket:
//!   Trunk's proxy cannot split `/api/login/approvals/…` between sockets and POSTs) — the device waiting for
//!   approval. Receives its current status on connect and every change; closed once decided.
//!
//! Both ping every `WS_HEARTBEAT_SECS` and drop a peer silent for `WS_CLIENT_TIMEOUT_SECS`.
//! Upgrades from a foreign Origin are refused by the origin guard (see `startup`).

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, get, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
use serde::Deserialize;
use shared::ws::{ClientMessage, PendingMessage, ServerMessage};
use tokio::time::Instant;
use uuid::Uuid;

use crate::approvals;
use crate::auth::{self, Authenticated};
use crate::domain::approval_code;
use crate::error::ApiError;
use crate::hub::Outgoing;
use crate::startup::AppState;

/// Largest message a client may send; approve/deny messages are tiny.
const MAX_MESSAGE: usize = 16 * 1024;

#[get("/api/ws")]
pub async fn session_socket(
    request: HttpRequest,
    body: web::Payload,
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let token = auth::session_token(&request, &state)?;
    let (response, socket, stream) = actix_ws::handle(&request, body)?;
    // Subscribe before reading the pending list, so nothing falls between the two.
    let (conn_id, outgoing) = state.hub.connect_session(auth.user.id, auth.session.id);
    let pending = async {
        let mut conn = state.pool.get().await?;
        Ok::<_, ApiError>(
            approvals::list_pending(&mut conn, auth.user.id, state.clock.now()).await?,
        )
    }
    .await;
    let pending = match pending {
        Ok(pending) => pending,
        Err(error) => {
            state.hub.disconnect_session(auth.user.id, conn_id);
            return Err(error.into());
        }
    };
    let greeting = pending
        .iter()
        .map(|approval| ServerMessage::ApprovalRequested {
            approval: approval.to_wire(state.settings.approval_max_attempts),
        })
        .collect();
    let user_id = auth.user.id;
    actix_web::rt::spawn(async move {
        let connection = SessionConnection {
            state: state.clone(),
            token,
            socket,
            greeting,
        };
        connection.run(stream, outgoing).await;
        state.hub.disconnect_session(user_id, conn_id);
    });
    Ok(response)
}

struct SessionConnection {
    state: web::Data<AppState>,
    token: String,
    socket: Session,
    greeting: Vec<ServerMessage>,
}

impl SessionConnection {
    async fn run(
        mut self,
        stream: actix_ws::MessageStream,
        mut outgoing: tokio::sync::mpsc::UnboundedReceiver<Outgoing>,
    ) {
        let mut stream = stream
            .max_frame_size(MAX_MESSAGE)
            .aggregate_continuations()
            .max_continuation_size(MAX_MESSAGE);
        let mut heartbeat = heartbeat(&self.state);
        let mut last_heard = Instant::now();
        let mut close_reason = None;
        for message in std::mem::take(&mut self.greeting) {
            if send_json(&mut self.socket, &message).await.is_err() {
                return;
            }
        }
        loop {
            tokio::select! {
                command = outgoing.recv() => match command {
                    Some(Outgoing::Send(message)) => {
                        if send_json(&mut self.socket, &message).await.is_err() {
                            return;
                        }
                    }
                    Some(Outgoing::SendAndClose(message)) => {
                        let _ = send_json(&mut self.socket, &message).await;
                        close_reason = Some(CloseReason { code: CloseCode::Policy, description: Some("session ended".into()) });
                        break;
                    }
                    None => break,
                },
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > self.state.settings.ws_client_timeout {
                        tracing::debug!("closing a silent session socket");
                        break;
                    }
                    if self.socket.ping(b"").await.is_err() {
                        return;
                    }
                }
                incoming = stream.recv() => {
                    last_heard = Instant::now();
                    match incoming {
                        Some(Ok(AggregatedMessage::Text(text))) => {
                            if let Some(reply) = self.handle_text(&text).await {
                                let closing = matches!(reply, ServerMessage::SessionRevoked { .. });
                                if send_json(&mut self.socket, &reply).await.is_err() {
                                    return;
                                }
                                if closing {
                                    close_reason = Some(CloseReason { code: CloseCode::Policy, description: Some("session ended".into()) });
                                    break;
                                }
                            }
                        }
                        Some(Ok(AggregatedMessage::Binary(_))) => {
                            let reply = protocol_error("Binary messages are not supported");
                            if send_json(&mut self.socket, &reply).await.is_err() {
                                return;
                            }
                        }
                        Some(Ok(AggregatedMessage::Ping(bytes))) => {
                            if self.socket.pong(&bytes).await.is_err() {
                                return;
                            }
                        }
                        Some(Ok(AggregatedMessage::Pong(_))) => {}
                        Some(Ok(AggregatedMessage::Close(reason))) => {
                            close_reason = reason;
                            break;
                        }
                        Some(Err(error)) => {
                            tracing::debug!(%error, "session socket protocol error");
                            break;
                        }
                        None => break,
                    }
                }
            }
        }
        let _ = self.socket.close(close_reason).await;
    }

    /// Handles one client message; returns the reply for this socket, if any. Outcomes that
    /// every device of the user must see are broadcast by `approvals::decide` itself.
    async fn handle_text(&self, text: &str) -> Option<ServerMessage> {
        let message = match serde_json::from_str::<ClientMessage>(text) {
            Ok(message) => message,
            Err(error) => return Some(protocol_error(&format!("Invalid message: {error}"))),
        };
        // The session may have ended since the socket opened: check it again.
        let auth = match auth::authenticate(&self.state, &self.token).await {
            Ok(auth) => auth,
            Err(ApiError::SessionExpired) => {
                return Some(ServerMessage::SessionRevoked {
                    reason: "expired".into(),
                });
            }
            Err(ApiError::InvalidSession) => {
                return Some(ServerMessage::SessionRevoked {
                    reason: "revoked".into(),
                });
            }
            Err(error) => return Some(error_message(&error)),
        };
        let result = match message {
            ClientMessage::Approve { approval_id, code } => match approval_code(&code) {
                Ok(code) => approvals::decide(&self.state, &auth, approval_id, Some(&code)).await,
                Err(error) => Err(error),
            },
            ClientMessage::Deny { approval_id } => {
                approvals::decide(&self.state, &auth, approval_id, None).await
            }
        };
        match result {
            // Already broadcast as approval_resolved / approval_code_rejected.
            Ok(_) | Err(ApiError::WrongCode { .. }) => None,
            Err(error) => Some(error_message(&error)),
        }
    }
}

fn protocol_error(error: &str) -> ServerMessage {
    ServerMessage::Error {
        error: error.to_owned(),
        code: "bad_message".to_owned(),
    }
}

fn error_message(error: &ApiError) -> ServerMessage {
    if matches!(error, ApiError::Unavailable(_) | ApiError::Internal(_)) {
        tracing::warn!(%error, "socket request failed");
    }
    let body = error.body();
    ServerMessage::Error {
        error: body.error,
        code: body.code,
    }
}

fn heartbeat(state: &AppState) -> tokio::time::Interval {
    let period = state.settings.ws_heartbeat;
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

#[derive(Deserialize)]
pub struct PendingQuery {
    token: String,
}

pub async fn pending_socket(
    request: HttpRequest,
    body: web::Payload,
    path: web::Path<Uuid>,
    query: web::Query<PendingQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let approval_id = path.into_inner();
    let (conn_id, updates) = state.hub.connect_pending(approval_id);
    let approval = async {
        let mut conn = state.pool.get().await?;
        approvals::find(&mut conn, approval_id)
            .await?
            .filter(|approval| approvals::token_matches(approval, &query.token))
            .ok_or(ApiError::NotFound("No such login request"))
    }
    .await;
    let (approval, (response, socket, stream)) = match approval
        .map_err(actix_web::Error::from)
        .and_then(|approval| {
            actix_ws::handle(&request, body).map(|handshake| (approval, handshake))
        }) {
        Ok(ready) => ready,
        Err(error) => {
            state.hub.disconnect_pending(approval_id, conn_id);
            return Err(error);
        }
    };
    actix_web::rt::spawn(async move {
        run_pending(&state, approval, socket, stream, updates).await;
        state.hub.disconnect_pending(approval_id, conn_id);
    });
    Ok(response)
}

async fn run_pending(
    state: &web::Data<AppState>,
    approval: approvals::ApprovalRow,
    mut socket: Session,
    stream: actix_ws::MessageStream,
    mut updates: tokio::sync::mpsc::UnboundedReceiver<PendingMessage>,
) {
    let mut stream = stream
        .max_frame_size(MAX_MESSAGE)
        .aggregate_continuations()
        .max_continuation_size(MAX_MESSAGE);
    let first = approval.pending_message();
    let decided = !matches!(first, PendingMessage::Pending { .. });
    if send_json(&mut socket, &first).await.is_err() {
        return;
    }
    if decided {
        let _ = socket.close(Some(CloseCode::Normal.into())).await;
        return;
    }
    // Wake at the deadline to expire the approval even if no sweep runs in time.
    let until_expiry = (approval.expires_at - state.clock.now())
        .to_std()
        .unwrap_or(Duration::ZERO);
    let deadline = tokio::time::sleep(until_expiry + Duration::from_millis(50));
    tokio::pin!(deadline);
    let mut deadline_passed = false;
    let mut heartbeat = heartbeat(state);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            update = updates.recv() => match update {
                Some(message) => {
                    if send_json(&mut socket, &message).await.is_err() {
                        return;
                    }
                    // Approved stays open until completion is reported; the rest is final.
                    if !matches!(message, PendingMessage::Approved | PendingMessage::Pending { .. }) {
                        break;
                    }
                }
                None => break,
            },
            () = &mut deadline, if !deadline_passed => {
                deadline_passed = true;
                if let Err(error) = approvals::expire_if_lapsed(state, approval.id).await {
                    tracing::warn!(%error, "could not expire an approval");
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > state.settings.ws_client_timeout || socket.ping(b"").await.is_err() {
                    break;
                }
            }
            incoming = stream.recv() => {
                last_heard = Instant::now();
                match incoming {
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if socket.pong(&bytes).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(AggregatedMessage::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => {}
                }
            }
        }
    }
    let _ = socket.close(Some(CloseCode::Normal.into())).await;
}
