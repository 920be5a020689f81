//! In-process registry of open WebSockets, so any request can push to a user's devices.
//!
//! One server process holds all sockets of its users; running several API processes behind
//! a load balancer would need a shared bus (e.g. PostgreSQL LISTEN/NOTIFY) — not needed yet.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use shared::ws::{PendingMessage, ServerMessage};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use uuid::Uuid;

/// What a session socket's task is told to do.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Send(ServerMessage),
    /// Send this message, then close the socket (the session is over).
    SendAndClose(ServerMessage),
}

struct SessionSocket {
    conn_id: u64,
    session_id: Uuid,
    sender: UnboundedSender<Outgoing>,
}

struct PendingSocket {
    conn_id: u64,
    sender: UnboundedSender<PendingMessage>,
}

#[derive(Default)]
struct Registry {
    by_user: HashMap<Uuid, Vec<SessionSocket>>,
    by_approval: HashMap<Uuid, Vec<PendingSocket>>,
}

#[derive(Default)]
pub struct Hub {
    registry: Mutex<Registry>,
    next_conn_id: AtomicU64,
}

impl Hub {
    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the maps half-updated in a harmful way.
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn connect_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
    ) -> (u64, UnboundedReceiver<Outgoing>) {
        let conn_id = self.next_conn_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = unbounded_channel();
        self.registry()
            .by_user
            .entry(user_id)
            .or_default()
            .push(SessionSocket {
                conn_id,
                session_id,
                sender,
            });
        (conn_id, receiver)
    }

    pub fn disconnect_session(&self, user_id: Uuid, conn_id: u64) {
        let mut registry = self.registry();
        if let Some(sockets) = registry.by_user.get_mut(&user_id) {
            sockets.retain(|socket| socket.conn_id != conn_id);
            if sockets.is_empty() {
                registry.by_user.remove(&user_id);
            }
        }
    }

    pub fn connect_pending(&self, approval_id: Uuid) -> (u64, UnboundedReceiver<PendingMessage>) {
        let conn_id = self.next_conn_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = unbounded_channel();
        self.registry()
            .by_approval
            .entry(approval_id)
            .or_default()
            .push(PendingSocket { conn_id, sender });
        (conn_id, receiver)
    }

    pub fn disconnect_pending(&self, approval_id: Uuid, conn_id: u64) {
        let mut registry = self.registry();
        if let Some(sockets) = registry.by_approval.get_mut(&approval_id) {
            sockets.retain(|socket| socket.conn_id != conn_id);
            if sockets.is_empty() {
                registry.by_approval.remove(&approval_id);
            }
        }
    }

    /// Sends to every open socket of the user.
    pub fn send_to_user(&self, user_id: Uuid, message: &ServerMessage) {
        if let Some(sockets) = self.registry().by_user.get(&user_id) {
            for socket in sockets {
                let _ = socket.sender.send(Outgoing::Send(message.clone()));
            }
        }
    }

    pub fn sessions_changed(&self, user_id: Uuid) {
        self.send_to_user(user_id, &ServerMessage::SessionsChanged);
    }

    /// Tells the ended session why and closes its sockets; the user's others refresh.
    pub fn session_ended(&self, user_id: Uuid, session_id: Uuid, reason: &str) {
        if let Some(sockets) = self.registry().by_user.get(&user_id) {
            for socket in sockets
                .iter()
                .filter(|socket| socket.session_id == session_id)
            {
                let message = ServerMessage::SessionRevoked {
                    reason: reason.to_owned(),
                };
                let _ = socket.sender.send(Outgoing::SendAndClose(message));
            }
        }
        self.sessions_changed(user_id);
    }

    pub fn notify_pending(&self, approval_id: Uuid, message: &PendingMessage) {
        if let Some(sockets) = self.registry().by_approval.get(&approval_id) {
            for socket in sockets {
                let _ = socket.sender.send(message.clone());
            }
        }
    }
}
