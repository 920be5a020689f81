//! A webhook receiver: a small HTTP/1.1 server on a port of its own that records every
//! request it gets and answers with the status the test sets. It can be stopped (the port
//! refuses connections) and started again on the same port.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// One request as the receiver got it.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub content_type: String,
    pub body: String,
}

pub struct Receiver {
    pub port: u16,
    received: Arc<Mutex<Vec<WebhookRequest>>>,
    status: Arc<AtomicU16>,
    server: Option<tokio::task::JoinHandle<()>>,
    /// While stopped: the port, bound but not listening (connections are refused, and no
    /// other socket can take the port before `restart`).
    held: Option<TcpSocket>,
}

impl Receiver {
    /// A receiver answering 200 on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut receiver = Self {
            port,
            received: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            server: None,
            held: None,
        };
        receiver.serve(listener);
        receiver
    }

    /// `http://127.0.0.1:PORT/hooks`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    /// The same port by name (resolved when delivered).
    pub fn url_by_name(&self) -> String {
        format!("http://localhost:{}/hooks", self.port)
    }

    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<WebhookRequest> {
        self.received.lock().unwrap().clone()
    }

    /// Stops listening: connections to the port are refused until `restart`.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
        let socket = TcpSocket::new_v4().unwrap();
        // The connections it accepted may linger in TIME_WAIT on the port.
        socket.set_reuseaddr(true).unwrap();
        socket.bind(([127, 0, 0, 1], self.port).into()).unwrap();
        self.held = Some(socket);
    }

    /// Listens on the same port again.
    pub async fn restart(&mut self) {
        let listener = match self.held.take() {
            Some(socket) => socket.listen(64).unwrap(),
            None => TcpListener::bind(("127.0.0.1", self.port)).await.unwrap(),
        };
        self.serve(listener);
    }

    fn serve(&mut self, listener: TcpListener) {
        let received = self.received.clone();
        let status = self.status.clone();
        self.server = Some(tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let received = received.clone();
                let status = status.load(Ordering::SeqCst);
                tokio::spawn(answer(stream, status, received));
            }
        }));
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Reads one request, records it (before answering: when the sender has the answer, the
/// test sees the request), answers `status` and closes the connection.
async fn answer(mut stream: TcpStream, status: u16, received: Arc<Mutex<Vec<WebhookRequest>>>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    received.lock().unwrap().push(request);
    let answer =
        format!("HTTP/1.1 {status} Answer\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn read_request(stream: &mut TcpStream) -> Option<WebhookRequest> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let header = |name: &str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_owned())
            .unwrap_or_default()
    };
    let length: usize = header("content-length").parse().unwrap_or(0);
    while buffer.len() < head_end + length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    Some(WebhookRequest {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        content_type: header("content-type"),
        body: String::from_utf8_lossy(&buffer[head_end..head_end + length]).to_string(),
    })
}
