//! Slows password guessing: after `LOGIN_MAX_FAILURES` wrong passwords for one account within
//! `LOGIN_FAILURE_WINDOW_SECS`, its logins are refused (429) until the oldest failure leaves
//! the window — before any hashing, so guesses also stop costing CPU. Kept in memory, like the
//! socket hub: one API process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::ApiError;

pub struct LoginThrottle {
    failures: Mutex<HashMap<Uuid, Vec<DateTime<Utc>>>>,
    max_failures: usize,
    window: chrono::Duration,
}

impl LoginThrottle {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
            max_failures,
            window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX),
        }
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Vec<DateTime<Utc>>>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Refuses the attempt while the account has too many recent failures.
    pub fn check(&self, user_id: Uuid, now: DateTime<Utc>) -> Result<(), ApiError> {
        let mut failures = self.failures();
        let Some(times) = failures.get_mut(&user_id) else {
            return Ok(());
        };
        times.retain(|at| now.signed_duration_since(*at) < self.window);
        if times.len() < self.max_failures {
            return Ok(());
        }
        let retry_in = times
            .first()
            .map(|oldest| {
                (*oldest + self.window)
                    .signed_duration_since(now)
                    .num_seconds()
                    .max(1)
            })
            .unwrap_or(1);
        Err(ApiError::TooManyAttempts {
            retry_in_seconds: retry_in,
        })
    }

    pub fn failed(&self, user_id: Uuid, now: DateTime<Utc>) {
        self.failures().entry(user_id).or_default().push(now);
    }

    pub fn succeeded(&self, user_id: Uuid) {
        self.failures().remove(&user_id);
    }

    /// Forgets failures that left the window (the sweeper calls it).
    pub fn prune(&self, now: DateTime<Utc>) {
        self.failures().retain(|_, times| {
            times.retain(|at| now.signed_duration_since(*at) < self.window);
            !times.is_empty()
        });
    }
}
