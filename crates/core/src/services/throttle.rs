//! Slowing password guessing, for every instance at once: a slot per key is taken in
//! PostgreSQL before any hashing (see `storage::throttle`), so parallel guesses cannot
//! overrun a limit, and a restart forgets nothing.

use crate::error::Error;
use crate::model::input::Email;
use crate::model::policy::{
    EXPORT_WINDOW, EXPORTS_PER_WINDOW, MAIL_REQUEST_WINDOW, MAIL_REQUESTS_PER_ADDRESS,
    MAIL_REQUESTS_PER_EMAIL, PASSKEY_SIGN_IN_WINDOW,
};
use crate::model::throttle::{
    account_key, address_key, device_key, export_key, mail_key, passkey_key, reauthentication_key,
    session_key, signup_key,
};
use crate::state::AppState;
use crate::storage::throttle::{self as stored, Slots};

/// The slots a password check holds until it is known to be right or wrong.
#[must_use = "a right password must give its slots back"]
pub struct Attempt {
    slot_ids: Vec<i64>,
    /// Whose failures a right password forgets.
    forget_key: String,
}

/// Before a login's hashing: a slot for the account and one for the client's address —
/// or, from a device that signed in to this account before (a valid device cookie), a slot
/// of that device alone. Guesses from elsewhere then cannot lock the owner out of their own
/// devices (OWASP's "device cookies").
#[tracing::instrument(name = "throttle", skip_all, fields(check = "login"))]
pub async fn begin_login(
    state: &AppState,
    email: &Email,
    ip: &str,
    known_device: Option<&str>,
) -> Result<Attempt, Error> {
    let settings = &state.settings;
    let mut keys = match known_device {
        Some(device) => vec![(
            device_key(device),
            limit(settings.throttle.login_max_failures),
        )],
        None => vec![
            (
                account_key(email),
                limit(settings.throttle.login_max_failures),
            ),
            (
                address_key(ip),
                limit(settings.throttle.login_max_failures_per_ip),
            ),
        ],
    };
    begin(state, &mut keys, account_key(email)).await
}

/// Before a signup: a slot for the client's address (IPv6: its /64), kept (signups count).
#[tracing::instrument(name = "throttle", skip_all, fields(check = "signup"))]
pub async fn begin_signup(state: &AppState, ip: &str) -> Result<(), Error> {
    let settings = &state.settings;
    let keys = [(signup_key(ip), limit(settings.throttle.signup_max_per_ip))];
    count(
        state,
        &keys,
        settings.throttle.signup_window,
        |retry_in_seconds| Error::TooManySignups { retry_in_seconds },
    )
    .await
}

/// Before mailing a link someone asked for (password reset, verification resend): a slot
/// for the address and one for the e-mail, known account or not (a refusal says nothing
/// about whether the account exists). Mail requests count whatever happens.
#[tracing::instrument(name = "throttle", skip_all, fields(check = "mail_request"))]
pub async fn begin_mail_request(state: &AppState, ip: &str, email: &Email) -> Result<(), Error> {
    let mut keys = [
        (mail_key(&address_key(ip)), MAIL_REQUESTS_PER_ADDRESS),
        (mail_key(&account_key(email)), MAIL_REQUESTS_PER_EMAIL),
    ];
    keys.sort();
    count(state, &keys, MAIL_REQUEST_WINDOW, |retry_in_seconds| {
        Error::TooManyMailRequests { retry_in_seconds }
    })
    .await
}

/// Takes a slot for each key, kept whatever happens next; at a limit, `refused` says how
/// long until a slot frees. Keys must be sorted.
async fn count(
    state: &AppState,
    keys: &[(String, i32)],
    window: std::time::Duration,
    refused: impl FnOnce(i64) -> Error,
) -> Result<(), Error> {
    let mut conn = state.pool.get().await?;
    match stored::take(&mut conn, keys, state.now(), window).await? {
        Slots::Taken(_) => Ok(()),
        Slots::Refused { retry_after_secs } => Err(refused(seconds(retry_after_secs))),
    }
}

/// Before an anonymous passkey sign-in begins (each stores a challenge until it expires):
/// a slot for the client's address, kept.
#[tracing::instrument(name = "throttle", skip_all, fields(check = "passkey_sign_in"))]
pub async fn begin_passkey_sign_in(state: &AppState, ip: &str) -> Result<(), Error> {
    let per_address = limit(state.settings.throttle.passkey_sign_in_max_per_ip);
    let keys = [(passkey_key(ip), per_address)];
    count(state, &keys, PASSKEY_SIGN_IN_WINDOW, |retry_in_seconds| {
        Error::TooManyAttempts { retry_in_seconds }
    })
    .await
}

/// Before a signed-in session begins re-authenticating with a passkey: a slot of the
/// session's, kept (as many as a login's guesses per window).
#[tracing::instrument(
    name = "throttle",
    skip_all,
    fields(check = "passkey_reauthentication")
)]
pub async fn begin_passkey_reauthentication(
    state: &AppState,
    session_id: uuid::Uuid,
) -> Result<(), Error> {
    let keys = [(
        reauthentication_key(session_id),
        limit(state.settings.throttle.login_max_failures),
    )];
    count(
        state,
        &keys,
        state.settings.throttle.login_failure_window,
        |retry_in_seconds| Error::TooManyAttempts { retry_in_seconds },
    )
    .await
}

/// Before a data export (it reads the account's whole history): a slot of the account's,
/// kept.
#[tracing::instrument(name = "throttle", skip_all, fields(check = "export"))]
pub async fn begin_export(state: &AppState, user_id: uuid::Uuid) -> Result<(), Error> {
    let keys = [(export_key(&user_id), EXPORTS_PER_WINDOW)];
    count(state, &keys, EXPORT_WINDOW, |retry_in_seconds| {
        Error::TooManyExports { retry_in_seconds }
    })
    .await
}

/// Before checking the current password of a signed-in session (a password change): the
/// session's own slot, limited like the account's. Guesses from elsewhere fill the
/// account's slot; they must not stop the owner, signed in, from changing the password
/// under attack. A stolen cookie is no free password oracle either: its session gets as
/// many guesses as a login, and each wrong one is counted against the account too (a slot
/// taken without a limit), so logins from elsewhere see them.
#[tracing::instrument(name = "throttle", skip_all, fields(check = "password_check"))]
pub async fn begin_password_check(
    state: &AppState,
    email: &Email,
    session_id: uuid::Uuid,
) -> Result<Attempt, Error> {
    let mut keys = vec![
        (
            session_key(session_id),
            limit(state.settings.throttle.login_max_failures),
        ),
        (account_key(email), i32::MAX),
    ];
    begin(state, &mut keys, session_key(session_id)).await
}

/// Takes the slots; a right password will forget `forget_key`'s failures.
async fn begin(
    state: &AppState,
    keys: &mut [(String, i32)],
    forget_key: String,
) -> Result<Attempt, Error> {
    // The same order everywhere: concurrent callers lock the keys without deadlocking.
    keys.sort();
    let mut conn = state.pool.get().await?;
    match stored::take(
        &mut conn,
        keys,
        state.now(),
        state.settings.throttle.login_failure_window,
    )
    .await?
    {
        Slots::Taken(slot_ids) => Ok(Attempt {
            slot_ids,
            forget_key,
        }),
        Slots::Refused { retry_after_secs } => Err(Error::TooManyAttempts {
            retry_in_seconds: seconds(retry_after_secs),
        }),
    }
}

/// The password was right: the slots go back and the failures of the account (for a login)
/// or of the session (for a password check) are forgotten — not the address's: one success
/// must not reset a guessing run over other accounts; nor the account's on a password
/// check: the owner's session says nothing of the guesses from elsewhere.
pub async fn succeeded(state: &AppState, attempt: Attempt) -> Result<(), Error> {
    let mut conn = state.pool.get().await?;
    stored::release(&mut conn, &attempt.slot_ids, Some(&attempt.forget_key)).await?;
    Ok(())
}

/// The password was right but a second factor must follow: the slots go back, the
/// account's failures stay (one right password must not reset a guessing run on its codes).
pub async fn passed_first_factor(state: &AppState, attempt: Attempt) -> Result<(), Error> {
    let mut conn = state.pool.get().await?;
    stored::release(&mut conn, &attempt.slot_ids, None).await?;
    Ok(())
}

/// The password was wrong: the slots stay, as failures.
pub fn failed(attempt: Attempt) {
    drop(attempt);
}

fn limit(value: usize) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn seconds(value: f64) -> i64 {
    // Whole seconds, rounded up, at least one: `Retry-After` must not say 0.
    let rounded = value.ceil().clamp(1.0, 86_400.0);
    #[allow(clippy::as_conversions)] // clamped to a small positive range just above
    let whole = rounded as i64;
    whole
}
