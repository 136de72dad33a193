// SPDX-License-Identifier: GPL-2.0

//! The messages of reports: the text of an event, and the message of the last report recovered.

use kernel::{page::PAGE_SIZE, prelude::*, uaccess::UserSliceReader};

/// The size of the buffer an event carries in itself.
///
/// A report is the hot path of `make bench`, and an allocation through `kernel::alloc`
/// (`krealloc()`, then `kfree()` through `krealloc()` again) cost more than netdevsim's
/// `memdup_user_nul()` as a whole: texts that fit here, which is every one the tests and
/// iproute2 users write, make a report allocate nothing.
const INLINE_SIZE: usize = 64;

/// Where the text of an event is kept.
enum Text {
    /// A short text and its NUL, zero-padded.
    Inline([u8; INLINE_SIZE]),
    /// A longer one, up to a page.
    Heap(KVec<u8>),
}

impl Text {
    /// A zeroed buffer for a text of `len` bytes and its NUL.
    fn zeroed(len: usize) -> Result<Self> {
        Ok(if len < INLINE_SIZE {
            Self::Inline([0; INLINE_SIZE])
        } else {
            Self::Heap(KVec::from_elem(0, len + 1, GFP_KERNEL)?)
        })
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Self::Inline(buf) => buf,
            Self::Heap(buf) => buf,
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Self::Inline(buf) => buf,
            Self::Heap(buf) => buf,
        }
    }
}

/// What a report carries: the text written to `break_health`, or the test event's.
///
/// # Invariants
///
/// The bytes of `text` hold a NUL at `end` (or before); the text is what comes before the
/// first one.
pub(crate) struct Break {
    text: Text,
    end: usize,
}

impl Break {
    /// An event with `message`.
    pub(crate) fn new(message: &CStr) -> Result<Self> {
        let src = message.to_bytes_with_nul();
        let mut text = Text::zeroed(src.len() - 1)?;
        text.bytes_mut()[..src.len()].copy_from_slice(src);
        // INVARIANT: `src` ends with its NUL.
        Ok(Self {
            text,
            end: src.len() - 1,
        })
    }

    /// Reads what is written to a `break_health` file: up to a page, one trailing newline
    /// dropped, cut at a NUL (as the C string it is in netdevsim).
    pub(crate) fn read(reader: &mut UserSliceReader) -> Result<Self> {
        let len = reader.len();
        if len == 0 || len > PAGE_SIZE {
            return Err(EINVAL);
        }
        let mut text = Text::zeroed(len)?;
        let buf = text.bytes_mut();
        reader.read_slice(&mut buf[..len])?;
        if buf[len - 1] == b'\n' {
            buf[len - 1] = 0;
        }
        // INVARIANT: the buffer is longer than `len` and zeroed: `buf[len]` is a NUL.
        Ok(Self { text, end: len })
    }

    /// The text.
    pub(crate) fn message(&self) -> &CStr {
        // Searched up to `end` only: for short texts, a plain loop instead of the word-wise
        // search of a whole buffer. By the type invariant there is a NUL by then, so the
        // default (empty) is never taken.
        CStr::from_bytes_until_nul(&self.text.bytes()[..=self.end]).unwrap_or_default()
    }
}

/// The message of the last report recovered, in a buffer reused from one recovery to the next.
///
/// # Invariants
///
/// `buf` is empty (no message yet) or holds one C string, its NUL last.
pub(crate) struct LastMessage {
    buf: KVec<u8>,
}

impl LastMessage {
    pub(crate) const fn new() -> Self {
        // INVARIANT: empty.
        Self { buf: KVec::new() }
    }

    /// Keeps `message`; on failure (no memory), none is kept.
    pub(crate) fn set(&mut self, message: &CStr) -> Result {
        self.buf.clear();
        // INVARIANT: on failure nothing was added, and `buf` stays empty.
        self.buf
            .extend_from_slice(message.to_bytes_with_nul(), GFP_KERNEL)?;
        // INVARIANT: a copy of `message` with its NUL.
        Ok(())
    }

    /// The message kept, if any.
    pub(crate) fn get(&self) -> Option<&CStr> {
        CStr::from_bytes_with_nul(&self.buf).ok()
    }
}
