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
    /// A short text and its NUL.
    Inline([u8; INLINE_SIZE]),
    /// A longer one, up to a page.
    Heap(KVec<u8>),
}

impl Text {
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
/// Filled in place ([`Break::empty`], then [`Break::read`]): moving the inline buffer from a
/// constructor to its caller cost a report as much as its own work.
///
/// # Invariants
///
/// The bytes of `text` hold a NUL at `len` and none before: the text is what comes before it.
pub(crate) struct Break {
    text: Text,
    len: usize,
}

impl Break {
    /// An event with an empty text.
    pub(crate) const fn empty() -> Self {
        // INVARIANT: all zeroes, so a NUL at 0.
        Self {
            text: Text::Inline([0; INLINE_SIZE]),
            len: 0,
        }
    }

    /// Makes room for a text of `len` bytes and its NUL; the text may then be empty.
    fn reserve(&mut self, len: usize) -> Result {
        if len >= self.text.bytes().len() {
            self.text = Text::Heap(KVec::from_elem(0, len + 1, GFP_KERNEL)?);
            // INVARIANT: a zeroed buffer: a NUL at 0.
            self.len = 0;
        }
        Ok(())
    }

    /// An event with `message`.
    pub(crate) fn new(message: &CStr) -> Result<Self> {
        let src = message.to_bytes_with_nul();
        let mut event = Self::empty();
        event.reserve(src.len() - 1)?;
        event.text.bytes_mut()[..src.len()].copy_from_slice(src);
        // INVARIANT: `src` is a C string: its only NUL is its last byte.
        event.len = src.len() - 1;
        Ok(event)
    }

    /// Sets the text to what is written to a `break_health` file: up to a page, one trailing
    /// newline dropped, cut at a NUL (as the C string it is in netdevsim).
    #[inline]
    pub(crate) fn read(&mut self, reader: &mut UserSliceReader) -> Result {
        let count = reader.len();
        if count == 0 || count > PAGE_SIZE {
            return Err(EINVAL);
        }
        self.reserve(count)?;
        let buf = self.text.bytes_mut();
        if let Err(e) = reader.read_slice(&mut buf[..count]) {
            buf[0] = 0;
            // INVARIANT: an empty text.
            self.len = 0;
            return Err(e);
        }
        if buf[count - 1] == b'\n' {
            buf[count - 1] = 0;
        }
        buf[count] = 0;
        // A loop the compiler inlines, where `CStr::from_bytes_until_nul()` would be a call.
        // INVARIANT: `buf[count]` is a NUL, so the first one is at `count` or before.
        self.len = buf[..count].iter().position(|&b| b == 0).unwrap_or(count);
        Ok(())
    }

    /// Sets the text as netdevsim does (`memdup_user_nul()`): in an allocation of its own,
    /// whatever its length; otherwise as [`Break::read`]. The mode of [`crate::alloc_mode`].
    pub(crate) fn read_allocated(&mut self, reader: &UserSliceReader) -> Result {
        let count = reader.len();
        if count == 0 || count > PAGE_SIZE {
            return Err(EINVAL);
        }
        // Room for the NUL too: neither read nor push allocates again.
        let mut buf = KVec::with_capacity(count + 1, GFP_KERNEL)?;
        reader.clone_reader().read_all(&mut buf, GFP_KERNEL)?;
        buf.push(0, GFP_KERNEL)?;
        if buf[count - 1] == b'\n' {
            buf[count - 1] = 0;
        }
        let len = buf[..count].iter().position(|&b| b == 0).unwrap_or(count);
        self.text = Text::Heap(buf);
        // INVARIANT: `buf[count]` is a NUL, so the first one is at `count` or before.
        self.len = len;
        Ok(())
    }

    /// The text.
    pub(crate) fn message(&self) -> &CStr {
        // By the type invariant, the bytes up to `len` are a NUL and the ones before it, none of
        // them a NUL: the empty text is never returned but for a broken invariant.
        CStr::from_bytes_with_nul(&self.text.bytes()[..=self.len]).unwrap_or(c"")
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

    /// Keeps `message` as netdevsim does: the old buffer freed (`kfree()`), then a new one
    /// allocated for the copy (`kstrdup()`). The mode of [`crate::alloc_mode`]; on failure, none
    /// is kept.
    pub(crate) fn replace(&mut self, message: &CStr) -> Result {
        // INVARIANT: empty until the copy is whole.
        self.buf = KVec::new();
        let bytes = message.to_bytes_with_nul();
        let mut buf = KVec::with_capacity(bytes.len(), GFP_KERNEL)?;
        buf.extend_from_slice(bytes, GFP_KERNEL)?;
        // INVARIANT: a copy of `message` with its NUL.
        self.buf = buf;
        Ok(())
    }

    /// The message kept, if any.
    pub(crate) fn get(&self) -> Option<&CStr> {
        CStr::from_bytes_with_nul(&self.buf).ok()
    }
}
