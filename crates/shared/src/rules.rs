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

/// A normalised e-mail address: a bare addr-spec, `local@domain`, trimmed and lower-cased.
///
/// Only the plain form is taken, so that an address names one mailbox, and names it one way:
/// no display name (`Ada <ada@example.com>`, `ada<ada@example.com>`: mail would go out
/// under a name the signup chose), no comments, no quoted local part, no address literal.
/// The local part is a dot-atom (RFC 5322 `atext`, and letters and digits beyond ASCII for
/// internationalised mailboxes); the domain is a host name of at least two ASCII labels
/// (letters, digits, inner hyphens; an internationalised domain in its `xn--` form), whose
/// last label is not all digits. The whole address is lower-cased, the local part too:
/// providers treat it without case, so `Ada@Example.com` and `ada@example.com` are one
/// mailbox and get one account. At most 254 bytes, the local part 64.
pub fn email(raw: &str) -> Result<String, Problem> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err(Problem::EmailMissing);
    }
    if email.len() > EMAIL_MAX {
        return Err(Problem::EmailInvalid);
    }
    let (local, domain) = email.split_once('@').ok_or(Problem::EmailInvalid)?;
    if local.len() > 64 || !is_dot_atom(local) || !is_host_name(domain) {
        return Err(Problem::EmailInvalid);
    }
    Ok(email)
}

/// RFC 5322 `dot-atom-text`: atoms of `atext` joined by single dots (`@` is no `atext`).
fn is_dot_atom(text: &str) -> bool {
    let is_atext = |c: char| {
        c.is_ascii_alphanumeric()
            || "!#$%&'*+-/=?^_`{|}~".contains(c)
            || (!c.is_ascii() && c.is_alphanumeric())
    };
    text.split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// A host name of two labels or more: ASCII letters, digits and inner hyphens, 1 to 63
/// characters each; the last one not all digits (that would be an IP address).
fn is_host_name(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|top| !top.chars().all(|c| c.is_ascii_digit()))
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

/// An address typed to sign in: present, and `something@something` without spaces, which
/// every address `email` accepts is. Whether it is a well-formed address beyond that is the
/// account lookup's question: the server answers a malformed one as it answers an unknown
/// one ("Invalid email or password"). The sign-in page checks this, not `email`: `email`'s
/// Unicode case and letter tables were 10 KB of the page's first download (with brotli).
pub fn sign_in_email(raw: &str) -> Result<(), Problem> {
    let email = raw.trim();
    if email.is_empty() {
        return Err(Problem::EmailMissing);
    }
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !email.chars().any(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(Problem::EmailInvalid),
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

    /// Addresses the rule takes as they are (already trimmed and lower-case).
    const WELL_FORMED: [&str; 5] = [
        "ada.lovelace+tag@example.co.uk",
        "o'brien@example.ie",
        "a_b-c~d@mail-1.example.org",
        "élodie@example.fr",
        "ada@xn--bcher-kva.example",
    ];

    /// Typed text the rule refuses as no address.
    const MALFORMED: [&str; 7] = [
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "a b@example.com",
        "ada@@example.com",
        "ada@example..com",
    ];

    #[test]
    fn the_sign_in_check_refuses_no_address_that_email_accepts() {
        let mut texts: Vec<String> = WELL_FORMED
            .iter()
            .chain(&MALFORMED)
            .chain(&[
                "  Ada@Example.COM ",
                "ada@exa mple.com",
                "ada\u{a0}@example.com",
                "",
                "   ",
            ])
            .map(|text| (*text).to_owned())
            .collect();
        // Every address shape built from a few pieces, with and without case and spaces.
        let pieces = [
            "a", "Ä", ".", "@", "-", "1", " ", "é", "x.y", "ß", "\u{130}",
        ];
        for first in pieces {
            for second in pieces {
                for third in pieces {
                    texts.push(format!("{first}{second}@{third}example.com"));
                    texts.push(format!("{first}@{second}{third}.org"));
                    texts.push(format!("{first}{second}{third}"));
                }
            }
        }
        for text in &texts {
            if email(text).is_ok() {
                assert_eq!(sign_in_email(text), Ok(()), "{text:?}");
            }
            // The same answer for nothing typed.
            assert_eq!(
                sign_in_email(text) == Err(Problem::EmailMissing),
                email(text) == Err(Problem::EmailMissing),
                "{text:?}"
            );
        }
        assert_eq!(sign_in_email("ada"), Err(Problem::EmailInvalid));
        assert_eq!(
            sign_in_email("ada @example.com"),
            Err(Problem::EmailInvalid)
        );
        assert_eq!(sign_in_email(" ada@example.com "), Ok(()));
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(email("  Ada@Example.COM "), Ok("ada@example.com".into()));
        assert_eq!(email(""), Err(Problem::EmailMissing));
        assert_eq!(email("  "), Err(Problem::EmailMissing));
        for bad in MALFORMED {
            assert_eq!(email(bad), Err(Problem::EmailInvalid), "{bad:?}");
        }
    }

    #[test]
    fn only_a_bare_address_is_an_email() {
        for good in WELL_FORMED {
            assert_eq!(email(good), Ok(good.to_owned()), "{good:?}");
        }
        for bad in [
            // Display names and angle brackets, with or without a space.
            "Ada <ada@example.com>",
            "ada<ada@example.com>",
            "<ada@example.com>",
            "ada@example.com>",
            "\"Ada\" <ada@example.com>",
            // Quoted local parts, comments, lists, address literals, routes.
            "\"ada\"@example.com",
            "ada(comment)@example.com",
            "ada@example.com,bob@example.com",
            "ada@[192.0.2.1]",
            "ada@192.0.2.1",
            "@route:ada@example.com",
            // Dots and hyphens out of place, characters no host name has.
            ".ada@example.com",
            "ada.@example.com",
            "a..da@example.com",
            "ada@-example.com",
            "ada@example-.com",
            "ada@exa_mple.com",
            "ada@bücher.example",
            "ada;bob@example.com",
            "ada\\@example.com",
        ] {
            assert_eq!(email(bad), Err(Problem::EmailInvalid), "{bad:?}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(email(&long_local), Err(Problem::EmailInvalid));
        let long = format!("ada@{}.com", "a".repeat(250));
        assert_eq!(email(&long), Err(Problem::EmailInvalid));
    }

    #[test]
    fn one_mailbox_is_one_normalised_address() {
        assert_eq!(email("A@Example.COM"), email("a@example.com"));
        assert_eq!(email("ÉLODIE@EXAMPLE.FR"), Ok("élodie@example.fr".into()));
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
