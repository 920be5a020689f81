//! The countdown of a sign-in request (the code shown, the code mailed, the prompt).

use std::time::Duration;

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::format::{now_ms, seconds_until};

/// How often the clock is read: often enough that the shown second never lags by much.
const TICK: Duration = Duration::from_millis(250);

/// The whole seconds left until `deadline` (0 or less once it has passed), ticking while the
/// calling component lives; readers are woken once a second, when the number changes.
pub fn use_countdown(deadline: DateTime<Utc>) -> Memo<i64> {
    let now = RwSignal::new(now_ms());
    if let Ok(handle) = set_interval_with_handle(move || now.set(now_ms()), TICK) {
        on_cleanup(move || handle.clear());
    }
    Memo::new(move |_| seconds_until(deadline, now.get()))
}
