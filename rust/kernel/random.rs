// SPDX-License-Identifier: GPL-2.0

//! Random numbers from the kernel's cryptographically secure generator.
//!
//! C header: [`include/linux/random.h`](srctree/include/linux/random.h)

use crate::bindings;

/// Fills `buf` with random bytes, as `get_random_bytes()` does.
///
/// # Examples
///
/// ```
/// let mut buf = [0u8; 32];
/// kernel::random::fill_bytes(&mut buf);
/// // All zeroes: a chance of one in 2^256.
/// assert!(buf.iter().any(|&b| b != 0));
/// ```
pub fn fill_bytes(buf: &mut [u8]) {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    unsafe { bindings::get_random_bytes(buf.as_mut_ptr().cast(), buf.len()) }
}
