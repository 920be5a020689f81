//! The account's address as a second channel: confirming it (a link mailed at signup, and
//! again on request), recovering the account through it (a reset link that sets a new
//! password and ends every session and request in flight), and securing it from the
//! "this wasn't me" link of security mail.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use shared::Secret;
use uuid::Uuid;

use crate::error::Error;
use crate::events::Event;
use crate::events::unit_of_work::Tx;
use crate::model::activity::ActivityKind;
use crate::model::device::ClientInfo;
use crate::model::input::{Email, NewPassword};
use crate::model::mail::{LinkPurpose, Mail};
use crate::model::secrets::{MintedToken, hash_token};
use crate::model::session::EndReason;
use crate::services::sessions::{self, SignOut};
use crate::services::strength::ensure_strong;
use crate::services::{Authenticated, alerts, passkeys, second_factor, throttle};
use crate::state::AppState;
use crate::storage::activity::NewEntry;
use crate::storage::email_links;
use crate::storage::users::{self, UserRow};

/// Mints a link for `user`'s current address and stores its hash; the token is returned.
async fn store_link(
    conn: &mut AsyncPgConnection,
    user: &UserRow,
    purpose: LinkPurpose,
    now: DateTime<Utc>,
) -> Result<Secret, Error> {
    store_link_for_event(conn, user, purpose, now, now).await
}

/// A link whose `created_at` is the time of the event its mail reports (its life runs from
/// `now`, when it is minted).
async fn store_link_for_event(
    conn: &mut AsyncPgConnection,
    user: &UserRow,
    purpose: LinkPurpose,
    event_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Secret, Error> {
    let minted = MintedToken::mint();
    email_links::insert(
        conn,
        user.id,
        purpose.as_str(),
        &user.email,
        &minted.hash,
        event_at,
        now + purpose.lifetime(),
    )
    .await?;
    Ok(Secret::new(minted.token))
}

/// Mints a link for `user`, stores its hash and queues the mail carrying it.
pub async fn send_link(tx: &mut Tx<'_>, user: &UserRow, purpose: LinkPurpose) -> Result<(), Error> {
    let now = tx.now();
    let token = store_link(tx.conn(), user, purpose, now).await?;
    tx.mail(
        user.id,
        Mail::Link {
            purpose,
            token,
            at: now,
        },
    );
    Ok(())
}

/// A "this wasn't me" link for a security mail to `recipient`, if that is the account's
/// confirmed address (the link can end every session and set a new password, so it goes
/// only where a reset link would). Minted when the mail is sent, so it is never stored; it
/// keeps the time of the event the mail reports (`event_at`), which bounds what it removes.
pub async fn secure_link_for(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    recipient: &str,
    event_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<Secret>, Error> {
    let user = users::find(conn, user_id).await?;
    if user.email_verified_at.is_none() || user.email != recipient {
        return Ok(None);
    }
    Ok(Some(
        store_link_for_event(conn, &user, LinkPurpose::SecureAccount, event_at, now).await?,
    ))
}

/// What the "this wasn't me" link did.
pub struct Secured {
    pub user: UserRow,
    pub sessions_ended: usize,
    pub requests_cancelled: usize,
    /// A reset link's token (30 minutes, once), not mailed: whoever holds the secure link
    /// holds the mailbox, and goes on to choose a new password.
    pub reset_token: Secret,
}

/// Uses a "this wasn't me" link: every session ends and every request in flight is
/// cancelled at once; the new password comes next, with the reset token returned.
#[tracing::instrument(skip_all)]
pub async fn secure_account(
    state: &AppState,
    token: &Secret,
    client: &ClientInfo,
) -> Result<Secured, Error> {
    let token_hash = hash_of(token)?;
    let purpose = LinkPurpose::SecureAccount;
    let owner = link_owner(state, purpose, &token_hash).await?;
    let secured = state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            // Ordered against a login deciding on the limit, as a password reset is.
            let user = users::lock(tx.conn(), owner).await?;
            let user_id = email_links::redeem(tx.conn(), purpose.as_str(), &token_hash, now)
                .await?
                .filter(|user_id| *user_id == owner)
                .ok_or(Error::InvalidLink)?;
            // The browsers that signed in before are strangers again (the intruder's too).
            users::forget_devices(tx.conn(), user_id, now).await?;
            // A change of address asked for by whoever was in does not happen.
            email_links::void_unused(
                tx.conn(),
                user_id,
                &[LinkPurpose::ChangeEmail.as_str()],
                now,
            )
            .await?;
            // Nor does a way in the intruder may have added since the earliest event a
            // security mail still open reports (whichever of them the owner clicks): a passkey
            // signs in without the new password, an authenticator app they turned on would
            // lock the owner out, recovery codes they made would sign them in. Those from
            // before stay: whoever holds only the mailbox can have such a link mailed (a reset
            // does), and must not turn the second factor off with it.
            let since = email_links::earliest_open_event(
                tx.conn(),
                user_id,
                purpose.as_str(),
                &token_hash,
                now,
            )
            .await?
            .unwrap_or(now);
            let why = "removed through \"this wasn't me\"";
            passkeys::remove_added_since(&mut tx, user_id, since, why).await?;
            second_factor::remove_unless_set_up_before(&mut tx, &user, since, why).await?;
            tx.log(
                NewEntry::new(user_id, ActivityKind::AccountSecured, now)
                    .from_device(&client.ip, client.label()),
            );
            let signed_out = sessions::sign_out_everywhere(
                &mut tx,
                user_id,
                SignOut {
                    except: None,
                    reason: EndReason::AccountSecured,
                    detail: "ended through \"this wasn't me\" in a mail",
                    cancelled: "the account was secured from a mailed link",
                },
            )
            .await?;
            let reset_token = store_link(tx.conn(), &user, LinkPurpose::ResetPassword, now).await?;
            tx.commit(Secured {
                user,
                sessions_ended: signed_out.sessions,
                requests_cancelled: signed_out.requests,
                reset_token,
            })
            .await
        })
        .await?;
    tracing::info!(
        user_id = %secured.user.id,
        sessions_ended = secured.sessions_ended,
        requests_cancelled = secured.requests_cancelled,
        "account secured from a mailed link"
    );
    Ok(secured)
}

/// Whose link this is, if it could be used now, read without a lock: a transaction that uses
/// a link locks its user's row first, as every transaction does, and then uses the link only
/// if it is still that user's.
pub(super) async fn link_owner(
    state: &AppState,
    purpose: LinkPurpose,
    token_hash: &[u8],
) -> Result<Uuid, Error> {
    email_links::peek(
        &mut *state.pool.get().await?,
        purpose.as_str(),
        token_hash,
        state.now(),
    )
    .await?
    .ok_or(Error::InvalidLink)
}

/// Confirms the address the link was sent to.
#[tracing::instrument(skip_all)]
pub async fn verify_email(state: &AppState, token: &Secret) -> Result<UserRow, Error> {
    let purpose = LinkPurpose::VerifyEmail;
    let token_hash = hash_of(token)?;
    let owner = link_owner(state, purpose, &token_hash).await?;
    state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            let user = users::lock(tx.conn(), owner).await?;
            let user_id = email_links::redeem(tx.conn(), purpose.as_str(), &token_hash, now)
                .await?
                .filter(|user_id| *user_id == owner)
                .ok_or(Error::InvalidLink)?;
            // An older confirmation link of an address confirmed since changes nothing.
            if user.email_verified_at.is_some() {
                return tx.commit(user).await;
            }
            forget_unproven_ways_in(&mut tx, &user, "the confirmation link").await?;
            let user = users::set_email_verified(tx.conn(), user_id, now).await?;
            tx.log(NewEntry::new(user_id, ActivityKind::EmailVerified, now).detail(&user.email));
            tx.commit(user).await
        })
        .await
}

/// Mails the confirmation link again (rate-limited like every mail asked for).
#[tracing::instrument(skip_all, fields(user_id = %auth.user.id))]
pub async fn resend_verification(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
) -> Result<(), Error> {
    if auth.user.email_verified_at.is_some() {
        return Err(Error::AlreadyVerified);
    }
    let email = Email::stored(&auth.user.email);
    throttle::begin_mail_request(state, &client.ip, &email).await?;
    state
        .unit_of_work(async |mut tx| {
            send_link(&mut tx, &auth.user, LinkPurpose::VerifyEmail).await?;
            tx.commit(()).await
        })
        .await
}

/// Mails a reset link if the address belongs to an account, confirmed or not (the link
/// proves the mailbox: completing it confirms the address, so that an account someone else
/// opened with this address never keeps its owner out); answers the same either way (no oracle for which addresses have accounts) and in the same time: what
/// depends on the account (the look-up, the link, the mail) runs after the answer, so that
/// its cost (a written transaction) never shows in the response time.
#[tracing::instrument(skip_all)]
pub async fn request_password_reset(
    state: &Arc<AppState>,
    email: &str,
    client: &ClientInfo,
) -> Result<(), Error> {
    // Not an address at all is a 422: that depends on the input only, and reveals nothing.
    let email = Email::parse(email)?;
    // The throttle is the same work for every address (it is keyed by the address given).
    throttle::begin_mail_request(state, &client.ip, &email).await?;
    let state = Arc::clone(state);
    tokio::spawn(async move {
        if let Err(error) = mail_reset_link(&state, &email).await {
            tracing::warn!(error = %error.chain(), "cannot mail a password-reset link");
        }
    });
    Ok(())
}

/// The part of a reset request that depends on the account, after the answer.
async fn mail_reset_link(state: &AppState, email: &Email) -> Result<(), Error> {
    state
        .unit_of_work(async |mut tx| {
            if let Some(user) = users::find_by_email(tx.conn(), email).await? {
                send_link(&mut tx, &user, LinkPurpose::ResetPassword).await?;
            }
            tx.commit(()).await
        })
        .await
}

/// Someone signed up with `email`, which an account holds: if that account's address was
/// never confirmed, its mailbox's owner may not have made it (address squatting), so the
/// address is mailed a reset link that takes the account over (see `complete_password_reset`).
/// The signup is answered `email_taken` either way. Counted like any mail asked for; over
/// the limit, no mail.
pub async fn offer_claim(
    state: &AppState,
    email: &Email,
    client: &ClientInfo,
) -> Result<(), Error> {
    let user = users::find_by_email(&mut *state.pool.get().await?, email).await?;
    let Some(user) = user.filter(|user| user.email_verified_at.is_none()) else {
        return Ok(());
    };
    match throttle::begin_mail_request(state, &client.ip, email).await {
        Ok(()) => {}
        Err(Error::TooManyMailRequests { .. }) => {
            tracing::info!(user_id = %user.id, "no claim mail: too many mail requests");
            return Ok(());
        }
        Err(error) => return Err(error),
    }
    state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            let token = store_link(tx.conn(), &user, LinkPurpose::ResetPassword, now).await?;
            tx.mail(user.id, Mail::Claim { token, at: now });
            tx.commit(()).await
        })
        .await?;
    tracing::info!(user_id = %user.id, "signup with an unconfirmed account's address: claim link mailed");
    Ok(())
}

/// Sets a new password through a reset link: every session ends, every request in flight
/// is cancelled, the other reset links die, and the owner gets a mail saying so. The link
/// proved the mailbox: an unconfirmed address is confirmed (whoever opened the account
/// with it is out: sessions, requests, device cookies, passkeys, the authenticator app and
/// a pending change of address all end).
#[tracing::instrument(skip_all)]
pub async fn complete_password_reset(
    state: &AppState,
    token: &Secret,
    new_password: Secret,
    client: &ClientInfo,
) -> Result<UserRow, Error> {
    let purpose = LinkPurpose::ResetPassword;
    let token_hash = hash_of(token)?;
    let new_password = NewPassword::parse(new_password)?;
    // The link is checked (not used) before the costly parts, so that a dead link says so
    // before a password is scored and hashed.
    let user = {
        let mut conn = state.pool.get().await?;
        let user_id = email_links::peek(&mut conn, purpose.as_str(), &token_hash, state.now())
            .await?
            .ok_or(Error::InvalidLink)?;
        users::find(&mut conn, user_id).await?
    };
    let new_password =
        ensure_strong(new_password, vec![user.email.clone(), user.name.clone()]).await?;
    let new_hash = state.hasher.hash(new_password.into_secret()).await?;
    state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            // The user's row lock orders this against a login deciding on the limit; it comes
            // first, as in every transaction (whose link it is was read above, unlocked).
            users::lock(tx.conn(), user.id).await?;
            let user_id = email_links::redeem(tx.conn(), purpose.as_str(), &token_hash, now)
                .await?
                .filter(|user_id| *user_id == user.id)
                .ok_or(Error::InvalidLink)?;
            // The other reset links, and the "this wasn't me" links mailed before: the new
            // password ends what they would end.
            let mailed_before = [purpose.as_str(), LinkPurpose::SecureAccount.as_str()];
            email_links::void_unused(tx.conn(), user_id, &mailed_before, now).await?;
            users::set_password_hash(tx.conn(), user_id, &new_hash, now).await?;
            // No browser is recognised on its word from before: whoever reset the password
            // gets the new generation's cookie (it proved the mailbox), the others a code
            // next time.
            users::forget_devices(tx.conn(), user_id, now).await?;
            let mut user = users::find(tx.conn(), user_id).await?;
            if user.email_verified_at.is_none() {
                forget_unproven_ways_in(&mut tx, &user, "a password reset").await?;
                user = users::set_email_verified(tx.conn(), user_id, now).await?;
                tx.log(
                    NewEntry::new(user_id, ActivityKind::EmailVerified, now).detail(&user.email),
                );
            }
            tx.log(
                NewEntry::new(user_id, ActivityKind::PasswordReset, now)
                    .from_device(&client.ip, client.label()),
            );
            sessions::sign_out_everywhere(
                &mut tx,
                user_id,
                SignOut {
                    except: None,
                    reason: EndReason::PasswordChanged,
                    detail: "the password was reset",
                    cancelled: "the password was reset",
                },
            )
            .await?;
            tx.announce(Event::PasswordChanged { user_id });
            alerts::password_changed(&mut tx, user_id, None, client);
            tx.commit(user).await
        })
        .await
}

/// The address is proved for the first time (`by` a mailed link): whoever opened the account
/// with it may not be its owner, and the ways in they set up go (a passkey signs in without
/// the password; an authenticator app would lock the owner out; each removal is logged), and
/// so does an address change they asked for. The other confirmation links die: the address
/// is confirmed.
async fn forget_unproven_ways_in(tx: &mut Tx<'_>, user: &UserRow, by: &str) -> Result<(), Error> {
    let why = format!("removed when {by} first confirmed the address");
    passkeys::remove_all(tx, user.id, &why).await?;
    second_factor::remove(tx, user, &why).await?;
    let now = tx.now();
    let unproven = [
        LinkPurpose::ChangeEmail.as_str(),
        LinkPurpose::VerifyEmail.as_str(),
    ];
    email_links::void_unused(tx.conn(), user.id, &unproven, now).await?;
    Ok(())
}

fn hash_of(token: &Secret) -> Result<Vec<u8>, Error> {
    let token = token.expose();
    // Tokens are 43 URL-safe characters; anything else is no link of ours.
    if token.is_empty() || token.len() > 128 {
        return Err(Error::InvalidLink);
    }
    Ok(hash_token(token))
}
