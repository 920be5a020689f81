//! The key behind every admin request: `Authorization: Bearer <key>`, read from the
//! database on every request (a revoked key is refused at once, on every instance).

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};

use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::extractors::app_state;
use crate::model::api_key::Scope;
use crate::services::admin::Administrator;
use crate::services::api_keys;

/// A request made with a live key of any scope: it may read.
#[derive(Debug, Clone)]
pub struct AdminKey {
    pub name: String,
    pub scope: Scope,
}

impl AdminKey {
    /// Who acts, for the user's activity log.
    pub fn administrator(&self) -> Administrator {
        Administrator::Key {
            name: self.name.clone(),
        }
    }
}

/// A request made with a live `write` key: it may change things (`read` keys get 403
/// `insufficient_scope`).
#[derive(Debug, Clone)]
pub struct WriteKey(pub AdminKey);

impl WriteKey {
    pub fn administrator(&self) -> Administrator {
        self.0.administrator()
    }
}

/// The key after `Bearer ` (the scheme in any case, RFC 7235), if the header has one.
fn bearer_key(request: &HttpRequest) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

async fn authenticate(request: HttpRequest) -> Result<AdminKey, ApiError> {
    let state = app_state(&request)?;
    let key = bearer_key(&request).ok_or(Error::InvalidApiKey)?;
    let row = api_keys::authenticate(&state, key).await?;
    Ok(AdminKey {
        name: row.name,
        scope: row.scope,
    })
}

impl FromRequest for AdminKey {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        Box::pin(authenticate(request.clone()))
    }
}

impl FromRequest for WriteKey {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let key = authenticate(request).await?;
            if key.scope.allows_changes() {
                Ok(Self(key))
            } else {
                Err(Error::InsufficientScope.into())
            }
        })
    }
}
