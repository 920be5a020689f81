//! A signed-in session proves the account's current password before a sensitive change.
//! Its own module (depending only on `throttle` and the session) so that accounts,
//! second factor, e-mail change and deletion can all call it without importing each other.

use crate::error::Error;
use crate::model::input::{Email, LoginPassword};
use crate::services::sessions::Authenticated;
use crate::services::throttle;
use crate::state::AppState;
use crate::storage::users;

/// Proves the current password (before a password change, a change of address, a
/// deletion, a re-authentication): throttled by the session's own slot, each failure heard
/// by the account's (see `throttle::begin_password_check`); 403 `wrong_password`.
pub async fn prove(
    state: &AppState,
    auth: &Authenticated,
    current: LoginPassword,
) -> Result<(), Error> {
    // The stored address, not re-validated: an account from before a stricter rule still
    // has its counter.
    let email = Email::stored(&auth.user.email);
    let attempt = throttle::begin_password_check(state, &email, auth.session.id).await?;
    // Deleted since this request's session check: its session is over.
    let stored_hash = users::password_hash(&mut *state.pool.get().await?, auth.user.id)
        .await?
        .ok_or(Error::InvalidSession)?;
    if !state
        .hasher
        .verify(current.into_secret(), Some(stored_hash))
        .await?
    {
        throttle::failed(attempt);
        return Err(Error::WrongPassword);
    }
    throttle::succeeded(state, attempt).await
}
