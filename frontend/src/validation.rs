//! The shared input rules (`shared::rules`), worded for a form field.

use shared::rules::{self, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, Problem};

pub fn email_problem(email: &str) -> Option<&'static str> {
    match rules::email(email) {
        Ok(_) => None,
        Err(Problem::EmailMissing) => Some("Enter your email address"),
        Err(_) => Some("This does not look like an email address"),
    }
}

pub fn new_password_problem(password: &str) -> Option<String> {
    match rules::new_password(password) {
        Ok(()) => None,
        Err(Problem::PasswordMissing) => Some("Choose a password".to_owned()),
        Err(Problem::PasswordTooShort) => Some(format!("At least {PASSWORD_MIN} characters")),
        Err(_) => Some(format!("At most {PASSWORD_MAX} characters")),
    }
}

pub fn login_password_problem(password: &str) -> Option<&'static str> {
    rules::login_password(password)
        .err()
        .map(|_| "Enter your password")
}

pub fn name_problem(name: &str) -> Option<String> {
    match rules::display_name(name) {
        Ok(_) => None,
        Err(Problem::NameMissing) => Some("Tell us your name".to_owned()),
        Err(Problem::NameTooLong) => Some(format!("At most {NAME_MAX} characters")),
        Err(_) => Some("No control characters, please".to_owned()),
    }
}

/// The 6 digits as typed, or why not.
pub fn approval_code(typed: &str) -> Result<String, &'static str> {
    rules::approval_code(typed).map_err(|_| "Type the 6 digits shown on the new device")
}

/// The 6 digits of the mailed code as typed, or why not.
pub fn mailed_code(typed: &str) -> Result<String, &'static str> {
    rules::approval_code(typed).map_err(|_| "Type the 6 digits of the mail")
}

/// "8 to 128 characters."
pub fn password_hint() -> String {
    format!("{PASSWORD_MIN} to {PASSWORD_MAX} characters.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_with_the_servers_rules() {
        assert_eq!(email_problem(""), Some("Enter your email address"));
        assert!(email_problem("ada@example").is_some());
        assert_eq!(email_problem(" Ada@Example.com "), None);
        assert_eq!(
            new_password_problem("short").as_deref(),
            Some("At least 8 characters")
        );
        assert_eq!(new_password_problem("correct horse"), None);
        assert!(new_password_problem(&"x".repeat(PASSWORD_MAX + 1)).is_some());
        assert_eq!(name_problem(" ").as_deref(), Some("Tell us your name"));
        assert_eq!(approval_code(" 123 456"), Ok("123456".to_owned()));
        assert!(approval_code("12345").is_err());
        assert_eq!(password_hint(), "8 to 128 characters.");
    }
}
