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
use crate::events::{Changes, Event};
use crate::model::activity::ActivityKind;
use crate::model::device::ClientInfo;
use crate::model::input::{Email, LoginPassword};
use crate::model::mail::{LinkPurpose, Mail};
use crate::model::secrets::{MintedToken, hash_token};
use crate::model::session::EndReason;
use crate::services::{Authenticated, accounts, in_flight, sessions, throttle};
use crate::state::AppState;
use crate::storage::activity::NewEntry;
use crate::storage::email_links;
use crate::storage::transaction::TransactionWithRetries;
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
    // Each request is a mail to an address the asker chose: limited like any mail asked for.
    throttle::begin_mail_request(state, &client.ip, &new_email).await?;
    accounts::prove_current_password(state, auth, current).await?;
    let now = state.now();
    let purpose = LinkPurpose::ChangeEmail;
    let mut conn = state.pool.get().await?;
    conn.transaction_with_retries(async |conn| {
        let user = users::lock(conn, auth.user.id).await?;
        let mut changes = Changes::default();
        // One change waits at a time: the latest.
        email_links::void_unused(conn, user.id, purpose.as_str(), now).await?;
        let minted = MintedToken::mint();
        let expires_at = now + purpose.lifetime();
        email_links::insert_change(
            conn,
            user.id,
            &user.email,
            new_email.as_str(),
            &minted.hash,
            now,
            expires_at,
        )
        .await?;
        match users::find_by_email(conn, &new_email).await? {
            // Its owner hears of it; the token is never sent.
            Some(owner) => changes.mail(
                owner.id,
                Mail::Alert(alert(AlertKind::EmailInUse, client, now)),
            ),
            None => changes.mail_to(
                Some(user.id),
                new_email.as_str(),
                Mail::Link {
                    purpose,
                    token: Secret::new(minted.token),
                    at: now,
                },
            ),
        }
        changes.mail(
            user.id,
            Mail::Alert(alert(AlertKind::EmailChangeRequested, client, now)),
        );
        changes.log(
            NewEntry::new(user.id, ActivityKind::EmailChangeRequested, now)
                .session(auth.session.id)
                .from_device(&client.ip, client.label())
                .detail(new_email.as_str()),
        );
        changes.save(conn).await?;
        Ok(PendingEmailChange {
            new_email: new_email.as_str().to_owned(),
            expires_at,
        })
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
    let now = state.now();
    let mut conn = state.pool.get().await?;
    let user = conn
        .transaction_with_retries(async |conn| {
            let change = email_links::redeem_change(conn, &token_hash, now)
                .await?
                .ok_or(Error::InvalidLink)?;
            let user_id = change.user_id;
            users::lock(conn, user_id).await?;
            let old = users::find(conn, user_id).await?;
            // Taken meanwhile: no switch (this rolls the redemption back too).
            let user = users::set_email(conn, user_id, &change.new_email, now)
                .await?
                .ok_or(Error::InvalidLink)?;
            users::forget_devices(conn, user_id, now).await?;
            let user = users::find(conn, user.id).await?;
            let keep = keep
                .filter(|auth| auth.user.id == user_id)
                .map(|auth| auth.session.id);
            let mut changes = Changes::default();
            changes.log(
                NewEntry::new(user_id, ActivityKind::EmailChanged, now)
                    .from_device(&client.ip, client.label())
                    .detail(format!("from {} to {}", old.email, user.email)),
            );
            sessions::end_others(
                conn,
                &mut changes,
                user_id,
                keep,
                EndReason::EmailChanged,
                "the account's address was changed",
                now,
            )
            .await?;
            in_flight::cancel_open(
                conn,
                &mut changes,
                user_id,
                in_flight::Cancelling::PendingAndApproved,
                "the account's address was changed",
                now,
            )
            .await?;
            changes.announce(Event::PasswordChanged { user_id });
            changes.save(conn).await?;
            Ok(user)
        })
        .await?;
    tracing::info!(user_id = %user.id, "address changed");
    Ok(user)
}
