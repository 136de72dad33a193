// SPDX-License-Identifier: GPL-2.0

//! Counters with one writer at a time, read by anyone.

use kernel::sync::atomic::{Atomic, Relaxed};

/// A 64-bit counter that one context at a time adds to (the holder of the lock the counted
/// work runs under, or NAPI's serialised poll), and any context reads.
///
/// An addition is a load and a store, not a read-modify-write: no locked instruction per packet
/// on the hot paths, as `u64_stats` on a 64-bit machine. Readers see each value whole.
pub(crate) struct Counter(Atomic<u64>);

impl Counter {
    pub(crate) const fn new() -> Self {
        Self(Atomic::new(0))
    }

    /// Adds `n`; only the counter's single writer of the moment may.
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }

    /// Sets the counter to `n` (the writer starting over).
    #[inline]
    pub(crate) fn set(&self, n: u64) {
        self.0.store(n, Relaxed);
    }

    #[inline]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}
