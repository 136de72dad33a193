// SPDX-License-Identifier: GPL-2.0

//! Formatted messages: what health reporters' `dump` and `diagnose` ops build.
//!
//! A formatted message ("fmsg") is a tree of named values, objects and arrays that devlink sends
//! to user space, where `devlink health dump show` and `devlink health diagnose` print it (as
//! JSON with `-j`). The devlink core opens the outermost object before it calls the op and closes
//! it after, so an op receives an [`Object`] to fill.
//!
//! Nesting is balanced by construction: a nested object or array exists only inside the closure
//! that fills it, and is closed when the closure returns, whatever it returns. An array cannot be
//! closed as an object, nor a nest closed that was never opened.
//!
//! Errors are sticky, as in C: the first failure (out of memory, a name or value too long for a
//! netlink message) is kept, later calls do nothing, and the core fails the request with it once
//! the op has returned. The methods that add values therefore return nothing to check. The
//! closures that fill nested objects and arrays return a [`Result`], so that they can use `?`;
//! an error they return is kept as the message's error too, and handed back to the caller.
//!
//! Limits, as in C: a name or a string must fit a netlink message (about 8 KiB with 4 KiB pages,
//! `EMSGSIZE` otherwise); a binary value of up to 4 GiB is split into chunks that do, and the
//! whole message is sent as a netlink dump for `devlink health dump show`, but in one message
//! for `devlink health diagnose`, which therefore fails with `EMSGSIZE` for anything larger.
//!
//! C header: [`include/net/devlink.h`](srctree/include/net/devlink.h)

use crate::{bindings, prelude::*, types::Opaque};
use core::ptr::NonNull;

mod private {
    /// Keeps [`super::Sink`] to this module: only the C builder and the tests' recorder are
    /// sinks.
    pub trait Sealed {}
}

/// What an [`Object`] writes to: one method per C function of the fmsg API used.
///
/// Sealed: implemented by [`Builder`], the C message of an operation, and in the tests by a
/// recorder, so that the exact sequence of C calls can be checked in KUnit.
#[doc(hidden)]
pub trait Sink: private::Sealed {
    /// `devlink_fmsg_obj_nest_start()`.
    fn obj_nest_start(&mut self);
    /// `devlink_fmsg_obj_nest_end()`.
    fn obj_nest_end(&mut self);
    /// `devlink_fmsg_pair_nest_start()`.
    fn pair_nest_start(&mut self, name: &CStr);
    /// `devlink_fmsg_pair_nest_end()`.
    fn pair_nest_end(&mut self);
    /// `devlink_fmsg_arr_pair_nest_start()`.
    fn arr_pair_nest_start(&mut self, name: &CStr);
    /// `devlink_fmsg_arr_pair_nest_end()`.
    fn arr_pair_nest_end(&mut self);
    /// `devlink_fmsg_bool_pair_put()`.
    fn bool_pair_put(&mut self, name: &CStr, value: bool);
    /// `devlink_fmsg_u8_pair_put()`.
    fn u8_pair_put(&mut self, name: &CStr, value: u8);
    /// `devlink_fmsg_u32_pair_put()`.
    fn u32_pair_put(&mut self, name: &CStr, value: u32);
    /// `devlink_fmsg_u64_pair_put()`.
    fn u64_pair_put(&mut self, name: &CStr, value: u64);
    /// `devlink_fmsg_string_pair_put()`; fails the message with `EMSGSIZE` for a string that
    /// does not fit an item.
    fn string_pair_put(&mut self, name: &CStr, value: &CStr);
    /// `devlink_fmsg_binary_pair_put()`, for a value whose length fits a `u32`.
    fn binary_pair_put(&mut self, name: &CStr, value: &[u8]);
    /// `devlink_fmsg_u32_put()`.
    fn u32_put(&mut self, value: u32);
    /// `devlink_fmsg_string_put()`; fails the message with `EMSGSIZE` for a string that does
    /// not fit an item.
    fn string_put(&mut self, value: &CStr);
    /// Makes the message fail with `err` unless it failed already.
    fn fail(&mut self, err: Error);
}

/// A formatted message of the devlink core, `struct devlink_fmsg`.
#[repr(transparent)]
struct Fmsg(Opaque<bindings::devlink_fmsg>);

/// The C message an operation fills, with the first error of the Rust side (a value that the C
/// API cannot take); the C message keeps its own.
///
/// # Invariants
///
/// `fmsg` points to a valid `struct devlink_fmsg` for the lifetime of `self`, and nothing else
/// uses it during that time.
#[doc(hidden)]
pub struct Builder {
    fmsg: NonNull<Fmsg>,
    err: Option<Error>,
}

impl Builder {
    /// Wraps the fmsg an operation was called with.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct devlink_fmsg` that nothing else uses while the
    /// returned value exists.
    pub(crate) unsafe fn new(ptr: NonNull<bindings::devlink_fmsg>) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            fmsg: ptr.cast(),
            err: None,
        }
    }

    /// The error of the Rust side, if any; the core checks the C side's.
    pub(crate) fn result(&self) -> Result {
        self.err.map_or(Ok(()), Err)
    }

    /// Returns the C message, for a call.
    fn raw(&mut self) -> *mut bindings::devlink_fmsg {
        // SAFETY: By the type invariant, `fmsg` is valid; `Fmsg` is a transparent wrapper.
        unsafe { self.fmsg.as_ref() }.0.get()
    }
}

impl private::Sealed for Builder {}

impl Sink for Builder {
    fn obj_nest_start(&mut self) {
        // SAFETY: By the type invariant, `self.raw()` is a valid fmsg that nobody else uses.
        unsafe { bindings::devlink_fmsg_obj_nest_start(self.raw()) }
    }

    fn obj_nest_end(&mut self) {
        // SAFETY: By the type invariant, `self.raw()` is a valid fmsg that nobody else uses.
        unsafe { bindings::devlink_fmsg_obj_nest_end(self.raw()) }
    }

    fn pair_nest_start(&mut self, name: &CStr) {
        // SAFETY: By the type invariant, `self.raw()` is a valid fmsg that nobody else uses;
        // `name` is NUL-terminated, and copied into the message.
        unsafe { bindings::devlink_fmsg_pair_nest_start(self.raw(), name.as_char_ptr()) }
    }

    fn pair_nest_end(&mut self) {
        // SAFETY: By the type invariant, `self.raw()` is a valid fmsg that nobody else uses.
        unsafe { bindings::devlink_fmsg_pair_nest_end(self.raw()) }
    }

    fn arr_pair_nest_start(&mut self, name: &CStr) {
        // SAFETY: By the type invariant, `self.raw()` is a valid fmsg that nobody else uses;
        // `name` is NUL-terminated, and copied into the message.
        unsafe { bindings::devlink_fmsg_arr_pair_nest_start(self.raw(), name.as_char_ptr()) }
    }

    fn arr_pair_nest_end(&mut self) {
        // SAFETY: By the type invariant, `self.raw()` is a valid fmsg that nobody else uses.
        unsafe { bindings::devlink_fmsg_arr_pair_nest_end(self.raw()) }
    }

    fn bool_pair_put(&mut self, name: &CStr, value: bool) {
        // SAFETY: By the type invariant, `self.raw()` is a valid fmsg that nobody else uses;
        // `name` is NUL-terminated, and copied into the message.
        unsafe { bindings::devlink_fmsg_bool_pair_put(self.raw(), name.as_char_ptr(), value) }
    }

    fn u8_pair_put(&mut self, name: &CStr, value: u8) {
        // SAFETY: By the type invariant, `self.raw()` is a valid fmsg that nobody else uses;
        // `name` is NUL-terminated, and copied into the message.
        unsafe { bindings::devlink_fmsg_u8_pair_put(self.raw(), name.as_char_ptr(), value) }
    }

    fn u32_pair_put(&mut self, name: &CStr, value: u32) {
        // SAFETY: By the type invariant, `self.raw()` is a valid fmsg that nobody else uses;
        // `name` is NUL-terminated, and copied into the message.
        unsafe { bindings::devlink_fmsg_u32_pair_put(self.raw(), name.as_char_ptr(), value) }
    }

    fn u64_pair_put(&mut self, name: &CStr, value: u64) {
        // SAFETY: By the type invariant, `self.raw()` is a valid fmsg that nobody else uses;
        // `name` is NUL-terminated, and copied into the message.
        unsafe { bindings::devlink_fmsg_u64_pair_put(self.raw(), name.as_char_ptr(), value) }
    }

    fn string_pair_put(&mut self, name: &CStr, value: &CStr) {
        if !fits_item(value) {
            return self.fail(EMSGSIZE);
        }
        let (fmsg, name, value) = (self.raw(), name.as_char_ptr(), value.as_char_ptr());
        // SAFETY: By the type invariant, `fmsg` is a valid fmsg that nobody else uses; `name`
        // and `value` are NUL-terminated, and copied into the message; the length of `value`
        // fits the C item (checked above).
        unsafe { bindings::devlink_fmsg_string_pair_put(fmsg, name, value) }
    }

    fn binary_pair_put(&mut self, name: &CStr, value: &[u8]) {
        // The C function takes a `u32` length and splits the value into chunks that fit a
        // netlink message itself.
        let Ok(len) = u32::try_from(value.len()) else {
            return self.fail(EMSGSIZE);
        };
        let (fmsg, name, data) = (self.raw(), name.as_char_ptr(), value.as_ptr().cast());
        // SAFETY: By the type invariant, `fmsg` is a valid fmsg that nobody else uses; `name` is
        // NUL-terminated; `data` is valid for reads of `len` bytes; both are copied into the
        // message.
        unsafe { bindings::devlink_fmsg_binary_pair_put(fmsg, name, data, len) }
    }

    fn u32_put(&mut self, value: u32) {
        // SAFETY: By the type invariant, `self.raw()` is a valid fmsg that nobody else uses.
        unsafe { bindings::devlink_fmsg_u32_put(self.raw(), value) }
    }

    fn string_put(&mut self, value: &CStr) {
        if !fits_item(value) {
            return self.fail(EMSGSIZE);
        }
        // SAFETY: By the type invariant, `self.raw()` is a valid fmsg that nobody else uses;
        // `value` is NUL-terminated, and copied into the message; its length fits the C item
        // (checked above).
        unsafe { bindings::devlink_fmsg_string_put(self.raw(), value.as_char_ptr()) }
    }

    fn fail(&mut self, err: Error) {
        self.err.get_or_insert(err);
    }
}

/// Whether the C core can store `value` as a string item.
///
/// The core keeps an item's length, NUL included, in a `u16`: a longer string would be stored
/// cut, without its NUL (fixed in the core by "devlink: health: fix the length of fmsg strings
/// of 64 KiB or more"; checked here too, so that no kernel without the fix can be made to read
/// past the item). Shorter strings that still exceed a netlink message are refused by the core
/// itself, with the same [`EMSGSIZE`].
#[inline]
fn fits_item(value: &CStr) -> bool {
    value.to_bytes_with_nul().len() <= usize::from(u16::MAX)
}

/// Keeps the error of a closure that filled a nest (closed already) as the message's, and
/// returns it.
fn nested<S: Sink>(sink: &mut S, ret: Result) -> Result {
    if let Err(e) = ret {
        sink.fail(e);
    }
    ret
}

/// An object of a formatted message: a sequence of named values, objects and arrays.
///
/// Reporter ops get the outermost one; [`Object::put_object`] and [`Array::push_object`] lend
/// nested ones to a closure. (`S` is for the tests: operations always get an
/// `Object<'_, Builder>`.)
pub struct Object<'a, S: Sink = Builder> {
    sink: &'a mut S,
}

impl<'a, S: Sink> Object<'a, S> {
    pub(crate) fn new(sink: &'a mut S) -> Self {
        Self { sink }
    }

    /// Adds a boolean named `name`.
    pub fn put_bool(&mut self, name: &CStr, value: bool) -> &mut Self {
        self.sink.bool_pair_put(name, value);
        self
    }

    /// Adds a `u8` named `name`.
    pub fn put_u8(&mut self, name: &CStr, value: u8) -> &mut Self {
        self.sink.u8_pair_put(name, value);
        self
    }

    /// Adds a `u32` named `name`.
    pub fn put_u32(&mut self, name: &CStr, value: u32) -> &mut Self {
        self.sink.u32_pair_put(name, value);
        self
    }

    /// Adds a `u64` named `name`.
    pub fn put_u64(&mut self, name: &CStr, value: u64) -> &mut Self {
        self.sink.u64_pair_put(name, value);
        self
    }

    /// Adds a string named `name`.
    ///
    /// A string that does not fit a netlink message fails the message with [`EMSGSIZE`].
    pub fn put_str(&mut self, name: &CStr, value: &CStr) -> &mut Self {
        if fits_item(value) {
            self.sink.string_pair_put(name, value);
        } else {
            self.sink.fail(EMSGSIZE);
        }
        self
    }

    /// Adds binary data named `name`, of up to `u32::MAX` bytes ([`EMSGSIZE`] otherwise).
    ///
    /// Like `devlink_fmsg_binary_pair_put()`, the data is sent as an array of chunks that each
    /// fit a netlink message; user space joins them.
    pub fn put_binary(&mut self, name: &CStr, value: &[u8]) -> &mut Self {
        self.sink.binary_pair_put(name, value);
        self
    }

    /// Adds an object named `name`, filled by `f`.
    ///
    /// The object is closed whatever `f` returns; an error of `f` fails the message, and is
    /// returned.
    pub fn put_object(
        &mut self,
        name: &CStr,
        f: impl FnOnce(&mut Object<'_, S>) -> Result,
    ) -> Result<&mut Self> {
        self.sink.pair_nest_start(name);
        self.sink.obj_nest_start();
        let ret = f(&mut Object::new(&mut *self.sink));
        self.sink.obj_nest_end();
        self.sink.pair_nest_end();
        nested(self.sink, ret)?;
        Ok(self)
    }

    /// Adds an array named `name`, filled by `f`.
    ///
    /// The array is closed whatever `f` returns; an error of `f` fails the message, and is
    /// returned.
    pub fn put_array(
        &mut self,
        name: &CStr,
        f: impl FnOnce(&mut Array<'_, S>) -> Result,
    ) -> Result<&mut Self> {
        self.sink.arr_pair_nest_start(name);
        let ret = f(&mut Array {
            sink: &mut *self.sink,
        });
        self.sink.arr_pair_nest_end();
        nested(self.sink, ret)?;
        Ok(self)
    }
}

impl Object<'_, Builder> {
    /// The C message, for the tests of the C core's own checks.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn raw_for_tests(&mut self) -> *mut bindings::devlink_fmsg {
        self.sink.raw()
    }
}

/// An array of a formatted message: unnamed `u32`s, strings or objects.
///
/// These are the element types that the C API can put into an array.
pub struct Array<'a, S: Sink = Builder> {
    sink: &'a mut S,
}

impl<S: Sink> Array<'_, S> {
    /// Appends a `u32`.
    pub fn push_u32(&mut self, value: u32) -> &mut Self {
        self.sink.u32_put(value);
        self
    }

    /// Appends a string.
    ///
    /// A string that does not fit a netlink message fails the message with [`EMSGSIZE`].
    pub fn push_str(&mut self, value: &CStr) -> &mut Self {
        if fits_item(value) {
            self.sink.string_put(value);
        } else {
            self.sink.fail(EMSGSIZE);
        }
        self
    }

    /// Appends an object, filled by `f`.
    ///
    /// The object is closed whatever `f` returns; an error of `f` fails the message, and is
    /// returned.
    pub fn push_object(
        &mut self,
        f: impl FnOnce(&mut Object<'_, S>) -> Result,
    ) -> Result<&mut Self> {
        self.sink.obj_nest_start();
        let ret = f(&mut Object::new(&mut *self.sink));
        self.sink.obj_nest_end();
        nested(self.sink, ret)?;
        Ok(self)
    }
}

#[macros::kunit_tests(rust_devlink_fmsg)]
mod tests {
    use super::*;
    use crate::{alloc::KVec, str::CString};

    /// Records the C calls the builder makes, as text.
    #[derive(Default)]
    struct Recorder {
        calls: KVec<CString>,
        err: Option<Error>,
    }

    impl Recorder {
        fn call(&mut self, args: core::fmt::Arguments<'_>) {
            let call = CString::try_from_fmt(args).expect("out of memory");
            self.calls.push(call, GFP_KERNEL).expect("out of memory");
        }

        fn calls(&self) -> KVec<&str> {
            let mut v = KVec::new();
            for c in self.calls.iter() {
                v.push(c.to_str().unwrap(), GFP_KERNEL).unwrap();
            }
            v
        }
    }

    impl private::Sealed for Recorder {}

    impl Sink for Recorder {
        fn obj_nest_start(&mut self) {
            self.call(fmt!("obj_start"))
        }
        fn obj_nest_end(&mut self) {
            self.call(fmt!("obj_end"))
        }
        fn pair_nest_start(&mut self, name: &CStr) {
            self.call(fmt!("pair_start {}", name.to_str().unwrap()))
        }
        fn pair_nest_end(&mut self) {
            self.call(fmt!("pair_end"))
        }
        fn arr_pair_nest_start(&mut self, name: &CStr) {
            self.call(fmt!("arr_start {}", name.to_str().unwrap()))
        }
        fn arr_pair_nest_end(&mut self) {
            self.call(fmt!("arr_end"))
        }
        fn bool_pair_put(&mut self, name: &CStr, value: bool) {
            self.call(fmt!("bool {}={}", name.to_str().unwrap(), value))
        }
        fn u8_pair_put(&mut self, name: &CStr, value: u8) {
            self.call(fmt!("u8 {}={}", name.to_str().unwrap(), value))
        }
        fn u32_pair_put(&mut self, name: &CStr, value: u32) {
            self.call(fmt!("u32 {}={}", name.to_str().unwrap(), value))
        }
        fn u64_pair_put(&mut self, name: &CStr, value: u64) {
            self.call(fmt!("u64 {}={}", name.to_str().unwrap(), value))
        }
        fn string_pair_put(&mut self, name: &CStr, value: &CStr) {
            let (n, v) = (name.to_str().unwrap(), value.to_str().unwrap());
            self.call(fmt!("string {n}={v}"))
        }
        fn binary_pair_put(&mut self, name: &CStr, value: &[u8]) {
            self.call(fmt!("binary {}={:?}", name.to_str().unwrap(), value))
        }
        fn u32_put(&mut self, value: u32) {
            self.call(fmt!("u32 {value}"))
        }
        fn string_put(&mut self, value: &CStr) {
            self.call(fmt!("string {}", value.to_str().unwrap()))
        }
        fn fail(&mut self, err: Error) {
            self.err.get_or_insert(err);
        }
    }

    #[test]
    fn values() {
        let mut r = Recorder::default();
        Object::new(&mut r)
            .put_bool(c"b", true)
            .put_u8(c"u8", 1)
            .put_u32(c"u32", 3)
            .put_u64(c"u64", 4)
            .put_str(c"s", c"somestring")
            .put_binary(c"bin", &[1, 2]);
        assert_eq!(
            r.calls()[..],
            [
                "bool b=true",
                "u8 u8=1",
                "u32 u32=3",
                "u64 u64=4",
                "string s=somestring",
                "binary bin=[1, 2]",
            ]
        );
    }

    /// The shape of netdevsim's dummy reporter dump, correctly nested.
    #[test]
    fn nesting() -> Result {
        let mut r = Recorder::default();
        Object::new(&mut r)
            .put_object(c"test_nest", |o| {
                o.put_bool(c"nested_test_bool", false);
                Ok(())
            })?
            .put_array(c"test_u32_array", |a| {
                a.push_u32(0).push_u32(1);
                Ok(())
            })?
            .put_array(c"test_array_of_objects", |a| {
                a.push_object(|o| {
                    o.put_array(c"test_array_of_u32", |a| {
                        a.push_u32(0);
                        Ok(())
                    })?;
                    Ok(())
                })?;
                Ok(())
            })?
            .put_array(c"strings", |a| {
                a.push_str(c"x");
                Ok(())
            })?;
        assert_eq!(
            r.calls()[..],
            [
                "pair_start test_nest",
                "obj_start",
                "bool nested_test_bool=false",
                "obj_end",
                "pair_end",
                "arr_start test_u32_array",
                "u32 0",
                "u32 1",
                "arr_end",
                "arr_start test_array_of_objects",
                "obj_start",
                "arr_start test_array_of_u32",
                "u32 0",
                "arr_end",
                "obj_end",
                "arr_end",
                "arr_start strings",
                "string x",
                "arr_end",
            ]
        );
        assert!(r.err.is_none());
        Ok(())
    }

    /// A closure that fails with `?` still closes its nest, fails the message, and hands its
    /// error to the caller, through every level.
    #[test]
    fn closures_fail_with_question_mark() {
        fn device_gone() -> Result<u32> {
            Err(ENODEV)
        }

        let mut r = Recorder::default();
        let ret = Object::new(&mut r)
            .put_object(c"ring", |o| {
                o.put_u32(c"head", 1);
                o.put_array(c"descriptors", |a| {
                    a.push_object(|o| {
                        o.put_u32(c"status", device_gone()?);
                        Ok(())
                    })?;
                    a.push_u32(2);
                    Ok(())
                })?;
                o.put_u32(c"tail", 3);
                Ok(())
            })
            .err();
        assert_eq!(ret, Some(ENODEV));
        assert_eq!(r.err, Some(ENODEV));
        assert_eq!(
            r.calls()[..],
            [
                "pair_start ring",
                "obj_start",
                "u32 head=1",
                "arr_start descriptors",
                "obj_start",
                "obj_end",
                "arr_end",
                "obj_end",
                "pair_end",
            ]
        );
    }

    /// A NUL-terminated string of `len` bytes (without the NUL).
    fn long_string(len: usize) -> KVec<u8> {
        let mut v = KVec::new();
        v.extend_with(len, b'x', GFP_KERNEL).expect("out of memory");
        v.push(0, GFP_KERNEL).expect("out of memory");
        v
    }

    /// Strings whose length with the NUL does not fit the core's `u16` item length fail the
    /// message (the core would store them cut, without their NUL, and read past them).
    #[test]
    fn strings_of_64k_fail() -> Result {
        let (fits, wraps) = (long_string(65534), long_string(65535));
        let fits = CStr::from_bytes_with_nul(&fits).map_err(|_| EINVAL)?;
        let wraps = CStr::from_bytes_with_nul(&wraps).map_err(|_| EINVAL)?;

        let mut r = Recorder::default();
        Object::new(&mut r).put_str(c"s", fits);
        assert_eq!(r.calls().len(), 1);
        assert!(r.err.is_none());

        let mut r = Recorder::default();
        Object::new(&mut r)
            .put_str(c"s", wraps)
            .put_array(c"a", |a| {
                a.push_str(wraps);
                Ok(())
            })?;
        assert_eq!(r.calls()[..], ["arr_start a", "arr_end"]);
        assert_eq!(r.err, Some(EMSGSIZE));

        let mut r = Recorder::default();
        Object::new(&mut r).put_array(c"a", |a| {
            a.push_str(wraps);
            Ok(())
        })?;
        assert_eq!(r.err, Some(EMSGSIZE));
        Ok(())
    }

    /// Starts and ends pair up however deep the nesting.
    #[test]
    fn balanced() -> Result {
        fn nest(o: &mut Object<'_, Recorder>, depth: u32) -> Result {
            if depth == 0 {
                return Ok(());
            }
            o.put_object(c"o", |o| nest(o, depth - 1))?
                .put_array(c"a", |a| {
                    a.push_object(|o| nest(o, depth - 1))?;
                    Ok(())
                })?;
            Ok(())
        }

        let mut r = Recorder::default();
        nest(&mut Object::new(&mut r), 4)?;
        let mut depth = 0i32;
        for call in r.calls().iter() {
            if call.contains("_start") {
                depth += 1;
            } else if call.ends_with("_end") {
                depth -= 1;
            }
            assert!(depth >= 0);
        }
        assert_eq!(depth, 0);
        assert!(r.calls().len() > 100);
        Ok(())
    }
}
