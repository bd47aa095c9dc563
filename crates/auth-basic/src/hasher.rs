//! Password hashing: argon2id with OWASP parameters, PHC strings, rehash detection, and
//! verification off the async reactor.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::Error;

/// Argon2id cost parameters.
///
/// The default is OWASP's recommendation (Password Storage Cheat Sheet): m = 19456 KiB
/// (19 MiB), t = 2 iterations, p = 1 lane. [`Argon2Params::new`] refuses anything weaker;
/// tests that need speed say so with [`Argon2Params::insecure_fast_for_tests`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::OWASP
    }
}

impl Argon2Params {
    /// OWASP's minimum for argon2id: m = 19456 KiB, t = 2, p = 1.
    pub const OWASP: Argon2Params = Argon2Params {
        m_cost: 19_456,
        t_cost: 2,
        p_cost: 1,
    };

    /// Parameters at least as strong as [`Argon2Params::OWASP`] in memory and iterations.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `m_cost` or `t_cost` is below OWASP's minimum, or argon2
    /// refuses the combination.
    pub fn new(m_cost: u32, t_cost: u32, p_cost: u32) -> Result<Self, Error> {
        if m_cost < Self::OWASP.m_cost || t_cost < Self::OWASP.t_cost {
            return Err(Error::Config(
                "argon2 parameters below OWASP's minimum (m=19456 KiB, t=2); \
                 use Argon2Params::insecure_fast_for_tests only in tests",
            ));
        }
        Params::new(m_cost, t_cost, p_cost, None)
            .map_err(|_| Error::Config("argon2 refuses these parameters"))?;
        Ok(Self {
            m_cost,
            t_cost,
            p_cost,
        })
    }

    /// **Tests only.** m = 64 KiB, t = 1, p = 1: fast and far too weak for real passwords.
    #[must_use]
    pub const fn insecure_fast_for_tests() -> Self {
        Self {
            m_cost: 64,
            t_cost: 1,
            p_cost: 1,
        }
    }

    /// Memory cost in KiB.
    #[must_use]
    pub fn m_cost(&self) -> u32 {
        self.m_cost
    }

    /// Iterations.
    #[must_use]
    pub fn t_cost(&self) -> u32 {
        self.t_cost
    }

    /// Lanes.
    #[must_use]
    pub fn p_cost(&self) -> u32 {
        self.p_cost
    }

    fn argon2(&self) -> Argon2<'static> {
        let params =
            Params::new(self.m_cost, self.t_cost, self.p_cost, None).unwrap_or(Params::DEFAULT);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password matches. `needs_rehash` is true when the stored hash uses another
    /// algorithm or weaker parameters than the current policy: save a new hash.
    Valid {
        /// Whether the stored hash should be replaced.
        needs_rehash: bool,
    },
    /// The password does not match.
    Invalid,
}

/// Hashes and verifies passwords. [`Argon2Hasher`] is the implementation; the trait exists so
/// tests can count verifications and applications can plug in a hardware-backed hasher.
///
/// Both methods are CPU-heavy and blocking: call them off the async reactor
/// ([`BasicAuthenticator`](crate::BasicAuthenticator) does, through [`HashPool`]).
pub trait PasswordHasher: Send + Sync + fmt::Debug + 'static {
    /// A new PHC string for `password` under the current policy, with a fresh random salt.
    ///
    /// # Errors
    ///
    /// [`Error::Hash`] when hashing fails.
    fn hash(&self, password: &[u8]) -> Result<String, Error>;

    /// Checks `password` against the stored PHC string `stored`.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedHash`] when `stored` is not a format this hasher verifies.
    fn verify(&self, password: &[u8], stored: &str) -> Result<Verification, Error>;
}

/// argon2id hashing (PHC strings), verification of argon2id/argon2i/argon2d PHC strings,
/// and of bcrypt hashes with the `bcrypt` feature.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Argon2Hasher {
    params: Argon2Params,
}

impl Argon2Hasher {
    /// A hasher that hashes with `params`.
    #[must_use]
    pub fn new(params: Argon2Params) -> Self {
        Self { params }
    }

    /// The parameters new hashes use.
    #[must_use]
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    fn weaker_than_policy(&self, hash: &PasswordHash<'_>) -> bool {
        if hash.algorithm.as_str() != "argon2id" || hash.version != Some(0x13) {
            return true;
        }
        let Ok(params) = Params::try_from(hash) else {
            return true;
        };
        params.m_cost() < self.params.m_cost
            || params.t_cost() < self.params.t_cost
            || params.p_cost() < self.params.p_cost
    }
}

impl fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("params", &self.params)
            .finish()
    }
}

/// Fresh 16-byte salt from the OS CSPRNG.
fn salt() -> Result<SaltString, Error> {
    let mut bytes = [0_u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|_| Error::Hash("no OS randomness"))?;
    SaltString::encode_b64(&bytes).map_err(|_| Error::Hash("salt encoding"))
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &[u8]) -> Result<String, Error> {
        let salt = salt()?;
        self.params
            .argon2()
            .hash_password(password, &salt)
            .map(|hash| hash.to_string())
            .map_err(|_| Error::Hash("argon2 hashing failed"))
    }

    fn verify(&self, password: &[u8], stored: &str) -> Result<Verification, Error> {
        if is_bcrypt(stored) {
            return verify_bcrypt(password, stored);
        }
        let hash =
            PasswordHash::new(stored).map_err(|_| Error::UnsupportedHash("not a PHC string"))?;
        let algorithm = hash.algorithm.as_str();
        if !matches!(algorithm, "argon2id" | "argon2i" | "argon2d") {
            return Err(Error::UnsupportedHash(
                "only argon2 PHC strings are verified",
            ));
        }
        match verify_argon2(password, &hash) {
            Ok(true) => Ok(Verification::Valid {
                needs_rehash: self.weaker_than_policy(&hash),
            }),
            Ok(false) => Ok(Verification::Invalid),
            Err(_) => Err(Error::UnsupportedHash("malformed argon2 PHC string")),
        }
    }
}

/// The largest argon2 memory kept for reuse, in 1 KiB blocks (64 MiB; OWASP's parameters use
/// 19 MiB). A PHC string asking for more gets memory of its own, freed after use.
const MAX_REUSED_BLOCKS: usize = 64 * 1024;

/// argon2 memory kept between verifications, wiped: at most one buffer per core
/// ([`spare_limit`]), so what stays resident is bounded whatever the number of threads.
static SPARE_BLOCKS: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// How many buffers [`SPARE_BLOCKS`] keeps: as many as hashes run at once by default
/// ([`HashPool::per_core`]).
fn spare_limit() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Runs `work` on `count` argon2 blocks: a spare buffer when one is free, fresh memory
/// otherwise; then wipes them and keeps the buffer for the next verification.
///
/// Why: `Argon2::verify_password` allocates its 19 MiB per call, so every login paid for
/// fresh pages (page faults and the kernel zeroing them) on top of the hash; on a thread
/// pool whose threads take turns, more than a loop on one thread does. argon2 writes every
/// block in its first pass before reading it, so what a buffer held before does not matter.
/// The blocks are password-derived (with one pass, the early ones let a guess be tested
/// cheaply), so they are wiped after every verification, as the reference implementation
/// does; argon2's `hash_password_into` does not wipe them.
fn with_blocks<T>(count: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    let spare = if count <= MAX_REUSED_BLOCKS {
        SPARE_BLOCKS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    } else {
        None
    };
    let mut blocks = spare.unwrap_or_default();
    if blocks.len() < count {
        blocks.resize(count, Block::default());
    }
    let result = work(&mut blocks[..count]);
    for block in &mut blocks[..count] {
        block.zeroize();
    }
    if count <= MAX_REUSED_BLOCKS {
        let mut spares = SPARE_BLOCKS.lock().unwrap_or_else(PoisonError::into_inner);
        if spares.len() < spare_limit() {
            spares.push(blocks);
        }
    }
    result
}

/// What `PasswordVerifier::verify_password` does for argon2 (the variant, version and
/// parameters come from the PHC string), on reused memory ([`with_blocks`]): `Ok(true)`
/// when the password matches, `Ok(false)` when it does not.
fn verify_argon2(password: &[u8], hash: &PasswordHash<'_>) -> argon2::password_hash::Result<bool> {
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return Ok(false);
    };
    let algorithm = Algorithm::try_from(hash.algorithm)?;
    let version = hash
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let params = Params::try_from(hash)?;
    let mut salt_buffer = [0_u8; 64];
    let salt = salt.decode_b64(&mut salt_buffer)?;
    let count = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut output = Zeroizing::new([0_u8; 64]);
    let output =
        output
            .get_mut(..expected.len())
            .ok_or(argon2::password_hash::Error::OutputSize {
                provided: std::cmp::Ordering::Greater,
                expected: 64,
            })?;
    with_blocks(count, |blocks| {
        argon2.hash_password_into_with_memory(password, salt, output, blocks)
    })?;
    Ok(bool::from(output.ct_eq(expected.as_bytes())))
}

/// Whether `stored` is a bcrypt hash (`$2a$`, `$2b$`, `$2x$`, `$2y$`).
pub(crate) fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2x$", "$2y$"]
        .iter()
        .any(|p| stored.starts_with(p))
}

#[cfg(feature = "bcrypt")]
fn verify_bcrypt(password: &[u8], stored: &str) -> Result<Verification, Error> {
    match bcrypt::verify(password, stored) {
        // Any bcrypt hash is rehashed to argon2id on the next successful login.
        Ok(true) => Ok(Verification::Valid { needs_rehash: true }),
        Ok(false) => Ok(Verification::Invalid),
        Err(_) => Err(Error::UnsupportedHash("malformed bcrypt hash")),
    }
}

#[cfg(not(feature = "bcrypt"))]
fn verify_bcrypt(_password: &[u8], _stored: &str) -> Result<Verification, Error> {
    Err(Error::UnsupportedHash(
        "bcrypt hashes need the `bcrypt` feature of auth-basic",
    ))
}

/// Runs password hashing off the async reactor, at most `limit` at a time.
///
/// Argon2 at OWASP parameters takes tens of milliseconds of CPU and 19 MiB of memory per
/// check. Run inline, it stalls every request on the executor thread; run unbounded, a burst
/// of logins queues behind itself (measured on a 2-core machine: 32 unbounded concurrent
/// checks gave ~40 logins/s with p99 2 s; bounded to the core count, ~120/s with p99 0.4 s).
/// The default limit is the number of CPU cores.
///
/// The work runs on `limit` threads of the pool's own (`auth-basic-hash`), started on first
/// use and stopped when the last clone of the pool is dropped; waiting work is queued in
/// arrival order. A thread that finishes one hash takes the next at once: on Tokio's blocking
/// pool, behind a semaphore, each hash first had to wake the async task that held the permit,
/// which then woke a blocking thread, while the cores were busy hashing. Work whose caller
/// has gone away (a request cancelled while queued) is skipped. Any executor can await
/// [`HashPool::run`].
#[derive(Clone)]
pub struct HashPool {
    inner: Arc<PoolInner>,
}

/// A queued piece of work.
type Job = Box<dyn FnOnce() + Send>;

struct PoolInner {
    limit: usize,
    /// The queue's sending half and, until the threads start, its receiving half.
    queue: Mutex<Queue>,
}

struct Queue {
    jobs: std::sync::mpsc::Sender<Job>,
    /// Taken by the first `run`, which starts the threads.
    idle: Option<std::sync::mpsc::Receiver<Job>>,
}

impl HashPool {
    /// At most `limit` (at least 1) hashes at once.
    #[must_use]
    pub fn new(limit: usize) -> Self {
        let (jobs, idle) = std::sync::mpsc::channel();
        Self {
            inner: Arc::new(PoolInner {
                limit: limit.max(1),
                queue: Mutex::new(Queue {
                    jobs,
                    idle: Some(idle),
                }),
            }),
        }
    }

    /// As many at once as the machine has cores.
    #[must_use]
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, usize::from))
    }

    /// The limit.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// Runs `work` on one of the pool's threads, once one is free.
    ///
    /// # Errors
    ///
    /// [`Error::Hash`] when `work` panicked, or when no hashing thread could be started.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller went away while the work was queued: nobody wants the answer.
            if done.is_closed() {
                return;
            }
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = done.send(outcome);
        });
        self.submit(job)?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_panic)) => Err(Error::Hash("hashing task panicked")),
            Err(_) => Err(Error::Hash("hash pool closed")),
        }
    }

    /// Queues `job`, starting the threads on first use.
    fn submit(&self, job: Job) -> Result<(), Error> {
        let mut queue = self
            .inner
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(idle) = queue.idle.take() {
            let idle = Arc::new(Mutex::new(idle));
            let mut started = 0;
            for n in 0..self.inner.limit {
                let jobs = Arc::clone(&idle);
                let spawned = std::thread::Builder::new()
                    .name(format!("auth-basic-hash-{n}"))
                    .spawn(move || work_through(&jobs));
                started += usize::from(spawned.is_ok());
            }
            if started == 0 {
                // Keep the queue for the next call to try again (a passing resource limit
                // must not disable logins for good).
                if let Ok(idle) = Arc::try_unwrap(idle) {
                    queue.idle = Some(idle.into_inner().unwrap_or_else(PoisonError::into_inner));
                }
                return Err(Error::Hash("could not start a hashing thread"));
            }
        }
        queue
            .jobs
            .send(job)
            .map_err(|_| Error::Hash("hash pool closed"))
    }
}

/// A hashing thread: runs queued jobs until every clone of the pool is gone.
fn work_through(jobs: &Mutex<std::sync::mpsc::Receiver<Job>>) {
    loop {
        // One thread waits on the queue at a time; the others wait for the lock.
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

impl Default for HashPool {
    fn default() -> Self {
        Self::per_core()
    }
}

impl fmt::Debug for HashPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashPool")
            .field("limit", &self.inner.limit)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `verify_argon2` (reused memory) decides as `Argon2::verify_password` (fresh memory)
    /// for every variant, both versions and memory sizes that grow, shrink and grow again
    /// on the same thread (stale blocks from a larger hash must not matter).
    #[test]
    fn reused_memory_verifies_as_argon2_does() {
        use argon2::password_hash::PasswordVerifier as _;

        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        let mut checked = 0;
        for (m_cost, t_cost, p_cost) in [(256, 2, 1), (64, 1, 1), (512, 3, 2), (128, 1, 4)] {
            for algorithm in [Algorithm::Argon2id, Algorithm::Argon2i, Algorithm::Argon2d] {
                for version in [Version::V0x13, Version::V0x10] {
                    let params = Params::new(m_cost, t_cost, p_cost, None).unwrap();
                    let argon2 = Argon2::new(algorithm, version, params);
                    let stored = argon2
                        .hash_password(b"correct horse", &salt)
                        .unwrap()
                        .to_string();
                    let hash = PasswordHash::new(&stored).unwrap();
                    for candidate in [&b"correct horse"[..], b"correct horsf", b""] {
                        let theirs = Argon2::default().verify_password(candidate, &hash).is_ok();
                        assert_eq!(verify_argon2(candidate, &hash), Ok(theirs), "{stored}");
                        checked += usize::from(theirs);
                    }
                }
            }
        }
        assert_eq!(checked, 4 * 3 * 2, "each correct password matched");
    }

    #[test]
    fn spare_memory_is_bounded_and_wiped() {
        let spares = || {
            SPARE_BLOCKS
                .lock()
                .unwrap()
                .iter()
                .map(|blocks| blocks.len())
                .collect::<Vec<_>>()
        };
        // Larger than what is kept: fresh memory, not kept.
        let seen = with_blocks(MAX_REUSED_BLOCKS + 1, |blocks| blocks.len());
        assert_eq!(seen, MAX_REUSED_BLOCKS + 1);
        assert!(spares().iter().all(|&len| len <= MAX_REUSED_BLOCKS));
        // What a verification leaves is wiped before the buffer is kept.
        with_blocks(8, |blocks| {
            for block in blocks.iter_mut() {
                *block = Block::new();
                block.as_mut()[0] = 0x5ec2e7;
            }
        });
        for spare in SPARE_BLOCKS.lock().unwrap().iter() {
            assert!(
                spare
                    .iter()
                    .all(|block| block.as_ref().iter().all(|&word| word == 0))
            );
        }
        // Never more buffers than the limit, however many verifications ran at once.
        let at_once = spare_limit() + 3;
        let together = std::sync::Barrier::new(at_once);
        std::thread::scope(|scope| {
            for _ in 0..at_once {
                // Each holds its buffer until all hold one: `at_once` buffers come back.
                scope.spawn(|| with_blocks(16, |_| together.wait()));
            }
        });
        assert!(spares().len() <= spare_limit());
    }

    #[test]
    fn a_phc_string_without_hash_or_salt_does_not_verify() {
        let hash = PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1").unwrap();
        assert_eq!(verify_argon2(b"x", &hash), Ok(false));
    }

    #[test]
    fn owasp_is_the_default_and_weaker_is_refused() {
        assert_eq!(Argon2Params::default(), Argon2Params::OWASP);
        assert!(Argon2Params::new(19_456, 2, 1).is_ok());
        assert!(Argon2Params::new(65_536, 3, 4).is_ok());
        assert!(Argon2Params::new(4_096, 2, 1).is_err());
        assert!(Argon2Params::new(19_456, 1, 1).is_err());
    }

    #[test]
    fn hashes_are_argon2id_phc_strings_with_the_policy_parameters() {
        let hasher = Argon2Hasher::default();
        let hash = hasher.hash(b"correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            hasher.verify(b"correct horse", &hash).unwrap(),
            Verification::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(
            hasher.verify(b"wrong", &hash).unwrap(),
            Verification::Invalid
        );
        assert_ne!(hash, hasher.hash(b"correct horse").unwrap(), "salted");
    }

    #[test]
    fn weaker_or_other_hashes_need_a_rehash() {
        let weak = Argon2Hasher::new(Argon2Params::insecure_fast_for_tests());
        let strong = Argon2Hasher::default();
        let hash = weak.hash(b"pw").unwrap();
        assert_eq!(
            strong.verify(b"pw", &hash).unwrap(),
            Verification::Valid { needs_rehash: true }
        );
        assert_eq!(
            weak.verify(b"pw", &hash).unwrap(),
            Verification::Valid {
                needs_rehash: false
            }
        );
        // argon2i is verified but replaced.
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(19_456, 2, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt().unwrap())
        .unwrap()
        .to_string();
        assert_eq!(
            strong.verify(b"pw", &argon2i).unwrap(),
            Verification::Valid { needs_rehash: true }
        );
    }

    #[test]
    fn unsupported_formats_are_errors_not_mismatches() {
        let hasher = Argon2Hasher::default();
        for stored in [
            "plaintext",
            "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
            "$apr1$salt$hash",
            "$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA",
        ] {
            assert!(
                matches!(hasher.verify(b"pw", stored), Err(Error::UnsupportedHash(_))),
                "{stored}"
            );
        }
    }

    #[cfg(feature = "bcrypt")]
    #[test]
    fn bcrypt_hashes_verify_and_need_a_rehash() {
        let stored = bcrypt::hash("pw", 4).unwrap();
        let hasher = Argon2Hasher::default();
        assert_eq!(
            hasher.verify(b"pw", &stored).unwrap(),
            Verification::Valid { needs_rehash: true }
        );
        assert_eq!(
            hasher.verify(b"nope", &stored).unwrap(),
            Verification::Invalid
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pool_bounds_concurrency() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let pool = HashPool::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let pool = pool.clone();
            let running = Arc::clone(&running);
            let most = Arc::clone(&most);
            tasks.push(tokio::spawn(async move {
                pool.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Real work, not a sleep: one argon2 hash at OWASP cost.
                    let _ = Argon2Hasher::default().hash(b"pw");
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
                .unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 2);
    }

    #[tokio::test]
    async fn a_panic_is_an_error_and_the_pool_keeps_working() {
        let pool = HashPool::new(1);
        let failed = pool.run(|| panic!("boom")).await;
        assert!(matches!(failed, Err(Error::Hash(_))));
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn work_whose_caller_went_away_is_skipped() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let pool = HashPool::new(1);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        // Occupy the only thread until released.
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || hold.recv().ok()).await })
        };
        let ran = Arc::new(AtomicUsize::new(0));
        let queued = {
            let ran = Arc::clone(&ran);
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                })
                .await
            })
        };
        tokio::task::yield_now().await;
        queued.abort();
        let _ = queued.await;
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        // The pool processes in order: once this runs, the aborted job was taken and skipped.
        pool.run(|| ()).await.unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn runs_without_a_tokio_runtime() {
        let pool = HashPool::new(2);
        let value = futures_lite_block_on(pool.run(|| 41 + 1));
        assert_eq!(value.unwrap(), 42);
    }

    /// Polls `future` on this thread until it is ready (no runtime), parking between polls.
    fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut context = std::task::Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
                return output;
            }
            std::thread::park();
        }
    }
}
