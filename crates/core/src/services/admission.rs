//! Logging in: throttling, the password check, and the admission decision taken under
//! the user's row lock — again, once a device typed the code mailed to it.

use shared::Secret;

use crate::error::Error;
use crate::events::Event;
use crate::events::unit_of_work::{Committed, Tx};
use crate::model::activity::ActivityKind;
use crate::model::admission::{
    Decision, DeviceTrust, Standing, decide, next_email_code_at, weighs_requests,
};
use crate::model::approval::{Action, ApprovalChannel, Refusal};
use crate::model::device::ClientInfo;
use crate::model::factors::SecondFactor;
use crate::model::input::{ApprovalCode, Email, LoginPassword};
use crate::model::mail::mask_email;
use crate::model::policy::EMAIL_CODE_WINDOW;
use crate::model::second_factor::ProofMethod;
use crate::model::secrets::{DeviceCookies, KnownDevice};
use crate::services::sessions::Keep;
use crate::services::{alerts, approvals, second_factor, sessions, throttle};
use crate::state::AppState;
use crate::storage::activity::{self, NewEntry};
use crate::storage::approvals::{self as stored_approvals, ApprovalRow};
use crate::storage::second_factor::ChallengeRow;
use crate::storage::sessions::SessionRow;
use crate::storage::users::{self, UserRow};

/// What a correct password led to.
pub enum LoginOutcome {
    /// No other active session: logged in; `token` goes in the cookie.
    LoggedIn {
        user: UserRow,
        session: SessionRow,
        token: String,
    },
    /// A logged-in device must approve: show `code`, keep `pending_token`.
    NeedsApproval {
        approval: ApprovalRow,
        code: Secret,
        pending_token: Secret,
    },
    /// No device can approve and this one is unrecognised: a code went to `sent_to` (the
    /// account's address, masked); the device types it with its `pending_token`.
    NeedsEmailCode {
        approval: ApprovalRow,
        pending_token: Secret,
        sent_to: String,
    },
    /// The password was right and the account has a second factor: a code of one of
    /// `methods` answers the challenge (`complete_second_factor`).
    NeedsSecondFactor {
        challenge: ChallengeRow,
        methods: Vec<ProofMethod>,
    },
}

/// What a login outcome is counted as (`sm_logins_total{outcome}`).
fn outcome_label(result: &Result<LoginOutcome, Error>) -> &'static str {
    match result {
        Ok(LoginOutcome::LoggedIn { .. }) => "ok",
        Ok(LoginOutcome::NeedsApproval { .. }) => "approval_required",
        Ok(LoginOutcome::NeedsEmailCode { .. }) => "email_code_required",
        Ok(LoginOutcome::NeedsSecondFactor { .. }) => "second_factor_required",
        Err(Error::InvalidCredentials) => "bad_credentials",
        Err(Error::TooManyAttempts { .. }) => "throttled",
        Err(
            Error::SessionLimit(_)
            | Error::TooManyPendingApprovals
            | Error::TooManyApprovalRequests { .. }
            | Error::TooManySignInCodes { .. },
        ) => "refused_limit",
        Err(
            Error::WrongCode { .. }
            | Error::Approval(_)
            | Error::InvalidCode
            | Error::ChallengeExpired,
        ) => "bad_code",
        Err(_) => "error",
    }
}

/// The device a session would start on, and what vouches for it.
pub struct Admission<'a> {
    pub client: &'a ClientInfo,
    pub keep: Keep,
    pub device: DeviceTrust,
    /// How the device was vouched for, in the activity log's entry of the login.
    pub detail: Option<&'static str>,
    /// How the user was proved: the session's first proof (sudo mode counts from it).
    pub proof: ProofMethod,
}

/// A login as the client sent it.
pub struct LoginAttempt {
    pub email: String,
    pub password: Secret,
    /// "Keep me signed in on this device".
    pub keep: Keep,
    /// The device cookie, when the browser carries a valid one for this email: a device
    /// that signed in to the account before (its failures are counted apart; it is
    /// recognised while the cookie's generation is the account's).
    pub known_device: Option<KnownDevice>,
}

#[tracing::instrument(skip_all)]
pub async fn login(
    state: &AppState,
    attempt: LoginAttempt,
    client: &ClientInfo,
) -> Result<LoginOutcome, Error> {
    let result = check_and_admit(state, attempt, client).await;
    metrics::counter!(crate::telemetry::metrics::LOGINS, "outcome" => outcome_label(&result))
        .increment(1);
    result
}

async fn check_and_admit(
    state: &AppState,
    attempt: LoginAttempt,
    client: &ClientInfo,
) -> Result<LoginOutcome, Error> {
    let email = Email::parse(&attempt.email).map_err(|_| Error::InvalidCredentials)?;
    let password = LoginPassword::parse(attempt.password)?;
    let keep = attempt.keep;
    // Slots before hashing: parallel guesses cannot overrun the limits.
    let throttled = throttle::begin_login(
        state,
        &email,
        &client.ip,
        attempt.known_device.as_ref().map(|known| known.id.as_str()),
    )
    .await?;
    // The connection goes back to the pool while the password hashes.
    let (user, stored_hash) = users::find_with_password_hash(&mut *state.pool.get().await?, &email)
        .await?
        .unzip();
    let valid = state
        .hasher
        .verify(password.into_secret(), stored_hash)
        .await?;
    match user {
        Some(user) if valid => {
            let (client, recognised) = browser(client, attempt.known_device, &user);
            let beside_password = user
                .factors(state.settings.mail.checks_new_devices_by_email())
                .second_factor();
            if beside_password == Some(SecondFactor::Authenticator) {
                throttle::passed_first_factor(state, throttled).await?;
                let challenge = second_factor::challenge(state, &user, &client, keep).await?;
                return Ok(LoginOutcome::NeedsSecondFactor {
                    challenge,
                    methods: second_factor::second_factor_methods(state, &user).await?,
                });
            }
            throttle::succeeded(state, throttled).await?;
            let needs_code = !recognised && beside_password == Some(SecondFactor::MailedCode);
            let device = if needs_code {
                DeviceTrust::NeedsEmailCode
            } else {
                DeviceTrust::Vouched
            };
            let admission = Admission {
                client: &client,
                keep,
                device,
                detail: None,
                proof: ProofMethod::Password,
            };
            admit(state, user, &admission).await
        }
        user => {
            throttle::failed(throttled);
            // Known account or not, the same one statement: the same time.
            activity::record_failed_login(
                &mut *state.pool.get().await?,
                user.map(|user| user.id),
                &client.ip,
                &client.label(),
                state.now(),
            )
            .await?;
            Err(Error::InvalidCredentials)
        }
    }
}

/// The browser keeps its id while it is recognised (its device cookie is of the account's
/// current generation); any other gets a new one (its device cookie is written with the
/// session's id). Whether it was recognised.
fn browser(
    client: &ClientInfo,
    known_device: Option<KnownDevice>,
    user: &UserRow,
) -> (ClientInfo, bool) {
    let recognised = known_device.filter(|known| known.generation == user.device_generation);
    let client = client.clone().with_device_id(
        recognised
            .as_ref()
            .map_or_else(DeviceCookies::new_device_id, |known| known.id.clone()),
    );
    (client, recognised.is_some())
}

/// A passkey proved `user` (`services::passkeys::finish_sign_in`): the same admission as a
/// correct password, but the passkey vouches for an unrecognised browser (no mailed code).
/// The session limit and its policy apply as to any sign-in.
#[tracing::instrument(skip_all)]
pub async fn passkey_login(
    state: &AppState,
    user: UserRow,
    known_device: Option<KnownDevice>,
    keep: Keep,
    client: &ClientInfo,
) -> Result<LoginOutcome, Error> {
    let (client, _recognised) = browser(client, known_device, &user);
    let admission = Admission {
        client: &client,
        keep,
        device: DeviceTrust::Vouched,
        detail: Some("signed in with a passkey"),
        proof: ProofMethod::Passkey,
    };
    let result = admit(state, user, &admission).await;
    metrics::counter!(crate::telemetry::metrics::LOGINS, "outcome" => outcome_label(&result))
        .increment(1);
    result
}

/// Decides, in one transaction holding the user's row lock, whether this device may log in.
pub async fn admit(
    state: &AppState,
    user: UserRow,
    admission: &Admission<'_>,
) -> Result<LoginOutcome, Error> {
    state
        .unit_of_work(async |tx| decide_locked(tx, state, &user, admission).await)
        .await
}

/// The decision and what follows from it, under the lock. A refusal still commits what
/// was found on the way (expiries are real even when this login is refused).
async fn decide_locked(
    mut tx: Tx<'_>,
    state: &AppState,
    user: &UserRow,
    admission: &Admission<'_>,
) -> Result<Committed<LoginOutcome>, Error> {
    let Admission {
        client,
        keep,
        device,
        detail,
        proof,
    } = *admission;
    let now = tx.now();
    let limits = state.limits();
    users::lock(tx.conn(), user.id).await?;
    let active = sessions::settle(&mut tx, user.id, state.lifetimes()).await?;
    let active_sessions = active.count();
    // A browser whose own session is still active comes back; it is not one more device.
    let device = match &client.device_id {
        Some(device_id) if active.in_browser(device_id) => DeviceTrust::Returning,
        _ => device,
    };
    // The requests are read only where a device would be asked. Requests past their time
    // are not counted as pending; the sweeper (or the waiting socket) marks them expired
    // and tells the devices.
    let (pending_requests, stats) = if weighs_requests(active_sessions, device, limits) {
        let pending = stored_approvals::count_pending(tx.conn(), user.id, now).await?;
        let stats =
            stored_approvals::request_stats(tx.conn(), user.id, now, now - limits.denial_cooldown)
                .await?;
        (pending, Some(stats))
    } else {
        (0, None)
    };
    let standing = Standing {
        active_sessions,
        pending_requests,
        requests_last_hour: stats.map_or(0, |stats| stats.last_hour),
        oldest_request_last_hour: stats.and_then(|stats| stats.oldest_last_hour),
        last_denial: stats.and_then(|stats| stats.last_denial),
    };
    let decision = decide(standing, device, limits, now);
    let outcome = match decision {
        Decision::RefuseAtLimit => {
            return refuse(tx, user, client, Error::SessionLimit(limits.max_sessions())).await;
        }
        Decision::RefuseTooManyPending => {
            return refuse(tx, user, client, Error::TooManyPendingApprovals).await;
        }
        Decision::RefuseRequestsFor { retry_at } => {
            let error = Error::TooManyApprovalRequests {
                retry_in_seconds: (retry_at - now).num_seconds().max(1),
            };
            return refuse(tx, user, client, error).await;
        }
        Decision::StartSession { .. } | Decision::ReplaceOwnSession => {
            let (session, token) = sessions::start(
                tx.conn(),
                user.id,
                client,
                keep,
                proof,
                now,
                state.lifetimes(),
            )
            .await?;
            if decision == Decision::ReplaceOwnSession {
                sessions::replace_own_in_browser(&mut tx, &session, state.lifetimes()).await?;
            }
            if let Decision::StartSession { evict } = decision
                && evict > 0
            {
                sessions::replace_least_recently_used(&mut tx, &session, evict, state.lifetimes())
                    .await?;
            }
            let entry = NewEntry::new(user.id, ActivityKind::Login, now)
                .session(session.id)
                .from_device(&client.ip, client.label());
            tx.log(match detail {
                Some(detail) => entry.detail(detail),
                None => entry,
            });
            tx.announce(Event::SessionStarted {
                user_id: user.id,
                session_id: session.id,
            });
            alerts::signed_in(&mut tx, &session, client, true).await?;
            LoginOutcome::LoggedIn {
                user: user.clone(),
                session,
                token,
            }
        }
        Decision::RequireApproval => {
            let (approval, code, pending_token) = approvals::request(
                &mut tx,
                state,
                user.id,
                client,
                keep,
                ApprovalChannel::Device,
                proof,
            )
            .await?;
            LoginOutcome::NeedsApproval {
                approval,
                code,
                pending_token,
            }
        }
        Decision::ConfirmByEmail => {
            // Codes from before the owner secured the account or reset the password (an
            // intruder's, likely) do not use up the owner's allowance.
            let since =
                (now - EMAIL_CODE_WINDOW).max(user.devices_forgotten_at.unwrap_or_default());
            let (sent, oldest) =
                stored_approvals::email_codes_since(tx.conn(), user.id, since).await?;
            if let Some(retry_at) = next_email_code_at(sent, oldest, now) {
                let error = Error::TooManySignInCodes {
                    retry_in_seconds: (retry_at - now).num_seconds().max(1),
                };
                return refuse(tx, user, client, error).await;
            }
            let (approval, _mailed, pending_token) = approvals::request(
                &mut tx,
                state,
                user.id,
                client,
                keep,
                ApprovalChannel::Email,
                proof,
            )
            .await?;
            LoginOutcome::NeedsEmailCode {
                approval,
                pending_token,
                sent_to: mask_email(&user.email),
            }
        }
    };
    tx.commit(outcome).await
}

/// Refuses a login whose password was right: the user hears of it, and what was found on
/// the way commits.
async fn refuse(
    mut tx: Tx<'_>,
    user: &UserRow,
    client: &ClientInfo,
    refusal: Error,
) -> Result<Committed<LoginOutcome>, Error> {
    alerts::login_refused(&mut tx, user.id, client, &refusal.to_string());
    tx.commit_refusal(refusal).await
}

/// The device that was mailed a code types it: right, and the login is decided again as
/// for a recognised device (it may start the session, or, if a device signed in
/// meanwhile, ask that device); wrong, and the try is counted (5, then the request locks).
#[tracing::instrument(skip_all, fields(%approval_id))]
pub async fn confirm_email_code(
    state: &AppState,
    approval_id: uuid::Uuid,
    pending_token: &Secret,
    code: &ApprovalCode,
) -> Result<LoginOutcome, Error> {
    let result = confirm_in_transaction(state, approval_id, pending_token, code).await;
    metrics::counter!(crate::telemetry::metrics::LOGINS, "outcome" => outcome_label(&result))
        .increment(1);
    result
}

async fn confirm_in_transaction(
    state: &AppState,
    approval_id: uuid::Uuid,
    pending_token: &Secret,
    code: &ApprovalCode,
) -> Result<LoginOutcome, Error> {
    // The user's lock comes first, as everywhere: which user, from an unlocked read.
    let user_id =
        approvals::find_with_token(&mut *state.pool.get().await?, approval_id, pending_token)
            .await?
            .user_id;
    state
        .unit_of_work(async |mut tx| {
            users::lock(tx.conn(), user_id).await?;
            confirm_locked(tx, state, approval_id, pending_token, code).await
        })
        .await
}

/// A wrong code, a lock or an expiry still commits (as a refusal).
async fn confirm_locked(
    mut tx: Tx<'_>,
    state: &AppState,
    approval_id: uuid::Uuid,
    pending_token: &Secret,
    code: &ApprovalCode,
) -> Result<Committed<LoginOutcome>, Error> {
    let now = tx.now();
    let approval = approvals::lock_with_token(tx.conn(), approval_id, pending_token).await?;
    if approval.channel != ApprovalChannel::Email {
        return Err(approvals::NO_SUCH_REQUEST);
    }
    if !approval.status.is_pending() {
        return Err(approvals::refused(approval.status, Action::Complete));
    }
    if approval.expires_at <= now {
        approvals::expire(&mut tx, stored_approvals::Scope::One(approval.id)).await?;
        return tx.commit_refusal(Error::Approval(Refusal::Expired)).await;
    }
    if let Some(refusal) =
        approvals::check_code(&mut tx, state, &approval, code, None, None).await?
    {
        return tx.commit_refusal(refusal).await;
    }
    // The mailbox vouched for the device: the request is done, whatever follows.
    let approved = approvals::transition(approval.status, Action::Approve)?;
    let completed = approvals::transition(approved, Action::Complete)?;
    stored_approvals::set_status(tx.conn(), approval.id, completed, None, now).await?;
    let user = users::find(tx.conn(), approval.user_id).await?;
    let client = approval.client();
    let admission = Admission {
        client: &client,
        keep: Keep {
            persistent: approval.keep_signed_in,
        },
        device: DeviceTrust::Vouched,
        detail: Some("confirmed with a code mailed to the account"),
        proof: ProofMethod::EmailCode,
    };
    decide_locked(tx, state, &user, &admission).await
}

/// The device answers its second-factor challenge: a right code (the authenticator's, once;
/// or a recovery code, once) and the sign-in goes on to the usual decision, as for a
/// device vouched for; a wrong one counts against the account's throttle like a wrong
/// password. Any instance finishes a challenge, once.
#[tracing::instrument(skip_all, fields(%challenge_id))]
pub async fn complete_second_factor(
    state: &AppState,
    challenge_id: uuid::Uuid,
    code: &Secret,
) -> Result<LoginOutcome, Error> {
    let result = second_factor_in_transaction(state, challenge_id, code).await;
    metrics::counter!(crate::telemetry::metrics::LOGINS, "outcome" => outcome_label(&result))
        .increment(1);
    result
}

async fn second_factor_in_transaction(
    state: &AppState,
    challenge_id: uuid::Uuid,
    code: &Secret,
) -> Result<LoginOutcome, Error> {
    // The user's lock comes first, as everywhere: which user, from an unlocked read.
    let challenge = second_factor::find_challenge(state, challenge_id).await?;
    let user = users::find(&mut *state.pool.get().await?, challenge.user_id).await?;
    let throttled =
        throttle::begin_login(state, &Email::stored(&user.email), &challenge.ip, None).await?;
    let result = state
        .unit_of_work(async |mut tx| {
            let user = users::lock(tx.conn(), challenge.user_id).await?;
            let challenge = second_factor::lock_open_challenge(&mut tx, challenge_id).await?;
            let client = challenge.client();
            let Some(proof) = second_factor::check_code(&mut tx, state, &user, code).await? else {
                // The challenge stays open until it expires (a typo is not a new sign-in);
                // the throttle counts the failure.
                tx.log(
                    NewEntry::new(user.id, ActivityKind::SecondFactorRejected, tx.now())
                        .from_device(&client.ip, client.label()),
                );
                return tx.commit_refusal(Error::InvalidCode).await;
            };
            second_factor::use_challenge(&mut tx, &challenge).await?;
            let admission = Admission {
                client: &client,
                keep: Keep {
                    persistent: challenge.keep_signed_in,
                },
                device: DeviceTrust::Vouched,
                detail: Some(match proof {
                    ProofMethod::RecoveryCode => "second factor: a recovery code",
                    _ => "second factor: the authenticator app",
                }),
                proof,
            };
            decide_locked(tx, state, &user, &admission).await
        })
        .await;
    match result {
        Err(Error::InvalidCode) => {
            throttle::failed(throttled);
            Err(Error::InvalidCode)
        }
        other => {
            throttle::succeeded(state, throttled).await?;
            other
        }
    }
}
