//! The one way a setting is read: [`Env`] names each variable once, applies its default and
//! turns a bad value into an error that names the variable.

use std::fmt::Display;
use std::time::Duration;

const DAY: u64 = 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("{0}")]
    Missing(String),
}

impl SettingsError {
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            name,
            reason: reason.into(),
        }
    }
}

/// A variable source: the process environment, or a map in tests.
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }

    /// The value of `name` as written; unset and blank are the same.
    pub fn text(&self, name: &'static str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.trim().is_empty())
    }

    pub fn text_or(&self, name: &'static str, default: &str) -> String {
        self.text(name).unwrap_or_else(|| default.to_owned())
    }

    /// `name` parsed as a `T`, `None` when unset.
    pub fn optional<T: FromEnv>(&self, name: &'static str) -> Result<Option<T>, SettingsError> {
        self.text(name)
            .map(|raw| T::from_env(&raw).map_err(|reason| SettingsError::invalid(name, reason)))
            .transpose()
    }

    /// `name` parsed as a `T`, else `default`.
    pub fn read<T: FromEnv>(&self, name: &'static str, default: T) -> Result<T, SettingsError> {
        Ok(self.optional(name)?.unwrap_or(default))
    }

    /// Like [`Self::read`], refusing values below `min`.
    pub fn read_at_least<T: FromEnv + PartialOrd + Display>(
        &self,
        name: &'static str,
        default: T,
        min: T,
    ) -> Result<T, SettingsError> {
        let value = self.read(name, default)?;
        if value < min {
            return Err(SettingsError::invalid(
                name,
                format!("must be at least {min}"),
            ));
        }
        Ok(value)
    }

    /// `name` in seconds (`…_SECS`).
    pub fn secs(&self, name: &'static str, default: u64) -> Result<Duration, SettingsError> {
        self.read(name, default).map(Duration::from_secs)
    }

    /// Like [`Self::secs`], refusing 0 (an interval or a lifetime that would be nothing).
    pub fn positive_secs(
        &self,
        name: &'static str,
        default: u64,
    ) -> Result<Duration, SettingsError> {
        let value = self.secs(name, default)?;
        if value.is_zero() {
            return Err(SettingsError::invalid(name, "must be greater than 0"));
        }
        Ok(value)
    }

    /// `name` in days (`…_DAYS`).
    pub fn days(&self, name: &'static str, default: u64) -> Result<Duration, SettingsError> {
        let days = self.read(name, default)?;
        days.checked_mul(DAY)
            .map(Duration::from_secs)
            .ok_or_else(|| SettingsError::invalid(name, "too large"))
    }
}

/// How a variable's text becomes a value; the error is the reason shown after its name.
pub trait FromEnv: Sized {
    fn from_env(raw: &str) -> Result<Self, String>;
}

impl FromEnv for bool {
    fn from_env(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            other => Err(format!("expected true or false, got {other:?}")),
        }
    }
}

macro_rules! numbers_from_env {
    ($($number:ty),+) => {$(
        impl FromEnv for $number {
            fn from_env(raw: &str) -> Result<Self, String> {
                raw.trim()
                    .parse()
                    .map_err(|_| format!("expected a number, got {raw:?}"))
            }
        }
    )+};
}

numbers_from_env!(u16, u64, i32, i64, usize);

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |name| (name == "X").then(|| value.to_owned())
    }

    #[test]
    fn a_bad_value_is_refused_with_the_variables_name_and_what_was_expected() {
        let lookup = env_with(" twelve ");
        let env = Env::new(&lookup);
        let refused = env.read::<u64>("X", 1).map_err(|error| error.to_string());
        assert_eq!(
            refused.err().as_deref(),
            Some("X is invalid: expected a number, got \" twelve \"")
        );
        let refused = env.read("X", false).map_err(|error| error.to_string());
        assert_eq!(
            refused.err().as_deref(),
            Some("X is invalid: expected true or false, got \"twelve\"")
        );
    }

    #[test]
    fn blank_is_unset_and_bounds_name_the_variable() {
        let blank = env_with("  ");
        assert!(matches!(Env::new(&blank).read("X", 7_u64), Ok(7)));
        let zero = env_with("0");
        let env = Env::new(&zero);
        assert!(matches!(
            env.positive_secs("X", 1),
            Err(SettingsError::Invalid { name: "X", .. })
        ));
        assert!(matches!(
            env.read_at_least("X", 2_i64, 1),
            Err(SettingsError::Invalid { name: "X", .. })
        ));
        let huge = env_with("18446744073709551615");
        assert!(Env::new(&huge).days("X", 1).is_err(), "overflow is refused");
    }
}
