//! Dates, durations and labels for people. Everything but `local_time` and `now_ms` is pure
//! (and unit-tested on the host).

use chrono::{DateTime, FixedOffset, Utc};
use shared::{
    ActivityKind, AlertKind, ApprovalStatus, EndReason, ErrorCode, LimitPolicy, ProofMethod,
};
use wasm_bindgen::JsValue;

/// Milliseconds since the epoch, from the browser's clock.
pub fn now_ms() -> i64 {
    // JavaScript time is a float of whole milliseconds: the conversion is exact.
    #[allow(clippy::as_conversions)]
    let now = js_sys::Date::now() as i64;
    now
}

/// Date and time in the browser's time zone, in the app's one language: "5 Dec 2026, 20:43".
/// Not `Intl.DateTimeFormat`: the page's first `Intl` call loads the browser's locale data,
/// 15–19 ms of the main thread here (84–94 ms at Lighthouse's mobile slowdown, the largest
/// single cost of the dashboard's load; BENCHMARKS.md), while the zone's offset costs nothing.
pub fn local_time(at: DateTime<Utc>) -> String {
    #[allow(clippy::as_conversions)] // JavaScript dates are floats of milliseconds
    let date = js_sys::Date::new(&JsValue::from_f64(at.timestamp_millis() as f64));
    // Minutes west of UTC, for that date (summer time included); whole minutes for any date
    // this app shows (only dates before time zones existed have seconds).
    #[allow(clippy::as_conversions)]
    let minutes_west = date.get_timezone_offset().round() as i32;
    clock_time(at, minutes_west.saturating_neg())
}

/// `at` as a wall clock `minutes_east` of UTC shows it, or in UTC (saying so) for an offset no
/// time zone has.
pub fn clock_time(at: DateTime<Utc>, minutes_east: i32) -> String {
    match FixedOffset::east_opt(minutes_east.saturating_mul(60)) {
        Some(zone) => at
            .with_timezone(&zone)
            .format("%-d %b %Y, %H:%M")
            .to_string(),
        None => at.format("%-d %b %Y, %H:%M UTC").to_string(),
    }
}

/// "just now", "5 min ago", "3 h ago", or `None` when it is older than a day.
pub fn ago_text(at: DateTime<Utc>, now_ms: i64) -> Option<String> {
    let seconds = ((now_ms - at.timestamp_millis()) / 1000).max(0);
    match seconds {
        0..=59 => Some("just now".to_owned()),
        60..=3599 => Some(format!("{} min ago", seconds / 60)),
        3600..=86_399 => Some(format!("{} h ago", seconds / 3600)),
        _ => None,
    }
}

pub fn ago(at: DateTime<Utc>) -> String {
    ago_text(at, now_ms()).unwrap_or_else(|| local_time(at))
}

/// Whole seconds from `now_ms` until `at` (negative once past).
pub fn seconds_until(at: DateTime<Utc>, now_ms: i64) -> i64 {
    (at.timestamp_millis() - now_ms).div_euclid(1000) + 1
}

/// "203.0.113.9 (FR)": an address with its country, when known.
pub fn place(ip: &str, country: Option<&str>) -> String {
    match country {
        Some(country) => format!("{ip} ({country})"),
        None => ip.to_owned(),
    }
}

/// What a security alert is about, as a heading.
pub fn alert_title(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::NewDevice => "New sign-in from a device or network not seen before",
        AlertKind::NewCountry => "New sign-in from a country not seen before",
        AlertKind::SuspiciousLoginDenied => "A sign-in request was denied as not you",
        AlertKind::LoginRefused => "Someone who knows your password tried to sign in",
        // Mailed only, never sent to the devices.
        AlertKind::PasswordChanged
        | AlertKind::SignInCode
        | AlertKind::EmailChangeRequested
        | AlertKind::EmailInUse
        | AlertKind::AccountDeleted
        | AlertKind::SecondFactorEnabled
        | AlertKind::SecondFactorDisabled
        | AlertKind::PasskeyAdded
        | AlertKind::PasskeyRemoved
        | AlertKind::Unknown => "Security alert",
    }
}

/// The sign-in page's line about devices: how many may be signed in at once (the limit),
/// and what happens to one more (the policy).
pub fn device_rule(policy: LimitPolicy, max_sessions: u32) -> String {
    let devices = match max_sessions {
        1 => "1 device".to_owned(),
        n => format!("{n} devices"),
    };
    let limit = format!("You can be signed in on {devices} at a time.");
    match (policy, max_sessions) {
        (LimitPolicy::Single, _) => "You can be signed in on one device at a time: signing in here signs you out on your other device.".to_owned(),
        // With room for one device only, there is no second device to approve it.
        (LimitPolicy::Approve | LimitPolicy::Refuse, 1) => {
            format!("{limit} Sign out on the other one before signing in here.")
        }
        (LimitPolicy::Approve, _) => format!(
            "{limit} A new device is let in when you type its code on a device that is already signed in."
        ),
        (LimitPolicy::Refuse, _) => {
            format!("{limit} Once they are all in use, sign out on one before signing in here.")
        }
        (LimitPolicy::EvictOldest, _) => format!(
            "{limit} Signing in on one more signs out the one used least recently."
        ),
        (LimitPolicy::Unknown, _) => limit,
    }
}

/// "1:59" for a number of seconds left.
pub fn countdown(seconds: i64) -> String {
    let seconds = seconds.max(0);
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

pub fn end_reason(reason: EndReason) -> &'static str {
    match reason {
        EndReason::Logout => "Signed out",
        EndReason::Revoked => "Revoked",
        EndReason::IdleTimeout => "Expired (inactive)",
        EndReason::LifetimeExceeded => "Expired (too old)",
        EndReason::PasswordChanged => "Password changed",
        EndReason::Replaced => "Replaced by a newer sign-in",
        EndReason::NotCompleted => "Approved, never completed",
        EndReason::AccountSecured => "Ended by \"this wasn't me\"",
        EndReason::ReplacedBySameBrowser => "Replaced when this browser signed in again",
        EndReason::KeyChanged => "Ended when the server's key changed",
        EndReason::EmailChanged => "Ended when the account's address changed",
        EndReason::AccountDeleted => "Ended when the account was deleted",
        EndReason::Unknown => "Ended",
    }
}

pub fn activity_kind(kind: ActivityKind) -> &'static str {
    match kind {
        ActivityKind::Signup => "Account created",
        ActivityKind::Login => "Signed in",
        ActivityKind::LoginFailed => "Failed sign-in",
        ActivityKind::Logout => "Signed out",
        ActivityKind::SessionRevoked => "Session revoked",
        ActivityKind::SessionExpired => "Session expired",
        ActivityKind::ApprovalRequested => "New device asked to sign in",
        ActivityKind::ApprovalGranted => "New device approved",
        ActivityKind::ApprovalDenied => "New device refused",
        ActivityKind::ApprovalCancelled => "New device cancelled its request",
        ActivityKind::ApprovalCodeRejected => "Wrong approval code",
        ActivityKind::ApprovalLocked => "Approval locked (too many wrong codes)",
        ActivityKind::ApprovalExpired => "Approval request expired",
        ActivityKind::PasswordChanged => "Password changed",
        ActivityKind::ProfileUpdated => "Profile updated",
        ActivityKind::SessionReplaced => "Signed out by a newer sign-in",
        ActivityKind::NewDeviceLogin => "Sign-in from a new device or network",
        ActivityKind::NewCountryLogin => "Sign-in from a new country",
        ActivityKind::SuspiciousLoginDenied => "Sign-in request denied as not you",
        ActivityKind::LoginRefused => "Correct password refused",
        ActivityKind::EmailVerified => "Address confirmed",
        ActivityKind::PasswordReset => "Password reset through a mailed link",
        ActivityKind::EmailCodeSent => "Sign-in code mailed (no device could approve)",
        ActivityKind::EmailCodeRejected => "Wrong mailed sign-in code",
        ActivityKind::AccountSecured => "Every device signed out from a mailed link",
        ActivityKind::EmailChangeRequested => "Change of address asked for",
        ActivityKind::EmailChanged => "Address changed",
        ActivityKind::AccountUnlocked => "Unlocked by an administrator",
        ActivityKind::SecondFactorEnabled => "Authenticator app turned on",
        ActivityKind::SecondFactorDisabled => "Authenticator app turned off",
        ActivityKind::RecoveryCodesGenerated => "New recovery codes made",
        ActivityKind::RecoveryCodeUsed => "Recovery code used to sign in",
        ActivityKind::SecondFactorRejected => "Wrong authenticator or recovery code",
        ActivityKind::Reauthenticated => "Identity confirmed again",
        ActivityKind::PasskeyAdded => "Passkey added",
        ActivityKind::PasskeyRemoved => "Passkey removed",
        ActivityKind::Unknown => "Event",
    }
}

/// How a session proved its user, for the session list.
pub fn proof_method(method: ProofMethod) -> &'static str {
    match method {
        ProofMethod::Password => "password",
        ProofMethod::Passkey => "passkey",
        ProofMethod::Totp => "authenticator app",
        ProofMethod::EmailCode => "code mailed to you",
        ProofMethod::RecoveryCode => "recovery code",
        ProofMethod::Unknown => "sign-in",
    }
}

/// Why the app went back to the login page: the session ended (its socket or the app
/// said why), or a call was refused with an error that ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedOut {
    Ended(EndReason),
    Refused(ErrorCode),
}

impl From<EndReason> for SignedOut {
    fn from(reason: EndReason) -> Self {
        Self::Ended(reason)
    }
}

impl From<ErrorCode> for SignedOut {
    fn from(code: ErrorCode) -> Self {
        Self::Refused(code)
    }
}

const SESSION_ENDED: &str = "Your session has ended. Please sign in again.";

/// Why the app is back on the login page.
pub fn signed_out_reason(why: SignedOut) -> String {
    let reason = match why {
        SignedOut::Refused(ErrorCode::SessionExpired) => EndReason::IdleTimeout,
        SignedOut::Refused(_) => return SESSION_ENDED.to_owned(),
        SignedOut::Ended(reason) => reason,
    };
    match reason {
        EndReason::Revoked => "This session was revoked from another device.".to_owned(),
        EndReason::IdleTimeout => "Your session expired after a period of inactivity.".to_owned(),
        EndReason::LifetimeExceeded => {
            "Your session reached its maximum age. Please sign in again.".to_owned()
        }
        EndReason::PasswordChanged => {
            "The password was changed on another device. Please sign in again.".to_owned()
        }
        EndReason::Logout => "You signed out.".to_owned(),
        EndReason::Replaced => {
            "You were signed out because your account signed in on another device.".to_owned()
        }
        EndReason::AccountSecured => {
            "Every device was signed out from a \"this wasn't me\" link in a mail.".to_owned()
        }
        EndReason::ReplacedBySameBrowser => {
            "This browser signed in again; this tab's earlier session was replaced.".to_owned()
        }
        EndReason::KeyChanged => {
            "The server restarted with a new key. Please sign in again.".to_owned()
        }
        EndReason::EmailChanged => {
            "The account's address was changed. Please sign in again.".to_owned()
        }
        EndReason::AccountDeleted => "The account was deleted, with all its data.".to_owned(),
        EndReason::NotCompleted | EndReason::Unknown => SESSION_ENDED.to_owned(),
    }
}

/// What a logged-in device is told when a sign-in request ends.
pub fn approval_outcome(outcome: ApprovalStatus, max_sessions: u32) -> String {
    match outcome {
        ApprovalStatus::Approved => "The new device was approved.".to_owned(),
        ApprovalStatus::Denied => "The sign-in request was refused.".to_owned(),
        ApprovalStatus::Expired => "A sign-in request expired.".to_owned(),
        ApprovalStatus::Locked => {
            "A sign-in request was locked after too many wrong codes.".to_owned()
        }
        ApprovalStatus::SessionLimit => {
            format!("Already {max_sessions} sessions active: the request was refused.")
        }
        ApprovalStatus::Cancelled => "The new device cancelled its sign-in request.".to_owned(),
        // Not outcomes the devices are told; and names from a newer server.
        ApprovalStatus::Pending | ApprovalStatus::Completed | ApprovalStatus::Unknown => {
            "A sign-in request ended.".to_owned()
        }
    }
}

/// How long to wait before reconnecting after `failures` failed attempts: exponential up to
/// `cap_ms`, with jitter (`random` in `[0, 1)`) so that many tabs dropped at once by a
/// restarting server do not all come back in the same millisecond.
pub fn reconnect_delay_ms(failures: u32, cap_ms: u32, random: f64) -> u32 {
    let ceiling = 500u32
        .saturating_mul(2u32.saturating_pow(failures.min(16)))
        .min(cap_ms);
    let half = ceiling / 2;
    let jitter = (f64::from(half) * random.clamp(0.0, 1.0)).floor();
    // `jitter` lies in [0, half], which fits a u32.
    #[allow(clippy::as_conversions)]
    let jitter = jitter as u32;
    half + jitter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        let at = DateTime::from_timestamp_millis(1_000_000_000_000).unwrap_or_default();
        let base = at.timestamp_millis();
        assert_eq!(ago_text(at, base + 10_000).as_deref(), Some("just now"));
        assert_eq!(
            ago_text(at, base + 5 * 60_000).as_deref(),
            Some("5 min ago")
        );
        assert_eq!(
            ago_text(at, base + 3 * 3_600_000).as_deref(),
            Some("3 h ago")
        );
        assert_eq!(ago_text(at, base + 2 * 86_400_000), None);
    }

    #[test]
    fn times_read_as_the_wall_clock_of_the_browsers_zone() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T19:43:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(clock_time(at, 0), "22 Nov 2026, 19:43");
        assert_eq!(clock_time(at, 60), "22 Nov 2026, 20:43");
        // A zone behind UTC, and one a half hour off: the date turns with the clock.
        assert_eq!(clock_time(at, -300), "22 Nov 2026, 14:43");
        assert_eq!(clock_time(at, 330), "23 Nov 2026, 01:13");
        // No zone is a day or more off UTC: the time stays right, in UTC.
        assert_eq!(clock_time(at, 24 * 60), "22 Nov 2026, 19:43 UTC");
        assert_eq!(clock_time(at, i32::MIN), "22 Nov 2026, 19:43 UTC");
    }

    #[test]
    fn countdowns_never_go_negative() {
        assert_eq!(countdown(119), "1:59");
        assert_eq!(countdown(-3), "0:00");
        let at = DateTime::from_timestamp_millis(10_000).unwrap_or_default();
        assert_eq!(seconds_until(at, 9_500), 1);
        assert_eq!(seconds_until(at, 0), 11);
        assert!(seconds_until(at, 12_000) <= 0);
    }

    #[test]
    fn the_limit_in_messages_comes_from_the_server() {
        assert_eq!(
            approval_outcome(ApprovalStatus::SessionLimit, 5),
            "Already 5 sessions active: the request was refused."
        );
        assert_eq!(end_reason(EndReason::Revoked), "Revoked");
        assert!(signed_out_reason(EndReason::Revoked.into()).contains("revoked"));
    }

    #[test]
    fn names_from_a_newer_server_get_a_neutral_label() {
        assert_eq!(end_reason(EndReason::Unknown), "Ended");
        assert_eq!(activity_kind(ActivityKind::Unknown), "Event");
        assert_eq!(alert_title(AlertKind::Unknown), "Security alert");
        assert_eq!(
            approval_outcome(ApprovalStatus::Unknown, 3),
            "A sign-in request ended."
        );
        assert_eq!(
            signed_out_reason(EndReason::Unknown.into()),
            signed_out_reason(ErrorCode::Unknown.into())
        );
        assert!(signed_out_reason(ErrorCode::SessionExpired.into()).contains("inactivity"));
    }

    #[test]
    fn places_and_alerts_read_naturally() {
        assert_eq!(place("203.0.113.9", Some("FR")), "203.0.113.9 (FR)");
        assert_eq!(place("203.0.113.9", None), "203.0.113.9");
        assert!(alert_title(AlertKind::LoginRefused).contains("password"));
    }

    #[test]
    fn the_device_rule_names_the_limit_and_what_one_more_device_does() {
        assert_eq!(
            device_rule(LimitPolicy::Approve, 2),
            "You can be signed in on 2 devices at a time. A new device is let in when you type its code on a device that is already signed in."
        );
        assert!(
            device_rule(LimitPolicy::Refuse, 3)
                .starts_with("You can be signed in on 3 devices at a time. Once")
        );
        assert!(device_rule(LimitPolicy::EvictOldest, 5).contains("5 devices"));
        assert!(device_rule(LimitPolicy::EvictOldest, 5).contains("least recently"));
        assert!(device_rule(LimitPolicy::Single, 1).contains("signs you out on your other device"));
        assert!(
            device_rule(LimitPolicy::Approve, 1)
                .starts_with("You can be signed in on 1 device at a time.")
        );
        assert!(
            !device_rule(LimitPolicy::Approve, 1).contains("code"),
            "no device to approve it"
        );
        assert_eq!(
            device_rule(LimitPolicy::Unknown, 4),
            "You can be signed in on 4 devices at a time."
        );
    }

    #[test]
    fn reconnect_delays_grow_with_jitter_up_to_the_cap() {
        assert_eq!(reconnect_delay_ms(0, 15_000, 0.0), 250);
        assert_eq!(reconnect_delay_ms(0, 15_000, 0.999), 499);
        assert!(reconnect_delay_ms(3, 15_000, 0.5) > reconnect_delay_ms(1, 15_000, 0.5));
        for failures in 0..40 {
            let delay = reconnect_delay_ms(failures, 15_000, 0.999);
            assert!(delay <= 15_000, "{failures}: {delay}");
            assert!(delay >= reconnect_delay_ms(failures, 15_000, 0.0));
        }
    }
}
