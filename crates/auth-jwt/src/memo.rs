//! [`Memo`]: the last few answers of a pure function of a short string, kept per thread.

use std::cell::RefCell;
use std::thread::LocalKey;

/// The last `N` (input, answer) pairs, the oldest replaced first. For per-thread memos of
/// pure functions of byte-identical inputs (a token's header segment, its `scope` claim):
/// clients repeat them, so the work runs once per input and thread instead of per request.
pub(crate) struct Memo<V, const N: usize> {
    entries: [Option<(Box<str>, V)>; N],
    /// The entry to replace next.
    next: usize,
}

impl<V: Clone, const N: usize> Memo<V, N> {
    /// An empty memo (usable in a `thread_local!` `const` initialiser).
    pub(crate) const fn new() -> Self {
        Self {
            entries: [const { None }; N],
            next: 0,
        }
    }

    /// The answer remembered for `input` in `memo`, else `compute(input)`, remembered when it
    /// is `Ok` and `input` is at most `max_len` bytes. A thread being torn down just
    /// computes (`try_with`: no panic).
    pub(crate) fn get_or_try<E>(
        memo: &'static LocalKey<RefCell<Self>>,
        input: &str,
        max_len: usize,
        compute: impl FnOnce(&str) -> Result<V, E>,
    ) -> Result<V, E> {
        let remembered = memo
            .try_with(|memo| {
                memo.borrow()
                    .entries
                    .iter()
                    .flatten()
                    .find_map(|(seen, value)| (**seen == *input).then(|| value.clone()))
            })
            .ok()
            .flatten();
        if let Some(value) = remembered {
            return Ok(value);
        }
        let value = compute(input)?;
        if input.len() <= max_len {
            let _ = memo.try_with(|memo| {
                let memo = &mut *memo.borrow_mut();
                let next = memo.next;
                if let Some(entry) = memo.entries.get_mut(next) {
                    *entry = Some((input.into(), value.clone()));
                }
                memo.next = (next + 1) % N;
            });
        }
        Ok(value)
    }
}
