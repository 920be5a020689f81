//! Validated input: a value of these types has passed the rules in `shared::rules`.

use shared::Secret;
use shared::rules::{self, Problem};

/// A normalised email: trimmed, lower-case, a bare `local@domain.tld` (see `rules::email`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        rules::email(raw).map(Self)
    }

    /// An account's address as it is stored: normalised when it was stored, perhaps under
    /// an older, looser rule — never checked again, so that such an account can still be
    /// found by an operator and keyed by the throttle.
    pub fn stored(address: &str) -> Self {
        Self(address.trim().to_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password chosen at signup or on a change.
#[derive(Debug, Clone)]
pub struct NewPassword(Secret);

impl NewPassword {
    pub fn parse(raw: Secret) -> Result<Self, Problem> {
        rules::new_password(raw.expose())?;
        Ok(Self(raw))
    }

    pub fn into_secret(self) -> Secret {
        self.0
    }
}

/// A password typed to log in (only presence and the maximum length are checked).
#[derive(Debug, Clone)]
pub struct LoginPassword(Secret);

impl LoginPassword {
    pub fn parse(raw: Secret) -> Result<Self, Problem> {
        rules::login_password(raw.expose())?;
        Ok(Self(raw))
    }

    pub fn into_secret(self) -> Secret {
        self.0
    }
}

/// A display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        rules::display_name(raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A 6-digit approval code as typed.
#[derive(Debug, Clone)]
pub struct ApprovalCode(Secret);

impl ApprovalCode {
    pub fn parse(raw: &Secret) -> Result<Self, Problem> {
        rules::approval_code(raw.expose()).map(|code| Self(Secret::new(code)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// How hard a password is to guess, by zxcvbn (dictionaries, keyboard patterns, dates,
/// l33t, the account's own email and name as context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strength {
    /// 0 (guessed at once) to 4 (very hard).
    pub score: u8,
    pub warning: Option<String>,
    pub suggestions: Vec<String>,
}

impl Strength {
    pub fn acceptable(&self) -> bool {
        self.score >= super::policy::MIN_PASSWORD_STRENGTH
    }

    /// Why it is refused, for people.
    pub fn explanation(&self) -> String {
        let mut text = "This password is too easy to guess".to_owned();
        if let Some(warning) = &self.warning {
            text.push_str(": ");
            text.push_str(warning.trim_end_matches('.'));
        }
        text.push('.');
        if let Some(suggestion) = self.suggestions.first() {
            text.push(' ');
            text.push_str(suggestion);
        }
        text
    }
}

/// Scores a password; `context` holds what an attacker knows of the account (its email,
/// the parts of it, the name). Only the first 100 characters are scored (zxcvbn's own
/// bound on its work); the whole password is still what is hashed.
pub fn password_strength(password: &str, context: &[&str]) -> Strength {
    // Each item whole, without its spaces ("adalovelace"), and in its parts ("ada", "example").
    let mut owned: Vec<String> = Vec::new();
    for item in context {
        owned.push((*item).to_owned());
        owned.push(item.replace(' ', ""));
        owned.extend(
            item.split(['@', '.', ' ', '-', '_'])
                .filter(|part| part.len() > 2)
                .map(str::to_owned),
        );
    }
    let inputs: Vec<&str> = owned.iter().map(String::as_str).collect();
    let entropy = zxcvbn::zxcvbn(password, &inputs);
    let feedback = entropy.feedback();
    Strength {
        score: u8::from(entropy.score()),
        warning: feedback
            .and_then(|feedback| feedback.warning())
            .map(|warning| warning.to_string()),
        suggestions: feedback
            .map(|feedback| {
                feedback
                    .suggestions()
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_and_guessable_passwords_are_weak_and_passphrases_are_not() {
        for weak in [
            "password1234",
            "qwertyuiop",
            "ada@example.com1",
            "adalovelace",
        ] {
            let strength = password_strength(weak, &["ada@example.com", "Ada Lovelace"]);
            assert!(!strength.acceptable(), "{weak}: {strength:?}");
            assert!(
                strength
                    .explanation()
                    .starts_with("This password is too easy to guess")
            );
        }
        for strong in [
            "correct horse battery",
            "a brand new passphrase",
            "Tr0ub4dor&3 staple gun",
        ] {
            let strength = password_strength(strong, &["ada@example.com", "Ada"]);
            assert!(strength.acceptable(), "{strong}: {strength:?}");
        }
    }
}
