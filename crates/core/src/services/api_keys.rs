//! Keys of the admin API: made, listed and revoked by `api admin api-key …`, checked on
//! every request of the admin listener. A key is read from the database on every request
//! (no cache), so a revoked key is refused at once by every instance.

use crate::error::Error;
use crate::model::api_key::{MintedKey, Scope, hash_key};
use crate::model::policy::{API_KEY_NAME_MAX, API_KEY_TOUCH_INTERVAL};
use crate::state::AppState;
use crate::storage::api_keys::{self as stored, ApiKeyRow};

/// A key just made: its row, and the key itself, shown this once.
pub struct CreatedKey {
    pub row: ApiKeyRow,
    pub key: String,
}

/// Makes a key named `name` (unique, shown in users' activity logs) with `scope`.
#[tracing::instrument(skip_all, fields(%name, %scope))]
pub async fn create(state: &AppState, name: &str, scope: Scope) -> Result<CreatedKey, Error> {
    let name = key_name(name)?;
    let minted = MintedKey::mint();
    let mut conn = state.pool.get().await?;
    let row = stored::insert(&mut conn, &name, scope, &minted.hash, state.now())
        .await?
        .ok_or_else(|| Error::Validation(format!("An API key named {name:?} exists already")))?;
    tracing::info!(key = %row.name, "API key created");
    Ok(CreatedKey {
        row,
        key: minted.key,
    })
}

/// Every key, revoked ones included, oldest first.
pub async fn list(state: &AppState) -> Result<Vec<ApiKeyRow>, Error> {
    let mut conn = state.pool.get().await?;
    Ok(stored::list(&mut conn).await?)
}

/// Revokes the key named `name`: refused from its next request on, on every instance.
#[tracing::instrument(skip_all, fields(%name))]
pub async fn revoke(state: &AppState, name: &str) -> Result<ApiKeyRow, Error> {
    let mut conn = state.pool.get().await?;
    let row = stored::revoke(&mut conn, name, state.now())
        .await?
        .ok_or(Error::NotFound(
            "No API key with this name, or it is revoked already",
        ))?;
    tracing::info!(key = %row.name, "API key revoked");
    Ok(row)
}

/// The live key presented as `key`, or `InvalidApiKey`. Its use is recorded, at most once
/// per [`API_KEY_TOUCH_INTERVAL`].
pub async fn authenticate(state: &AppState, key: &str) -> Result<ApiKeyRow, Error> {
    let mut conn = state.pool.get().await?;
    let mut row = stored::find_live(&mut conn, &hash_key(key))
        .await?
        .ok_or(Error::InvalidApiKey)?;
    let now = state.now();
    if row
        .last_used_at
        .is_none_or(|used| now - used >= API_KEY_TOUCH_INTERVAL)
    {
        stored::touch(&mut conn, row.id, now).await?;
        row.last_used_at = Some(now);
    }
    Ok(row)
}

/// A key's name: 1 to [`API_KEY_NAME_MAX`] characters of plain text (it is shown in logs).
fn key_name(raw: &str) -> Result<String, Error> {
    let name = raw.trim();
    let plain = name
        .chars()
        .all(|c| !c.is_control() && !shared::rules::is_bidi_control(c));
    if name.is_empty() || name.chars().count() > API_KEY_NAME_MAX || !plain {
        return Err(Error::Validation(format!(
            "An API key's name is 1 to {API_KEY_NAME_MAX} characters of plain text"
        )));
    }
    Ok(name.to_owned())
}
