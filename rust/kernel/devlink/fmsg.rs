// SPDX-License-Identifier: GPL-2.0

//! Formatted messages: what health reporters' `dump` and `diagnose` ops build.
//!
//! A formatted message ("fmsg") is a tree of named values, objects and arrays that devlink sends
//! to user space, where `devlink health dump show` and `devlink health diagnose` print it (as
//! JSON with `-j`). The devlink core opens the outermost object before it calls the op and closes
//! it after, so an op receives an [`Object`] to fill.
//!
//! Nesting is balanced by construction: a nested object or array exists only inside the closure
//! that fills it, and is closed when the closure returns. An array cannot be closed as an object,
//! nor a nest closed that was never opened.
//!
//! Errors are sticky, as in C: the first failure (out of memory, a name or value too long for a
//! netlink message) is kept, later calls do nothing, and the core reports the error once the op
//! has returned. The builder methods therefore return nothing to check.
//!
//! C header: [`include/net/devlink.h`](srctree/include/net/devlink.h)

use crate::{bindings, prelude::*};
use core::ptr::NonNull;

/// The operations of the C fmsg builder, one method per C function used.
///
/// Implemented by [`RawFmsg`] for a `struct devlink_fmsg`, and by a recorder in the tests, so
/// that the exact sequence of C calls the builder makes can be checked in KUnit.
pub(crate) trait Sink {
    fn obj_nest_start(&mut self);
    fn obj_nest_end(&mut self);
    fn pair_nest_start(&mut self, name: &CStr);
    fn pair_nest_end(&mut self);
    fn arr_pair_nest_start(&mut self, name: &CStr);
    fn arr_pair_nest_end(&mut self);
    fn bool_pair_put(&mut self, name: &CStr, value: bool);
    fn u8_pair_put(&mut self, name: &CStr, value: u8);
    fn u32_pair_put(&mut self, name: &CStr, value: u32);
    fn u64_pair_put(&mut self, name: &CStr, value: u64);
    fn string_pair_put(&mut self, name: &CStr, value: &CStr);
    fn binary_pair_put(&mut self, name: &CStr, value: &[u8]);
    fn u32_put(&mut self, value: u32);
    fn string_put(&mut self, value: &CStr);
    /// Makes the message fail with `err` unless it failed already.
    fn fail(&mut self, err: Error);
}

/// A `struct devlink_fmsg` that the devlink core handed to an op.
///
/// # Invariants
///
/// `ptr` points to a valid `struct devlink_fmsg` for the lifetime of `self`, and nothing else
/// uses it during that time.
pub(crate) struct RawFmsg {
    ptr: NonNull<bindings::devlink_fmsg>,
    /// An error of the Rust side (a binary larger than the C API takes); the C side keeps its own.
    err: Option<Error>,
}

impl RawFmsg {
    /// Wraps the fmsg an op was called with.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct devlink_fmsg` that nothing else uses while the
    /// returned value exists.
    pub(crate) unsafe fn new(ptr: NonNull<bindings::devlink_fmsg>) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self { ptr, err: None }
    }

    /// The error of the Rust side, if any; the core checks the C side's.
    pub(crate) fn result(&self) -> Result {
        self.err.map_or(Ok(()), Err)
    }

    fn raw(&mut self) -> *mut bindings::devlink_fmsg {
        self.ptr.as_ptr()
    }
}

// SAFETY (for every call below): by the type invariant, `self.raw()` is a valid fmsg used by
// nobody else; names and string values are NUL-terminated `&CStr`s that the C functions copy;
// binary values are valid for `value.len()` bytes and copied too.
impl Sink for RawFmsg {
    fn obj_nest_start(&mut self) {
        // SAFETY: See above.
        unsafe { bindings::devlink_fmsg_obj_nest_start(self.raw()) }
    }

    fn obj_nest_end(&mut self) {
        // SAFETY: See above.
        unsafe { bindings::devlink_fmsg_obj_nest_end(self.raw()) }
    }

    fn pair_nest_start(&mut self, name: &CStr) {
        // SAFETY: See above.
        unsafe { bindings::devlink_fmsg_pair_nest_start(self.raw(), name.as_char_ptr()) }
    }

    fn pair_nest_end(&mut self) {
        // SAFETY: See above.
        unsafe { bindings::devlink_fmsg_pair_nest_end(self.raw()) }
    }

    fn arr_pair_nest_start(&mut self, name: &CStr) {
        // SAFETY: See above.
        unsafe { bindings::devlink_fmsg_arr_pair_nest_start(self.raw(), name.as_char_ptr()) }
    }

    fn arr_pair_nest_end(&mut self) {
        // SAFETY: See above.
        unsafe { bindings::devlink_fmsg_arr_pair_nest_end(self.raw()) }
    }

    fn bool_pair_put(&mut self, name: &CStr, value: bool) {
        // SAFETY: See above.
        unsafe { bindings::devlink_fmsg_bool_pair_put(self.raw(), name.as_char_ptr(), value) }
    }

    fn u8_pair_put(&mut self, name: &CStr, value: u8) {
        // SAFETY: See above.
        unsafe { bindings::devlink_fmsg_u8_pair_put(self.raw(), name.as_char_ptr(), value) }
    }

    fn u32_pair_put(&mut self, name: &CStr, value: u32) {
        // SAFETY: See above.
        unsafe { bindings::devlink_fmsg_u32_pair_put(self.raw(), name.as_char_ptr(), value) }
    }

    fn u64_pair_put(&mut self, name: &CStr, value: u64) {
        // SAFETY: See above.
        unsafe { bindings::devlink_fmsg_u64_pair_put(self.raw(), name.as_char_ptr(), value) }
    }

    fn string_pair_put(&mut self, name: &CStr, value: &CStr) {
        // SAFETY: See above.
        unsafe {
            bindings::devlink_fmsg_string_pair_put(
                self.raw(),
                name.as_char_ptr(),
                value.as_char_ptr(),
            )
        }
    }

    fn binary_pair_put(&mut self, name: &CStr, value: &[u8]) {
        // The C function takes a `u32` length and splits the value into chunks that fit a
        // netlink message itself.
        let Ok(len) = u32::try_from(value.len()) else {
            return self.fail(EMSGSIZE);
        };
        // SAFETY: See above.
        unsafe {
            bindings::devlink_fmsg_binary_pair_put(
                self.raw(),
                name.as_char_ptr(),
                value.as_ptr().cast(),
                len,
            )
        }
    }

    fn u32_put(&mut self, value: u32) {
        // SAFETY: See above.
        unsafe { bindings::devlink_fmsg_u32_put(self.raw(), value) }
    }

    fn string_put(&mut self, value: &CStr) {
        // SAFETY: See above.
        unsafe { bindings::devlink_fmsg_string_put(self.raw(), value.as_char_ptr()) }
    }

    fn fail(&mut self, err: Error) {
        self.err.get_or_insert(err);
    }
}

/// An object of a formatted message: a sequence of named values, objects and arrays.
///
/// Reporter ops get the outermost one; [`Object::put_object`] and [`Array::push_object`] lend
/// nested ones to a closure.
pub struct Object<'a> {
    sink: &'a mut dyn Sink,
}

impl<'a> Object<'a> {
    pub(crate) fn new(sink: &'a mut dyn Sink) -> Self {
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
    pub fn put_str(&mut self, name: &CStr, value: &CStr) -> &mut Self {
        self.sink.string_pair_put(name, value);
        self
    }

    /// Adds binary data of any length named `name`.
    ///
    /// Like `devlink_fmsg_binary_pair_put()`, the data is sent as an array of chunks that each
    /// fit a netlink message; user space joins them.
    pub fn put_binary(&mut self, name: &CStr, value: &[u8]) -> &mut Self {
        self.sink.binary_pair_put(name, value);
        self
    }

    /// Adds an object named `name`, filled by `f`.
    pub fn put_object(&mut self, name: &CStr, f: impl FnOnce(&mut Object<'_>)) -> &mut Self {
        self.sink.pair_nest_start(name);
        self.sink.obj_nest_start();
        f(&mut Object::new(&mut *self.sink));
        self.sink.obj_nest_end();
        self.sink.pair_nest_end();
        self
    }

    /// Adds an array named `name`, filled by `f`.
    pub fn put_array(&mut self, name: &CStr, f: impl FnOnce(&mut Array<'_>)) -> &mut Self {
        self.sink.arr_pair_nest_start(name);
        f(&mut Array {
            sink: &mut *self.sink,
        });
        self.sink.arr_pair_nest_end();
        self
    }
}

/// An array of a formatted message: unnamed `u32`s, strings or objects.
///
/// These are the element types that the C API can put into an array.
pub struct Array<'a> {
    sink: &'a mut dyn Sink,
}

impl Array<'_> {
    /// Appends a `u32`.
    pub fn push_u32(&mut self, value: u32) -> &mut Self {
        self.sink.u32_put(value);
        self
    }

    /// Appends a string.
    pub fn push_str(&mut self, value: &CStr) -> &mut Self {
        self.sink.string_put(value);
        self
    }

    /// Appends an object, filled by `f`.
    pub fn push_object(&mut self, f: impl FnOnce(&mut Object<'_>)) -> &mut Self {
        self.sink.obj_nest_start();
        f(&mut Object::new(&mut *self.sink));
        self.sink.obj_nest_end();
        self
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
    fn nesting() {
        let mut r = Recorder::default();
        Object::new(&mut r)
            .put_object(c"test_nest", |o| {
                o.put_bool(c"nested_test_bool", false);
            })
            .put_array(c"test_u32_array", |a| {
                a.push_u32(0).push_u32(1);
            })
            .put_array(c"test_array_of_objects", |a| {
                a.push_object(|o| {
                    o.put_array(c"test_array_of_u32", |a| {
                        a.push_u32(0);
                    });
                });
            })
            .put_array(c"strings", |a| {
                a.push_str(c"x");
            });
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
    }

    /// Starts and ends pair up however deep the nesting.
    #[test]
    fn balanced() {
        fn nest(o: &mut Object<'_>, depth: u32) {
            if depth == 0 {
                return;
            }
            o.put_object(c"o", |o| nest(o, depth - 1))
                .put_array(c"a", |a| {
                    a.push_object(|o| nest(o, depth - 1));
                });
        }

        let mut r = Recorder::default();
        nest(&mut Object::new(&mut r), 4);
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
    }
}
