//! Secrets: session and pending tokens, one-time codes, password hashing.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::error::ApiError;

/// 256 random bits, URL-safe base64: the secret in a session cookie or a pending token.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database stores instead of a token: a leaked table cannot be replayed.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
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

/// Constant-time equality of two stored hashes.
pub fn hashes_equal(left: &[u8], right: &[u8]) -> bool {
    bool::from(left.ct_eq(right))
}

fn argon2() -> Result<Argon2<'static>, ApiError> {
    // OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes on a blocking thread: ~20 ms of CPU must not stall the async workers.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        argon2()?
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| ApiError::Internal(format!("hashing failed: {error}")))
    })
    .await?
}

/// Verifies on a blocking thread. With no stored hash (unknown email) it verifies against
/// a dummy hash, so both failures cost the same time.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let argon2 = argon2()?;
        match stored {
            Some(hash) => Ok(argon2
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()),
            None => {
                let _ = argon2.verify_password(password.as_bytes(), dummy_hash());
                Ok(false)
            }
        }
    })
    .await?
}

/// A valid argon2id hash of a random password, with the same parameters as real ones.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        argon2()
            .ok()
            .and_then(|argon2| argon2.hash_password(new_token().as_bytes()).ok())
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

/// Computes the dummy hash ahead of the first failed login (call on a blocking thread).
pub fn warm_up() {
    let _ = dummy_hash();
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
