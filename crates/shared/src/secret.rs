//! A string that must not end up in logs: passwords, codes, tokens in request bodies.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Serialises as the plain string (it travels in JSON bodies), but `Debug` never shows it,
/// so a request logged with `?request` or a panic message cannot leak it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself; every use is visible in the code by this name.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_never_shows_the_value_but_json_carries_it() {
        let secret = Secret::new("hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert_eq!(
            serde_json::to_string(&secret).unwrap_or_default(),
            "\"hunter2\""
        );
        let back: Secret = serde_json::from_str("\"hunter2\"").unwrap_or_default();
        assert_eq!(back.expose(), "hunter2");
    }
}
