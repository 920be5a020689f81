//! Passkeys (WebAuthn, webauthn-rs): registering one from a signed-in session, listing,
//! renaming and removing them, and the proof of a discoverable sign-in.
//!
//! Each ceremony is two requests; what webauthn-rs keeps between them is stored in
//! `passkey_challenges` (single-use, [`PASSKEY_CHALLENGE_LIFETIME`]), so any instance
//! finishes what another began. The relying party is `PUBLIC_URL`: its origin, and its host
//! as the RP ID (`http://localhost:8080` in development).
//!
//! A sign-in only proves the user here; admitting the browser is the login's own decision
//! (`services::admission::passkey_login`). A signed-in session may also prove its user
//! again with one of the account's passkeys (sudo mode, `reauth::record_proof`).

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::AlertKind;
use url::Url;
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Webauthn, WebauthnBuilder,
};

use crate::config::Settings;
use crate::error::Error;
use crate::events::unit_of_work::Tx;
use crate::model::activity::ActivityKind;
use crate::model::device::ClientInfo;
use crate::model::input::DisplayName;
use crate::model::policy::{MAX_PASSKEYS, PASSKEY_CHALLENGE_LIFETIME};
use crate::model::second_factor::ProofMethod;
use crate::services::{Authenticated, alerts, reauth, throttle};
use crate::state::AppState;
use crate::storage::activity::NewEntry;
use crate::storage::passkeys::{self as stored, PasskeyRow, Purpose};
use crate::storage::sessions::SessionRow;
use crate::storage::users::{self, UserRow};

/// Every refusal of an authenticator's answer, in the user's words.
const NOT_VERIFIED: &str = "The passkey's answer could not be verified";
const UNKNOWN_PASSKEY: &str = "This passkey is not registered with this account any more";
const ALREADY_REGISTERED: &str = "This passkey is registered already";
const NOT_THIS_ACCOUNTS: &str = "This passkey is not one of this account's";

/// The relying party of `PUBLIC_URL`: its origin (scheme, host, port; a path is ignored)
/// and its host as the RP ID.
pub fn relying_party(settings: &Settings) -> Result<Webauthn, Error> {
    let public_url = settings.server.public_url();
    let url = Url::parse(&public_url).map_err(Error::internal)?;
    let rp_id = url
        .host_str()
        .ok_or_else(|| Error::internal(format!("PUBLIC_URL {public_url} has no host")))?;
    let origin = Url::parse(&url.origin().ascii_serialization()).map_err(Error::internal)?;
    WebauthnBuilder::new(rp_id, &origin)
        .and_then(|builder| builder.rp_name(&settings.server.app_name).build())
        .map_err(Error::internal)
}

/// The first half of a ceremony, as the client gets it: the challenge's id and the options.
pub struct Challenge {
    pub id: Uuid,
    pub options: serde_json::Value,
}

/// Starts adding a passkey to the signed-in account: a discoverable credential (it signs
/// in without the address), user verification required, none of the account's own
/// credentials again.
#[tracing::instrument(skip_all)]
pub async fn start_registration(
    state: &AppState,
    auth: &Authenticated,
) -> Result<Challenge, Error> {
    // Sudo mode: a stolen cookie alone cannot plant a passkey of its own.
    reauth::require_recent_proof(state, &auth.session)?;
    let webauthn = relying_party(&state.settings)?;
    let mut conn = state.pool.get().await?;
    let existing = stored::list(&mut conn, auth.user.id).await?;
    if existing.len() >= MAX_PASSKEYS {
        return Err(Error::PasskeyLimit(MAX_PASSKEYS));
    }
    let exclude = existing
        .iter()
        .map(|row| passkey_of(row).map(|passkey| passkey.cred_id().clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let (creation, registration) = webauthn
        .start_passkey_registration(
            auth.user.id,
            &auth.user.email,
            &auth.user.name,
            Some(exclude),
        )
        .map_err(Error::internal)?;
    let mut options = to_json(&creation)?;
    // webauthn-rs' passkey flow asks for no resident key; signing in without the address
    // (and autofill) needs one. Registration does not check it, so asking is enough.
    if let Some(selection) = options
        .get_mut("publicKey")
        .and_then(|key| key.get_mut("authenticatorSelection"))
        .and_then(serde_json::Value::as_object_mut)
    {
        selection.insert("residentKey".to_owned(), "required".into());
        selection.insert("requireResidentKey".to_owned(), true.into());
    }
    let purpose = (Purpose::Register, Some(auth.user.id));
    keep_ceremony(&mut conn, state, purpose, &registration, options).await
}

/// Finishes adding a passkey: the challenge is used up whatever the outcome.
#[tracing::instrument(skip_all, fields(%challenge_id))]
pub async fn finish_registration(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
    challenge_id: Uuid,
    name: &str,
    credential: serde_json::Value,
) -> Result<PasskeyRow, Error> {
    let name = DisplayName::parse(name)?;
    let credential: RegisterPublicKeyCredential = from_client(credential)?;
    let webauthn = relying_party(&state.settings)?;
    let user_id = auth.user.id;
    state
        .unit_of_work(async |mut tx| {
            // The user's lock: two registrations at once cannot pass the cap together.
            users::lock(tx.conn(), user_id).await?;
            let now = tx.now();
            let purpose = (Purpose::Register, Some(user_id));
            let Some(registration) =
                take_ceremony::<PasskeyRegistration>(&mut tx, challenge_id, purpose).await?
            else {
                return tx.commit_refusal(Error::InvalidChallenge).await;
            };
            let passkey = match webauthn.finish_passkey_registration(&credential, &registration) {
                Ok(passkey) => passkey,
                Err(error) => {
                    tracing::info!(%error, "passkey registration refused");
                    return tx
                        .commit_refusal(Error::PasskeyRejected(NOT_VERIFIED))
                        .await;
                }
            };
            if stored::list(tx.conn(), user_id).await?.len() >= MAX_PASSKEYS {
                return tx.commit_refusal(Error::PasskeyLimit(MAX_PASSKEYS)).await;
            }
            let credential_id: &[u8] = passkey.cred_id().as_ref();
            let inserted = stored::insert(
                tx.conn(),
                user_id,
                name.as_str(),
                credential_id,
                to_json(&passkey)?,
                now,
            )
            .await?;
            match inserted {
                Some(row) => {
                    let added = (ActivityKind::PasskeyAdded, AlertKind::PasskeyAdded);
                    changed(&mut tx, auth, client, added, &row.name);
                    tx.commit(row).await
                }
                None => {
                    tx.commit_refusal(Error::PasskeyRejected(ALREADY_REGISTERED))
                        .await
                }
            }
        })
        .await
}

pub async fn list(state: &AppState, auth: &Authenticated) -> Result<Vec<PasskeyRow>, Error> {
    Ok(stored::list(&mut *state.pool.get().await?, auth.user.id).await?)
}

pub async fn rename(
    state: &AppState,
    auth: &Authenticated,
    id: Uuid,
    name: &str,
) -> Result<PasskeyRow, Error> {
    let name = DisplayName::parse(name)?;
    stored::rename(
        &mut *state.pool.get().await?,
        auth.user.id,
        id,
        name.as_str(),
    )
    .await?
    .ok_or(NO_SUCH_PASSKEY)
}

/// Removes a passkey: it cannot sign in from now on (sessions it began go on).
pub async fn remove(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
    id: Uuid,
) -> Result<(), Error> {
    reauth::require_recent_proof(state, &auth.session)?;
    state
        .unit_of_work(async |mut tx| {
            let Some(row) = stored::delete(tx.conn(), auth.user.id, id).await? else {
                return Err(NO_SUCH_PASSKEY);
            };
            let removed = (ActivityKind::PasskeyRemoved, AlertKind::PasskeyRemoved);
            changed(&mut tx, auth, client, removed, &row.name);
            tx.commit(()).await
        })
        .await
}

/// "This wasn't me": every passkey goes (one the intruder added would sign in without the
/// new password); each in the activity log. The user's lock is held.
pub async fn remove_all(tx: &mut Tx<'_>, user_id: Uuid, why: &str) -> Result<usize, Error> {
    let names = stored::delete_all(tx.conn(), user_id).await?;
    Ok(log_removed(tx, user_id, &names, why))
}

/// Removes the passkeys added at or after `since` (each in the activity log): their number.
pub async fn remove_added_since(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    since: DateTime<Utc>,
    why: &str,
) -> Result<usize, Error> {
    let names = stored::delete_added_since(tx.conn(), user_id, since).await?;
    Ok(log_removed(tx, user_id, &names, why))
}

/// Each removed passkey in the activity log, with why: their number.
fn log_removed(tx: &mut Tx<'_>, user_id: Uuid, names: &[String], why: &str) -> usize {
    let now = tx.now();
    for name in names {
        tx.log(
            NewEntry::new(user_id, ActivityKind::PasskeyRemoved, now)
                .detail(format!("{name} ({why})")),
        );
    }
    names.len()
}

/// A passkey added or removed: in the activity log (its name) and mailed to the owner.
fn changed(
    tx: &mut Tx<'_>,
    auth: &Authenticated,
    client: &ClientInfo,
    (kind, alert): (ActivityKind, AlertKind),
    name: &str,
) {
    let now = tx.now();
    tx.log(
        NewEntry::new(auth.user.id, kind, now)
            .session(auth.session.id)
            .from_device(&client.ip, client.label())
            .detail(name),
    );
    alerts::sign_in_methods_changed(tx, &auth.session, client, alert);
}

const NO_SUCH_PASSKEY: Error = Error::NotFound("No such passkey");

/// Starts a sign-in with any passkey of any account (the browser offers those it holds:
/// `allowCredentials` is empty), for the button or for autofill (conditional mediation,
/// which the client asks for).
/// Anonymous, so counted per client address (`throttle::begin_passkey_sign_in`): each call
/// stores a challenge until the sweeper purges it.
#[tracing::instrument(skip_all)]
pub async fn start_sign_in(state: &AppState, ip: &str) -> Result<Challenge, Error> {
    throttle::begin_passkey_sign_in(state, ip).await?;
    let webauthn = relying_party(&state.settings)?;
    let (mut request, authentication) = webauthn
        .start_discoverable_authentication()
        .map_err(Error::internal)?;
    // webauthn-rs sets conditional mediation; the client chooses (modal for the button).
    request.mediation = None;
    let mut conn = state.pool.get().await?;
    let purpose = (Purpose::SignIn, None);
    keep_ceremony(
        &mut conn,
        state,
        purpose,
        &authentication,
        to_json(&request)?,
    )
    .await
}

/// Verifies a sign-in assertion: the user it proves. The challenge is used up, the
/// credential's counter checked and moved, and its last use written, in one transaction
/// holding the passkey's row (a replayed or cloned assertion loses).
#[tracing::instrument(skip_all, fields(%challenge_id))]
pub async fn finish_sign_in(
    state: &AppState,
    challenge_id: Uuid,
    credential: serde_json::Value,
) -> Result<UserRow, Error> {
    let credential: PublicKeyCredential = from_client(credential)?;
    let webauthn = relying_party(&state.settings)?;
    state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            let purpose = (Purpose::SignIn, None);
            let Some(authentication) =
                take_ceremony::<DiscoverableAuthentication>(&mut tx, challenge_id, purpose).await?
            else {
                return tx.commit_refusal(Error::InvalidChallenge).await;
            };
            // The credential names its passkey (and so the account); a removed one is gone.
            let Some(row) =
                stored::lock_by_credential(tx.conn(), credential.get_credential_id()).await?
            else {
                return tx
                    .commit_refusal(Error::PasskeyRejected(UNKNOWN_PASSKEY))
                    .await;
            };
            // A user handle, when the authenticator sends one, must be the account's.
            if credential
                .get_user_unique_id()
                .is_some_and(|handle| handle != row.user_id.as_bytes())
            {
                return tx
                    .commit_refusal(Error::PasskeyRejected(NOT_VERIFIED))
                    .await;
            }
            let mut passkey = passkey_of(&row)?;
            let result = match webauthn.finish_discoverable_authentication_v2(
                &credential,
                authentication,
                &passkey,
            ) {
                Ok(result) => result,
                Err(error) => {
                    tracing::info!(%error, "passkey sign-in refused");
                    return tx
                        .commit_refusal(Error::PasskeyRejected(NOT_VERIFIED))
                        .await;
                }
            };
            passkey.update_credential(&result);
            stored::record_use(tx.conn(), row.id, to_json(&passkey)?, now).await?;
            let user = users::find(tx.conn(), row.user_id).await?;
            tx.commit(user).await
        })
        .await
}

/// Sudo mode with a passkey, step one: an assertion of one of the account's passkeys
/// (`allowCredentials` lists them), user verification required.
#[tracing::instrument(skip_all, fields(user_id = %auth.user.id))]
pub async fn start_reauthentication(
    state: &AppState,
    auth: &Authenticated,
) -> Result<Challenge, Error> {
    // Each call stores a challenge: a session may not pile them up.
    throttle::begin_passkey_reauthentication(state, auth.session.id).await?;
    let webauthn = relying_party(&state.settings)?;
    let mut conn = state.pool.get().await?;
    let passkeys = stored::list(&mut conn, auth.user.id)
        .await?
        .iter()
        .map(passkey_of)
        .collect::<Result<Vec<_>, _>>()?;
    if passkeys.is_empty() {
        return Err(Error::NotFound("This account has no passkey"));
    }
    let (request, authentication) = webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(Error::internal)?;
    let purpose = (Purpose::Reauthenticate, Some(auth.user.id));
    keep_ceremony(
        &mut conn,
        state,
        purpose,
        &authentication,
        to_json(&request)?,
    )
    .await
}

/// Sudo mode with a passkey, step two: the assertion verified against the passkey it names
/// (the account's, locked: its counter moves), the session's proof renewed. The challenge
/// is used up whatever the outcome. No throttle: an assertion cannot be guessed.
#[tracing::instrument(skip_all, fields(user_id = %auth.user.id, %challenge_id))]
pub async fn finish_reauthentication(
    state: &AppState,
    auth: &Authenticated,
    challenge_id: Uuid,
    credential: serde_json::Value,
) -> Result<SessionRow, Error> {
    let credential: PublicKeyCredential = from_client(credential)?;
    let webauthn = relying_party(&state.settings)?;
    let user_id = auth.user.id;
    state
        .unit_of_work(async |mut tx| {
            users::lock(tx.conn(), user_id).await?;
            let now = tx.now();
            let purpose = (Purpose::Reauthenticate, Some(user_id));
            let Some(authentication) =
                take_ceremony::<PasskeyAuthentication>(&mut tx, challenge_id, purpose).await?
            else {
                return tx.commit_refusal(Error::InvalidChallenge).await;
            };
            let row = stored::lock_by_credential(tx.conn(), credential.get_credential_id())
                .await?
                .filter(|row| row.user_id == user_id);
            let Some(row) = row else {
                return tx
                    .commit_refusal(Error::PasskeyRejected(NOT_THIS_ACCOUNTS))
                    .await;
            };
            let result = match webauthn.finish_passkey_authentication(&credential, &authentication)
            {
                Ok(result) => result,
                Err(error) => {
                    tracing::info!(%error, "passkey re-authentication refused");
                    return tx
                        .commit_refusal(Error::PasskeyRejected(NOT_VERIFIED))
                        .await;
                }
            };
            // The state kept since `start` holds the counter of then; a use in between moved
            // the locked row's. An authenticator that counts must count past it (a clone
            // would not).
            if result.counter() != 0 && u64::from(result.counter()) <= stored_counter(&row) {
                tracing::warn!(passkey_id = %row.id, "passkey counter did not advance: a cloned authenticator?");
                return tx
                    .commit_refusal(Error::PasskeyRejected(NOT_VERIFIED))
                    .await;
            }
            let mut passkey = passkey_of(&row)?;
            passkey.update_credential(&result);
            stored::record_use(tx.conn(), row.id, to_json(&passkey)?, now).await?;
            let session =
                reauth::record_proof(&mut tx, &auth.session, ProofMethod::Passkey).await?;
            tx.commit(session).await
        })
        .await
}

/// A ceremony's purpose and owner (`None`: a sign-in, nobody's yet).
type Owned = (Purpose, Option<Uuid>);

/// Keeps what webauthn-rs needs between a ceremony's two requests, for
/// [`PASSKEY_CHALLENGE_LIFETIME`] (any instance finishes it): the challenge the client gets.
async fn keep_ceremony(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    (purpose, user_id): Owned,
    ceremony: &impl Serialize,
    options: serde_json::Value,
) -> Result<Challenge, Error> {
    let expires_at = state.now() + PASSKEY_CHALLENGE_LIFETIME;
    let id =
        stored::insert_challenge(conn, purpose, user_id, to_json(ceremony)?, expires_at).await?;
    Ok(Challenge { id, options })
}

/// Uses up the challenge and reads its ceremony back; `None` when it is unknown, used,
/// expired, for another purpose or another account's.
async fn take_ceremony<T: DeserializeOwned>(
    tx: &mut Tx<'_>,
    challenge_id: Uuid,
    (purpose, user_id): Owned,
) -> Result<Option<T>, Error> {
    let now = tx.now();
    stored::take_challenge(tx.conn(), challenge_id, purpose, user_id, now)
        .await?
        .map(from_store)
        .transpose()
}

/// The signature counter webauthn-rs stored with the passkey (`cred.counter`; 0 if absent).
fn stored_counter(row: &PasskeyRow) -> u64 {
    row.passkey
        .get("cred")
        .and_then(|cred| cred.get("counter"))
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0)
}

fn passkey_of(row: &PasskeyRow) -> Result<Passkey, Error> {
    from_store(row.passkey.clone())
}

/// What the client sent: not a credential of the expected kind is the client's mistake.
fn from_client<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|error| {
        Error::Validation(format!("credential is not a WebAuthn credential: {error}"))
    })
}

/// What this server stored: unreadable is a bug.
fn from_store<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(Error::internal)
}

fn to_json(value: &impl Serialize) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value).map_err(Error::internal)
}
