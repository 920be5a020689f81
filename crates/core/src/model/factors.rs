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
    /// The authenticator app is on. (Passkeys, once an account can register them, are
    /// counted here too and answered in `second_factor` before the mailbox.)
    pub totp: bool,
}

/// What an unrecognised device must show beside the password when no device approves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// A code of the authenticator app (or a recovery code), asked of every sign-in: such
    /// an account needs no mailed code, confirmed address or not.
    Authenticator,
    /// The code mailed to the confirmed address.
    MailedCode,
}

impl Factors {
    /// `None`: the password alone starts a session while no device is signed in (and that
    /// session then approves every later device).
    pub fn second_factor(self) -> Option<SecondFactor> {
        if self.totp {
            return Some(SecondFactor::Authenticator);
        }
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
            totp: false,
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

    #[test]
    fn an_authenticator_app_covers_the_account_whatever_the_mailbox() {
        let factors = Factors {
            email_confirmed: false,
            email_check: false,
            totp: true,
        };
        assert_eq!(factors.second_factor(), Some(SecondFactor::Authenticator));
        assert!(!factors.password_only());
    }
}
