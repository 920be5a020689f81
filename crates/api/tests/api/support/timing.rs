//! Comparing how long two kinds of request take, on a machine shared with other tests.

use std::time::Duration;

/// The median of some durations (one slow stretch of the machine moves it little).
pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}
