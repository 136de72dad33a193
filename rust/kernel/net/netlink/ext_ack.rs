// SPDX-License-Identifier: GPL-2.0

//! Netlink extended acknowledgments.
//!
//! C header: [`include/linux/netlink.h`](srctree/include/linux/netlink.h)

use crate::{bindings, prelude::*};
use core::{fmt, marker::PhantomData, ptr::NonNull};

/// The extended acknowledgment of a netlink request, `struct netlink_ext_ack`.
///
/// Callbacks that serve a netlink request get one to explain a failure to the user: the message
/// set here is what tools such as `devlink` or `ip` print next to the error.
///
/// Some callbacks are also called from within the kernel, where there is no request to answer,
/// with a `NULL` extack. The methods then do what the C macros do: [`ExtAck::set_message`]
/// only feeds the `netlink:netlink_extack` trace event, as `NL_SET_ERR_MSG()`, and
/// [`ExtAck::set_message_fmt`] does nothing at all, as `NL_SET_ERR_MSG_FMT()`.
///
/// `'a` is the duration of the callback: the extack cannot be kept past it.
///
/// # Invariants
///
/// `ptr` is `None` or points to a `struct netlink_ext_ack` that is valid for writes, and that
/// nothing else accesses, for `'a`.
pub struct ExtAck<'a> {
    ptr: Option<NonNull<bindings::netlink_ext_ack>>,
    _p: PhantomData<&'a mut bindings::netlink_ext_ack>,
}

impl ExtAck<'_> {
    /// Wraps the extack pointer a C callback was called with.
    ///
    /// # Safety
    ///
    /// `ptr` must be null or point to a `struct netlink_ext_ack` that is valid for writes, and
    /// that nothing else accesses, for `'a`.
    pub unsafe fn from_raw(ptr: *mut bindings::netlink_ext_ack) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            ptr: NonNull::new(ptr),
            _p: PhantomData,
        }
    }

    /// Whether there is a request to answer, i.e. whether a message reaches anyone.
    pub fn is_request(&self) -> bool {
        self.ptr.is_some()
    }

    /// Sets the message, like `NL_SET_ERR_MSG()`.
    ///
    /// The string is not copied, hence `'static`.
    pub fn set_message(&mut self, msg: &'static CStr) {
        // SAFETY: `msg` is a NUL-terminated string; the trace event copies it.
        unsafe { bindings::do_trace_netlink_extack(msg.as_char_ptr()) };
        if let Some(ptr) = self.ptr {
            // SAFETY: By the type invariant, `ptr` is valid for writes and used by nobody else;
            // `msg` lives forever, as the netlink core reads it after the callback returns.
            unsafe { (*ptr.as_ptr())._msg = msg.as_char_ptr() };
        }
    }

    /// Sets a formatted message, like `NL_SET_ERR_MSG_FMT()`.
    ///
    /// The message is formatted into the extack's own buffer and truncated, as in C, to
    /// `NETLINK_MAX_FMTMSG_LEN - 1` bytes (79), with a rate-limited warning that shows the whole
    /// message. Without a request, nothing happens (not even the trace event), as in C.
    pub fn set_message_fmt(&mut self, args: fmt::Arguments<'_>) {
        let Some(ptr) = self.ptr else {
            return;
        };
        // SAFETY: By the type invariant, `ptr` is valid for writes and used by nobody else.
        let ext_ack = unsafe { &mut *ptr.as_ptr() };
        // SAFETY: `c_char` and `u8` have the same size and alignment, and any bit pattern is
        // valid for both.
        let buf = unsafe {
            core::slice::from_raw_parts_mut(
                ext_ack._msg_buf.as_mut_ptr().cast::<u8>(),
                ext_ack._msg_buf.len(),
            )
        };
        if Truncating::format(buf, args) {
            // SAFETY: `net_ratelimit()` may be called from any context.
            if unsafe { bindings::net_ratelimit() } != 0 {
                pr_warn!("truncated extack: {}\n", args);
            }
        }
        // SAFETY: `format` NUL-terminated the buffer; the trace event copies it.
        unsafe { bindings::do_trace_netlink_extack(ext_ack._msg_buf.as_ptr()) };
        ext_ack._msg = ext_ack._msg_buf.as_ptr();
    }
}

/// Formats into a byte buffer, keeping what fits and a terminating NUL.
struct Truncating<'a> {
    buf: &'a mut [u8],
    len: usize,
    truncated: bool,
}

impl Truncating<'_> {
    /// Formats `args` into `buf` (not empty), NUL-terminated; returns whether it was cut.
    fn format(buf: &mut [u8], args: fmt::Arguments<'_>) -> bool {
        let mut w = Truncating {
            buf,
            len: 0,
            truncated: false,
        };
        // Never fails: what does not fit is dropped.
        let _ = fmt::write(&mut w, args);
        w.buf[w.len] = 0;
        w.truncated
    }
}

impl fmt::Write for Truncating<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - 1 - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        self.truncated |= n < s.len();
        Ok(())
    }
}

#[macros::kunit_tests(rust_netlink_ext_ack)]
mod tests {
    use super::*;

    fn message(ext_ack: &bindings::netlink_ext_ack) -> &CStr {
        // SAFETY: The tests only read messages that `ExtAck` set, which are NUL-terminated.
        unsafe { CStr::from_char_ptr(ext_ack._msg) }
    }

    #[test]
    fn static_message() {
        let mut raw = bindings::netlink_ext_ack::default();
        // SAFETY: `raw` outlives `ext_ack`, which is its only user.
        let mut ext_ack = unsafe { ExtAck::from_raw(&mut raw) };
        assert!(ext_ack.is_request());
        ext_ack.set_message(c"no such reporter");
        assert_eq!(message(&raw), c"no such reporter");
    }

    #[test]
    fn formatted_message() {
        let mut raw = bindings::netlink_ext_ack::default();
        // SAFETY: `raw` outlives `ext_ack`, which is its only user.
        let mut ext_ack = unsafe { ExtAck::from_raw(&mut raw) };
        ext_ack.set_message_fmt(fmt!("queue {} stuck for {} ms", 3, 250));
        assert_eq!(message(&raw), c"queue 3 stuck for 250 ms");
    }

    #[test]
    fn truncated_as_in_c() {
        let mut raw = bindings::netlink_ext_ack::default();
        // SAFETY: `raw` outlives `ext_ack`, which is its only user.
        let mut ext_ack = unsafe { ExtAck::from_raw(&mut raw) };
        ext_ack.set_message_fmt(fmt!("{:x<100}", "y"));
        let msg = message(&raw).to_bytes();
        assert_eq!(msg.len(), bindings::NETLINK_MAX_FMTMSG_LEN as usize - 1);
        assert_eq!(msg[0], b'y');
        assert!(msg[1..].iter().all(|&b| b == b'x'));
    }

    #[test]
    fn without_request() {
        // SAFETY: A null extack is allowed.
        let mut ext_ack = unsafe { ExtAck::from_raw(core::ptr::null_mut()) };
        assert!(!ext_ack.is_request());
        ext_ack.set_message(c"dropped");
        ext_ack.set_message_fmt(fmt!("dropped {}", 1));
    }

    /// Without a request, the arguments are not even formatted, as in C.
    #[test]
    fn without_request_formats_nothing() {
        struct Counted<'a>(&'a core::cell::Cell<u32>);

        impl crate::fmt::Display for Counted<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.set(self.0.get() + 1);
                f.write_str("x")
            }
        }

        let calls = core::cell::Cell::new(0);
        // SAFETY: A null extack is allowed.
        let mut ext_ack = unsafe { ExtAck::from_raw(core::ptr::null_mut()) };
        ext_ack.set_message_fmt(fmt!("{}", Counted(&calls)));
        assert_eq!(calls.get(), 0);

        let mut raw = bindings::netlink_ext_ack::default();
        // SAFETY: `raw` outlives `ext_ack`, which is its only user.
        let mut ext_ack = unsafe { ExtAck::from_raw(&mut raw) };
        ext_ack.set_message_fmt(fmt!("{}", Counted(&calls)));
        assert_eq!(calls.get(), 1);
        assert_eq!(message(&raw), c"x");
    }
}
