//! Minting secrets — session tokens, pending tokens, one-time codes — and the hashes that
//! are stored instead of them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::model::shard::ShardKey;

/// 256 random bits, URL-safe base64: the secret in a session cookie or a pending token.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database stores instead of a token: a leaked table cannot be replayed.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A freshly minted token with the hash to store: the only way tokens are made.
pub struct MintedToken {
    pub token: String,
    pub hash: Vec<u8>,
}

impl MintedToken {
    pub fn mint() -> Self {
        Self::of(new_token())
    }

    /// A token of `user_id`'s: its shard key in front (session and pending tokens).
    pub fn for_user(user_id: Uuid) -> Self {
        Self::of(ShardKey::of_user(user_id).token(&new_token()))
    }

    fn of(token: String) -> Self {
        let hash = hash_token(&token);
        Self { token, hash }
    }
}

/// A uniformly random 6-digit code from the thread's CSPRNG.
pub fn new_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// Keyed hashes of approval codes. A 6-digit code hashed without a key could be brute
/// forced from a leaked row in a millisecond; with the server key it cannot.
#[derive(Clone)]
pub struct CodeHasher {
    key: Vec<u8>,
}

impl CodeHasher {
    pub fn new(server_secret: &[u8]) -> Self {
        // Derive a separate key so the cookie key is never used for anything else.
        let mut mac = Hmac::<Sha256>::new_from_slice(server_secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"approval-code-v1");
        Self {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    pub fn hash(&self, approval_id: Uuid, code: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(approval_id.as_bytes());
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Constant-time comparison against the stored hash.
    pub fn verify(&self, approval_id: Uuid, code: &str, stored: &[u8]) -> bool {
        bool::from(self.hash(approval_id, code).ct_eq(stored))
    }
}

/// Device cookies (OWASP's "slow down online guessing with device cookies"): a browser that
/// signed in to an account gets `<device id>.<generation>.<HMAC(email, device id,
/// generation)>`, which proves later that this browser signed in to this account before,
/// in the account's device generation `generation` (a new one forgets every browser).
#[derive(Clone)]
pub struct DeviceCookies {
    key: Vec<u8>,
}

impl DeviceCookies {
    pub fn new(server_secret: &[u8]) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(server_secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"device-cookie-v1");
        Self {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    fn mac(&self, email: &str, device_id: &str, generation: i32) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(email.as_bytes());
        mac.update(b"\0");
        mac.update(device_id.as_bytes());
        mac.update(b"\0");
        mac.update(generation.to_string().as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The cookie value for `email` on the device `device_id`, in the account's device
    /// generation `generation`.
    pub fn value(&self, email: &str, device_id: &str, generation: i32) -> String {
        format!(
            "{device_id}.{generation}.{}",
            URL_SAFE_NO_PAD.encode(self.mac(email, device_id, generation))
        )
    }

    /// The device generation a new account starts in: random, so that the device cookies
    /// of an earlier account with the same address (deleted, or moved away) are not taken
    /// for this one's (they carry the address and a generation, not the account).
    pub fn first_generation() -> i32 {
        // Below 2^30: bumped once per reset, it never overflows.
        rand::rng().random_range(0..(1 << 30))
    }

    /// A new device id.
    pub fn new_device_id() -> String {
        let bytes: [u8; 16] = rand::rng().random();
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The device, if `cookie` was issued for `email`.
    pub fn recognise(&self, cookie: &str, email: &str) -> Option<KnownDevice> {
        let mut parts = cookie.splitn(3, '.');
        let (device_id, generation, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let generation: i32 = generation.parse().ok()?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        hashes_equal(&self.mac(email, device_id, generation), &mac).then(|| KnownDevice {
            id: device_id.to_owned(),
            generation,
        })
    }
}

/// A browser whose device cookie checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    pub id: String,
    /// The account's device generation the cookie was issued in: recognised only while it
    /// is the account's current one.
    pub generation: i32,
}

/// Constant-time equality of two stored hashes.
pub fn hashes_equal(left: &[u8], right: &[u8]) -> bool {
    bool::from(left.ct_eq(right))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..1000 {
            let code = new_code();
            assert_eq!(code.len(), 6);
            assert!(code.chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn tokens_carry_256_bits_and_differ() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&a).map(|bytes| bytes.len()).ok(),
            Some(32)
        );
    }

    #[test]
    fn a_device_cookie_proves_the_device_for_its_account_only() {
        let cookies = DeviceCookies::new(b"secret one");
        let id = DeviceCookies::new_device_id();
        let value = cookies.value("ada@example.com", &id, 3);
        assert_eq!(
            cookies.recognise(&value, "ada@example.com"),
            Some(KnownDevice {
                id: id.clone(),
                generation: 3
            })
        );
        // Another generation in the cookie breaks its MAC.
        let forged = value.replacen(".3.", ".4.", 1);
        assert_eq!(cookies.recognise(&forged, "ada@example.com"), None);
        assert_eq!(cookies.recognise(&value, "bob@example.com"), None);
        assert_eq!(
            DeviceCookies::new(b"secret two").recognise(&value, "ada@example.com"),
            None
        );
        assert_eq!(cookies.recognise("garbage", "ada@example.com"), None);
        assert_eq!(
            cookies.recognise(&format!("{id}.0.AAAA"), "ada@example.com"),
            None
        );
    }

    #[test]
    fn code_hashes_depend_on_key_approval_and_code() {
        let hasher = CodeHasher::new(b"secret one");
        let id = Uuid::new_v4();
        let stored = hasher.hash(id, "123456");
        assert!(hasher.verify(id, "123456", &stored));
        assert!(!hasher.verify(id, "123457", &stored));
        assert!(!hasher.verify(Uuid::new_v4(), "123456", &stored));
        assert!(!CodeHasher::new(b"secret two").verify(id, "123456", &stored));
    }
}
