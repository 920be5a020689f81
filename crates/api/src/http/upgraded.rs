//! Upgrade requests (the WebSockets), served without the HTTP/1 dispatcher's buffers.
//!
//! actix-http keeps an 8 KiB read and an 8 KiB write buffer for every connection, as long as
//! the connection lives: for a held socket, which sends a few hundred bytes a minute, most of
//! its memory. With an upgrade service, actix-http hands an upgrade request over together
//! with the connection and both buffers. This service copies the few bytes the client may
//! already have sent after the request's head, lets the buffers go, and asks the application
//! for its response exactly as for any other request (same middleware, same handlers,
//! `actix-ws` included). A `101` is followed by a pump: bytes read from the client go to the
//! request's payload through a small `Inbox`, the response body's chunks (the encoded
//! frames) are written as they come, and nothing is buffered in between. Any other response
//! is written and the connection closed.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use actix_codec::{Encoder, Framed};
use actix_http::body::{BodySize, MessageBody};
use actix_http::error::PayloadError;
use actix_http::{ConnectionType, Request, Response, StatusCode, h1};
use actix_web::dev::{AppConfig, Service, ServiceFactory, ServiceResponse};
use actix_web::rt::net::TcpStream;
use actix_web::web::{Bytes, BytesMut};
use futures_util::FutureExt;
use futures_util::future::{self, LocalBoxFuture};
use futures_util::stream::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What actix-http hands to an upgrade service.
pub type UpgradeRequest = (Request, Framed<TcpStream, h1::Codec>);

/// How much the client may send ahead of the application's reading before the pump stops
/// reading from it (frames are capped far below this: see `http::ws::MAX_MESSAGE`).
const INBOX_LIMIT: usize = 64 * 1024;

/// Bytes read from the client at most at once.
const READ_CHUNK: usize = 4096;

/// How long a refused upgrade's connection reads and drops what the client still sends
/// before it is closed (actix-web's default client disconnect timeout).
const LINGER: Duration = Duration::from_secs(1);

/// The upgrade service of one worker: the application, built a second time for it.
pub fn factory<F, B>(
    app: F,
    config: AppConfig,
) -> impl ServiceFactory<
    UpgradeRequest,
    Config = (),
    Response = (),
    Error = actix_web::Error,
    InitError = (),
    Service = Upgrades<F::Service>,
>
where
    F: ServiceFactory<
            Request,
            Config = AppConfig,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
        > + 'static,
    F::Service: 'static,
    F::InitError: std::fmt::Debug,
    B: MessageBody + 'static,
{
    actix_web::dev::fn_factory(move || {
        let building = app.new_service(config.clone());
        async move {
            match building.await {
                Ok(app) => Ok(Upgrades { app: Rc::new(app) }),
                Err(error) => {
                    tracing::error!(?error, "cannot build the application for upgrades");
                    Err(())
                }
            }
        }
    })
}

pub struct Upgrades<S> {
    app: Rc<S>,
}

impl<S, B> Service<UpgradeRequest> for Upgrades<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ();
    /// Never returned: a connection that fails after its upgrade is the peer's going away,
    /// logged here at debug level (actix-http would log it as an error).
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<(), actix_web::Error>>;

    actix_web::dev::always_ready!();

    fn call(&self, (request, framed): UpgradeRequest) -> Self::Future {
        // The handshake in a box of its own, freed once answered, and chained without an
        // async block (whose captures would stay in its state): for the socket's life, the
        // future holds the pump's state alone, not the request's nor the application's.
        let handshake = Box::pin(handshake(self.app.clone(), request, framed));
        Box::pin(
            handshake
                .then(|answered| match answered {
                    Ok(Some(upgraded)) => upgraded.pump().left_future(),
                    Ok(None) => future::ready(Ok(())).right_future(),
                    Err(error) => future::ready(Err(error)).right_future(),
                })
                .map(|served| {
                    if let Err(error) = served {
                        tracing::debug!(%error, "upgraded connection ended");
                    }
                    Ok(())
                }),
        )
    }
}

/// A connection after its `101`: the client's side and the application's.
struct Upgraded<B> {
    io: TcpStream,
    inbox: Inbox,
    /// The application's side: after a `101`, chunks are written as they are (no framing of
    /// HTTP's), and the end of the body ends the connection. Pinned where it was made, so
    /// that nothing moves it into a second place in the pump's state.
    body: Pin<Box<B>>,
}

/// Asks the application for its answer to the upgrade request; `None` when that was a
/// refusal, written and closed.
async fn handshake<S, B>(
    app: Rc<S>,
    request: Request,
    framed: Framed<TcpStream, h1::Codec>,
) -> io::Result<Option<Upgraded<B>>>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let parts = framed.into_parts();
    let mut io = parts.io;
    let mut codec = parts.codec;
    // The answer to a request pipelined before this one may still be waiting to be written.
    if !parts.write_buf.is_empty() {
        io.write_all(&parts.write_buf).await?;
    }
    // A copy, so that the dispatcher's buffers are freed here and not kept by a view.
    let early = Bytes::copy_from_slice(&parts.read_buf);
    drop(parts.read_buf);
    drop(parts.write_buf);

    let inbox = Inbox::new(early);
    let payload: actix_http::BoxedPayloadStream = Box::pin(InboxReader(inbox.clone()));
    let (request, _) = request.replace_payload(payload.into());
    // The client is read while the application answers: a request that reads its body (any
    // method may carry an `Upgrade` header) gets it, and a client that leaves ends it.
    let answered = {
        let mut call = pin!(app.call(request));
        let mut client_done = false;
        loop {
            tokio::select! {
                answered = &mut call => break answered,
                done = read_some(&io, &inbox), if !client_done => client_done = done?,
            }
        }
    };
    let response: Response<B> = match answered {
        Ok(response) => response.into(),
        Err(error) => {
            let (head, body) = Response::from(error).into_parts();
            answer_and_close(&mut io, &mut codec, head, body).await?;
            return Ok(None);
        }
    };
    let (head, body) = response.into_parts();
    if head.status() != StatusCode::SWITCHING_PROTOCOLS {
        answer_and_close(&mut io, &mut codec, head, body).await?;
        return Ok(None);
    }
    write(&mut io, &mut codec, h1::Message::Item((head, body.size()))).await?;
    Ok(Some(Upgraded {
        io,
        inbox,
        body: Box::pin(body),
    }))
}

/// A response that refuses the upgrade (its JSON error): written whole, then the end.
async fn answer_and_close<B: MessageBody>(
    io: &mut TcpStream,
    codec: &mut h1::Codec,
    mut head: Response<()>,
    body: B,
) -> io::Result<()> {
    head.head_mut().set_connection_type(ConnectionType::Close);
    write(io, codec, h1::Message::Item((head, body.size()))).await?;
    let mut body = pin!(body);
    while let Some(chunk) = poll_fn(|cx| body.as_mut().poll_next(cx)).await {
        let chunk = chunk.map_err(body_error)?;
        write(io, codec, h1::Message::Chunk(Some(chunk))).await?;
    }
    write(io, codec, h1::Message::Chunk(None)).await?;
    io.shutdown().await?;
    // What the client sent and nobody read would make the kernel answer the close with a
    // reset, which can destroy the answer before the client reads it: read and drop it
    // first, for as long as actix-http's dispatcher would (its disconnect timeout).
    let mut discard = [0_u8; READ_CHUNK];
    let _ = tokio::time::timeout(LINGER, async {
        while matches!(io.read(&mut discard).await, Ok(read) if read > 0) {}
    })
    .await;
    Ok(())
}

impl<B: MessageBody> Upgraded<B> {
    /// Moves bytes both ways until the application's side ends (it closes the socket, or
    /// hears the client go away through the payload's end).
    async fn pump(mut self) -> io::Result<()> {
        let mut client_done = self.inbox.has_ended();
        loop {
            tokio::select! {
                chunk = poll_fn(|cx| self.body.as_mut().poll_next(cx)) => match chunk {
                    Some(Ok(chunk)) => self.io.write_all(&chunk).await?,
                    Some(Err(error)) => return Err(body_error(error)),
                    None => return self.io.shutdown().await,
                },
                done = read_some(&self.io, &self.inbox), if !client_done => client_done = done?,
            }
        }
    }
}

impl<B> Drop for Upgraded<B> {
    /// Whatever ended the pump, the application's reader hears the end.
    fn drop(&mut self) {
        self.inbox.end();
    }
}

/// Waits until the client has sent something and the inbox has room, and reads it; true once
/// the client is done sending. Cancel-safe: nothing is read until it can be stored.
async fn read_some(io: &TcpStream, inbox: &Inbox) -> io::Result<bool> {
    inbox.room().await;
    io.readable().await?;
    Ok(read_into(io, inbox))
}

fn body_error(error: impl Into<Box<dyn std::error::Error>>) -> io::Error {
    io::Error::other(error.into().to_string())
}

/// Reads what the client has sent into the inbox; true once the client is done sending.
fn read_into(io: &TcpStream, inbox: &Inbox) -> bool {
    // On the stack, and never across an await: a held socket keeps no read buffer.
    let mut buffer = [0_u8; READ_CHUNK];
    match io.try_read(&mut buffer) {
        Ok(0) => {
            inbox.end();
            true
        }
        Ok(read) => {
            inbox.push(Bytes::copy_from_slice(
                buffer.get(..read).unwrap_or_default(),
            ));
            false
        }
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => false,
        Err(error) => {
            tracing::debug!(%error, "reading from an upgraded connection");
            inbox.end();
            true
        }
    }
}

/// Encodes one message and writes it; the buffer lives only as long as the write.
async fn write(
    io: &mut TcpStream,
    codec: &mut h1::Codec,
    message: h1::Message<(Response<()>, BodySize)>,
) -> io::Result<()> {
    let mut encoded = BytesMut::new();
    codec.encode(message, &mut encoded)?;
    if encoded.is_empty() {
        return Ok(());
    }
    io.write_all(&encoded).await
}

/// The bytes read from the client that the application has not taken yet.
#[derive(Clone)]
struct Inbox(Rc<RefCell<InboxState>>);

#[derive(Default)]
struct InboxState {
    chunks: VecDeque<Bytes>,
    buffered: usize,
    ended: bool,
    /// The application, waiting for bytes.
    reader: Option<Waker>,
    /// The pump, waiting for room.
    pump: Option<Waker>,
}

impl Inbox {
    fn new(early: Bytes) -> Self {
        let inbox = Self(Rc::default());
        if !early.is_empty() {
            inbox.push(early);
        }
        inbox
    }

    fn push(&self, chunk: Bytes) {
        let mut state = self.0.borrow_mut();
        state.buffered = state.buffered.saturating_add(chunk.len());
        state.chunks.push_back(chunk);
        if let Some(reader) = state.reader.take() {
            reader.wake();
        }
    }

    fn end(&self) {
        let mut state = self.0.borrow_mut();
        state.ended = true;
        if let Some(reader) = state.reader.take() {
            reader.wake();
        }
    }

    fn has_ended(&self) -> bool {
        self.0.borrow().ended
    }

    /// Waits until the application has taken enough to read again.
    async fn room(&self) {
        poll_fn(|cx| {
            let mut state = self.0.borrow_mut();
            if state.buffered < INBOX_LIMIT {
                Poll::Ready(())
            } else {
                state.pump = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }
}

/// The request's payload: what the client sends after the upgrade.
struct InboxReader(Inbox);

impl Stream for InboxReader {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut state = self.0.0.borrow_mut();
        if let Some(chunk) = state.chunks.pop_front() {
            state.buffered = state.buffered.saturating_sub(chunk.len());
            if let Some(pump) = state.pump.take() {
                pump.wake();
            }
            if state.chunks.is_empty() {
                // An emptied queue gives its allocation back: a held socket keeps none.
                state.chunks = VecDeque::new();
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        if state.ended {
            return Poll::Ready(None);
        }
        state.reader = Some(cx.waker().clone());
        Poll::Pending
    }
}
