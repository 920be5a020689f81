//! What protects an account beyond its password while none of its devices is signed in to
//! approve a new one: one answer, for the sign-in decision (`services::admission`) and for
//! the notice the dashboard shows an account its password alone protects.

/// What the account has beside its password, as far as this server checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Factors {
    /// The address was confirmed through a mailed link.
    pub email_confirmed: bool,
    /// This server mails a code to an unrecognised device (`NEW_DEVICE_EMAIL_CHECK`).
    pub email_check: bool,
    // Hook for passkeys and TOTP: once an account can register them, count them here and
    // answer them in `second_factor` before the mailbox (such an account is covered by
    // them, confirmed address or not).
}

/// What an unrecognised device must show beside the password when no device approves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// The code mailed to the confirmed address.
    MailedCode,
}

impl Factors {
    /// `None`: the password alone starts a session while no device is signed in (and that
    /// session then approves every later device).
    pub fn second_factor(self) -> Option<SecondFactor> {
        (self.email_confirmed && self.email_check).then_some(SecondFactor::MailedCode)
    }

    /// Whether the password alone protects the account (the dashboard says so, and how to
    /// change it).
    pub fn password_only(self) -> bool {
        self.second_factor().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_confirmed_address_that_the_server_checks_is_a_second_factor() {
        let factors = |email_confirmed, email_check| Factors {
            email_confirmed,
            email_check,
        };
        assert_eq!(
            factors(true, true).second_factor(),
            Some(SecondFactor::MailedCode)
        );
        assert!(!factors(true, true).password_only());
        for (confirmed, check) in [(false, true), (true, false), (false, false)] {
            assert!(factors(confirmed, check).password_only());
        }
    }
}
