//! Keys of the admin API: what a key may do, and its form.

use crate::model::secrets;

crate::model::text_enum! {
    /// What a key may do: `read` looks, `write` also ends sessions and unlocks accounts.
    pub enum Scope {
        Read => "read",
        Write => "write",
    }
}

impl Scope {
    pub fn allows_changes(self) -> bool {
        self == Self::Write
    }
}

/// Every key starts with this, so that a leaked one is recognisable (secret scanners, logs).
pub const KEY_PREFIX: &str = "sm_";

/// A new key, `sm_<256 random bits, base64url>`, and the hash stored instead of it.
pub struct MintedKey {
    pub key: String,
    pub hash: Vec<u8>,
}

impl MintedKey {
    pub fn mint() -> Self {
        let key = format!("{KEY_PREFIX}{}", secrets::new_token());
        let hash = hash_key(&key);
        Self { key, hash }
    }
}

/// What is stored and looked up: the key's SHA-256. The key has 256 random bits, so no
/// salt or slow hash is needed (nothing to guess), and the lookup stays one index probe.
pub fn hash_key(key: &str) -> Vec<u8> {
    secrets::hash_token(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_stored_as_their_hash() {
        let first = MintedKey::mint();
        let second = MintedKey::mint();
        assert!(first.key.starts_with(KEY_PREFIX));
        assert_eq!(first.key.len(), KEY_PREFIX.len() + 43);
        assert_ne!(first.key, second.key);
        assert_eq!(first.hash, hash_key(&first.key));
        assert!(Scope::Write.allows_changes() && !Scope::Read.allows_changes());
    }
}
