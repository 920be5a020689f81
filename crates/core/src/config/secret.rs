//! Settings that must never reach a log: their `Debug` redacts, so every settings struct can
//! derive its own and `tracing::info!(?settings)` stays safe.

use std::fmt;

/// A key (`SESSION_SECRET`), printed as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The key itself; every use is visible in the code by this name.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A URL that may carry a password (`DATABASE_URL`, `SMTP_URL`), printed with the password
/// as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its password, for the client that connects; every use is visible in
    /// the code by this name.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password hidden: `postgres://user:***@host/db`.
    pub fn redacted(&self) -> String {
        let url = self.0.as_str();
        let Some(scheme_end) = url.find("://") else {
            return url.to_owned();
        };
        let Some(at) = url.rfind('@').filter(|&at| at > scheme_end) else {
            return url.to_owned();
        };
        let (scheme, rest) = url.split_at(scheme_end);
        let credentials = rest.get(3..at - scheme_end).unwrap_or_default();
        let host = rest.get(at - scheme_end..).unwrap_or_default();
        match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***{host}"),
            None => url.to_owned(),
        }
    }
}

impl From<String> for SecretUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.redacted(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_redacted() {
        let url = SecretUrl::new("postgres://app:hunter2@db:5432/x");
        assert_eq!(url.redacted(), "postgres://app:***@db:5432/x");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert_eq!(url.expose(), "postgres://app:hunter2@db:5432/x");
        let without = SecretUrl::new("postgres://app@db/x");
        assert_eq!(without.redacted(), "postgres://app@db/x");
        assert_eq!(SecretUrl::new("not a url").redacted(), "not a url");
    }

    #[test]
    fn keys_are_never_printed() {
        let key = Secret::new(b"3f9c2a7be1d04856".to_vec());
        assert_eq!(format!("{key:?}"), "<redacted>");
        assert_eq!(key.expose(), b"3f9c2a7be1d04856");
    }
}
