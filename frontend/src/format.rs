//! Dates and labels for people.

use chrono::{DateTime, Utc};
use wasm_bindgen::JsValue;

/// Local date and time, e.g. "22/11/2026, 20:43:07".
pub fn local_time(at: DateTime<Utc>) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(at.timestamp_millis() as f64));
    String::from(date.to_locale_string("en-GB", &JsValue::UNDEFINED))
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// "just now", "5 min ago", "3 h ago" or the date.
pub fn ago(at: DateTime<Utc>) -> String {
    let seconds = ((now_ms() - at.timestamp_millis() as f64) / 1000.0).max(0.0) as i64;
    match seconds {
        0..=59 => "just now".to_owned(),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => local_time(at),
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
        _ => "Your session has ended. Please sign in again.".to_owned(),
    }
}
