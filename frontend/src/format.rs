//! Dates, durations and labels for people. Everything but `local_time` and `now_ms` is pure
//! (and unit-tested on the host).

use chrono::{DateTime, Utc};
use js_sys::Intl::{DateTimeFormat, DateTimeFormatOptions, DateTimeStyle};
use wasm_bindgen::{JsCast, JsValue};

/// Milliseconds since the epoch, from the browser's clock.
pub fn now_ms() -> i64 {
    // JavaScript time is a float of whole milliseconds: the conversion is exact.
    #[allow(clippy::as_conversions)]
    let now = js_sys::Date::now() as i64;
    now
}

thread_local! {
    /// The user's languages (`navigator.languages`, as the browser sends them in
    /// `Accept-Language`; its own default if unknown) and the browser's time zone (none
    /// given). Made once: a formatter is costly to build and the logs format many dates.
    static DATE_AND_TIME: DateTimeFormat = {
        let options = DateTimeFormatOptions::new();
        options.set_date_style(DateTimeStyle::Medium);
        options.set_time_style(DateTimeStyle::Short);
        DateTimeFormat::new(&preferred_languages(), &options)
    };
}

/// `navigator.languages`, or none (the browser's default locale).
fn preferred_languages() -> js_sys::Array {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("navigator"))
        .and_then(|navigator| js_sys::Reflect::get(&navigator, &JsValue::from_str("languages")))
        .ok()
        .and_then(|languages| languages.dyn_into::<js_sys::Array>().ok())
        .unwrap_or_default()
}

/// Date and time in the browser's locale and time zone: "22 Nov 2026, 20:43" (en-GB),
/// "Nov 22, 2026, 8:43 PM" (en-US), "22.11.2026, 20:43" (de).
pub fn local_time(at: DateTime<Utc>) -> String {
    #[allow(clippy::as_conversions)] // JavaScript dates are floats of milliseconds
    let millis = at.timestamp_millis() as f64;
    let date = js_sys::Date::new(&JsValue::from_f64(millis));
    DATE_AND_TIME
        .with(|format| format.format().call1(&JsValue::UNDEFINED, &date).ok())
        .and_then(|text| text.as_string())
        .unwrap_or_else(|| at.format("%Y-%m-%d %H:%M UTC").to_string())
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
pub fn alert_title(kind: &str) -> &'static str {
    match kind {
        "new_device" => "New sign-in from a device or network not seen before",
        "new_country" => "New sign-in from a country not seen before",
        "suspicious_login_denied" => "A sign-in request was denied as not you",
        "login_refused" => "Someone who knows your password tried to sign in",
        _ => "Security alert",
    }
}

/// The sign-in page's line about devices: how many may be signed in at once (the limit),
/// and what happens to one more (the policy: `approve`, `refuse`, `evict_oldest`,
/// `single`).
pub fn device_rule(policy: &str, max_sessions: u32) -> String {
    let devices = match max_sessions {
        1 => "1 device".to_owned(),
        n => format!("{n} devices"),
    };
    let limit = format!("You can be signed in on {devices} at a time.");
    match (policy, max_sessions) {
        ("single", _) => "You can be signed in on one device at a time: signing in here signs you out on your other device.".to_owned(),
        // With room for one device only, there is no second device to approve it.
        ("approve" | "refuse", 1) => {
            format!("{limit} Sign out on the other one before signing in here.")
        }
        ("approve", _) => format!(
            "{limit} A new device is let in when you type its code on a device that is already signed in."
        ),
        ("refuse", _) => {
            format!("{limit} Once they are all in use, sign out on one before signing in here.")
        }
        ("evict_oldest", _) => format!(
            "{limit} Signing in on one more signs out the one used least recently."
        ),
        _ => limit,
    }
}

/// "1:59" for a number of seconds left.
pub fn countdown(seconds: i64) -> String {
    let seconds = seconds.max(0);
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

pub fn end_reason(reason: &str) -> &'static str {
    match reason {
        "logout" => "Signed out",
        "revoked" => "Revoked",
        "idle_timeout" => "Expired (inactive)",
        "lifetime_exceeded" => "Expired (too old)",
        "password_changed" => "Password changed",
        "replaced" => "Replaced by a newer sign-in",
        "not_completed" => "Approved, never completed",
        "account_secured" => "Ended by \"this wasn't me\"",
        "replaced_by_same_browser" => "Replaced when this browser signed in again",
        "key_changed" => "Ended when the server's key changed",
        "email_changed" => "Ended when the account's address changed",
        "account_deleted" => "Ended when the account was deleted",
        _ => "Ended",
    }
}

pub fn activity_kind(kind: &str) -> &'static str {
    match kind {
        "signup" => "Account created",
        "login" => "Signed in",
        "login_failed" => "Failed sign-in",
        "logout" => "Signed out",
        "session_revoked" => "Session revoked",
        "session_expired" => "Session expired",
        "approval_requested" => "New device asked to sign in",
        "approval_granted" => "New device approved",
        "approval_denied" => "New device refused",
        "approval_cancelled" => "New device cancelled its request",
        "approval_code_rejected" => "Wrong approval code",
        "approval_locked" => "Approval locked (too many wrong codes)",
        "approval_expired" => "Approval request expired",
        "password_changed" => "Password changed",
        "profile_updated" => "Profile updated",
        "session_replaced" => "Signed out by a newer sign-in",
        "new_device_login" => "Sign-in from a new device or network",
        "new_country_login" => "Sign-in from a new country",
        "suspicious_login_denied" => "Sign-in request denied as not you",
        "login_refused" => "Correct password refused",
        "email_verified" => "Address confirmed",
        "password_reset" => "Password reset through a mailed link",
        "email_code_sent" => "Sign-in code mailed (no device could approve)",
        "email_code_rejected" => "Wrong mailed sign-in code",
        "account_secured" => "Every device signed out from a mailed link",
        "email_change_requested" => "Change of address asked for",
        "email_changed" => "Address changed",
        _ => "Event",
    }
}

/// Why the app is back on the login page.
pub fn signed_out_reason(reason: &str) -> String {
    match reason {
        "revoked" => "This session was revoked from another device.".to_owned(),
        "idle_timeout" | "session_expired" | "expired" => {
            "Your session expired after a period of inactivity.".to_owned()
        }
        "lifetime_exceeded" => {
            "Your session reached its maximum age. Please sign in again.".to_owned()
        }
        "password_changed" => {
            "The password was changed on another device. Please sign in again.".to_owned()
        }
        "logout" => "You signed out.".to_owned(),
        "replaced" => {
            "You were signed out because your account signed in on another device.".to_owned()
        }
        "account_secured" => {
            "Every device was signed out from a \"this wasn't me\" link in a mail.".to_owned()
        }
        "replaced_by_same_browser" => {
            "This browser signed in again; this tab's earlier session was replaced.".to_owned()
        }
        "key_changed" => "The server restarted with a new key. Please sign in again.".to_owned(),
        "email_changed" => "The account's address was changed. Please sign in again.".to_owned(),
        "account_deleted" => "The account was deleted, with all its data.".to_owned(),
        _ => "Your session has ended. Please sign in again.".to_owned(),
    }
}

/// What a logged-in device is told when a sign-in request ends.
pub fn approval_outcome(outcome: &str, max_sessions: u32) -> String {
    match outcome {
        "approved" => "The new device was approved.".to_owned(),
        "denied" => "The sign-in request was refused.".to_owned(),
        "expired" => "A sign-in request expired.".to_owned(),
        "locked" => "A sign-in request was locked after too many wrong codes.".to_owned(),
        "session_limit" => {
            format!("Already {max_sessions} sessions active: the request was refused.")
        }
        "cancelled" => "The new device cancelled its sign-in request.".to_owned(),
        _ => "A sign-in request ended.".to_owned(),
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
            approval_outcome("session_limit", 5),
            "Already 5 sessions active: the request was refused."
        );
        assert_eq!(end_reason("revoked"), "Revoked");
        assert!(signed_out_reason("revoked").contains("revoked"));
    }

    #[test]
    fn places_and_alerts_read_naturally() {
        assert_eq!(place("203.0.113.9", Some("FR")), "203.0.113.9 (FR)");
        assert_eq!(place("203.0.113.9", None), "203.0.113.9");
        assert!(alert_title("login_refused").contains("password"));
    }

    #[test]
    fn the_device_rule_names_the_limit_and_what_one_more_device_does() {
        assert_eq!(
            device_rule("approve", 2),
            "You can be signed in on 2 devices at a time. A new device is let in when you type its code on a device that is already signed in."
        );
        assert!(
            device_rule("refuse", 3)
                .starts_with("You can be signed in on 3 devices at a time. Once")
        );
        assert!(device_rule("evict_oldest", 5).contains("5 devices"));
        assert!(device_rule("evict_oldest", 5).contains("least recently"));
        assert!(device_rule("single", 1).contains("signs you out on your other device"));
        assert!(
            device_rule("approve", 1).starts_with("You can be signed in on 1 device at a time.")
        );
        assert!(
            !device_rule("approve", 1).contains("code"),
            "no device to approve it"
        );
        assert_eq!(
            device_rule("something_new", 4),
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
