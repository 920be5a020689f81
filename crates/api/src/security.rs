//! Secrets: session and pending tokens, one-time codes, password hashing.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thread_priority::{ThreadPriority, ThreadPriorityValue, set_current_thread_priority};
use tokio::sync::oneshot;
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

fn params() -> Result<Params, ApiError> {
    // OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    Params::new(19 * 1024, 2, 1, None).map_err(|error| ApiError::Internal(error.to_string()))
}

/// Hashes a password on the calling thread (tests and tools; the server uses [`HashPool`]).
pub fn hash_password_now(password: &str) -> Result<String, ApiError> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params()?)
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| ApiError::Internal(format!("hashing failed: {error}")))
}

/// Verifies `password` against a PHC string, filling `blocks` (kept between calls: a fresh
/// 19 MiB buffer per hash costs as much in page faults as the hash itself).
fn verify_with_memory(blocks: &mut Vec<Block>, password: &str, stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let expected: &[u8] = expected.as_ref();
    let mut computed = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params);
    argon2
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut computed,
            &mut blocks[..needed],
        )
        .is_ok()
        && bool::from(computed.ct_eq(expected))
}

enum Job {
    Hash {
        password: String,
        reply: oneshot::Sender<Result<String, ApiError>>,
    },
    /// `stored: None` (unknown email) verifies against a dummy hash: the same work.
    Verify {
        password: String,
        stored: Option<String>,
        reply: oneshot::Sender<bool>,
    },
}

/// Dedicated threads for argon2id, one per core, each with its own reusable memory, at a
/// lower scheduling priority than the async workers: logins use the CPU the other requests
/// leave, so a burst of logins cannot starve them, and the async workers never block on a hash.
/// The queue is bounded: when it is full the login is answered 503 rather than queued forever.
pub struct HashPool {
    jobs: SyncSender<Job>,
}

impl HashPool {
    pub fn start(threads: usize, queue: usize) -> Self {
        let (jobs, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..threads.max(1) {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || hash_worker(&receiver));
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a hashing thread");
            }
        }
        Self { jobs }
    }

    fn submit(&self, job: Job) -> Result<(), ApiError> {
        self.jobs.try_send(job).map_err(|error| match error {
            TrySendError::Full(_) => ApiError::Unavailable("password hashing queue is full".into()),
            TrySendError::Disconnected(_) => ApiError::Internal("hashing threads are gone".into()),
        })
    }

    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password, reply })?;
        answer
            .await
            .map_err(|_| ApiError::Internal("hashing thread died".into()))?
    }

    /// Verifies; with no stored hash (unknown email) it does the same work and says no.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify {
            password,
            stored,
            reply,
        })?;
        answer
            .await
            .map_err(|_| ApiError::Internal("hashing thread died".into()))
    }
}

fn hash_worker(receiver: &Mutex<Receiver<Job>>) {
    // Nice ~10: below the async workers and PostgreSQL, still well above idle.
    if let Ok(value) = ThreadPriorityValue::try_from(0u8)
        && let Err(error) = set_current_thread_priority(ThreadPriority::Crossplatform(value))
    {
        tracing::debug!(?error, "cannot lower the hashing thread's priority");
    }
    let mut blocks: Vec<Block> = Vec::new();
    let dummy = dummy_hash();
    loop {
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match job {
            Ok(Job::Verify {
                password,
                stored,
                reply,
            }) => {
                let valid = match &stored {
                    Some(stored) => verify_with_memory(&mut blocks, &password, stored),
                    None => {
                        let _ = verify_with_memory(&mut blocks, &password, dummy);
                        false
                    }
                };
                let _ = reply.send(valid);
            }
            Ok(Job::Hash { password, reply }) => {
                let _ = reply.send(hash_password_now(&password));
            }
            // Every sender is gone: the application stopped.
            Err(_) => return,
        }
    }
}

/// A valid argon2id hash of a random password, with the same parameters as real ones.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password_now(&new_token()).unwrap_or_default())
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
    fn verification_with_reused_memory_matches_the_library() {
        let stored = hash_password_now("correct horse").unwrap_or_default();
        let mut blocks = Vec::new();
        assert!(verify_with_memory(&mut blocks, "correct horse", &stored));
        assert!(!verify_with_memory(&mut blocks, "wrong horse", &stored));
        assert!(
            verify_with_memory(&mut blocks, "correct horse", &stored),
            "the buffer is reusable"
        );
        assert!(!verify_with_memory(
            &mut blocks,
            "correct horse",
            "not a phc string"
        ));
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
