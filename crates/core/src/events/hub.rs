//! The sockets this process holds, by user (session sockets) and by login request (the
//! waiting device's socket), so an event can reach them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use shared::ws::{PendingMessage, ServerMessage};
// futures' channel rather than tokio's: tokio's allocates a block of 32 slots and a
// cache-padded 512-byte header per channel up front, about 1 KiB for every held socket;
// this one allocates per message, and a socket is sent a few an hour.
pub use futures_channel::mpsc::UnboundedReceiver;
use futures_channel::mpsc::{UnboundedSender, unbounded};
use uuid::Uuid;

/// What a session socket's task is told to do. Messages are boxed: the variants stay small
/// whatever a message holds.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Send(Box<ServerMessage>),
    /// Send this message, then close the socket (the session is over).
    SendAndClose(Box<ServerMessage>),
    /// Events may have been missed (the listener reconnected): read the state again.
    Resync,
    /// The server is stopping: close with 1012 so that the client reconnects elsewhere.
    Restart,
}

/// What the waiting device's socket task is told to do.
#[derive(Debug, Clone)]
pub enum WaitingOutgoing {
    Send(PendingMessage),
    Resync,
    Restart,
}

struct SessionSocket {
    conn_id: u64,
    session_id: Uuid,
    sender: UnboundedSender<Outgoing>,
}

struct WaitingSocket {
    conn_id: u64,
    sender: UnboundedSender<WaitingOutgoing>,
}

#[derive(Default)]
struct Registry {
    by_user: HashMap<Uuid, Vec<SessionSocket>>,
    by_approval: HashMap<Uuid, Vec<WaitingSocket>>,
    /// Set once the server stops: sockets that register later are told at once.
    stopping: bool,
}

#[derive(Default)]
pub struct Hub {
    registry: Mutex<Registry>,
    next_conn_id: AtomicU64,
}

/// Open sockets by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketCounts {
    pub session: usize,
    pub waiting: usize,
}

impl Hub {
    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the maps half-updated in a harmful way.
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a session socket of the user unless `max_per_user` are already open here:
    /// the count and the registration under one lock, so two handshakes at once cannot both
    /// take the last place. `None` when the user is at the cap.
    pub fn connect_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        max_per_user: usize,
    ) -> Option<(u64, UnboundedReceiver<Outgoing>)> {
        let mut registry = self.registry();
        if registry.by_user.get(&user_id).map_or(0, Vec::len) >= max_per_user {
            return None;
        }
        let conn_id = self.next_conn_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = unbounded();
        if registry.stopping {
            let _ = sender.unbounded_send(Outgoing::Restart);
        }
        registry
            .by_user
            .entry(user_id)
            .or_default()
            .push(SessionSocket {
                conn_id,
                session_id,
                sender,
            });
        Some((conn_id, receiver))
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

    pub fn connect_waiting(&self, approval_id: Uuid) -> (u64, UnboundedReceiver<WaitingOutgoing>) {
        let conn_id = self.next_conn_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = unbounded();
        let mut registry = self.registry();
        if registry.stopping {
            let _ = sender.unbounded_send(WaitingOutgoing::Restart);
        }
        registry
            .by_approval
            .entry(approval_id)
            .or_default()
            .push(WaitingSocket { conn_id, sender });
        (conn_id, receiver)
    }

    pub fn disconnect_waiting(&self, approval_id: Uuid, conn_id: u64) {
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
                let _ = socket
                    .sender
                    .unbounded_send(Outgoing::Send(Box::new(message.clone())));
            }
        }
    }

    /// Sends to every open socket of the user but those of one session.
    pub fn send_to_user_except(
        &self,
        user_id: Uuid,
        except_session: Option<Uuid>,
        message: &ServerMessage,
    ) {
        if let Some(sockets) = self.registry().by_user.get(&user_id) {
            for socket in sockets
                .iter()
                .filter(|socket| Some(socket.session_id) != except_session)
            {
                let _ = socket
                    .sender
                    .unbounded_send(Outgoing::Send(Box::new(message.clone())));
            }
        }
    }

    /// Whether any socket of the user is open here.
    pub fn has_user(&self, user_id: Uuid) -> bool {
        self.registry().by_user.contains_key(&user_id)
    }

    /// Sends `message` to the sockets of one session, then closes them (it has ended).
    pub fn end_session(&self, user_id: Uuid, session_id: Uuid, message: &ServerMessage) {
        if let Some(sockets) = self.registry().by_user.get(&user_id) {
            for socket in sockets
                .iter()
                .filter(|socket| socket.session_id == session_id)
            {
                let _ = socket
                    .sender
                    .unbounded_send(Outgoing::SendAndClose(Box::new(message.clone())));
            }
        }
    }

    /// The sessions that have a socket open here, each once.
    pub fn held_sessions(&self) -> Vec<Uuid> {
        let registry = self.registry();
        let mut sessions: Vec<Uuid> = registry
            .by_user
            .values()
            .flatten()
            .map(|socket| socket.session_id)
            .collect();
        sessions.sort_unstable();
        sessions.dedup();
        sessions
    }

    /// Sends each ended session's sockets its message, then closes them: one pass over the
    /// registry for all of them (the heartbeat's batched re-check).
    pub fn end_sessions(&self, ended: &HashMap<Uuid, ServerMessage>) {
        if ended.is_empty() {
            return;
        }
        let registry = self.registry();
        for socket in registry.by_user.values().flatten() {
            if let Some(message) = ended.get(&socket.session_id) {
                let _ = socket
                    .sender
                    .unbounded_send(Outgoing::SendAndClose(Box::new(message.clone())));
            }
        }
    }

    /// Sends to the sockets of the device waiting for this login request.
    pub fn send_to_waiting(&self, approval_id: Uuid, message: &PendingMessage) {
        if let Some(sockets) = self.registry().by_approval.get(&approval_id) {
            for socket in sockets {
                let _ = socket
                    .sender
                    .unbounded_send(WaitingOutgoing::Send(message.clone()));
            }
        }
    }

    /// Tells every socket that events may have been missed.
    pub fn resync_all(&self) {
        let registry = self.registry();
        for socket in registry.by_user.values().flatten() {
            let _ = socket.sender.unbounded_send(Outgoing::Resync);
        }
        for socket in registry.by_approval.values().flatten() {
            let _ = socket.sender.unbounded_send(WaitingOutgoing::Resync);
        }
    }

    /// The server is stopping: every socket closes with 1012, now and from now on.
    pub fn restart_all(&self) {
        let mut registry = self.registry();
        registry.stopping = true;
        for socket in registry.by_user.values().flatten() {
            let _ = socket.sender.unbounded_send(Outgoing::Restart);
        }
        for socket in registry.by_approval.values().flatten() {
            let _ = socket.sender.unbounded_send(WaitingOutgoing::Restart);
        }
    }

    pub fn counts(&self) -> SocketCounts {
        let registry = self.registry();
        SocketCounts {
            session: registry.by_user.values().map(Vec::len).sum(),
            waiting: registry.by_approval.values().map(Vec::len).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_user_at_the_cap_gets_no_more_session_sockets_until_one_closes() {
        let hub = Hub::default();
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let first = hub.connect_session(user, session, 2).map(|(id, _)| id);
        assert!(first.is_some());
        assert!(hub.connect_session(user, session, 2).is_some());
        assert!(hub.connect_session(user, session, 2).is_none());
        // Another user has places of their own.
        assert!(hub.connect_session(Uuid::new_v4(), session, 2).is_some());
        if let Some(first) = first {
            hub.disconnect_session(user, first);
        }
        assert!(hub.connect_session(user, session, 2).is_some());
        assert_eq!(hub.counts().session, 3);
    }

    #[test]
    fn ended_sessions_close_only_their_own_sockets() {
        let hub = Hub::default();
        let (user, ended, standing) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut on_ended = hub.connect_session(user, ended, 4).map(|(_, rx)| rx);
        let mut on_standing = hub.connect_session(user, standing, 4).map(|(_, rx)| rx);
        let _twice = hub.connect_session(Uuid::new_v4(), standing, 4);
        assert_eq!(hub.held_sessions().len(), 2, "each session once");
        let message = ServerMessage::SessionsChanged;
        hub.end_sessions(&HashMap::from([(ended, message)]));
        let told = on_ended.as_mut().map(UnboundedReceiver::try_recv);
        assert!(
            matches!(&told, Some(Ok(Outgoing::SendAndClose(message))) if **message == ServerMessage::SessionsChanged),
            "{told:?}"
        );
        assert!(
            on_standing
                .as_mut()
                .is_some_and(|rx| rx.try_recv().is_err())
        );
    }

    #[test]
    fn a_refused_socket_leaves_no_trace_of_its_user() {
        let hub = Hub::default();
        let user = Uuid::new_v4();
        assert!(hub.connect_session(user, Uuid::new_v4(), 0).is_none());
        assert!(!hub.has_user(user));
    }

    #[test]
    fn handshakes_racing_for_the_last_place_get_it_once() {
        for _ in 0..50 {
            let hub = Arc::new(Hub::default());
            let user = Uuid::new_v4();
            let barrier = Arc::new(std::sync::Barrier::new(8));
            // Every racer starts before any is joined.
            let mut racers = Vec::new();
            for _ in 0..8 {
                let (hub, barrier) = (hub.clone(), barrier.clone());
                racers.push(std::thread::spawn(move || {
                    barrier.wait();
                    // Keep the receiver: a registered socket stays open.
                    hub.connect_session(user, Uuid::new_v4(), 3)
                }));
            }
            let admitted = racers
                .into_iter()
                .filter_map(|racer| racer.join().ok().flatten())
                .count();
            assert_eq!(admitted, 3);
            assert_eq!(hub.counts().session, 3);
        }
    }
}
