//! What a client sends on a socket, one whole message at a time. Fragments (continuation
//! frames) are joined here under the same cap as a single frame, so a message too big is a
//! typed [`Incoming::Overflow`] however it was sent, never an error recognised by its text.

use actix_web::web::{Bytes, BytesMut};
use actix_ws::{CloseReason, Item, Message, MessageStream, ProtocolError};

/// One message from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    Text(String),
    Binary(Bytes),
    Ping(Bytes),
    Pong,
    Close(Option<CloseReason>),
    /// A message over the cap, in one frame or in fragments: close with 1009.
    Overflow,
    /// Frames that break the protocol (a fragment out of order, text that is not UTF-8):
    /// close with 1002. Says what was wrong, for the log.
    Broken(String),
}

/// The client's messages off a socket, none longer than the cap.
pub struct IncomingStream {
    stream: MessageStream,
    fragments: Fragments,
}

impl IncomingStream {
    pub fn new(stream: MessageStream, max_message: usize) -> Self {
        Self {
            stream: stream.max_frame_size(max_message),
            fragments: Fragments::new(max_message),
        }
    }

    /// The next whole message; `None` once the client's side has ended. Cancel-safe: the
    /// fragments read so far stay here for the next call.
    pub async fn recv(&mut self) -> Option<Incoming> {
        loop {
            let incoming = match self.stream.recv().await? {
                Ok(message) => self.fragments.push(message),
                // The codec's refusal of a single frame over `max_frame_size`.
                Err(ProtocolError::Overflow) => Some(Incoming::Overflow),
                Err(error) => Some(Incoming::Broken(error.to_string())),
            };
            if incoming.is_some() {
                return incoming;
            }
        }
    }
}

/// Joins a fragmented message; control frames pass between its fragments.
struct Fragments {
    max_message: usize,
    started: Option<Started>,
}

/// A fragmented message whose last fragment has not come yet.
struct Started {
    text: bool,
    bytes: BytesMut,
}

impl Fragments {
    fn new(max_message: usize) -> Self {
        Self {
            max_message,
            started: None,
        }
    }

    /// A frame read; the message it completes, if it does.
    fn push(&mut self, message: Message) -> Option<Incoming> {
        match message {
            Message::Text(text) => Some(Incoming::Text(text.to_string())),
            Message::Binary(bytes) => Some(Incoming::Binary(bytes)),
            Message::Ping(bytes) => Some(Incoming::Ping(bytes)),
            Message::Pong(_) => Some(Incoming::Pong),
            Message::Close(reason) => Some(Incoming::Close(reason)),
            Message::Continuation(item) => self.fragment(item),
            Message::Nop => None,
        }
    }

    fn fragment(&mut self, item: Item) -> Option<Incoming> {
        let (first_is_text, bytes, last) = match item {
            Item::FirstText(bytes) => (Some(true), bytes, false),
            Item::FirstBinary(bytes) => (Some(false), bytes, false),
            Item::Continue(bytes) => (None, bytes, false),
            Item::Last(bytes) => (None, bytes, true),
        };
        let mut started = match (first_is_text, self.started.take()) {
            (Some(text), None) => Started {
                text,
                bytes: BytesMut::new(),
            },
            (None, Some(started)) => started,
            (Some(_), Some(_)) => {
                return Some(broken("a message began inside a fragmented one"));
            }
            (None, None) => return Some(broken("a continuation frame without a first fragment")),
        };
        if started.bytes.len().saturating_add(bytes.len()) > self.max_message {
            return Some(Incoming::Overflow);
        }
        started.bytes.extend_from_slice(&bytes);
        if !last {
            self.started = Some(started);
            return None;
        }
        Some(if started.text {
            String::from_utf8(started.bytes.to_vec()).map_or_else(
                |_| broken("a text message that is not UTF-8"),
                Incoming::Text,
            )
        } else {
            Incoming::Binary(started.bytes.freeze())
        })
    }
}

fn broken(why: &str) -> Incoming {
    Incoming::Broken(why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragment(item: Item) -> Message {
        Message::Continuation(item)
    }

    fn bytes(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    #[test]
    fn fragments_are_joined_into_one_message_with_pings_between_them() {
        let mut fragments = Fragments::new(16);
        assert_eq!(
            fragments.push(fragment(Item::FirstText(bytes("{\"a\"")))),
            None
        );
        assert_eq!(
            fragments.push(Message::Ping(bytes("hi"))),
            Some(Incoming::Ping(bytes("hi")))
        );
        assert_eq!(fragments.push(fragment(Item::Continue(bytes(":")))), None);
        assert_eq!(
            fragments.push(fragment(Item::Last(bytes("1}")))),
            Some(Incoming::Text("{\"a\":1}".to_owned()))
        );
        // The next message starts afresh.
        assert_eq!(
            fragments.push(Message::Text("whole".into())),
            Some(Incoming::Text("whole".to_owned()))
        );
        assert_eq!(
            fragments.push(fragment(Item::FirstBinary(bytes("ab")))),
            None
        );
        assert_eq!(
            fragments.push(fragment(Item::Last(bytes("c")))),
            Some(Incoming::Binary(bytes("abc")))
        );
    }

    #[test]
    fn fragments_past_the_cap_are_an_overflow_the_cap_itself_is_not() {
        let mut fragments = Fragments::new(8);
        assert_eq!(
            fragments.push(fragment(Item::FirstText(bytes("1234")))),
            None
        );
        assert_eq!(
            fragments.push(fragment(Item::Last(bytes("5678")))),
            Some(Incoming::Text("12345678".to_owned()))
        );
        assert_eq!(
            fragments.push(fragment(Item::FirstText(bytes("1234")))),
            None
        );
        assert_eq!(
            fragments.push(fragment(Item::Continue(bytes("5678")))),
            None
        );
        assert_eq!(
            fragments.push(fragment(Item::Continue(bytes("9")))),
            Some(Incoming::Overflow)
        );
    }

    #[test]
    fn fragments_out_of_order_or_text_that_is_not_utf8_break_the_protocol() {
        let mut fragments = Fragments::new(64);
        assert!(matches!(
            fragments.push(fragment(Item::Continue(bytes("x")))),
            Some(Incoming::Broken(_))
        ));
        assert_eq!(fragments.push(fragment(Item::FirstText(bytes("a")))), None);
        assert!(matches!(
            fragments.push(fragment(Item::FirstBinary(bytes("b")))),
            Some(Incoming::Broken(_))
        ));
        assert_eq!(
            fragments.push(fragment(Item::FirstText(Bytes::from_static(&[0xC3])))),
            None
        );
        assert!(matches!(
            fragments.push(fragment(Item::Last(Bytes::from_static(&[0x28])))),
            Some(Incoming::Broken(_))
        ));
    }
}
