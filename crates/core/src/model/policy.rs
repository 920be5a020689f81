//! Every fixed limit and lifetime of the product, in one place.
//!
//! What an operator tunes per deployment is a setting (`config`, one module per concern);
//! what is here is the product's own answer, the same on every server, and mail states
//! some of it to users (a link's lifetime, a code's): change it here and the wording
//! follows. Each says why it is what it is.

use std::time::Duration as StdDuration;

use chrono::Duration;

// One-time links sent by mail (`model::mail::LinkPurpose`).

/// Confirming the address: read in a day's mail, and harmless if it leaks.
pub const VERIFY_EMAIL_LINK_LIFETIME: Duration = Duration::hours(24);
/// Setting a new password: whoever holds it takes the account, so it is short.
pub const RESET_PASSWORD_LINK_LIFETIME: Duration = Duration::minutes(30);
/// "This wasn't me" in security mail: a security mail may be read days later.
pub const SECURE_ACCOUNT_LINK_LIFETIME: Duration = Duration::hours(72);
/// Moving the account to a new address (mailed to that address).
pub const CHANGE_EMAIL_LINK_LIFETIME: Duration = Duration::hours(24);

// Sign-in codes mailed to an unrecognised device's account.

/// How long a mailed code is valid.
pub const EMAIL_CODE_LIFETIME: Duration = Duration::minutes(10);
/// Wrong mailed codes before the request is locked.
pub const EMAIL_CODE_MAX_ATTEMPTS: i32 = 5;
/// Codes an account may be mailed within [`EMAIL_CODE_WINDOW`]: someone who has the
/// password can neither flood the owner's mailbox nor try more than 5 × 5 codes a day (a
/// chance in 40 000 a day, each attempt mailed to the owner). The owner locked out by them
/// still gets in through a password reset, which also makes the device a recognised one.
pub const EMAIL_CODES_PER_WINDOW: i64 = 5;
pub const EMAIL_CODE_WINDOW: Duration = Duration::hours(24);

// Passkeys.

/// Passkeys an account may have: enough for every device and a spare or two, few enough
/// that a list fits a screen and a stolen session cannot bury the owner's among its own.
pub const MAX_PASSKEYS: usize = 10;
/// How long a passkey ceremony may take between its start and its finish (the browser's
/// own timeout is 5 minutes too).
pub const PASSKEY_CHALLENGE_LIFETIME: Duration = Duration::minutes(5);

// Second-device approval.

/// The window `MAX_APPROVAL_REQUESTS_PER_HOUR` counts requests in.
pub const APPROVAL_REQUEST_WINDOW: Duration = Duration::hours(1);

// Mail.

/// No second "someone used your password and was refused" mail within this time: whoever
/// retries at the limit must not flood the owner's mailbox (the activity log and the
/// devices still record every attempt).
pub const LOGIN_REFUSED_MAIL_QUIET_PERIOD: StdDuration = StdDuration::from_secs(15 * 60);
/// No second "someone tried to use your address" mail within this time: asking to move to
/// an address must not flood its owner's mailbox.
pub const EMAIL_IN_USE_MAIL_QUIET_PERIOD: StdDuration = StdDuration::from_secs(15 * 60);
/// The longest wait between two tries of a failing send (the first is `MAIL_RETRY_SECS`,
/// doubling).
pub const MAIL_RETRY_MAX: StdDuration = StdDuration::from_secs(3600);

/// How long a claimed mail is left to its worker: well beyond the SMTP timeout, so only a
/// worker that died (or lost its database) lets another one send the mail again.
pub const MAIL_CLAIM_LEASE: Duration = Duration::minutes(5);

// Throttles on what an account or an address may ask for.

/// The window of `PASSKEY_SIGN_IN_MAX_PER_IP`: the sign-in page begins one passkey sign-in per
/// visit (for autofill) and one per button press; the cap bounds the stored challenges an
/// anonymous client can make.
pub const PASSKEY_SIGN_IN_WINDOW: StdDuration = StdDuration::from_secs(300);
/// Data exports an account may download per [`EXPORT_WINDOW`].
pub const EXPORTS_PER_WINDOW: i32 = 5;
pub const EXPORT_WINDOW: StdDuration = StdDuration::from_secs(3600);
/// Mails (links, codes) one address may ask for per [`MAIL_REQUEST_WINDOW`] (a household
/// shares an address).
pub const MAIL_REQUESTS_PER_ADDRESS: i32 = 20;
/// Mails asked for one e-mail address per [`MAIL_REQUEST_WINDOW`]: enough for a lost mail,
/// too few to flood a mailbox.
pub const MAIL_REQUESTS_PER_EMAIL: i32 = 3;
pub const MAIL_REQUEST_WINDOW: StdDuration = StdDuration::from_secs(3600);

// Passwords.

/// The lowest score a new password may have (zxcvbn's "safely unguessable" for online
/// attacks starts at 3).
pub const MIN_PASSWORD_STRENGTH: u8 = 3;

// The admin API.

/// `last_used_at` of an API key is written at most this often: a busy admin tool must not
/// turn every read into a write (the key itself is checked on every request).
pub const API_KEY_TOUCH_INTERVAL: Duration = Duration::minutes(1);
/// Longest name of an API key (it is shown in users' activity logs).
pub const API_KEY_NAME_MAX: usize = 60;

// Devices.

/// How long a device cookie lives (browsers cap cookies at 400 days).
pub const DEVICE_COOKIE_LIFETIME: Duration = Duration::days(400);

// What the sweeper keeps (besides `HISTORY_RETENTION_DAYS` and `UNCONFIRMED_ACCOUNT_DAYS`).

/// Finished sign-in requests are kept a day, for the waiting device to read its outcome (the
/// activity log keeps the history).
pub const FINISHED_APPROVAL_RETENTION: Duration = Duration::days(1);
/// Sent mail is kept a week for operators to look into a complaint, then goes.
pub const SENT_MAIL_RETENTION: Duration = Duration::days(7);
/// Expired mail links are kept a day after they expire, then go.
pub const EXPIRED_LINK_RETENTION: Duration = Duration::days(1);

// Webhooks.

/// The longest wait between two tries of a failing delivery (the first is
/// `WEBHOOK_RETRY_SECS`, doubling).
pub const WEBHOOK_RETRY_MAX: StdDuration = StdDuration::from_secs(3600);
/// How long a delivery is retried before it is given up on: a receiver down for a night
/// or a weekend's first day still gets every event.
pub const WEBHOOK_RETRY_PERIOD: Duration = Duration::hours(24);
/// An endpoint that failed every try for this long, and at least
/// [`WEBHOOK_DISABLE_MIN_FAILURES`] times in a row, is disabled: it is gone or broken for
/// good, and its deliveries only cost the workers' time.
pub const WEBHOOK_DISABLE_AFTER: Duration = Duration::hours(24);
pub const WEBHOOK_DISABLE_MIN_FAILURES: i32 = 10;
/// How long a receiver has to answer (connecting included): a slow one holds a worker.
pub const WEBHOOK_TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// The most of a receiver's answer that is read (its status is what counts; the start of
/// the body is kept as the error of a refusal).
pub const WEBHOOK_RESPONSE_LIMIT: usize = 64 * 1024;
/// How long a claimed delivery is left to its worker: well beyond the timeout.
pub const WEBHOOK_CLAIM_LEASE: Duration = Duration::minutes(2);
/// Finished deliveries are kept a week (`api admin webhook deliveries`), then go.
pub const FINISHED_WEBHOOK_RETENTION: Duration = Duration::days(7);
