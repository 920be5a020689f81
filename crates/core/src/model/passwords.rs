//! Password hashing: argon2id on dedicated threads, each with memory it reuses.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};
use shared::Secret;
use subtle::ConstantTimeEq;
use thread_priority::{ThreadPriority, ThreadPriorityValue, set_current_thread_priority};
use tokio::sync::oneshot;

use super::secrets::new_token;
use crate::telemetry::metrics::HASH_DURATION;

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// More hashes wait than `HASH_QUEUE` allows: the caller should be told to retry.
    #[error("the password hashing queue is full")]
    QueueFull,
    #[error("the password hashing threads are gone")]
    WorkersGone,
    #[error("argon2: {0}")]
    Argon2(String),
}

fn params() -> Result<Params, HashError> {
    // OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    Params::new(19 * 1024, 2, 1, None).map_err(|error| HashError::Argon2(error.to_string()))
}

/// Hashes a password on the calling thread with the `argon2` crate (tests and tools; the
/// server uses [`HashPool`], whose threads hash with [`Engine::Simd`]).
pub fn hash_password_now(password: &str) -> Result<String, HashError> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params()?)
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| HashError::Argon2(error.to_string()))
}

/// Which implementation computes argon2id. The `argon2` crate always parses the stored PHC
/// strings and their parameters; both engines produce the same bytes for them (a test
/// checks each verifies what the other made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// RustCrypto's `argon2`, portable code (no SIMD unless built for the CPU).
    RustCrypto,
    /// `argon2-rust`: the reference implementation's optimised code, its SIMD backend
    /// (AVX2, AVX-512, SSE2, NEON) picked at run time. About 2.5× faster here.
    Simd,
}

/// Verifies and hashes with one engine, keeping its 19 MiB of memory between calls (a
/// fresh buffer per hash costs as much in page faults as the hash itself).
pub struct Verifier {
    engine: Engine,
    blocks: Vec<Block>,
    hasher: Option<argon2_rust::Hasher>,
}

impl Verifier {
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            blocks: Vec::new(),
            hasher: None,
        }
    }

    /// Whether `password` matches the PHC string `stored` (false for a malformed one).
    pub fn verify(&mut self, password: &str, stored: &str) -> bool {
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
        let expected: &[u8] = expected.as_ref();
        match self.engine {
            Engine::RustCrypto => verify_rust_crypto(
                &mut self.blocks,
                password,
                salt,
                expected,
                &params,
                algorithm,
                version,
            ),
            Engine::Simd => {
                let Some(argon2) = simd_engine(&params, algorithm, version, expected.len()) else {
                    return false;
                };
                let hasher = self.hasher.get_or_insert_with(|| argon2.hasher());
                hasher.set_argon2(argon2);
                hasher.verify(password.as_bytes(), salt, expected).is_ok()
            }
        }
    }

    /// A new PHC string for `password`, with a random salt and the current parameters.
    pub fn hash(&mut self, password: &str) -> Result<String, HashError> {
        match self.engine {
            Engine::RustCrypto => hash_password_now(password),
            Engine::Simd => {
                let params = params()?;
                let argon2 = simd_engine(&params, Algorithm::Argon2id, Version::V0x13, 32)
                    .ok_or_else(|| HashError::Argon2("parameters out of range".into()))?;
                let hasher = self.hasher.get_or_insert_with(|| argon2.hasher());
                hasher.set_argon2(argon2);
                let encoded = hasher
                    .hash_password_with_random_salt(password.as_bytes())
                    .map_err(|error| HashError::Argon2(error.to_string()))?;
                // The stored string must be one the `argon2` crate reads back.
                PasswordHash::new(&encoded)
                    .map(|hash| hash.to_string())
                    .map_err(|error| HashError::Argon2(error.to_string()))
            }
        }
    }
}

fn verify_rust_crypto(
    blocks: &mut Vec<Block>,
    password: &str,
    salt: &[u8],
    expected: &[u8],
    params: &Params,
    algorithm: Algorithm,
    version: Version,
) -> bool {
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let mut computed = vec![0u8; expected.len()];
    let Some(memory) = blocks.get_mut(..needed) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    argon2
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut computed, memory)
        .is_ok()
        && bool::from(computed.ct_eq(expected))
}

/// The same parameters for `argon2-rust`; `None` when it cannot take them.
fn simd_engine(
    params: &Params,
    algorithm: Algorithm,
    version: Version,
    tag_len: usize,
) -> Option<argon2_rust::Argon2> {
    use argon2_rust::params::{Memory, TagLen};
    let algorithm = match algorithm {
        Algorithm::Argon2d => argon2_rust::Algorithm::Argon2d,
        Algorithm::Argon2i => argon2_rust::Algorithm::Argon2i,
        Algorithm::Argon2id => argon2_rust::Algorithm::Argon2id,
    };
    let version = match version {
        Version::V0x10 => argon2_rust::Version::V0x10,
        Version::V0x13 => argon2_rust::Version::V0x13,
    };
    let built = argon2_rust::Params::builder()
        .memory(Memory::kib(u64::from(params.m_cost())))
        .passes(params.t_cost())
        .lanes(params.p_cost())
        .tag_len(TagLen::bytes(u64::try_from(tag_len).ok()?))
        .build()
        .ok()?;
    Some(argon2_rust::Argon2::new(algorithm, version, built))
}

enum Job {
    Hash {
        password: Secret,
        reply: oneshot::Sender<Result<String, HashError>>,
    },
    /// `stored: None` (unknown email) verifies against a dummy hash: the same work.
    Verify {
        password: Secret,
        stored: Option<String>,
        reply: oneshot::Sender<bool>,
    },
}

/// Dedicated threads for argon2id, one per core, each with its own reusable memory, at a
/// lower scheduling priority than the async workers: logins use the CPU the other requests
/// leave, so a burst of logins cannot starve them, and the async workers never block on a hash.
/// The queue is bounded: when it is full the login is answered 503 rather than queued forever.
pub struct HashPool {
    threads: usize,
    queue: usize,
    /// Started with the first job: a process that never hashes (`api admin`) starts no thread.
    jobs: OnceLock<SyncSender<Job>>,
    /// Jobs submitted and not yet taken by a thread (`sm_password_hash_queue_depth`).
    queued: Arc<AtomicUsize>,
}

impl HashPool {
    pub fn start(threads: usize, queue: usize) -> Self {
        Self {
            threads,
            queue,
            jobs: OnceLock::new(),
            queued: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn spawn_threads(&self) -> SyncSender<Job> {
        let (jobs, receiver) = sync_channel::<Job>(self.queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..self.threads.max(1) {
            let receiver = receiver.clone();
            let queued = self.queued.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || hash_worker(&receiver, &queued));
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a hashing thread");
            }
        }
        jobs
    }

    /// Hashes waiting for a thread.
    pub fn queue_depth(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    fn submit(&self, job: Job) -> Result<(), HashError> {
        self.queued.fetch_add(1, Ordering::Relaxed);
        let jobs = self.jobs.get_or_init(|| self.spawn_threads());
        jobs.try_send(job).map_err(|error| {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            match error {
                TrySendError::Full(_) => HashError::QueueFull,
                TrySendError::Disconnected(_) => HashError::WorkersGone,
            }
        })
    }

    #[tracing::instrument(name = "password_hash", skip_all)]
    pub async fn hash(&self, password: Secret) -> Result<String, HashError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password, reply })?;
        answer.await.map_err(|_| HashError::WorkersGone)?
    }

    /// Verifies; with no stored hash (unknown email) it does the same work and says no.
    #[tracing::instrument(name = "password_verify", skip_all)]
    pub async fn verify(
        &self,
        password: Secret,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify {
            password,
            stored,
            reply,
        })?;
        answer.await.map_err(|_| HashError::WorkersGone)
    }
}

fn hash_worker(receiver: &Mutex<Receiver<Job>>, queued: &AtomicUsize) {
    // Nice 19 (what the lowest cross-platform value gives on Linux): below the async
    // workers and PostgreSQL, above `SCHED_IDLE` (tried: BENCHMARKS.md).
    if let Ok(value) = ThreadPriorityValue::try_from(0u8)
        && let Err(error) = set_current_thread_priority(ThreadPriority::Crossplatform(value))
    {
        tracing::debug!(?error, "cannot lower the hashing thread's priority");
    }
    let mut verifier = Verifier::new(Engine::Simd);
    let dummy = dummy_hash();
    loop {
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        if job.is_ok() {
            queued.fetch_sub(1, Ordering::Relaxed);
        }
        let started = Instant::now();
        match job {
            Ok(Job::Verify {
                password,
                stored,
                reply,
            }) => {
                let valid = match &stored {
                    Some(stored) => verifier.verify(password.expose(), stored),
                    None => {
                        let _ = verifier.verify(password.expose(), dummy);
                        false
                    }
                };
                metrics::histogram!(HASH_DURATION).record(started.elapsed());
                let _ = reply.send(valid);
            }
            Ok(Job::Hash { password, reply }) => {
                let hash = verifier.hash(password.expose());
                metrics::histogram!(HASH_DURATION).record(started.elapsed());
                let _ = reply.send(hash);
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
    fn verification_with_reused_memory_matches_the_library() {
        let stored = hash_password_now("correct horse").unwrap_or_default();
        for engine in [Engine::RustCrypto, Engine::Simd] {
            let mut verifier = Verifier::new(engine);
            assert!(verifier.verify("correct horse", &stored), "{engine:?}");
            assert!(!verifier.verify("wrong horse", &stored), "{engine:?}");
            assert!(
                verifier.verify("correct horse", &stored),
                "{engine:?}: the memory is reusable"
            );
            assert!(!verifier.verify("correct horse", "not a phc string"));
        }
    }

    #[test]
    fn each_engine_verifies_what_the_other_hashed() {
        for (maker, checker_engine) in [
            (Engine::RustCrypto, Engine::Simd),
            (Engine::Simd, Engine::RustCrypto),
        ] {
            let stored = Verifier::new(maker)
                .hash("correct horse")
                .unwrap_or_default();
            assert!(
                stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
                "{maker:?} made {stored}"
            );
            let mut checker = Verifier::new(checker_engine);
            assert!(
                checker.verify("correct horse", &stored),
                "{maker:?} → {checker_engine:?}"
            );
            assert!(!checker.verify("correct horse!", &stored));
        }
    }

    #[test]
    fn a_hash_stored_before_the_engine_changed_still_verifies() {
        // Made by the `argon2` crate 0.6 (the engine until 2026-12) for "bench password 1".
        let stored = STORED_BEFORE;
        for engine in [Engine::RustCrypto, Engine::Simd] {
            assert!(
                Verifier::new(engine).verify("bench password 1", stored),
                "{engine:?}"
            );
            assert!(!Verifier::new(engine).verify("bench password 2", stored));
        }
    }

    /// Parameters other than today's (older or future policies) verify the same way.
    #[test]
    fn other_parameters_verify_alike_in_both_engines() {
        let cheap = Params::new(64, 1, 2, None).unwrap_or(Params::DEFAULT);
        let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, cheap)
            .hash_password(b"pw")
            .map(|hash| hash.to_string())
            .unwrap_or_default();
        for engine in [Engine::RustCrypto, Engine::Simd] {
            assert!(Verifier::new(engine).verify("pw", &stored), "{engine:?}");
        }
    }

    const STORED_BEFORE: &str = "$argon2id$v=19$m=19456,t=2,p=1$ENx+IZvCnXvL0wHr+w+W4w$9xxDBiRNnfAyYZhx5Tta9CZNNactHG0TFWHcdcfH4P8";
}
