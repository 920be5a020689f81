//! The shared input rules (`shared::rules`), worded for a form field.

use shared::PasswordStrength;
use shared::rules::{self, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, Problem};

pub fn email_problem(email: &str) -> Option<&'static str> {
    address_message(rules::email(email).err())
}

/// The sign-in form's check of its address (`rules::sign_in_email`: the server's lookup
/// answers the rest).
pub fn sign_in_email_problem(email: &str) -> Option<&'static str> {
    address_message(rules::sign_in_email(email).err())
}

fn address_message(problem: Option<Problem>) -> Option<&'static str> {
    problem.map(|problem| match problem {
        Problem::EmailMissing => "Enter your email address",
        _ => "This does not look like an email address",
    })
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

/// The server's refusal of one field's value (`email_taken`, `weak_password`): the field
/// shows it as its message until the value changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub value: String,
    pub message: String,
}

impl Refused {
    /// The message, while the field still holds the refused value.
    pub fn message_for(&self, value: &str) -> Option<String> {
        (self.value == value).then(|| self.message.clone())
    }
}

/// The whole rule for a new password: its length, and that the server refuses what is
/// easy to guess (zxcvbn, with the account's name and address as context).
pub fn password_hint() -> String {
    format!(
        "{PASSWORD_MIN} to {PASSWORD_MAX} characters, and hard to guess: common passwords and ones made of your name or email are refused."
    )
}

/// Why the strength meter's answer refuses a password, if it does: the same sentence the
/// server answers a signup with (`weak_password`), so that the field shows one message.
pub fn weakness(strength: &PasswordStrength) -> Option<String> {
    if strength.acceptable {
        return None;
    }
    let mut text = "This password is too easy to guess".to_owned();
    if let Some(warning) = &strength.warning {
        text.push_str(": ");
        text.push_str(warning.trim_end_matches('.'));
    }
    text.push('.');
    if let Some(suggestion) = strength.suggestions.first() {
        text.push(' ');
        text.push_str(suggestion);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_with_the_servers_rules() {
        assert_eq!(email_problem(""), Some("Enter your email address"));
        assert!(email_problem("ada@example").is_some());
        assert_eq!(email_problem(" Ada@Example.com "), None);
        // The sign-in form: present and shaped like one; the server's lookup does the rest.
        assert_eq!(sign_in_email_problem(" "), Some("Enter your email address"));
        assert_eq!(
            sign_in_email_problem("ada"),
            Some("This does not look like an email address")
        );
        assert_eq!(sign_in_email_problem("ada@example"), None);
        assert_eq!(
            new_password_problem("short").as_deref(),
            Some("At least 8 characters")
        );
        assert_eq!(new_password_problem("correct horse"), None);
        assert!(new_password_problem(&"x".repeat(PASSWORD_MAX + 1)).is_some());
        assert_eq!(name_problem(" ").as_deref(), Some("Tell us your name"));
        assert_eq!(approval_code(" 123 456"), Ok("123456".to_owned()));
        assert!(approval_code("12345").is_err());
        assert!(password_hint().starts_with("8 to 128 characters, and hard to guess"));
    }

    #[test]
    fn a_refusal_holds_until_the_value_changes() {
        let refused = Refused {
            value: "ada@example.com".to_owned(),
            message: "An account with this email already exists".to_owned(),
        };
        assert!(refused.message_for("ada@example.com").is_some());
        assert_eq!(refused.message_for("ada@example.org"), None);
    }

    #[test]
    fn a_weak_password_gets_one_sentence_with_the_meters_advice() {
        let strength = |acceptable, warning: Option<&str>| PasswordStrength {
            score: if acceptable { 3 } else { 1 },
            acceptable,
            warning: warning.map(str::to_owned),
            suggestions: vec!["Add another word or two.".to_owned()],
        };
        assert_eq!(weakness(&strength(true, None)), None);
        assert_eq!(
            weakness(&strength(false, Some("This is a very common password."))).as_deref(),
            Some(
                "This password is too easy to guess: This is a very common password. Add another word or two."
            )
        );
    }
}
