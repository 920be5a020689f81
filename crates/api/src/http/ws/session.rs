//! `/api/ws`: the socket of a logged-in session.
//!
//! It re-reads its session when it registers (a revocation may have come between the
//! handshake's check and the registration) and when the event listener reconnects; on every
//! heartbeat (an event may have been lost) `recheck_held` re-reads the sessions of all the
//! sockets held here with one query; a session found ended closes the socket
//! with 1008 after telling why. Prompts still pending are sent on connect and on resync.

use actix_web::{HttpRequest, HttpResponse, get, web};
use actix_ws::{CloseCode, CloseReason, Session};
use futures_util::{FutureExt, StreamExt};
use shared::ErrorBody;
use shared::ws::{ClientMessage, ServerMessage};
use tokio::time::Instant;
use uuid::Uuid;

use super::incoming::{Incoming, IncomingStream};
use super::{
    MAX_MESSAGE, RateLimit, error_message, heartbeat, protocol_error, send_json, too_big,
    too_many_messages,
};
use crate::error::Error;
use crate::events::Outgoing;
use crate::http::error::ApiError;
use crate::http::extractors::Authenticated;
use crate::model::input::ApprovalCode;
use crate::services::approvals::{self, Answer};
use crate::services::sessions::{self, Standing};
use crate::state::AppState;

#[utoipa::path(
    tag = "sockets",
    operation_id = "session_socket",
    summary = "The session's WebSocket",
    description = "Upgrade to a WebSocket. The server sends `ServerMessage`s (JSON, tagged by `type`): the prompts pending on connect, then approval requests, code rejections, resolutions, `sessions_changed`, `security_alert`, and `session_revoked` before closing with 1008. The client sends `ClientMessage`s (`approve`, `deny`). Frames over 16 KiB close with 1009, floods with 1008; a stopping instance closes with 1012.",
    security(("session_cookie" = [])),
    responses(
        (status = 101, description = "Switching protocols: messages are `ServerMessage` (server) and `ClientMessage` (client)"),
        (status = 400, description = "`bad_request`: not a WebSocket upgrade", body = ErrorBody),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 429, description = "`too_many_sockets`", body = ErrorBody),
    )
)]
#[get("/api/ws")]
pub async fn session_socket(
    request: HttpRequest,
    body: web::Payload,
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let user_id = auth.user.id;
    let session_id = auth.session.id;
    let (response, socket, stream) = super::upgrade(&request, body)?;
    // The upgrade only built the 101 response, not sent it: a refusal here is still a 429.
    let (conn_id, outgoing) = state
        .events
        .hub()
        .connect_session(user_id, session_id, state.settings.sockets.max_per_user)
        .ok_or(ApiError(Error::TooManySockets))?;
    let connection = SessionConnection {
        state: state.clone(),
        user_id,
        session_id,
        socket,
        prompted_by_sync: Vec::new(),
    };
    let stream = IncomingStream::new(stream, MAX_MESSAGE);
    // Chained rather than awaited in an async block, whose captures (the connection, the
    // stream) would stay in the task beside the loop's own copies for the socket's life.
    actix_web::rt::spawn(
        connection
            .run(stream, outgoing)
            .map(move |()| state.events.hub().disconnect_session(user_id, conn_id)),
    );
    Ok(response)
}

struct SessionConnection {
    state: web::Data<AppState>,
    user_id: Uuid,
    session_id: Uuid,
    socket: Session,
    /// Prompts a sync sent whose event may still come: the socket is registered before it
    /// reads what is pending, so a request made in between is both read and announced.
    /// Its announcement is then dropped, once. Empty, it holds no memory.
    prompted_by_sync: Vec<Uuid>,
}

/// Why the loop stopped: how to close.
enum Closing {
    /// The peer went away or broke the protocol; nothing more to say.
    Gone,
    With(Option<CloseReason>),
}

fn policy(description: &str) -> Closing {
    Closing::With(Some(CloseReason {
        code: CloseCode::Policy,
        description: Some(description.to_owned()),
    }))
}

impl SessionConnection {
    async fn run(
        mut self,
        mut stream: IncomingStream,
        mut outgoing: crate::events::UnboundedReceiver<Outgoing>,
    ) {
        let mut heartbeat = heartbeat(&self.state);
        let mut last_heard = Instant::now();
        let mut rate = RateLimit::new(self.state.settings.sockets.max_messages_per_minute);
        // The database work (`sync`, `handle_text`) and the sends run in boxed futures: inline,
        // their states would be part of this task, which every held socket keeps for its
        // lifetime (the sends alone: 1 304 → 1 032 bytes; a box per message sent instead).
        let mut closing = Box::pin(self.sync(false)).await;
        while closing.is_none() {
            closing = tokio::select! {
                command = outgoing.next() => match command {
                    Some(Outgoing::Send(message)) if self.already_prompted(&message) => None,
                    Some(Outgoing::Send(message)) => Box::pin(self.send(&message)).await,
                    Some(Outgoing::SendAndClose(message)) => {
                        let _ = Box::pin(send_json(&mut self.socket, &message)).await;
                        Some(policy("session ended"))
                    }
                    Some(Outgoing::Resync) => Box::pin(self.sync(true)).await,
                    Some(Outgoing::Restart) => Some(Closing::With(Some(CloseReason {
                        code: CloseCode::Restart,
                        description: Some("server restarting".into()),
                    }))),
                    None => Some(Closing::With(None)),
                },
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > self.state.settings.sockets.client_timeout {
                        tracing::debug!("closing a silent session socket");
                        Some(Closing::With(None))
                    } else {
                        // The session itself is re-read by `recheck_held`, for all sockets at once.
                        Box::pin(self.socket.ping(b"")).await.err().map(|_| Closing::Gone)
                    }
                }
                incoming = stream.recv() => {
                    last_heard = Instant::now();
                    match incoming {
                        Some(Incoming::Text(_) | Incoming::Binary(_)) if !rate.allow() => {
                            Some(Closing::With(Some(too_many_messages())))
                        }
                        Some(Incoming::Text(text)) => Box::pin(self.handle_text(&text)).await,
                        Some(Incoming::Binary(_)) => {
                            let refusal = protocol_error("Binary messages are not supported");
                            Box::pin(self.send(&refusal)).await
                        }
                        Some(Incoming::Ping(bytes)) => {
                            Box::pin(self.socket.pong(&bytes)).await.err().map(|_| Closing::Gone)
                        }
                        Some(Incoming::Pong) => None,
                        Some(Incoming::Close(reason)) => Some(Closing::With(reason)),
                        Some(Incoming::Overflow) => Some(Closing::With(Some(too_big()))),
                        Some(Incoming::Broken(error)) => {
                            tracing::debug!(%error, "session socket protocol error");
                            Some(Closing::With(Some(CloseCode::Protocol.into())))
                        }
                        None => Some(Closing::With(None)),
                    }
                }
            };
        }
        if let Some(Closing::With(reason)) = closing {
            let _ = Box::pin(self.socket.close(reason)).await;
        }
    }

    /// Whether `message` is the announcement of a prompt the last sync already sent.
    fn already_prompted(&mut self, message: &ServerMessage) -> bool {
        let ServerMessage::ApprovalRequested { approval } = message else {
            return false;
        };
        let Some(at) = self
            .prompted_by_sync
            .iter()
            .position(|id| *id == approval.id)
        else {
            return false;
        };
        self.prompted_by_sync.swap_remove(at);
        true
    }

    async fn send(&mut self, message: &ServerMessage) -> Option<Closing> {
        send_json(&mut self.socket, message)
            .await
            .err()
            .map(|_| Closing::Gone)
    }

    /// Re-reads the session; an ended one is told why and closed.
    async fn check_session(&mut self) -> Option<Closing> {
        match sessions::standing(&self.state, self.session_id).await {
            Ok(Standing::Active) => None,
            Ok(Standing::Ended(reason, replaced_by)) => {
                let _ = send_json(&mut self.socket, &revoked(reason, replaced_by)).await;
                Some(policy("session ended"))
            }
            // Not reachable now: try again at the next heartbeat.
            Err(error) => {
                crate::http::error::log(&error);
                None
            }
        }
    }

    /// What the socket must know now: its session still stands, and the prompts pending
    /// (after missed events, also that the lists may have changed).
    async fn sync(&mut self, after_missed_events: bool) -> Option<Closing> {
        if let Some(closing) = self.check_session().await {
            return Some(closing);
        }
        if after_missed_events
            && let Some(closing) = self.send(&ServerMessage::SessionsChanged).await
        {
            return Some(closing);
        }
        match approvals::list_pending(&self.state, self.user_id).await {
            Ok(pending) => {
                self.prompted_by_sync = pending.iter().map(|approval| approval.id).collect();
                for approval in pending {
                    let prompt = ServerMessage::ApprovalRequested { approval };
                    if let Some(closing) = self.send(&prompt).await {
                        return Some(closing);
                    }
                }
                None
            }
            Err(error) => self.send(&error_message(&error)).await,
        }
    }

    /// Handles one client message. Outcomes every device of the user must see are
    /// announced as events by the service; only errors are answered here.
    async fn handle_text(&mut self, text: &str) -> Option<Closing> {
        let message = match serde_json::from_str::<ClientMessage>(text) {
            Ok(message) => message,
            Err(error) => {
                return self
                    .send(&protocol_error(&format!("Invalid message: {error}")))
                    .await;
            }
        };
        // The session may have ended since the socket opened: check it again. A message is
        // a use of the session.
        let auth = match sessions::authenticate_by_id(&self.state, self.session_id).await {
            Ok(auth) => auth,
            Err(Error::SessionExpired | Error::InvalidSession | Error::SessionReplaced { .. }) => {
                return self.check_session().await.or(Some(policy("session ended")));
            }
            Err(error) => return self.send(&error_message(&error)).await,
        };
        let result = self.answer(&auth, message).await;
        match result {
            // Already announced as approval_resolved / approval_code_rejected.
            Ok(()) | Err(Error::WrongCode { .. }) => None,
            Err(error) => self.send(&error_message(&error)).await,
        }
    }

    async fn answer(
        &self,
        auth: &sessions::Authenticated,
        message: ClientMessage,
    ) -> Result<(), Error> {
        let (approval_id, answer) = match message {
            ClientMessage::Approve { approval_id, code } => {
                (approval_id, Answer::Approve(ApprovalCode::parse(&code)?))
            }
            ClientMessage::Deny {
                approval_id,
                suspicious,
            } => (approval_id, Answer::Deny { suspicious }),
        };
        approvals::answer(&self.state, auth, approval_id, answer)
            .await
            .map(|_| ())
    }
}

fn revoked(
    reason: crate::model::session::EndReason,
    replaced_by: Option<shared::ReplacedBy>,
) -> ServerMessage {
    ServerMessage::SessionRevoked {
        reason: reason.into(),
        replaced_by,
    }
}

/// Every heartbeat, re-reads the sessions of all the session sockets held here with one
/// query (an event may have been lost) and closes the sockets of those that ended. One
/// read per interval for the process, however many sockets it holds.
pub async fn recheck_held(state: &AppState) {
    let period = state.settings.sockets.heartbeat;
    let mut interval = tokio::time::interval_at(Instant::now() + period, period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let held = state.events.hub().held_sessions();
        match sessions::ended_among(state, &held).await {
            Ok(ended) => {
                let messages = ended
                    .into_iter()
                    .filter_map(|(session_id, standing)| match standing {
                        Standing::Ended(reason, replaced_by) => {
                            Some((session_id, revoked(reason, replaced_by)))
                        }
                        Standing::Active => None,
                    })
                    .collect();
                state.events.hub().end_sessions(&messages);
            }
            // Not reachable now: try again at the next heartbeat.
            Err(error) => crate::http::error::log(&error),
        }
    }
}
