//! Moving the account to another address. Asking (`POST /api/me/email`, with the current
//! password) mails a link to the new address (24 h, once, stored as its hash) and a notice
//! with "this wasn't me" to the current one; until the link is used, everything keeps using
//! the current address. Using it (`POST /api/auth/confirm-email-change`) makes the switch:
//! every other session ends (`email_changed`), requests in flight are cancelled, every
//! browser is forgotten (a new device generation), and the links sent to the old address die
//! with it (a link works only while the account is at the address it was sent to).
//!
//! An address that belongs to another account gets the same answer (no oracle for which
//! addresses have accounts): the link row is stored alike, but its token goes nowhere and
//! the address's owner gets a notice instead; a link whose address was taken meanwhile
//! does not switch.

use chrono::{DateTime, Utc};
use shared::{AlertKind, PendingEmailChange, Secret, SecurityAlert};

use crate::error::Error;
use crate::events::Event;
use crate::model::activity::ActivityKind;
use crate::model::device::ClientInfo;
use crate::model::input::{Email, LoginPassword};
use crate::model::mail::{LinkPurpose, Mail};
use crate::model::secrets::{MintedToken, hash_token};
use crate::model::session::EndReason;
use crate::services::sessions::{self, SignOut};
use crate::services::{Authenticated, current_password, reauth, throttle};
use crate::state::AppState;
use crate::storage::activity::NewEntry;
use crate::storage::email_links;
use crate::storage::users::{self, UserRow};

fn alert(kind: AlertKind, client: &ClientInfo, now: DateTime<Utc>) -> SecurityAlert {
    SecurityAlert {
        kind,
        session_id: None,
        device: client.label(),
        ip: client.ip.clone(),
        country: client.country.clone(),
        at: now,
    }
}

/// Asks to move the account to `new_email`; the change that now waits for its link.
#[tracing::instrument(skip_all, fields(user_id = %auth.user.id))]
pub async fn request(
    state: &AppState,
    auth: &Authenticated,
    new_email: &str,
    current: Secret,
    client: &ClientInfo,
) -> Result<PendingEmailChange, Error> {
    let new_email = Email::parse(new_email)?;
    let current = LoginPassword::parse(current)?;
    if new_email.as_str() == auth.user.email {
        return Err(Error::Validation(
            "This is already the account's address".to_owned(),
        ));
    }
    reauth::require_recent_proof(state, &auth.session)?;
    // Each request is a mail to an address the asker chose: limited like any mail asked for.
    throttle::begin_mail_request(state, &client.ip, &new_email).await?;
    current_password::prove(state, auth, current).await?;
    let purpose = LinkPurpose::ChangeEmail;
    state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            let user = users::lock(tx.conn(), auth.user.id).await?;
            // One change waits at a time: the latest.
            email_links::void_unused(tx.conn(), user.id, &[purpose.as_str()], now).await?;
            let minted = MintedToken::mint();
            let expires_at = now + purpose.lifetime();
            email_links::insert_change(
                tx.conn(),
                user.id,
                &user.email,
                new_email.as_str(),
                &minted.hash,
                now,
                expires_at,
            )
            .await?;
            match users::find_by_email(tx.conn(), &new_email).await? {
                // Its owner hears of it; the token is never sent.
                Some(owner) => tx.mail(
                    owner.id,
                    Mail::Alert(alert(AlertKind::EmailInUse, client, now)),
                ),
                None => tx.mail_to(
                    Some(user.id),
                    new_email.as_str(),
                    Mail::Link {
                        purpose,
                        token: Secret::new(minted.token),
                        at: now,
                    },
                ),
            }
            tx.mail(
                user.id,
                Mail::Alert(alert(AlertKind::EmailChangeRequested, client, now)),
            );
            tx.log(
                NewEntry::new(user.id, ActivityKind::EmailChangeRequested, now)
                    .session(auth.session.id)
                    .from_device(&client.ip, client.label())
                    .detail(new_email.as_str()),
            );
            tx.commit(PendingEmailChange {
                new_email: new_email.as_str().to_owned(),
                expires_at,
            })
            .await
        })
        .await
}

/// The change of address waiting for its link, if any.
pub async fn pending(
    state: &AppState,
    auth: &Authenticated,
) -> Result<Option<PendingEmailChange>, Error> {
    let mut conn = state.pool.get().await?;
    let pending = email_links::pending_change(&mut conn, auth.user.id, state.now()).await?;
    Ok(pending.map(|change| PendingEmailChange {
        new_email: change.new_email,
        expires_at: change.expires_at,
    }))
}

/// Uses the link: the account moves to the new address (see the module's comment).
/// `keep`: the session of the browser that used it, if it is the account's (it stays).
#[tracing::instrument(skip_all)]
pub async fn confirm(
    state: &AppState,
    token: &Secret,
    keep: Option<&Authenticated>,
    client: &ClientInfo,
) -> Result<UserRow, Error> {
    let token = token.expose();
    if token.is_empty() || token.len() > 128 {
        return Err(Error::InvalidLink);
    }
    let token_hash = hash_token(token);
    let owner = super::recovery::link_owner(state, LinkPurpose::ChangeEmail, &token_hash).await?;
    let user = state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            let old = users::lock(tx.conn(), owner).await?;
            let change = email_links::redeem_change(tx.conn(), &token_hash, now)
                .await?
                .filter(|change| change.user_id == owner)
                .ok_or(Error::InvalidLink)?;
            let user_id = change.user_id;
            // Taken meanwhile: no switch (this rolls the redemption back too).
            let user = users::set_email(tx.conn(), user_id, &change.new_email, now)
                .await?
                .ok_or(Error::InvalidLink)?;
            users::forget_devices(tx.conn(), user_id, now).await?;
            // Links sent to the old address die now, not only while the account is elsewhere:
            // they would come back to life if it ever moved back.
            email_links::void_all_unused(tx.conn(), user_id, now).await?;
            let user = users::find(tx.conn(), user.id).await?;
            let keep = keep
                .filter(|auth| auth.user.id == user_id)
                .map(|auth| auth.session.id);
            tx.log(
                NewEntry::new(user_id, ActivityKind::EmailChanged, now)
                    .from_device(&client.ip, client.label())
                    .detail(format!("from {} to {}", old.email, user.email)),
            );
            let why = "the account's address was changed";
            sessions::sign_out_everywhere(
                &mut tx,
                user_id,
                SignOut {
                    except: keep,
                    reason: EndReason::EmailChanged,
                    detail: why,
                    cancelled: why,
                },
            )
            .await?;
            tx.announce(Event::PasswordChanged { user_id });
            tx.commit(user).await
        })
        .await?;
    tracing::info!(user_id = %user.id, "address changed");
    Ok(user)
}
