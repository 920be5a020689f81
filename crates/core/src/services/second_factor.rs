//! The second factor: the authenticator app (RFC 6238) with ten single-use recovery codes.
//!
//! Turning it on takes two steps (a secret to scan, then a code from the app confirms it and
//! the recovery codes are shown once); a sign-in of such an account stops after the
//! password at a challenge (stored: any instance finishes it) that a code answers. Every
//! change here needs a recent proof (`reauth::require_recent_proof`); sudo mode's
//! re-authentication (password or code) is here too. Wrong codes count
//! against the same throttle as wrong passwords; a code is accepted once.

use chrono::{DateTime, Utc};
use shared::{AlertKind, SecondFactorStatus, Secret};
use uuid::Uuid;

use crate::error::Error;
use crate::events::unit_of_work::Tx;
use crate::model::activity::ActivityKind;
use crate::model::device::ClientInfo;
use crate::model::input::{Email, LoginPassword};
use crate::model::second_factor::{
    self as rules, CHALLENGE_LIFETIME, Enrolment, ProofMethod, accepted_totp_step, looks_like_totp,
    new_recovery_codes, normalise_recovery_code,
};
use crate::services::reauth::{self, record_proof};
use crate::services::sessions::{Authenticated, Keep};
use crate::services::{alerts, current_password, throttle};
use crate::state::AppState;
use crate::storage::activity::NewEntry;
use crate::storage::passkeys;
use crate::storage::second_factor::{self as stored, ChallengeRow};
use crate::storage::sessions::SessionRow;
use crate::storage::users::{self, UserRow};

/// What a second-factor challenge of this account accepts: the app's code, a recovery code,
/// and `passkey` when the account has one — not as an answer to the challenge but instead
/// of it: a passkey sign-in (`/api/auth/passkey/start|finish`) proves the user on its own.
pub async fn second_factor_methods(
    state: &AppState,
    user: &UserRow,
) -> Result<Vec<ProofMethod>, Error> {
    if user.totp_enabled_at.is_none() {
        return Ok(Vec::new());
    }
    let mut methods = vec![ProofMethod::Totp, ProofMethod::RecoveryCode];
    let mut conn = state.pool.get().await?;
    if passkeys::count(&mut conn, user.id).await? > 0 {
        methods.push(ProofMethod::Passkey);
    }
    Ok(methods)
}

/// A right password of an account with a second factor: the challenge the code answers.
pub async fn challenge(
    state: &AppState,
    user: &UserRow,
    client: &ClientInfo,
    keep: Keep,
) -> Result<ChallengeRow, Error> {
    let now = state.now();
    let mut conn = state.pool.get().await?;
    Ok(stored::insert_challenge(
        &mut conn,
        user.id,
        client,
        keep.persistent,
        now,
        now + CHALLENGE_LIFETIME,
    )
    .await?)
}

/// The challenge to finish, for the user's id (an unlocked read: the user's lock comes
/// first); unknown, used or expired ones are all `challenge_expired`.
pub async fn find_challenge(state: &AppState, challenge_id: Uuid) -> Result<ChallengeRow, Error> {
    let mut conn = state.pool.get().await?;
    stored::find_challenge(&mut conn, challenge_id)
        .await?
        .filter(|challenge| challenge.used_at.is_none() && challenge.expires_at > state.now())
        .ok_or(Error::ChallengeExpired)
}

/// Locks the challenge (the user's lock held) if it is still open: one finisher at a time.
pub async fn lock_open_challenge(
    tx: &mut Tx<'_>,
    challenge_id: Uuid,
) -> Result<ChallengeRow, Error> {
    let now = tx.now();
    stored::lock_challenge(tx.conn(), challenge_id)
        .await?
        .filter(|challenge| challenge.used_at.is_none() && challenge.expires_at > now)
        .ok_or(Error::ChallengeExpired)
}

/// A right code answered it: it is done, whatever the sign-in's decision.
pub async fn use_challenge(tx: &mut Tx<'_>, challenge: &ChallengeRow) -> Result<(), Error> {
    let now = tx.now();
    Ok(stored::use_challenge(tx.conn(), challenge.id, now).await?)
}

/// Checks a code of the authenticator app or a recovery code (the user's lock held), and
/// uses it up: the method it proved, or `None` for a wrong (or used) one.
pub async fn check_code(
    tx: &mut Tx<'_>,
    state: &AppState,
    user: &UserRow,
    code: &Secret,
) -> Result<Option<ProofMethod>, Error> {
    if user.totp_enabled_at.is_none() {
        return Ok(None);
    }
    if looks_like_totp(code.expose()) {
        return Ok(check_totp(tx, user.id, code)
            .await?
            .then_some(ProofMethod::Totp));
    }
    let Some(normalised) = normalise_recovery_code(code.expose()) else {
        return Ok(None);
    };
    let now = tx.now();
    let used = stored::use_recovery_code(
        tx.conn(),
        user.id,
        &recovery_hash(state, user.id, &normalised),
        now,
    )
    .await?;
    if used {
        tx.log(NewEntry::new(user.id, ActivityKind::RecoveryCodeUsed, now));
    }
    Ok(used.then_some(ProofMethod::RecoveryCode))
}

/// A code of the authenticator app, accepted once (its time step is remembered).
async fn check_totp(tx: &mut Tx<'_>, user_id: Uuid, code: &Secret) -> Result<bool, Error> {
    let Some(totp) = stored::find_totp(tx.conn(), user_id).await? else {
        return Ok(false);
    };
    let Some(step) = accepted_totp_step(&totp.secret, code.expose(), tx.now(), totp.last_used_step)
    else {
        return Ok(false);
    };
    Ok(stored::use_totp_step(tx.conn(), user_id, step).await?)
}

/// What the database keeps of a recovery code: keyed by the server secret and the user.
fn recovery_hash(state: &AppState, user_id: Uuid, normalised: &str) -> Vec<u8> {
    state
        .codes
        .hash(user_id, &format!("recovery-code:{normalised}"))
}

/// Makes a new set of recovery codes (the old ones die); the codes, shown once.
async fn replace_recovery_codes(
    tx: &mut Tx<'_>,
    state: &AppState,
    user_id: Uuid,
) -> Result<Vec<Secret>, Error> {
    let codes = new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .filter_map(|code| normalise_recovery_code(code))
        .map(|code| recovery_hash(state, user_id, &code))
        .collect();
    let now = tx.now();
    stored::replace_recovery_codes(tx.conn(), user_id, &hashes, now).await?;
    Ok(codes.into_iter().map(Secret::new).collect())
}

/// The activity entry of a change asked for by `client` (the request's browser and address,
/// as the mail about it says: a stolen cookie used elsewhere shows where it was used).
fn entry(auth: &Authenticated, client: &ClientInfo, kind: ActivityKind, tx: &Tx<'_>) -> NewEntry {
    NewEntry::new(auth.user.id, kind, tx.now())
        .session(auth.session.id)
        .from_device(&client.ip, client.label())
}

/// Step one of turning the app on: a new secret (replacing one never confirmed) to scan.
#[tracing::instrument(skip_all, fields(user_id = %auth.user.id))]
pub async fn begin_totp(state: &AppState, auth: &Authenticated) -> Result<Enrolment, Error> {
    reauth::require_recent_proof(state, &auth.session)?;
    let secret = rules::new_totp_secret();
    let enrolment = rules::enrolment(&secret, &state.settings.server.app_name, &auth.user.email)
        .ok_or_else(|| Error::internal("the authenticator's otpauth URL could not be made"))?;
    state
        .unit_of_work(async |mut tx| {
            let user = users::lock(tx.conn(), auth.user.id).await?;
            if user.totp_enabled_at.is_some() {
                return Err(Error::SecondFactorEnabled);
            }
            let now = tx.now();
            stored::put_totp(tx.conn(), user.id, &secret, now).await?;
            tx.commit(()).await
        })
        .await?;
    Ok(enrolment)
}

/// Step two: a code of the app turns it on; the recovery codes, shown once.
#[tracing::instrument(skip_all, fields(user_id = %auth.user.id))]
pub async fn confirm_totp(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
    code: &Secret,
) -> Result<Vec<Secret>, Error> {
    reauth::require_recent_proof(state, &auth.session)?;
    let attempt = begin_code_check(state, auth).await?;
    let result = state
        .unit_of_work(async |mut tx| {
            let user = users::lock(tx.conn(), auth.user.id).await?;
            if user.totp_enabled_at.is_some() {
                return Err(Error::SecondFactorEnabled);
            }
            if stored::find_totp(tx.conn(), user.id).await?.is_none() {
                return Err(Error::SecondFactorNotEnabled);
            }
            if !looks_like_totp(code.expose()) || !check_totp(&mut tx, user.id, code).await? {
                return Err(Error::InvalidCode);
            }
            let now = tx.now();
            stored::set_totp_enabled(tx.conn(), user.id, Some(now)).await?;
            let codes = replace_recovery_codes(&mut tx, state, user.id).await?;
            let logged = entry(auth, client, ActivityKind::SecondFactorEnabled, &tx);
            tx.log(logged);
            let enabled = AlertKind::SecondFactorEnabled;
            alerts::sign_in_methods_changed(&mut tx, &auth.session, client, enabled);
            tx.commit(codes).await
        })
        .await;
    finish_code_check(state, attempt, result).await
}

/// Turns the app off: its secret and the recovery codes go.
#[tracing::instrument(skip_all, fields(user_id = %auth.user.id))]
pub async fn disable_totp(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
) -> Result<(), Error> {
    reauth::require_recent_proof(state, &auth.session)?;
    state
        .unit_of_work(async |mut tx| {
            let user = users::lock(tx.conn(), auth.user.id).await?;
            if user.totp_enabled_at.is_none() {
                return Err(Error::SecondFactorNotEnabled);
            }
            stored::set_totp_enabled(tx.conn(), user.id, None).await?;
            stored::delete_totp(tx.conn(), user.id).await?;
            let now = tx.now();
            stored::replace_recovery_codes(tx.conn(), user.id, &[], now).await?;
            let logged = entry(auth, client, ActivityKind::SecondFactorDisabled, &tx);
            tx.log(logged);
            let disabled = AlertKind::SecondFactorDisabled;
            alerts::sign_in_methods_changed(&mut tx, &auth.session, client, disabled);
            tx.commit(()).await
        })
        .await
}

/// The authenticator app goes with its recovery codes ("this wasn't me" when an intruder may
/// have turned it on; an address proved for the first time), logged. The user's lock is
/// held; whether it was on.
pub async fn remove(tx: &mut Tx<'_>, user: &UserRow, why: &str) -> Result<bool, Error> {
    let now = tx.now();
    stored::delete_totp(tx.conn(), user.id).await?;
    stored::replace_recovery_codes(tx.conn(), user.id, &[], now).await?;
    if user.totp_enabled_at.is_none() {
        return Ok(false);
    }
    stored::set_totp_enabled(tx.conn(), user.id, None).await?;
    tx.log(NewEntry::new(user.id, ActivityKind::SecondFactorDisabled, now).detail(why));
    Ok(true)
}

/// Turns the authenticator app off (as `remove`) unless it was turned on before `since`;
/// recovery codes made since go either way.
pub async fn remove_unless_set_up_before(
    tx: &mut Tx<'_>,
    user: &UserRow,
    since: DateTime<Utc>,
    why: &str,
) -> Result<bool, Error> {
    if user.totp_enabled_at.is_none_or(|on| on >= since) {
        return remove(tx, user, why).await;
    }
    // The app stays; codes made since (by whoever was in) go, and the owner makes new ones.
    let codes_made_at = stored::recovery_codes_made_at(tx.conn(), user.id).await?;
    if codes_made_at.is_some_and(|made| made >= since) {
        let now = tx.now();
        stored::replace_recovery_codes(tx.conn(), user.id, &[], now).await?;
    }
    Ok(false)
}

/// A new set of recovery codes; the old ones die.
#[tracing::instrument(skip_all, fields(user_id = %auth.user.id))]
pub async fn regenerate_recovery_codes(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
) -> Result<Vec<Secret>, Error> {
    reauth::require_recent_proof(state, &auth.session)?;
    state
        .unit_of_work(async |mut tx| {
            let user = users::lock(tx.conn(), auth.user.id).await?;
            if user.totp_enabled_at.is_none() {
                return Err(Error::SecondFactorNotEnabled);
            }
            let codes = replace_recovery_codes(&mut tx, state, user.id).await?;
            let logged = entry(auth, client, ActivityKind::RecoveryCodesGenerated, &tx);
            tx.log(logged);
            tx.commit(codes).await
        })
        .await
}

pub async fn status(state: &AppState, auth: &Authenticated) -> Result<SecondFactorStatus, Error> {
    let mut conn = state.pool.get().await?;
    Ok(SecondFactorStatus {
        totp_enabled: auth.user.totp_enabled_at.is_some(),
        recovery_codes_left: stored::recovery_codes_left(&mut conn, auth.user.id).await?,
    })
}

/// What a session proves its user with again.
pub enum Reauthentication {
    Password(Secret),
    /// A code of the authenticator app.
    Code(Secret),
}

impl Reauthentication {
    /// Exactly one of the two, as `POST /api/auth/reauthenticate` takes them.
    pub fn from_fields(password: Option<Secret>, code: Option<Secret>) -> Result<Self, Error> {
        match (password, code) {
            (Some(password), None) => Ok(Self::Password(password)),
            (None, Some(code)) => Ok(Self::Code(code)),
            _ => Err(Error::Validation(
                "Send either the password or an authenticator code".to_owned(),
            )),
        }
    }
}

/// Checks the password (counted like a password change: this session's slot and the
/// account's) or an authenticator code (counted the same, and each code once), then
/// records the proof; the session as it now stands.
#[tracing::instrument(skip_all, fields(user_id = %auth.user.id))]
pub async fn reauthenticate(
    state: &AppState,
    auth: &Authenticated,
    proof: Reauthentication,
) -> Result<SessionRow, Error> {
    match proof {
        Reauthentication::Password(password) => {
            let password = LoginPassword::parse(password)?;
            current_password::prove(state, auth, password).await?;
            state
                .unit_of_work(async |mut tx| {
                    users::lock(tx.conn(), auth.user.id).await?;
                    let session =
                        record_proof(&mut tx, &auth.session, ProofMethod::Password).await?;
                    tx.commit(session).await
                })
                .await
        }
        Reauthentication::Code(code) => reauthenticate_with_code(state, auth, &code).await,
    }
}

/// Sudo mode with a code of the app: the session's proof is renewed.
async fn reauthenticate_with_code(
    state: &AppState,
    auth: &Authenticated,
    code: &Secret,
) -> Result<SessionRow, Error> {
    if auth.user.totp_enabled_at.is_none() {
        return Err(Error::SecondFactorNotEnabled);
    }
    let attempt = begin_code_check(state, auth).await?;
    let result = state
        .unit_of_work(async |mut tx| {
            users::lock(tx.conn(), auth.user.id).await?;
            if !looks_like_totp(code.expose()) || !check_totp(&mut tx, auth.user.id, code).await? {
                return Err(Error::InvalidCode);
            }
            let session = record_proof(&mut tx, &auth.session, ProofMethod::Totp).await?;
            tx.commit(session).await
        })
        .await;
    finish_code_check(state, attempt, result).await
}

/// A signed-in session's code is counted as its password checks are: its own slot and
/// the account's.
async fn begin_code_check(
    state: &AppState,
    auth: &Authenticated,
) -> Result<throttle::Attempt, Error> {
    throttle::begin_password_check(state, &Email::stored(&auth.user.email), auth.session.id).await
}

/// A wrong code keeps its slots as a failure; anything else gives them back.
async fn finish_code_check<T>(
    state: &AppState,
    attempt: throttle::Attempt,
    result: Result<T, Error>,
) -> Result<T, Error> {
    match result {
        Err(Error::InvalidCode) => {
            throttle::failed(attempt);
            Err(Error::InvalidCode)
        }
        other => {
            throttle::succeeded(state, attempt).await?;
            other
        }
    }
}
