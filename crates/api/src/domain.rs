//! Validated input: a value of these types has passed its rules.

use crate::error::ApiError;

/// A normalised email: trimmed, lower-case, `local@domain.tld`, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let email = raw.trim().to_lowercase();
        let invalid = || ApiError::Validation("Enter a valid email address".into());
        if email.is_empty() {
            return Err(ApiError::Validation("Email is required".into()));
        }
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.contains('@')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && label.len() <= 63);
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 8 to 128 characters (counted as characters, not bytes).
#[derive(Clone)]
pub struct NewPassword(String);

pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;

impl NewPassword {
    pub fn parse(raw: String) -> Result<Self, ApiError> {
        let length = raw.chars().count();
        if length < PASSWORD_MIN {
            return Err(ApiError::Validation(format!(
                "Password must be at least {PASSWORD_MIN} characters"
            )));
        }
        if length > PASSWORD_MAX {
            return Err(ApiError::Validation(format!(
                "Password must be at most {PASSWORD_MAX} characters"
            )));
        }
        Ok(Self(raw))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A password typed to log in: only presence and the maximum length are checked (the
/// length cap keeps hashing cost bounded).
pub fn login_password(raw: String) -> Result<String, ApiError> {
    if raw.is_empty() {
        return Err(ApiError::Validation("Password is required".into()));
    }
    if raw.chars().count() > PASSWORD_MAX {
        return Err(ApiError::Validation(format!(
            "Password must be at most {PASSWORD_MAX} characters"
        )));
    }
    Ok(raw)
}

/// A display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ApiError::Validation("Name is required".into()));
        }
        if name.chars().count() > 100 {
            return Err(ApiError::Validation(
                "Name must be at most 100 characters".into(),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(ApiError::Validation(
                "Name must not contain control characters".into(),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A 6-digit approval code as typed (spaces around are forgiven).
pub fn approval_code(raw: &str) -> Result<String, ApiError> {
    let code = raw.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::Validation("The code has 6 digits".into()));
    }
    Ok(code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ")
                .map(|e| e.as_str().to_owned())
                .ok(),
            Some("ada@example.com".into())
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@@example.com",
            "ada@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn passwords_are_counted_in_characters() {
        assert!(NewPassword::parse("1234567".into()).is_err());
        assert!(NewPassword::parse("12345678".into()).is_ok());
        assert!(NewPassword::parse("é".repeat(128)).is_ok());
        assert!(NewPassword::parse("x".repeat(129)).is_err());
    }

    #[test]
    fn names_and_codes_are_checked() {
        assert!(DisplayName::parse("   ").is_err());
        assert_eq!(
            DisplayName::parse(" Ada ")
                .map(|n| n.as_str().to_owned())
                .ok(),
            Some("Ada".into())
        );
        assert!(approval_code("12345").is_err());
        assert!(approval_code("12345a").is_err());
        assert_eq!(approval_code(" 012345 ").ok(), Some("012345".into()));
    }
}
