//! Whose failed logins are counted: the account (by its normalised email, whether or not it
//! exists, so a refusal says nothing about which emails have accounts) and the client
//! address (IPv6 grouped by /64: one subscriber gets a whole /64 and can rotate through it).

use std::net::{IpAddr, Ipv6Addr};

use super::input::Email;

pub fn account_key(email: &Email) -> String {
    format!("email:{}", email.as_str())
}

pub fn address_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => format!("ip:{v4}"),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let network = u128::from(v6) & (u128::MAX << 64);
                format!("ip:{}/64", Ipv6Addr::from(network))
            }
        },
        Err(_) => format!("ip:{ip}"),
    }
}

/// A device that signed in to the account before (its device cookie's id).
pub fn device_key(device_id: &str) -> String {
    format!("device:{device_id}")
}

/// A signed-in session proving its current password (a password change): its own slot,
/// so that guesses from elsewhere, which fill the account's, cannot stop the owner.
pub fn session_key(session_id: uuid::Uuid) -> String {
    format!("session:{session_id}")
}

/// Signups from an address (IPv6: its /64).
pub fn signup_key(ip: &str) -> String {
    format!("signup:{}", address_key(ip))
}

/// Mail asked for from an address, or for an e-mail (`key` is an address or account key).
pub fn mail_key(key: &str) -> String {
    format!("mail:{key}")
}

/// Passkey sign-ins begun from an address (IPv6: its /64).
pub fn passkey_key(ip: &str) -> String {
    format!("passkey:{}", address_key(ip))
}

/// Passkey re-authentications begun by a session.
pub fn reauthentication_key(session_id: uuid::Uuid) -> String {
    format!("passkey:{}", session_key(session_id))
}

/// Data exports of an account.
pub fn export_key(user_id: &uuid::Uuid) -> String {
    format!("export:{user_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_of_one_slash_64_share_a_key() {
        assert_eq!(address_key("203.0.113.9"), "ip:203.0.113.9");
        assert_eq!(address_key("::ffff:203.0.113.9"), "ip:203.0.113.9");
        let one = address_key("2001:db8:1:2::1");
        assert_eq!(one, "ip:2001:db8:1:2::/64");
        assert_eq!(address_key("2001:db8:1:2:ffff:ffff:ffff:ffff"), one);
        assert_ne!(address_key("2001:db8:1:3::1"), one);
    }

    #[test]
    fn accounts_are_keyed_by_normalised_email() {
        let email = Email::parse(" Ada@Example.com").unwrap_or_else(|_| unreachable!());
        assert_eq!(account_key(&email), "email:ada@example.com");
    }
}
