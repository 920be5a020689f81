//! Input rules both sides apply: the browser checks them as the user types, the API
//! enforces them. One definition, so the two can never disagree.

use std::fmt;

/// Passwords are counted in characters, not bytes.
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;
pub const NAME_MAX: usize = 100;
pub const EMAIL_MAX: usize = 254;
pub const APPROVAL_CODE_DIGITS: usize = 6;

/// Why an input was refused. `Display` is the sentence the API sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    EmailMissing,
    EmailInvalid,
    PasswordMissing,
    PasswordTooShort,
    PasswordTooLong,
    NameMissing,
    NameTooLong,
    NameControlCharacters,
    CodeFormat,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmailMissing => f.write_str("Email is required"),
            Self::EmailInvalid => f.write_str("Enter a valid email address"),
            Self::PasswordMissing => f.write_str("Password is required"),
            Self::PasswordTooShort => {
                write!(f, "Password must be at least {PASSWORD_MIN} characters")
            }
            Self::PasswordTooLong => {
                write!(f, "Password must be at most {PASSWORD_MAX} characters")
            }
            Self::NameMissing => f.write_str("Name is required"),
            Self::NameTooLong => write!(f, "Name must be at most {NAME_MAX} characters"),
            Self::NameControlCharacters => f.write_str("Name must not contain control characters"),
            Self::CodeFormat => write!(f, "The code has {APPROVAL_CODE_DIGITS} digits"),
        }
    }
}

/// A normalised email: trimmed, lower-case, `local@domain.tld`, at most 254 characters.
pub fn email(raw: &str) -> Result<String, Problem> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err(Problem::EmailMissing);
    }
    if email.len() > EMAIL_MAX || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Problem::EmailInvalid);
    }
    let (local, domain) = email.split_once('@').ok_or(Problem::EmailInvalid)?;
    let domain_ok = domain.contains('.')
        && !domain.contains('@')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && label.len() <= 63);
    if local.is_empty() || local.len() > 64 || !domain_ok {
        return Err(Problem::EmailInvalid);
    }
    Ok(email)
}

/// A password chosen at signup or on a change.
pub fn new_password(raw: &str) -> Result<(), Problem> {
    match raw.chars().count() {
        0 => Err(Problem::PasswordMissing),
        length if length < PASSWORD_MIN => Err(Problem::PasswordTooShort),
        length if length > PASSWORD_MAX => Err(Problem::PasswordTooLong),
        _ => Ok(()),
    }
}

/// A password typed to log in: present, and short enough to keep hashing cost bounded.
pub fn login_password(raw: &str) -> Result<(), Problem> {
    match raw.chars().count() {
        0 => Err(Problem::PasswordMissing),
        length if length > PASSWORD_MAX => Err(Problem::PasswordTooLong),
        _ => Ok(()),
    }
}

/// Bidirectional-text overrides and isolates, which can make a name read as something else.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// A display name: bidi overrides removed, trimmed, 1 to 100 characters, no control
/// characters.
pub fn display_name(raw: &str) -> Result<String, Problem> {
    let cleaned: String = raw.chars().filter(|c| !is_bidi_control(*c)).collect();
    let name = cleaned.trim();
    if name.is_empty() {
        return Err(Problem::NameMissing);
    }
    if name.chars().count() > NAME_MAX {
        return Err(Problem::NameTooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(Problem::NameControlCharacters);
    }
    Ok(name.to_owned())
}

/// A 6-digit approval code as typed (spaces are forgiven).
pub fn approval_code(raw: &str) -> Result<String, Problem> {
    let code: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != APPROVAL_CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::CodeFormat);
    }
    Ok(code)
}

/// "4 tries left", "1 try left": said the same way by the server and the app.
pub fn tries_left(count: i32) -> String {
    if count == 1 {
        "1 try left".to_owned()
    } else {
        format!("{count} tries left")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(email("  Ada@Example.COM "), Ok("ada@example.com".into()));
        assert_eq!(email(""), Err(Problem::EmailMissing));
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@@example.com",
            "ada@example..com",
        ] {
            assert_eq!(email(bad), Err(Problem::EmailInvalid), "{bad:?}");
        }
    }

    #[test]
    fn passwords_are_counted_in_characters() {
        assert_eq!(new_password("1234567"), Err(Problem::PasswordTooShort));
        assert_eq!(new_password("12345678"), Ok(()));
        assert_eq!(new_password(&"é".repeat(PASSWORD_MAX)), Ok(()));
        assert_eq!(
            new_password(&"x".repeat(PASSWORD_MAX + 1)),
            Err(Problem::PasswordTooLong)
        );
        assert_eq!(login_password(""), Err(Problem::PasswordMissing));
        assert_eq!(login_password("x"), Ok(()));
        assert_eq!(
            Problem::PasswordTooShort.to_string(),
            "Password must be at least 8 characters"
        );
    }

    #[test]
    fn names_and_codes_are_checked() {
        assert_eq!(display_name("   "), Err(Problem::NameMissing));
        assert_eq!(display_name(" Ada "), Ok("Ada".into()));
        assert_eq!(
            display_name("A\u{7}da"),
            Err(Problem::NameControlCharacters)
        );
        assert_eq!(approval_code("12345"), Err(Problem::CodeFormat));
        assert_eq!(approval_code("12345a"), Err(Problem::CodeFormat));
        assert_eq!(approval_code(" 012 345 "), Ok("012345".into()));
    }
}
