//! Accounts: signup, profile and password changes, deletion.

use shared::Secret;

use crate::error::Error;
use crate::events::Event;
use crate::model::activity::ActivityKind;
use crate::model::device::ClientInfo;
use crate::model::input::{DisplayName, Email, LoginPassword, NewPassword};
use crate::model::mail::LinkPurpose;
use crate::model::second_factor::ProofMethod;
use crate::model::session::EndReason;
use crate::services::sessions::{self, Authenticated, Keep, SignOut};
use crate::services::{alerts, current_password, reauth, recovery, throttle};
use crate::state::AppState;
use crate::storage::activity::NewEntry;
use crate::storage::email_links;
use crate::storage::sessions::SessionRow;
use crate::storage::users::{self, UserRow};

pub struct Signup {
    pub email: String,
    pub password: Secret,
    pub name: String,
}

/// Creates the account and logs this device in: the user, the session and its token. A
/// taken address is `EmailTaken`, whether or not it was confirmed; if it was not, its
/// mailbox gets a link to take that account over (`recovery::offer_claim`): an account
/// opened with someone else's address never keeps them out.
#[tracing::instrument(skip_all)]
pub async fn sign_up(
    state: &AppState,
    request: Signup,
    client: &ClientInfo,
) -> Result<(UserRow, SessionRow, String), Error> {
    let name = DisplayName::parse(&request.name)?;
    let email = Email::parse(&request.email)?;
    let password = NewPassword::parse(request.password)?;
    let password = ensure_strong(
        password,
        vec![email.as_str().to_owned(), name.as_str().to_owned()],
    )
    .await?;
    // Accounts from one address are counted (signup is an open door: spam, enumeration).
    throttle::begin_signup(state, &client.ip).await?;
    let password_hash = state.hasher.hash(password.into_secret()).await?;
    // A new account: this browser gets a new device id, kept with its session and cookie.
    let client = &client
        .clone()
        .with_device_id(crate::model::secrets::DeviceCookies::new_device_id());
    let created = state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            let generation = crate::model::secrets::DeviceCookies::first_generation();
            let user = users::insert(tx.conn(), &email, &name, &password_hash, generation, now)
                .await?
                .ok_or(Error::EmailTaken)?;
            let (session, token) = sessions::start(
                tx.conn(),
                user.id,
                client,
                Keep::default(),
                ProofMethod::Password,
                now,
                state.lifetimes(),
            )
            .await?;
            for kind in [ActivityKind::Signup, ActivityKind::Login] {
                tx.log(
                    NewEntry::new(user.id, kind, now)
                        .session(session.id)
                        .from_device(&client.ip, client.label()),
                );
            }
            tx.announce(Event::SessionStarted {
                user_id: user.id,
                session_id: session.id,
            });
            // The first device, network and country the account is seen from.
            alerts::signed_in(&mut tx, &session, client, false).await?;
            recovery::send_link(&mut tx, &user, LinkPurpose::VerifyEmail).await?;
            tx.commit((user, session, token)).await
        })
        .await;
    let created = match created {
        // The same answer whether or not the address was confirmed; an unconfirmed one's
        // mailbox is offered the account (it may be squatted).
        Err(Error::EmailTaken) => {
            recovery::offer_claim(state, &email, client).await?;
            return Err(Error::EmailTaken);
        }
        other => other?,
    };
    tracing::info!(user_id = %created.0.id, "signed up");
    Ok(created)
}

pub use super::strength::{ensure_strong, strength};

#[tracing::instrument(skip_all, fields(user_id = %auth.user.id))]
pub async fn rename(state: &AppState, auth: &Authenticated, name: &str) -> Result<UserRow, Error> {
    let name = DisplayName::parse(name)?;
    state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            let user = users::set_name(tx.conn(), auth.user.id, &name, now).await?;
            tx.log(
                NewEntry::new(user.id, ActivityKind::ProfileUpdated, now)
                    .session(auth.session.id)
                    .from_device(&auth.session.ip, auth.session.device_label()),
            );
            tx.commit(user).await
        })
        .await
}

/// Changes the password after checking the current one. Every other session ends (a
/// password change is what people do when they fear someone else is in) and the current
/// session gets a fresh token, returned for its cookie.
#[tracing::instrument(skip_all, fields(user_id = %auth.user.id))]
pub async fn change_password(
    state: &AppState,
    auth: &Authenticated,
    current: Secret,
    new: Secret,
) -> Result<String, Error> {
    let current = LoginPassword::parse(current)?;
    let new = NewPassword::parse(new)?;
    let new = ensure_strong(new, vec![auth.user.email.clone(), auth.user.name.clone()]).await?;
    sessions::ensure_oldest_or_trusted(&mut *state.pool.get().await?, state, auth).await?;
    // Sudo mode after the freshness rule: re-authenticating would not lift that one.
    reauth::require_recent_proof(state, &auth.session)?;
    current_password::prove(state, auth, current).await?;
    let new_hash = state.hasher.hash(new.into_secret()).await?;
    let user_id = auth.user.id;
    state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            // The user's row first, as in every transaction on a user's sessions and requests.
            users::lock(tx.conn(), user_id).await?;
            // A young session must not lock the older ones out (checked again under the
            // transaction, after the hashing).
            sessions::ensure_oldest_or_trusted(tx.conn(), state, auth).await?;
            users::set_password_hash(tx.conn(), user_id, &new_hash, now).await?;
            // A reset link asked for before would set another password over this one.
            email_links::void_unused(
                tx.conn(),
                user_id,
                &[LinkPurpose::ResetPassword.as_str()],
                now,
            )
            .await?;
            tx.log(
                NewEntry::new(user_id, ActivityKind::PasswordChanged, now)
                    .session(auth.session.id)
                    .from_device(&auth.session.ip, auth.session.device_label()),
            );
            let reason = EndReason::PasswordChanged;
            // Every other device is out; a request in flight would bring one back in.
            sessions::sign_out_everywhere(
                &mut tx,
                user_id,
                SignOut {
                    except: Some(auth.session.id),
                    reason,
                    detail: reason.as_str(),
                    cancelled: "the password was changed",
                },
            )
            .await?;
            let token = sessions::rotate_token(tx.conn(), user_id, auth.session.id).await?;
            tx.announce(Event::PasswordChanged { user_id });
            alerts::password_changed(
                &mut tx,
                user_id,
                Some(auth.session.id),
                &auth.session.client(),
            );
            tx.commit(token).await
        })
        .await
}
