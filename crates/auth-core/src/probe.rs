//! [`now_or_await`]: how callers use a store's synchronous probe.

use std::future::Future;

/// The answer of a store's synchronous probe (`Throttle::retry_after_now`,
/// `SessionStore::load_now`, ...) when it gave one, else what the asynchronous method
/// returns. `later` is called only when `now` is `None`, so an in-memory store's answer costs
/// no boxed `async-trait` future.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use auth_core::{ManualClock, MemoryThrottle, Throttle, ThrottleKey, ThrottlePolicy};
///
/// let throttle = MemoryThrottle::new(ThrottlePolicy::default(), ManualClock::starting_now().shared())?;
/// let key = ThrottleKey::Subject("alice".into());
/// let wait = auth_core::now_or_await(throttle.retry_after_now(&key), || throttle.retry_after(&key)).await?;
/// assert_eq!(wait, None);
/// # Ok::<(), auth_core::ThrottleError>(())
/// # }).unwrap();
/// ```
pub async fn now_or_await<T, F>(now: Option<T>, later: impl FnOnce() -> F) -> T
where
    F: Future<Output = T>,
{
    match now {
        Some(answer) => answer,
        None => later().await,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[tokio::test]
    async fn the_probe_answer_wins_and_later_runs_only_without_one() {
        let called = Cell::new(0);
        let later = || {
            called.set(called.get() + 1);
            async { 2 }
        };
        assert_eq!(now_or_await(Some(1), later).await, 1);
        assert_eq!(called.get(), 0, "not asked when the probe answered");
        let later = || {
            called.set(called.get() + 1);
            async { 2 }
        };
        assert_eq!(now_or_await(None, later).await, 2);
        assert_eq!(called.get(), 1);
    }
}
