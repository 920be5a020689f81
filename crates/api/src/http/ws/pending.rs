//! `/api/ws/approvals/{id}`: the socket of the device waiting for approval. It hears
//! its request's status on connect and every change after; it closes once the request is
//! over (approved stays open until the device completes), and with 1012 when this server
//! stops, so that the device reconnects to another instance.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, get, web};
use actix_ws::{CloseCode, CloseReason, Session};
use futures_util::StreamExt;
use serde::Deserialize;
use shared::ws::{PendingMessage, WaitingClientMessage};
use shared::{ErrorBody, Secret};
use tokio::time::Instant;
use uuid::Uuid;

use super::incoming::{Incoming, IncomingStream};
use super::{MAX_MESSAGE, heartbeat, send_json};
use crate::events::{WaitingOutgoing, waiting_device_message};
use crate::http::error::ApiError;
use crate::model::approval::ApprovalStatus;
use crate::services::approvals;
use crate::state::AppState;
use crate::storage::approvals::ApprovalRow;

#[derive(Deserialize)]
pub struct PendingQuery {
    /// Deprecated: the pending token in the URL (proxies log URLs). Send it as the first
    /// message instead (`{"type":"authenticate","pending_token":"…"}`), as the app does.
    /// To be removed in a coming release, with the one test that keeps it working
    /// (`approvals::the_deprecated_token_in_the_url_still_opens_the_waiting_socket_…`).
    token: Option<Secret>,
}

/// How long a socket may take to send its pending token.
const AUTHENTICATE_WITHIN: Duration = Duration::from_secs(10);

const WAITING_SOCKET: &str = "Upgrade to the waiting device's WebSocket. Its first message is a `WaitingClientMessage` (`{\"type\":\"authenticate\",\"pending_token\":\"…\"}`, within 10 s; a wrong token closes with 1008); the server then sends `PendingMessage`s: `pending` now, later `approved`, `denied`, `expired`, `locked`, `session_limit`, `cancelled` or `completed`, closing after a final one. The `token` query parameter is the deprecated way to authenticate (proxies log URLs).";

/// The waiting device's socket.
#[utoipa::path(
    tag = "sockets",
    operation_id = "waiting_socket",
    description = WAITING_SOCKET,
    params(
        ("id" = Uuid, Path, description = "The request"),
        ("token" = Option<String>, Query, deprecated, description = "Deprecated: the pending token"),
    ),
    security((), ("pending_token" = [])),
    responses(
        (status = 101, description = "Switching protocols: messages are `WaitingClientMessage` (client, first) and `PendingMessage` (server)"),
        (status = 400, description = "`bad_request`: not a WebSocket upgrade, or a bad id", body = ErrorBody),
        (status = 404, description = "`not_found`: the deprecated `token` does not open this request", body = ErrorBody),
    )
)]
#[get("/api/login/approvals/{id}/ws")]
pub async fn waiting_socket(
    request: HttpRequest,
    body: web::Payload,
    path: web::Path<Uuid>,
    query: web::Query<PendingQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    pending_socket(request, body, path, query, state).await
}

/// The same socket at a path under `/api/ws`, so that one dev-proxy rule covers every socket.
#[utoipa::path(
    tag = "sockets",
    operation_id = "waiting_socket_alias",
    description = WAITING_SOCKET,
    params(
        ("id" = Uuid, Path, description = "The request"),
        ("token" = Option<String>, Query, deprecated, description = "Deprecated: the pending token"),
    ),
    security((), ("pending_token" = [])),
    responses(
        (status = 101, description = "Switching protocols (as `waiting_socket`)"),
        (status = 400, description = "`bad_request`: not a WebSocket upgrade, or a bad id", body = ErrorBody),
        (status = 404, description = "`not_found`: the deprecated `token` does not open this request", body = ErrorBody),
    )
)]
#[get("/api/ws/approvals/{id}")]
pub async fn waiting_socket_alias(
    request: HttpRequest,
    body: web::Payload,
    path: web::Path<Uuid>,
    query: web::Query<PendingQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    pending_socket(request, body, path, query, state).await
}

async fn pending_socket(
    request: HttpRequest,
    body: web::Payload,
    path: web::Path<Uuid>,
    query: web::Query<PendingQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let approval_id = path.into_inner();
    let token = query.into_inner().token;
    if let Some(token) = &token {
        // The URL form is refused before the upgrade, as it always was.
        approvals::for_waiting_device(&state, approval_id, token)
            .await
            .map_err(ApiError)?;
    }
    let (response, socket, stream) = super::upgrade(&request, body)?;
    actix_web::rt::spawn(async move {
        let stream = IncomingStream::new(stream, MAX_MESSAGE);
        run(&state, approval_id, token, socket, stream).await;
    });
    Ok(response)
}

/// The pending token from the socket's first message, if it comes in time.
async fn first_message_token(stream: &mut IncomingStream) -> Option<Secret> {
    let first = tokio::time::timeout(AUTHENTICATE_WITHIN, async {
        loop {
            match stream.recv().await {
                Some(Incoming::Text(text)) => return Some(text),
                Some(Incoming::Ping(_) | Incoming::Pong) => {}
                _ => return None,
            }
        }
    })
    .await
    .ok()??;
    match serde_json::from_str::<WaitingClientMessage>(&first).ok()? {
        WaitingClientMessage::Authenticate { pending_token } => Some(pending_token),
    }
}

fn refused(description: &str) -> Option<CloseReason> {
    Some(CloseReason {
        code: CloseCode::Policy,
        description: Some(description.to_owned()),
    })
}

async fn run(
    state: &web::Data<AppState>,
    approval_id: Uuid,
    token: Option<Secret>,
    socket: Session,
    mut stream: IncomingStream,
) {
    let token = match token {
        Some(token) => token,
        None => match first_message_token(&mut stream).await {
            Some(token) => token,
            None => {
                let _ = socket.close(refused("send the pending token first")).await;
                return;
            }
        },
    };
    let hub = state.events.hub();
    // Subscribe before reading the request, so no change falls between the two.
    let (conn_id, updates) = hub.connect_waiting(approval_id);
    match approvals::for_waiting_device(state, approval_id, &token).await {
        Ok(approval) => run_waiting(state, approval, socket, stream, updates).await,
        Err(error) => {
            crate::http::error::log(&error);
            let reason = if error.is_server_side() {
                Some(CloseCode::Error.into())
            } else {
                refused("no such login request")
            };
            let _ = socket.close(reason).await;
        }
    }
    state.events.hub().disconnect_waiting(approval_id, conn_id);
}

/// What the device is told about its request in this state.
fn message_for(approval: &ApprovalRow) -> PendingMessage {
    waiting_device_message(approval.status).unwrap_or(PendingMessage::Pending {
        expires_at: approval.expires_at,
    })
}

/// Whether the socket's job is done once the device heard `message`.
fn is_final(message: &PendingMessage) -> bool {
    !matches!(
        message,
        PendingMessage::Approved | PendingMessage::Pending { .. }
    )
}

async fn run_waiting(
    state: &web::Data<AppState>,
    approval: ApprovalRow,
    mut socket: Session,
    mut stream: IncomingStream,
    mut updates: crate::events::UnboundedReceiver<WaitingOutgoing>,
) {
    let first = message_for(&approval);
    if send_json(&mut socket, &first).await.is_err() {
        return;
    }
    if is_final(&first) {
        let _ = socket.close(Some(CloseCode::Normal.into())).await;
        return;
    }
    let mut told = approval.status;
    // Wake at the deadline to expire the request even if no sweep runs in time.
    let until_expiry = (approval.expires_at - state.now())
        .to_std()
        .unwrap_or(Duration::ZERO);
    let deadline = tokio::time::sleep(until_expiry + Duration::from_millis(50));
    tokio::pin!(deadline);
    let mut deadline_passed = false;
    let mut heartbeat = heartbeat(state);
    let mut last_heard = Instant::now();
    let close: Option<CloseReason> = loop {
        tokio::select! {
            update = updates.next() => {
                let message = match update {
                    Some(WaitingOutgoing::Send(message)) => Some(message),
                    Some(WaitingOutgoing::Resync) => match approvals::current(state, approval.id).await {
                        // Only a change the device has not heard of yet.
                        Ok(current) if current.status != told => Some(message_for(&current)),
                        Ok(_) => None,
                        Err(error) => {
                            crate::http::error::log(&error);
                            None
                        }
                    },
                    Some(WaitingOutgoing::Restart) => break Some(CloseReason {
                        code: CloseCode::Restart,
                        description: Some("server restarting".into()),
                    }),
                    None => break Some(CloseCode::Normal.into()),
                };
                if let Some(message) = message {
                    told = status_told(&message).unwrap_or(told);
                    if send_json(&mut socket, &message).await.is_err() {
                        return;
                    }
                    if is_final(&message) {
                        break Some(CloseCode::Normal.into());
                    }
                }
            }
            () = &mut deadline, if !deadline_passed => {
                deadline_passed = true;
                if let Err(error) = approvals::expire_if_lapsed(state, approval.id).await {
                    tracing::warn!(error = %error.chain(), "could not expire a login request");
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > state.settings.sockets.client_timeout || socket.ping(b"").await.is_err() {
                    break Some(CloseCode::Normal.into());
                }
            }
            incoming = stream.recv() => {
                last_heard = Instant::now();
                match incoming {
                    Some(Incoming::Ping(bytes)) => {
                        if socket.pong(&bytes).await.is_err() {
                            return;
                        }
                    }
                    Some(Incoming::Close(_) | Incoming::Overflow | Incoming::Broken(_)) | None => {
                        break Some(CloseCode::Normal.into());
                    }
                    Some(Incoming::Text(_) | Incoming::Binary(_) | Incoming::Pong) => {}
                }
            }
        }
    };
    let _ = socket.close(close).await;
}

/// The status a message tells the device about.
fn status_told(message: &PendingMessage) -> Option<ApprovalStatus> {
    Some(match message {
        PendingMessage::Pending { .. } => ApprovalStatus::Pending,
        PendingMessage::Approved => ApprovalStatus::Approved,
        PendingMessage::Denied => ApprovalStatus::Denied,
        PendingMessage::Expired => ApprovalStatus::Expired,
        PendingMessage::Locked => ApprovalStatus::Locked,
        PendingMessage::SessionLimit => ApprovalStatus::SessionLimit,
        PendingMessage::Cancelled => ApprovalStatus::Cancelled,
        PendingMessage::Completed => ApprovalStatus::Completed,
        // Never sent by this server.
        PendingMessage::Unknown => return None,
    })
}
