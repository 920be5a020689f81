//! Shard keys: a small number derived from a user's id — 12 bits of SHA-256 of its 16
//! bytes, never the id itself — that every session token (and pending token) carries in
//! front of its random part: `<3 hex digits>.<256 random bits>`. A database split by user
//! can then route a cookie to the node holding its session without asking every node
//! (SCALING.md, "Towards a split by user"). The stored hash covers the whole token, so the
//! prefix cannot be changed; a token whose prefix is not its user's is refused all the same.
//! PostgreSQL computes the same number from `user_id` (SCALING.md gives the expression).

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How many shard keys there are: 2^12.
pub const SHARD_COUNT: u16 = 1 << 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardKey(u16);

impl ShardKey {
    /// The user's shard key: the first 12 bits of SHA-256 of the id's bytes.
    pub fn of_user(user_id: Uuid) -> Self {
        let digest = Sha256::digest(user_id.as_bytes());
        let high = digest.first().copied().unwrap_or_default();
        let low = digest.get(1).copied().unwrap_or_default();
        Self((u16::from(high) << 4) | (u16::from(low) >> 4))
    }

    /// The shard key a token names, `None` for a token without one (minted before keys).
    pub fn of_token(token: &str) -> Option<Self> {
        let (prefix, _) = token.split_once('.')?;
        if prefix.len() != 3 {
            return None;
        }
        u16::from_str_radix(prefix, 16)
            .ok()
            .filter(|key| *key < SHARD_COUNT)
            .map(Self)
    }

    pub fn value(self) -> u16 {
        self.0
    }

    /// A token for this shard: the key in 3 lower-case hex digits, a dot, `random`.
    pub fn token(self, random: &str) -> String {
        format!("{:03x}.{random}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_key_is_twelve_bits_of_the_hash_of_its_id() {
        let user = Uuid::parse_str("0f6e8c3a-5b1e-4c1e-9d7e-2a1b3c4d5e6f").unwrap();
        // PostgreSQL says the same:
        // ((get_byte(sha256(uuid_send(id)), 0) << 4) | (get_byte(…, 1) >> 4)) = 456
        assert_eq!(ShardKey::of_user(user).value(), 456);
        assert!(ShardKey::of_user(Uuid::new_v4()).value() < SHARD_COUNT);
    }

    #[test]
    fn a_token_names_its_key_in_front() {
        let key = ShardKey::of_user(Uuid::new_v4());
        let token = key.token("abc");
        assert_eq!(token.len(), 7);
        assert_eq!(ShardKey::of_token(&token), Some(key));
        assert_eq!(ShardKey::of_token("abc"), None);
        assert_eq!(ShardKey::of_token("1c8x.abc"), None);
        assert_eq!(ShardKey::of_token("zzz.abc"), None);
        assert_eq!(ShardKey::of_token("0a.abc"), None);
    }
}
