//! Sudo mode: a session may change what protects the account only within
//! `REAUTH_WINDOW_SECS` of proving its user — its sign-in, or a re-authentication here.
//!
//! `require_recent_proof` is the one guard every sensitive action calls first (with the
//! caller's `auth.session`); `record_proof` is the one way a session proves its user again
//! (the password and the authenticator in `second_factor::reauthenticate`; a passkey
//! assertion calls it too). Depends on no other service, so that every service may use it.

use crate::error::Error;
use crate::events::unit_of_work::Tx;
use crate::model::activity::ActivityKind;
use crate::model::second_factor::{ProofMethod, proof_is_recent};
use crate::model::session::chrono_duration;
use crate::state::AppState;
use crate::storage::activity::NewEntry;
use crate::storage::sessions::{self as stored, SessionRow};

/// Refuses with `403 reauthentication_required` unless the session proved its user within
/// the window (by the app's clock).
pub fn require_recent_proof(state: &AppState, session: &SessionRow) -> Result<(), Error> {
    let window = chrono_duration(state.settings.session.reauth_window);
    if proof_is_recent(session.proved_at, window, state.now()) {
        Ok(())
    } else {
        Err(Error::ReauthenticationRequired)
    }
}

/// Records that `session` proved its user now, by `method`: sudo mode counts from here.
pub async fn record_proof(
    tx: &mut Tx<'_>,
    session: &SessionRow,
    method: ProofMethod,
) -> Result<SessionRow, Error> {
    let now = tx.now();
    let proved = stored::record_proof(tx.conn(), session.id, method, now).await?;
    tx.log(
        NewEntry::new(session.user_id, ActivityKind::Reauthenticated, now)
            .session(session.id)
            .from_device(&session.ip, session.device_label())
            .detail(method.as_str()),
    );
    Ok(proved)
}
