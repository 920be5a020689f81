//! Slows password guessing: after `LOGIN_MAX_FAILURES` failed logins for one account, or
//! `LOGIN_MAX_FAILURES_PER_IP` from one address (guesses spread over many accounts), within
//! `LOGIN_FAILURE_WINDOW_SECS`, logins are refused (429) until the oldest failure leaves the
//! window — before any hashing, so guesses also stop costing CPU. Kept in memory, like the
//! socket hub: one API process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::ApiError;

/// Whose failures are counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Account(Uuid),
    Address(String),
}

pub struct LoginThrottle {
    failures: Mutex<HashMap<Key, Vec<DateTime<Utc>>>>,
    max_per_account: usize,
    max_per_address: usize,
    window: chrono::Duration,
}

impl LoginThrottle {
    pub fn new(max_per_account: usize, max_per_address: usize, window: Duration) -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
            max_per_account,
            max_per_address,
            window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX),
        }
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Vec<DateTime<Utc>>>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Refuses the attempt while the account or address has too many recent failures.
    pub fn check(&self, key: &Key, now: DateTime<Utc>) -> Result<(), ApiError> {
        let max = match key {
            Key::Account(_) => self.max_per_account,
            Key::Address(_) => self.max_per_address,
        };
        let mut failures = self.failures();
        let Some(times) = failures.get_mut(key) else {
            return Ok(());
        };
        times.retain(|at| now.signed_duration_since(*at) < self.window);
        if times.len() < max {
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

    pub fn failed(&self, key: Key, now: DateTime<Utc>) {
        self.failures().entry(key).or_default().push(now);
    }

    /// A right password clears the account's count (not the address's: one success must not
    /// reset a guessing run over other accounts).
    pub fn succeeded(&self, user_id: Uuid) {
        self.failures().remove(&Key::Account(user_id));
    }

    /// Forgets failures that left the window (the sweeper calls it).
    pub fn prune(&self, now: DateTime<Utc>) {
        self.failures().retain(|_, times| {
            times.retain(|at| now.signed_duration_since(*at) < self.window);
            !times.is_empty()
        });
    }
}
