//! Reading the session cookie without actix-session, and keeping actix-session to the
//! requests that may write it.
//!
//! actix-session decrypts and parses its cookie on every request it wraps: every cookie of
//! the request parsed and percent-decoded, a fresh AES key schedule, two JSON documents — a
//! tenth of a session check's instructions (BENCHMARKS.md). Here the token is read only when
//! a handler asks for it, from that one cookie, with the cipher built once. The cookie's
//! format stays actix-session's (the cookie crate's private cookie: base64 of nonce,
//! ciphertext and tag, with the cookie's name as associated data; inside, actix-session's
//! JSON state), so every cookie reads alike whichever wrote it. actix-session still writes
//! the cookie, and so wraps only the methods that may: no GET, HEAD or OPTIONS handler sets
//! or clears it (handlers taking `actix_session::Session` are POST, PUT or DELETE).

use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, Key};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::{Method, header};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::future::{Either, LocalBoxFuture};
use serde::Deserialize;

/// The AES-GCM nonce in front of a private cookie's ciphertext.
const NONCE_LEN: usize = 12;

/// What the request's session cookie holds.
#[derive(Debug, PartialEq, Eq)]
pub enum CookieToken {
    /// No session cookie was sent.
    Absent,
    /// One was sent but does not open with this server's key (tampered, another secret,
    /// mangled) or holds no token.
    Unreadable,
    Token(String),
}

/// Opens session cookies: the cookie's name and the cipher of `SESSION_SECRET`'s
/// encryption half, built once for the process.
pub struct SessionCookieReader {
    name: String,
    cipher: Aes256Gcm,
}

/// Key of the token inside actix-session's cookie state: `start` writes it, and it is the
/// one field of `CookieState` that `SessionCookieReader` reads.
const TOKEN_KEY: &str = "token";

/// actix-session's cookie state: its keys, each value a JSON document.
#[derive(Deserialize)]
struct CookieState {
    token: Option<String>,
}

/// Puts a fresh token in the cookie. `renew` gives a new cookie state, so a cookie planted
/// before login is never promoted (no session fixation).
pub fn start(cookie: &actix_session::Session, token: &str) -> Result<(), crate::error::Error> {
    cookie.renew();
    cookie
        .insert(TOKEN_KEY, token)
        .map_err(crate::error::Error::internal)
}

impl SessionCookieReader {
    /// `None` only if the key's encryption half were not 256 bits (a `Key` always has them).
    pub fn new(key: &Key, name: String) -> Option<Self> {
        Some(Self {
            name,
            cipher: Aes256Gcm::new_from_slice(key.encryption()).ok()?,
        })
    }

    /// The token in the request's session cookie. Like actix-session, the first cookie of
    /// that name that parses is the one read.
    pub fn token(&self, request: &HttpRequest) -> CookieToken {
        let mut sent = false;
        let pairs = request
            .headers()
            .get_all(header::COOKIE)
            // As actix-web reads cookies: any UTF-8 (`to_str` would refuse the whole
            // header, and the session with it, for one non-ASCII cookie beside it).
            .filter_map(|value| std::str::from_utf8(value.as_bytes()).ok())
            .flat_map(|value| value.split(';'))
            .map(str::trim);
        for pair in pairs {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if name.trim() != self.name {
                continue;
            }
            sent = true;
            // As the cookie crate parses a pair: trimmed, outer quotes dropped. actix-session
            // writes the sealed base64 percent-encoded ('+', '/', '=' as %2B, %2F, %3D): those
            // are undone here; any other escape goes through the crate's own decoding, as
            // actix-web decodes request cookies.
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|inner| inner.strip_suffix('"'))
                .unwrap_or(value)
                .trim();
            let opened = match base64_unescaped(value) {
                Some(value) => self.open(&value),
                None => match Cookie::parse_encoded(pair) {
                    Ok(cookie) => self.open(cookie.value()),
                    Err(_) => continue,
                },
            };
            return opened.map_or(CookieToken::Unreadable, CookieToken::Token);
        }
        if sent {
            CookieToken::Unreadable
        } else {
            CookieToken::Absent
        }
    }

    /// The token inside a sealed cookie value, if it opens and holds one.
    fn open(&self, value: &str) -> Option<String> {
        let sealed = STANDARD.decode(value).ok()?;
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
        if ciphertext.is_empty() {
            return None;
        }
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: self.name.as_bytes(),
                },
            )
            .ok()?;
        let state: CookieState = serde_json::from_slice(&plain).ok()?;
        serde_json::from_str(&state.token?).ok()
    }
}

/// `value` with the percent-escapes of base64's own characters undone, or `None` when it
/// holds another escape.
fn base64_unescaped(value: &str) -> Option<std::borrow::Cow<'_, str>> {
    if !value.contains('%') {
        return Some(std::borrow::Cow::Borrowed(value));
    }
    let mut pieces = value.split('%');
    let mut unescaped = String::with_capacity(value.len());
    unescaped.push_str(pieces.next()?);
    for piece in pieces {
        let character = match piece.get(..2)? {
            "2B" | "2b" => '+',
            "2F" | "2f" => '/',
            "3D" | "3d" => '=',
            _ => return None,
        };
        unescaped.push(character);
        unescaped.push_str(piece.get(2..)?);
    }
    Some(std::borrow::Cow::Owned(unescaped))
}

/// Whether a request of this method may set or clear the session cookie.
fn may_write_cookie(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Wraps `T` (actix-session's middleware) around the requests that may write the session
/// cookie; the others go straight to the inner service.
pub struct ForCookieWrites<T>(pub T);

impl<S, B, T> Transform<S, ServiceRequest> for ForCookieWrites<T>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    T: Transform<
            Shared<S>,
            ServiceRequest,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    T::Future: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = ForCookieWritesService<S, T::Transform>;
    type InitError = T::InitError;
    type Future = LocalBoxFuture<'static, Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let direct = Rc::new(service);
        let wrapped = self.0.new_transform(Shared(Rc::clone(&direct)));
        Box::pin(async move {
            Ok(ForCookieWritesService {
                direct,
                wrapped: wrapped.await?,
            })
        })
    }
}

/// The inner service, reachable both directly and through the wrapping middleware.
pub struct Shared<S>(Rc<S>);

impl<S: Service<ServiceRequest>> Service<ServiceRequest> for Shared<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&self, request: ServiceRequest) -> Self::Future {
        self.0.call(request)
    }
}

pub struct ForCookieWritesService<S, W> {
    direct: Rc<S>,
    wrapped: W,
}

impl<S, W, B> Service<ServiceRequest> for ForCookieWritesService<S, W>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    W: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Either<S::Future, W::Future>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The wrapped path is ready when the middleware and, through it, the inner service are.
        self.wrapped.poll_ready(cx)
    }

    fn call(&self, request: ServiceRequest) -> Self::Future {
        if may_write_cookie(request.method()) {
            Either::Right(self.wrapped.call(request))
        } else {
            Either::Left(self.direct.call(request))
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::cookie::CookieJar;
    use actix_web::test::TestRequest;

    use super::*;

    const NAME: &str = "__Host-session";

    /// A cookie sealed the way actix-session seals its state (the cookie crate's private jar).
    fn sealed_by_the_cookie_crate(key: &Key, state: &str) -> String {
        let mut jar = CookieJar::new();
        jar.private_mut(key)
            .add(Cookie::new(NAME, state.to_owned()));
        jar.get(NAME).unwrap().value().to_owned()
    }

    fn read(reader: &SessionCookieReader, cookie_header: &str) -> CookieToken {
        let request = TestRequest::default()
            .insert_header((header::COOKIE, cookie_header))
            .to_http_request();
        reader.token(&request)
    }

    #[test]
    fn opens_what_the_cookie_crate_seals_and_nothing_else() {
        let key = Key::generate();
        let reader = SessionCookieReader::new(&key, NAME.to_owned()).unwrap();
        let sealed = sealed_by_the_cookie_crate(&key, r#"{"token":"\"abc.def\""}"#);
        assert_eq!(
            read(&reader, &format!("other=1; {NAME}={sealed}; last=2")),
            CookieToken::Token("abc.def".to_owned())
        );
        // The first cookie of the name is read, as actix-session does.
        assert_eq!(
            read(&reader, &format!("{NAME}={sealed}; {NAME}=garbage")),
            CookieToken::Token("abc.def".to_owned())
        );
        let other_key = sealed_by_the_cookie_crate(&Key::generate(), r#"{"token":"\"x\""}"#);
        assert_eq!(
            read(&reader, &format!("{NAME}={other_key}")),
            CookieToken::Unreadable
        );
        let no_token = sealed_by_the_cookie_crate(&key, r#"{"other":"\"x\""}"#);
        assert_eq!(
            read(&reader, &format!("{NAME}={no_token}")),
            CookieToken::Unreadable
        );
        let tampered: String = sealed
            .chars()
            .enumerate()
            .map(|(at, c)| match (at, c) {
                (20, 'A') => 'B',
                (20, _) => 'A',
                _ => c,
            })
            .collect();
        assert_eq!(
            read(&reader, &format!("{NAME}={tampered}")),
            CookieToken::Unreadable
        );
        assert_eq!(read(&reader, &format!("{NAME}=")), CookieToken::Unreadable);
        // Quoted, or with its base64 percent-encoded, it reads as the cookie crate reads it.
        let token = CookieToken::Token("abc.def".to_owned());
        assert_eq!(read(&reader, &format!("{NAME}=\"{sealed}\"")), token);
        let encoded = sealed
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        assert_eq!(read(&reader, &format!("{NAME}={encoded}")), token);
        // The cookie crate's own encoding (what actix-session sends in Set-Cookie).
        let crate_encoded = Cookie::new(NAME, sealed.clone()).encoded().to_string();
        assert_eq!(read(&reader, &crate_encoded), token);
        // An escape base64 never needs still decodes, through the cookie crate.
        let odd = format!("{NAME}={}%41", sealed.trim_end_matches('='));
        assert_eq!(read(&reader, &odd), CookieToken::Unreadable);
        // A non-ASCII cookie beside it hides nothing (actix-web reads headers as UTF-8).
        let request = TestRequest::default()
            .insert_header((
                header::COOKIE,
                header::HeaderValue::from_bytes(format!("name=José; {NAME}={sealed}").as_bytes())
                    .unwrap(),
            ))
            .to_http_request();
        assert_eq!(reader.token(&request), token);
        assert_eq!(read(&reader, "other=1"), CookieToken::Absent);
        // The name is the cookie's associated data: the same value under another name fails.
        let renamed = SessionCookieReader::new(&key, "session".to_owned()).unwrap();
        assert_eq!(
            read(&renamed, &format!("session={sealed}")),
            CookieToken::Unreadable
        );
    }

    #[test]
    fn base64_escapes_are_undone_and_others_left_to_the_cookie_crate() {
        assert_eq!(
            base64_unescaped("ab%2Bc%2fd%3D%3d").as_deref(),
            Some("ab+c/d==")
        );
        assert_eq!(base64_unescaped("plain").as_deref(), Some("plain"));
        assert_eq!(base64_unescaped("a%41"), None);
        assert_eq!(base64_unescaped("a%2"), None);
    }

    #[test]
    fn only_methods_that_may_write_the_cookie_pass_through_actix_session() {
        assert!(!may_write_cookie(&Method::GET));
        assert!(!may_write_cookie(&Method::HEAD));
        assert!(!may_write_cookie(&Method::OPTIONS));
        assert!(may_write_cookie(&Method::POST));
        assert!(may_write_cookie(&Method::DELETE));
        assert!(may_write_cookie(&Method::PUT));
    }
}
