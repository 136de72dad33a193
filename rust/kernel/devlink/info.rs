// SPDX-License-Identifier: GPL-2.0

//! Device information: the answer to `devlink dev info`.
//!
//! C header: [`include/net/devlink.h`](srctree/include/net/devlink.h)

use crate::{bindings, error::to_result, prelude::*};
use core::{marker::PhantomData, ptr::NonNull};

/// A `devlink dev info` request being answered by
/// [`Operations::info_get`](super::Operations::info_get).
///
/// Versions have a name and a value. By convention, names are those of
/// `Documentation/networking/devlink/devlink-info.rst` where one fits (`fw`, `fw.mgmt`,
/// `board.id`, `asic.id` ...).
///
/// # Invariants
///
/// `ptr` points to a `struct devlink_info_req` that is valid, and used by nobody else, for
/// `'a`.
pub struct InfoRequest<'a> {
    ptr: NonNull<bindings::devlink_info_req>,
    _p: PhantomData<&'a mut bindings::devlink_info_req>,
}

impl InfoRequest<'_> {
    /// Wraps the request an operation was called with.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct devlink_info_req` that nothing else uses for the
    /// lifetime of the returned value.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::devlink_info_req) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            // SAFETY: The caller guarantees that `ptr` is valid, hence not null.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            _p: PhantomData,
        }
    }

    fn raw(&mut self) -> *mut bindings::devlink_info_req {
        self.ptr.as_ptr()
    }

    /// Puts the serial number of the device.
    pub fn put_serial_number(&mut self, serial: &CStr) -> Result {
        // SAFETY: By the type invariant, the request is valid; the string is copied.
        to_result(unsafe {
            bindings::devlink_info_serial_number_put(self.raw(), serial.as_char_ptr())
        })
    }

    /// Puts the serial number of the board.
    pub fn put_board_serial_number(&mut self, serial: &CStr) -> Result {
        // SAFETY: By the type invariant, the request is valid; the string is copied.
        to_result(unsafe {
            bindings::devlink_info_board_serial_number_put(self.raw(), serial.as_char_ptr())
        })
    }

    /// Puts the version of a part that cannot change, such as the board revision.
    pub fn put_version_fixed(&mut self, name: &CStr, value: &CStr) -> Result {
        // SAFETY: By the type invariant, the request is valid; the strings are copied.
        to_result(unsafe {
            bindings::devlink_info_version_fixed_put(
                self.raw(),
                name.as_char_ptr(),
                value.as_char_ptr(),
            )
        })
    }

    /// Puts the version of a part as it runs now, such as the loaded firmware.
    pub fn put_version_running(&mut self, name: &CStr, value: &CStr) -> Result {
        // SAFETY: By the type invariant, the request is valid; the strings are copied.
        to_result(unsafe {
            bindings::devlink_info_version_running_put(
                self.raw(),
                name.as_char_ptr(),
                value.as_char_ptr(),
            )
        })
    }

    /// Puts the version of a part as stored on the device, to be run after the next reset.
    pub fn put_version_stored(&mut self, name: &CStr, value: &CStr) -> Result {
        // SAFETY: By the type invariant, the request is valid; the strings are copied.
        to_result(unsafe {
            bindings::devlink_info_version_stored_put(
                self.raw(),
                name.as_char_ptr(),
                value.as_char_ptr(),
            )
        })
    }
}
