//! Extractors: the caller's session (`Authenticated`) and device (`ClientInfo`), and the
//! session cookie they rest on.
//!
//! The cookie (written through actix-session, encrypted and signed with `SESSION_SECRET`,
//! read and started by `session_cookie`) holds only a random 256-bit token; the database
//! holds its SHA-256.

use std::future::{Future, Ready, ready};
use std::ops::Deref;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::session_cookie::{CookieToken, SessionCookieReader};
use crate::model::device::{self, client_ip};
use crate::services::sessions;
use crate::state::AppState;

pub fn app_state(request: &HttpRequest) -> Result<web::Data<AppState>, Error> {
    app_state_ref(request).cloned()
}

/// The state borrowed from the request. On the hot paths in place of a clone (`web::Data`):
/// every worker shares the state's reference count, and each clone moves its cache line
/// between the cores.
pub fn app_state_ref(request: &HttpRequest) -> Result<&web::Data<AppState>, Error> {
    request
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| Error::internal("the application state is not registered"))
}

/// The caller's session as an extractor. Newtypes over the core's types, because the orphan
/// rule keeps actix's `FromRequest` for them out of this crate; both deref to the core type.
pub struct Authenticated(pub sessions::Authenticated);

pub struct ClientInfo(pub device::ClientInfo);

impl Deref for Authenticated {
    type Target = sessions::Authenticated;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Deref for ClientInfo {
    type Target = device::ClientInfo;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let state = app_state_ref(&request)?;
            let token = session_token(&request)?;
            Ok(Self(sessions::authenticate(state, &token).await?))
        })
    }
}

impl FromRequest for ClientInfo {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(
            app_state(request)
                .map(|state| Self(client_info(request, &state)))
                .map_err(ApiError),
        )
    }
}

/// The device a request comes from: its user agent and address.
pub fn client_info(request: &HttpRequest, state: &AppState) -> device::ClientInfo {
    let header_text = |name| {
        request
            .headers()
            .get(name)
            .and_then(|value: &header::HeaderValue| value.to_str().ok())
    };
    let forwarded: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .collect();
    let ip = client_ip(
        &forwarded,
        request.peer_addr().map(|addr| addr.ip()),
        |ip| state.settings.server.is_trusted_proxy(ip),
    );
    let country = state.country_of(&ip);
    device::ClientInfo::describe(
        header_text(header::USER_AGENT).unwrap_or_default(),
        ip,
        country,
    )
}

/// The token in the request's session cookie. A cookie that is present but unreadable
/// (tampered, or sealed with another key) is an invalid session, not a missing one.
pub fn session_token(request: &HttpRequest) -> Result<String, Error> {
    let reader = request
        .app_data::<web::Data<SessionCookieReader>>()
        .ok_or_else(|| Error::internal("the session cookie reader is not registered"))?;
    match reader.token(request) {
        CookieToken::Token(token) => Ok(token),
        CookieToken::Unreadable => Err(Error::InvalidSession),
        CookieToken::Absent => Err(Error::Unauthenticated),
    }
}

/// A JSON request body, which must be an object. serde's derived `Deserialize` of a struct also
/// takes an array of its fields in order (`["a password", null]`), which no client sends and
/// the OpenAPI document does not allow (Schemathesis found it accepted). Read as actix's
/// `web::Json` reads it (its `JsonConfig`: the size limit, the content type, the error
/// envelope); an array or any other non-object is a 422 `validation`. Named `Json` so that
/// utoipa still infers the request body from a handler's arguments.
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let body = web::Json::<JsonObject<T>>::from_request(request, payload);
        Box::pin(async move { body.await.map(|body| Json(body.into_inner().0)) })
    }
}

/// `T` from a JSON object only.
struct JsonObject<T>(T);

impl<'de, T: serde::de::DeserializeOwned> serde::Deserialize<'de> for JsonObject<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let object = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        T::deserialize(serde_json::Value::Object(object))
            .map(JsonObject)
            .map_err(serde::de::Error::custom)
    }
}
